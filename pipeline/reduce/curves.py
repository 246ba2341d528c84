"""The reducer: a run's samples, verdicts and scores -> the `curves` table and its side tables.

Role in the pipeline: the last stage's numbers. `reduce_tables` is pure (tables in, curves table
out); `reduce_run` reads RUN_DIR/{samples,verdicts,scores} and RUN_DIR/config.yaml and returns
`Reduced` (the curves, samples per verdict status (`status_counts`) and the cost each budget
curve used (`priced_costs`)); it writes nothing: `pipeline.report.outputs.write_reduced` writes
RUN_DIR/curves.parquet, RUN_DIR/tables/*.{md,csv} and RUN_DIR/figures/*.{png,svg}, and
`pipeline.jobs.reduce` does both.

Curves (metric column of the `curves` schema), one set per (model, benchmark):
- `pass@k`: unbiased pass@k for k = 1..floor(n/2) by default, as the paper reports (the tail near
  k = n has high variance), or 1..n with `k_range="full"`; n = the smallest number of
  temperature > 0 samples of a problem.
- `greedy_pass@1`: mean pass of the temperature == 0 samples, where there are any.
- `pass_flops` / `pass_time`: pass@k at the k a normalised budget buys (x = budget in units of
  the cheapest model's cost per sample on that benchmark), on one budget grid per benchmark
  shared by all models. Costs are per (model, benchmark) (`cost.curve_costs`).
- `rank_score`: rank-score@k per ranker (`pipeline.rank`: NLL per scoring model, output
  agreement, prompt-example filter, dual agreement; ties averaged): the expected pass of the
  best-ranked of k samples a user holds, set-dependent rankers' scores computed from those k
  samples only (`pipeline.reduce.held`: exact where tractable, else a seeded Monte Carlo over
  `rank_subsets` random k-subsets per problem whose standard error is the `mc_se` column);
  samples a ranker leaves out (NLL: `scores.truncated`, as in the paper) do not take part; a
  problem left with no usable sample counts as a failure at every k.
- `rank_score_flops` / `rank_score_time`: rank-score@k at the k a FLOPs / wall-time budget buys
  (the paper's budgeted rank-score and its wall-time ranking figure), per ranker, each sample
  also paying its ranker's cost (generated tests; sandbox seconds on a time budget).
Every point has a percentile bootstrap CI over problems (one seeded resampling per
(model, benchmark), shared by its curves).

Sandbox `error` verdicts (the sandbox could not judge) are never counted as failures
(`pipeline.reduce.joined`): the reducer refuses them, or with `exclude_errors=True` leaves those
samples out and says how many; `resume` re-executes their shards.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Mapping, Optional

import numpy as np
import pandas as pd
import pyarrow as pa

import schemas
from pipeline.reduce import held, joined as joined_mod, metrics, ranked
from pipeline.reduce.cost import ModelCost, Priced, curve_costs, normalise

KEY = list(schemas.KEY)
CURVE_COLUMNS = [f.name for f in schemas.CURVES]
K_RANGES = ranked.K_RANGES
#: budget metric -> (curve it reads, cost kind)
BUDGET_CURVES = {"pass_flops": ("pass@k", "flops"), "pass_time": ("pass@k", "time"),
                 "rank_score_flops": ("rank_score", "flops"),
                 "rank_score_time": ("rank_score", "time")}


class ReduceError(ValueError):
    """The run's tables cannot be reduced (missing verdicts, inconsistent keys, bad config)."""


# ---------------------------------------------------------------- pure part


