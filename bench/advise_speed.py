"""Speed of the budget advisor: 4 models x 164 problems x n = 2000, every budget of the grid,
every two-model mix and cascade, early stopping, with bootstrap (p_best and CIs).

Times, in the same run:
  1. `pipeline.reduce.advise.advise` on per-problem counts (the whole advice table and every
     strategy's curve), with `--n-boot` resamples (default 200, the command's default);
  2. the baseline: a straightforward per-budget loop (for every budget and strategy, a Python
     loop over the configurations the budget affords, numpy over problems), on `--loop-budgets`
     budgets spread over the grid, extrapolated to every budget (labelled as such). The
     baseline's best pass rates are checked against the advisor's at those budgets. It finds
     the best pass rates only, without a bootstrap, so the ratio understates what the advisor
     saves when it also resamples.
Prints both times (and the advisor's CPU time, which other jobs on the machine inflate less than
its wall time), the ratio and the load average before and after (2 shared cores here: a ratio
measured under load says so). Run: .venv/bin/python bench/advise_speed.py

Writes its result as its row of docs/benchmarks.md (bench/record.py); --no-record or
BUDGET_REALLOC_BENCH_NO_RECORD=1 leaves the page alone.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

from bench.record import add_no_record, command_line, record  # noqa: E402
from pipeline.reduce import advise  # noqa: E402

#: The paper's Table 1, TFLOPs per forward pass.
COSTS = {"codellama-7b": 1.69, "codellama-13b": 3.29, "codellama-34b": 8.58,
         "codellama-70b": 17.60}


def make_models(P: int, n: int, seed: int) -> list[advise.ModelData]:
    rng = np.random.default_rng(seed)
    difficulty = rng.beta(0.5, 0.8, P)
    out = []
    for i, m in enumerate(COSTS):
        rate = np.clip(difficulty * (0.6 + 0.15 * i), 0, 1)
        out.append(advise.ModelData.from_counts(m, np.full(P, n), rng.binomial(n, rate)))
    return out


def loop_advice(models, budgets) -> np.ndarray:
    """The straightforward per-budget loop: the best pass rate at each budget."""
    f = {m.model: m.fail for m in models}
    names = list(f)
    pairs = [(a, b) for i, a in enumerate(names) for b in names[i + 1:]]
    best_v = []
    for budget in budgets:
        cands = []  # per-problem success of each strategy's best configuration
        for m in names:  # beyond the counts: the dearest measured configuration
            k = min(int(np.floor(budget / COSTS[m] * (1 + 1e-9))), f[m].shape[1] - 1)
            if k >= 1:
                cands.append(1 - f[m][:, k])
            mean_fail = f[m].mean(axis=0)
            spent = np.cumsum(mean_fail)[:-1] * COSTS[m]
            k = int(np.searchsorted(spent, budget * (1 + 1e-9), side="right"))
            if k >= 1:
                cands.append(1 - f[m][:, k])
        for a, b in pairs:
            for cascade in (False, True):
                best = None
                for ka in range(f[a].shape[1]):
                    rest = budget - ka * COSTS[a]
                    if rest < 0:
                        break
                    unit = COSTS[b] * (f[a][:, ka].mean() if cascade else 1.0)
                    kb = f[b].shape[1] - 1 if unit == 0 else min(int(rest / unit * (1 + 1e-9)),
                                                                 f[b].shape[1] - 1)
                    if ka + kb == 0:
                        continue
                    s = 1 - f[a][:, ka] * f[b][:, kb]
                    if best is None or s.mean() > best.mean():
                        best = s
                if best is not None:
                    cands.append(best)
        best_v.append(max(c.mean() for c in cands))
    return np.array(best_v)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--problems", type=int, default=164)
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--n-boot", type=int, default=200)
    ap.add_argument("--loop-budgets", type=int, default=6)
    ap.add_argument("--seed", type=int, default=0)
    add_no_record(ap)
    args = ap.parse_args(argv)
    load_before = os.getloadavg()
    models = make_models(args.problems, args.n, args.seed)
    grid = advise.default_budgets(models, COSTS)

    t0, c0 = time.perf_counter(), time.process_time()
    table, curves = advise.advise("humaneval", models, COSTS, n_boot=args.n_boot, seed=args.seed)
    t_vec, c_vec = time.perf_counter() - t0, time.process_time() - c0

    pick = np.unique(np.geomspace(1, grid.size, args.loop_budgets).astype(int) - 1)
    t0 = time.perf_counter()
    loop_v = loop_advice(models, grid[pick])
    t_loop_part = time.perf_counter() - t0
    t_loop = t_loop_part / pick.size * grid.size
    load_after = os.getloadavg()

    mine = table.set_index("budget")["value"].reindex(grid[pick]).to_numpy()
    strategies = curves["strategy"].nunique()
    print(f"{len(models)} models x {args.problems} problems x n = {args.n}; {grid.size} budgets; "
          f"{strategies} strategies (singles, early stopping, {len(models) * (len(models) - 1) // 2}"
          f" mixes, as many cascades); {args.n_boot} bootstrap resamples")
    print(f"vectorised advise:        {t_vec:8.2f} s wall, {c_vec:.2f} s CPU of this process "
          f"({len(table)} advice rows, {len(curves)} curve points)")
    print(f"per-budget loop baseline: {t_loop:8.1f} s  (measured {t_loop_part:.1f} s on "
          f"{pick.size} budgets, extrapolated to {grid.size}; best pass rates only, no bootstrap)")
    agree = np.nanmax(np.abs(mine - loop_v))
    print(f"ratio: {t_loop / t_vec:.0f}x; best pass rates agree with the loop to "
          f"{agree:.1e}")
    print(f"load average (1, 5, 15 min) before {tuple(round(x, 2) for x in load_before)}, after "
          f"{tuple(round(x, 2) for x in load_after)} on {os.cpu_count()} cores"
          + ("  -> measured under load" if max(load_before[0], load_after[0]) > 1.5 else ""))
    record("advise_speed", command_line("advise_speed", argv),
           f"{t_loop / t_vec:.0f}x (advisor {t_vec:.2f} s wall, {c_vec:.2f} s CPU; loop {t_loop:.1f} s, "
           f"extrapolated from {pick.size} of {grid.size} budgets); best pass rates agree to {agree:.1e}",
           load_before, load_after, no_record=args.no_record)


if __name__ == "__main__":
    main()
