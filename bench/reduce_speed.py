"""Speed of the reducer: 164 problems x n = 2000 samples, random verdicts and scores, all k.

Times, in the same run:
  1. the vectorised metrics (pipeline.reduce.metrics): pass@k and rank-score@k for every k = 1..2000,
     with 1000-resample bootstrap CIs for both;
  2. the whole `reduce_tables` on the Arrow tables (joins, pass@k, greedy, rank-score, pass_time,
     CIs) -- "all metrics for all k"; the goal is < 2 s on this machine;
  3. the baseline: a per-k loop over Chen et al.'s per-problem reference estimator for pass@k
     (all k, measured in full), and the paper's own rank-score loop (its Figure 7, math.comb)
     measured on a few k and extrapolated to all k (labelled as such).
Prints both times and the ratio. Run: .venv/bin/python bench/reduce_speed.py

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
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

import schemas  # noqa: E402
from bench.record import add_no_record, command_line, record  # noqa: E402
from pipeline.reduce import metrics  # noqa: E402
from pipeline.reduce.curves import reduce_tables  # noqa: E402


def make_tables(P: int, n: int, seed: int):
    rng = np.random.default_rng(seed)
    rate = rng.beta(0.5, 0.8, P)  # per-problem pass rates, many near 0 and some near 1
    task = np.repeat(np.arange(P), n)
    idx = np.tile(np.arange(n), P)
    passed = rng.random(P * n) < rate[task]
    nll = rng.normal(1.0, 0.3, P * n) - 0.2 * passed
    nll = np.round(nll, 3)  # some ties
    truncated = rng.random(P * n) < 0.02
    rows = P * n
    key = {
        "run_id": pa.array(["bench"] * rows), "model": pa.array(["m"] * rows),
        "benchmark": pa.array(["humaneval"] * rows),
        "task_id": pa.array([f"HumanEval/{t}" for t in task]),
        "sample_idx": pa.array(idx, pa.int32()),
    }
    samples = pa.table({**key, "seed": pa.array(idx, pa.int64()),
                        "temperature": pa.array(np.full(rows, 0.8, np.float32)),
                        "completion": pa.array([""] * rows),
                        "n_tokens": pa.array(np.full(rows, 100, np.int32)),
                        "finish_reason": pa.array(np.where(truncated, "length", "stop")),
                        "gen_seconds": pa.array(np.full(rows, 0.5))})
    verdicts = pa.table({**key, "status": pa.array(np.where(passed, "pass", "fail")),
                         "tests_passed": pa.array(passed.astype(np.int32)),
                         "tests_total": pa.array(np.ones(rows, np.int32)),
                         "detail": pa.array([""] * rows),
                         "exec_ms": pa.array(np.ones(rows)),
                         "cached": pa.array(np.zeros(rows, bool))})
    scores = pa.table({**key, "ranker": pa.array(["r"] * rows), "mean_nll": pa.array(nll),
                       "n_tokens": pa.array(np.full(rows, 100, np.int32)),
                       "truncated": pa.array(truncated)})
    return (schemas.conform(samples, "samples"), schemas.conform(verdicts, "verdicts"),
            schemas.conform(scores, "scores"), task, passed, nll, truncated)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--problems", type=int, default=164)
    ap.add_argument("-n", type=int, default=2000)
    ap.add_argument("--n-boot", type=int, default=1000)
    ap.add_argument("--rank-ref-ks", type=int, default=2,
                    help="k values on which the paper's rank-score loop is timed")
    add_no_record(ap)
    args = ap.parse_args()
    load_before = os.getloadavg() if hasattr(os, "getloadavg") else None
    P, n = args.problems, args.n
    samples, verdicts, scores, task, passed, nll, truncated = make_tables(P, n, seed=0)
    ks = np.arange(1, n + 1)
    c = np.bincount(task, weights=passed, minlength=P).astype(np.int64)
    nn = np.full(P, n)

    # 1. vectorised metrics alone
    t0 = time.perf_counter()
    pk = metrics.pass_at_k(nn, c, ks)
    t_pass = time.perf_counter() - t0
    t0 = time.perf_counter()
    keep = ~truncated
    tk, sk, pv = task[keep], nll[keep], passed[keep].astype(float)
    tied = metrics.average_ties(tk, sk, pv)
    order = np.lexsort((sk, tk))
    n_use = np.bincount(tk, minlength=P)
    starts = np.r_[0, np.cumsum(n_use)[:-1]]
    pos = np.arange(order.size) - starts[tk[order]]
    padded = np.zeros((P, n_use.max()))
    padded[tk[order], pos] = tied[order]
    rk = np.arange(1, n_use.min() + 1)
    rs = metrics.rank_score_at_k(padded, rk, n_use)
    t_rank = time.perf_counter() - t0
    t0 = time.perf_counter()
    boot = metrics.Bootstrap.draw(P, args.n_boot, 0)
    boot.interval(pk)
    boot.interval(rs)
    t_boot = time.perf_counter() - t0

    # 2. the whole reducer on the Arrow tables
    t0, c0 = time.perf_counter(), time.process_time()
    curves = reduce_tables(samples, verdicts, scores, n_boot=args.n_boot, seed=0, k_range="full")
    t_reduce, cpu_reduce = time.perf_counter() - t0, time.process_time() - c0

    # 3. baselines
    t0 = time.perf_counter()
    ref_curve = np.array([np.mean([metrics.pass_at_k_reference(n, int(ci), int(k)) for ci in c])
                          for k in ks])
    t_ref_pass = time.perf_counter() - t0
    pass_err = float(np.max(np.abs(ref_curve - pk.mean(axis=0))))

    ref_ks = np.unique(np.linspace(1, rk[-1], args.rank_ref_ks).astype(int))
    t0 = time.perf_counter()
    rank_ref = np.array([[metrics.rank_score_reference(list(padded[p, : n_use[p]]), int(k))
                          for p in range(P)] for k in ref_ks])
    t_ref_rank_sub = time.perf_counter() - t0
    t_ref_rank = t_ref_rank_sub / ref_ks.size * rk.size
    rank_err = float(np.max(np.abs(rank_ref.T - rs[:, ref_ks - 1])))

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"problems={P} n={n} k=1..{n}; rank-score k=1..{rk[-1]} after excluding "
          f"{int(truncated.sum())} truncated samples; bootstrap={args.n_boot}; "
          f"curve points={curves.num_rows}; load average {load:.2f} on {os.cpu_count()} cores")
    print(f"pass@k, all k, vectorised:                     {t_pass:9.3f} s")
    print(f"pass@k, per-k loop over Chen et al.'s estimator: {t_ref_pass:7.3f} s  measured, "
          f"max |diff| {pass_err:.1e}  -> ratio {t_ref_pass / t_pass:.0f}x")
    print(f"rank-score@k, all k, vectorised (ties, truncation): {t_rank:6.3f} s")
    print(f"rank-score@k, the paper's loop: {ref_ks.size} k measured in {t_ref_rank_sub:.2f} s -> "
          f"{rk.size} k extrapolated {t_ref_rank:.0f} s, max |diff| {rank_err:.1e}  -> ratio "
          f"{t_ref_rank / t_rank:.0f}x (extrapolated)")
    print(f"bootstrap CIs of both curves ({args.n_boot} resamples):  {t_boot:6.3f} s")
    print(f"full reduce_tables (validation, joins, every metric, all k, CIs): {t_reduce:.3f} s "
          f"wall, {cpu_reduce:.3f} s CPU (goal < 2 s wall: {'met' if t_reduce < 2 else 'NOT met'}"
          f"{'; the machine is loaded' if load > (os.cpu_count() or 1) else ''})")
    record("reduce_speed", command_line("reduce_speed"),
           f"pass@k {t_ref_pass / t_pass:.0f}x (max diff {pass_err:.1e}); rank-score@k "
           f"{t_ref_rank / t_rank:.0f}x extrapolated from {ref_ks.size} k (max diff {rank_err:.1e}); "
           f"full reduce_tables {t_reduce:.3f} s wall (goal < 2 s: {'met' if t_reduce < 2 else 'NOT met'})",
           load_before, os.getloadavg() if hasattr(os, "getloadavg") else None, no_record=args.no_record)


if __name__ == "__main__":
    main()