def reduce_tables(
    samples: pa.Table,
    verdicts: pa.Table,
    scores: Optional[pa.Table] = None,
    costs: Optional[Mapping[str, ModelCost]] = None,
    *,
    ci: float = 0.95,
    n_boot: int = 1000,
    seed: int = 0,
    k_range: str = "half",
    exclude_errors: bool = False,
    probes: Optional[pa.Table] = None,
    test_pools: Optional[Mapping] = None,
    rank_subsets: int = held.N_SUBSETS,
) -> pa.Table:
    """The `curves` table of a run (see the module docstring for the metrics).

    `costs` maps model name -> ModelCost; FLOPs curves need a FLOPs cost for every model that
    should appear in them, time curves use the supplied seconds or else the measured
    gen_seconds of that model's sampled rows on each benchmark. `n_boot=0` leaves the CI
    columns null. `k_range`: "half" (k <= n/2, the default) or "full" (k <= n).
    `exclude_errors`: leave samples with an `error` verdict out instead of refusing them.
    `probes` (the probe stage's table) and `test_pools` ((benchmark, task_id) ->
    `pipeline.rank.base.TestPool`: which test sample wrote which generated test) feed the
    execution-based rankers (`pipeline.rank`); every ranker the tables allow gets its curves.
    `rank_subsets`: random k-subsets per (problem, k) for set-dependent rankers where
    enumerating them is not tractable.
    """
    if not 0.0 < ci < 1.0:
        raise ReduceError(f"ci must be in (0, 1), got {ci}")
    if n_boot < 0:
        raise ReduceError(f"n_boot must be >= 0, got {n_boot}")
    if k_range not in K_RANGES:
        raise ReduceError(f"k_range must be one of {', '.join(K_RANGES)}, got {k_range!r}")
    try:
        schemas.validate(samples, "samples")
        schemas.validate(verdicts, "verdicts")
        if scores is not None:
            schemas.validate(scores, "scores")
        if probes is not None:
            schemas.validate(probes, "probes")
    except schemas.SchemaError as exc:
        raise ReduceError(str(exc)) from None
    if rank_subsets < 2:
        raise ReduceError(f"rank_subsets must be >= 2, got {rank_subsets}")
    try:
        joined, excluded = joined_mod.join(samples, verdicts, exclude_errors=exclude_errors)
        if joined.empty:
            return schemas.empty("curves")
        rk = ranked.rank(joined, excluded, scores, probes, test_pools)
    except (joined_mod.JoinError, ranked.RankedError) as exc:
        raise ReduceError(str(exc)) from None
    half = k_range == "half"

    parts: list[dict] = []
    curves: dict[str, dict[tuple, tuple]] = {"pass@k": {}, "rank_score": {}}
    for (model, bench), group in joined.groupby(["model", "benchmark"], sort=True):
        boot_seed = _group_seed(seed, model, bench)
        sampled = group[group["temperature"] > 0]
        if len(sampled):
            curve = _pass_at_k_curve(sampled, ci, n_boot, boot_seed, half)
            curves["pass@k"][(model, bench, None)] = curve
            ks = np.arange(1, curve[0].size + 1)
            parts.append(_part(model, bench, "pass@k", ks, ks, *curve[:4]))
        greedy = group[group["temperature"] == 0]
        if len(greedy):
            parts.append(_greedy_part(model, bench, greedy, ci, n_boot, boot_seed + 1))
        if len(sampled):
            tasks = np.unique(sampled["task_id"].to_numpy())
            for ranker in rk.rankers(model, bench):
                got = rk.per_problem(model, bench, ranker, tasks, k_range=k_range,
                                     n_subsets=rank_subsets, seed=seed)
                if got is None:
                    continue
                lo, hi = _interval(got[0], ci, n_boot, boot_seed)
                curve = (got[0].mean(axis=0), lo, hi, tasks.size, held.mean_se(got[1]))
                curves["rank_score"][(model, bench, ranker)] = curve
                ks = np.arange(1, curve[0].size + 1)
                parts.append(_part(model, bench, "rank_score", ks, ks, *curve, ranker=ranker))

    priced = curve_costs(sorted({(m, b) for m, b, _ in curves["pass@k"]}), costs, samples)
    for metric, (source, kind) in BUDGET_CURVES.items():
        for bench, ranker in sorted({(b, r) for _, b, r in curves[source]}, key=str):
            parts.extend(_budget_parts(metric, bench, ranker, kind, priced, curves[source],
                                       rk.costs))
    return _to_table(parts)


def priced_costs(samples: pa.Table,
                 costs: Optional[Mapping[str, ModelCost]] = None) -> pd.DataFrame:
    """Which cost per sample each budget curve of a run uses and where it came from: one row
    per (benchmark, model, budget kind) with the raw cost, the normalised one (over the models
    of that benchmark with a cost) and its source (config, calflops preset, measured)."""
    frame = samples.select(["model", "benchmark"]).to_pandas()
    pairs = sorted(set(zip(frame["model"], frame["benchmark"])))
    priced = curve_costs(pairs, costs, samples)
    rows = []
    for kind in ("flops", "time"):
        for bench in sorted({b for _, b in pairs}):
            mine = {m: priced[(m, b)][kind] for m, b in pairs if b == bench}
            norm = normalise({m: p.value for m, p in mine.items()})
            for model, p in sorted(mine.items()):
                rows.append({"benchmark": bench, "model": model, "budget": kind,
                             "cost_per_sample": p.value, "normalised": norm.get(model),
                             "source": p.source})
    return pd.DataFrame(rows, columns=["benchmark", "model", "budget", "cost_per_sample",
                                       "normalised", "source"])


def _group_seed(seed: int, model: str, bench: str) -> int:
    return int(seed) * 1_000_003 + zlib.crc32(f"{model}\x00{bench}".encode())


def _per_problem(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(task codes per row, n per problem, c per problem) for the rows of one group."""
    codes = np.unique(frame["task_code"].to_numpy(), return_inverse=True)[1]
    n = np.bincount(codes)
    c = np.rint(np.bincount(codes, weights=frame["passed"].to_numpy())).astype(np.int64)
    return codes, n, c


def _interval(per_problem: np.ndarray, ci: float, n_boot: int, seed: int):
    if n_boot == 0:
        nan = np.full(per_problem.shape[1], np.nan)
        return nan, nan
    return metrics.Bootstrap.draw(per_problem.shape[0], n_boot, seed).interval(per_problem, ci)


def _pass_at_k_curve(sampled: pd.DataFrame, ci: float, n_boot: int, seed: int, half: bool):
    _, n, c = _per_problem(sampled)
    ks = np.arange(1, ranked.k_max(int(n.min()), "half" if half else "full") + 1)
    per_problem = metrics.pass_at_k(n, c, ks)
    lo, hi = _interval(per_problem, ci, n_boot, seed)
    return per_problem.mean(axis=0), lo, hi, int(n.size), np.zeros(ks.size)


def _greedy_part(model, bench, greedy, ci, n_boot, seed) -> dict:
    codes, n, _ = _per_problem(greedy)
    per_problem = (np.bincount(codes, weights=greedy["passed"].to_numpy()) / n)[:, None]
    lo, hi = _interval(per_problem, ci, n_boot, seed)
    one = np.array([1])
    return _part(model, bench, "greedy_pass@1", one, one, per_problem.mean(axis=0), lo, hi, n.size)


def _budget_parts(metric: str, bench: str, ranker: Optional[str], kind: str,
                  priced: Mapping[tuple[str, str], Mapping[str, Priced]], curves,
                  rank_costs: Optional[pd.DataFrame] = None) -> list[dict]:
    """`metric` for every model of `bench` (and `ranker`) with a `kind` cost: its curve read at
    the k each budget of one shared grid buys.

    A ranker's own cost (`rank_costs`: sandbox seconds and extra generated samples per sample)
    is added to the model's cost per sample; the budget unit stays the cheapest model's cost
    per sample without any ranker, so every ranker's curve shares one x axis."""
    mine = {m: curves[(m, b, r)] for (m, b, r) in curves if b == bench and r == ranker}
    base = {m: p[kind].value for (m, b), p in priced.items() if b == bench}
    base = {m: v for m, v in base.items() if v is not None}
    models = sorted(m for m in mine if m in base)
    if not models:
        return []
    relative = normalise(base)  # refuses non-positive costs, naming the model
    norm = {m: relative[m] * ranked.with_ranker_cost(base[m], kind, m, bench, ranker,
                                                     rank_costs) / base[m] for m in models}
    grid = metrics.budget_grid([norm[m] for m in models], [mine[m][0].size for m in models])
    out = []
    for m in models:
        value, lo, hi, n_prob, se = mine[m]
        stacked = metrics.pass_at_budget(np.vstack([value, lo, hi, se]), norm[m], grid)
        keep = ~np.isnan(stacked[0])
        k = metrics.samples_for_budget(grid[keep], norm[m])
        out.append(_part(m, bench, metric, grid[keep], k, *stacked[:3, keep], n_prob,
                         se=stacked[3, keep], ranker=ranker))
    return out


def _part(model, bench, metric, x, k, value, lo, hi, n_problems, se=None, ranker=None) -> dict:
    keep = ~np.isnan(np.asarray(value, dtype=np.float64))
    size = int(keep.sum())
    se = np.full(keep.size, np.nan) if se is None else np.asarray(se, dtype=np.float64)
    return {
        "model": np.full(size, model, dtype=object),
        "benchmark": np.full(size, bench, dtype=object),
        "metric": np.full(size, metric, dtype=object),
        "x": np.asarray(x, dtype=np.float64)[keep],
        "k": np.asarray(k, dtype=np.int64)[keep],
        "value": np.asarray(value, dtype=np.float64)[keep],
        "ci_low": np.asarray(lo, dtype=np.float64)[keep],
        "ci_high": np.asarray(hi, dtype=np.float64)[keep],
        "n_problems": np.full(size, int(n_problems), dtype=np.int64),
        "ranker": np.full(size, ranker, dtype=object),
        # null where exact (pass@k, greedy, exact rank-scores): 0 -> null
        "mc_se": np.where(se[keep] > 0, se[keep], np.nan),
    }


def _to_table(parts: list[dict]) -> pa.Table:
    if not parts:
        return schemas.empty("curves")
    arrays = {}
    for name in CURVE_COLUMNS:
        col = np.concatenate([p[name] for p in parts])
        field = schemas.CURVES.field(name)
        if pa.types.is_floating(field.type):
            arrays[name] = pa.array(col, type=field.type, from_pandas=True)  # NaN -> null
        else:
            arrays[name] = pa.array(col.tolist() if col.dtype == object else col,
                                    type=field.type, from_pandas=True)
    table = pa.Table.from_pydict(arrays, schema=schemas.CURVES)
    return schemas.conform(table, "curves")


# ---------------------------------------------------------------- edges: run directory


def status_counts(verdicts: pa.Table) -> pd.DataFrame:
    """Samples per (model, benchmark) and verdict status, one column per status.

    Every status counts as not passing except `pass`; `unjudgeable` (the sample answered with
    a value that only its own methods could compare, see sandbox.inside.values) and `error` (the
    sandbox could not judge) are where pass@k may differ from an in-process reference."""
    v = verdicts.select(["model", "benchmark", "status"]).to_pandas()
    counts = (v.groupby(["model", "benchmark", "status"]).size()
              .unstack("status", fill_value=0)
              .reindex(columns=list(schemas.VERDICT_STATUSES), fill_value=0))
    counts.columns.name = None
    counts["samples"] = counts.sum(axis=1)
    return counts.reset_index()


@dataclass
class Reduced:
    """What reducing a run gives: its curves, its samples per verdict status, and the cost per
    sample each budget curve used (`priced_costs`). `pipeline.report.outputs.write_reduced`
    writes it into the run directory `root`."""

    root: str
    curves: pa.Table
    statuses: pd.DataFrame
    costs: pd.DataFrame


def reduce_run(run_dir: str, *, ci: float = 0.95, n_boot: int = 1000, seed: int = 0,
               k_range: str = "half", exclude_errors: bool = False,
               rank_subsets: int = held.N_SUBSETS, verifier: str = "base") -> Reduced:
    """Reduce a run directory (a local path or a filesystem URI) to numbers; writes nothing.

    The run is read through `pipeline.reduce.run_data.RunData` (its tables, config.yaml for
    the costs, and its own copy of the generated tests), so it reduces the same from any
    working directory and machine. `verifier` "plus": every pass is a pass of base + extended
    tests (`pipeline.reduce.verifiers`), and `Reduced.root` is RUN_DIR/plus.
    """
    from pipeline.reduce.run_data import RunData, RunDataError
    from pipeline.reduce.verifiers import output_root

    try:
        data = RunData.load(run_dir, verifier=verifier)
        costs = data.costs
    except RunDataError as exc:
        raise ReduceError(str(exc)) from None
    curves = reduce_tables(data.samples, data.verdicts,
                           data.scores if data.scores.num_rows else None, costs,
                           ci=ci, n_boot=n_boot, seed=seed, k_range=k_range,
                           exclude_errors=exclude_errors,
                           probes=data.probes if data.probes.num_rows else None,
                           test_pools=data.test_pools, rank_subsets=rank_subsets)
    return Reduced(output_root(data.root, verifier), curves, status_counts(data.verdicts),
                   priced_costs(data.samples, costs))
