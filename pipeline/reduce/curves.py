"""The reducer: a run's samples, verdicts and scores -> the `curves` table, Markdown/CSV tables
and figures.

Role in the pipeline: the last stage. `reduce_tables` is pure (tables in, curves table out);
`reduce_run` is its edge: it reads RUN_DIR/{samples,verdicts,scores} and RUN_DIR/config.yaml,
then writes RUN_DIR/curves.parquet, RUN_DIR/tables/*.{md,csv} (with `verdict_statuses`: samples
per verdict status, `status_counts`) and RUN_DIR/figures/*.{png,svg}.

Curves (metric column of the `curves` schema), one set per (model, benchmark):
- `pass@k`: unbiased pass@k for k = 1..floor(n/2) by default, as the paper reports (the tail near
  k = n has high variance), or 1..n with `k_range="full"`; n = the smallest number of
  temperature > 0 samples of a problem.
- `greedy_pass@1`: mean pass of the temperature == 0 samples, where there are any.
- `pass_flops` / `pass_time`: pass@k at the k a normalised budget buys (x = budget in units of
  the cheapest model's cost per sample on that benchmark), on one budget grid per benchmark
  shared by all models. Costs are per (model, benchmark) (`cost.curve_costs`).
- `rank_score`: rank-score@k per ranker (`pipeline.rank`: NLL per scoring model, output
  agreement, prompt-example filter, dual agreement; ties averaged); samples a ranker leaves out
  (NLL: `scores.truncated`, as in the paper) do not take part; a problem left with no usable
  sample counts as a failure at every k.
- `rank_score_flops` / `rank_score_time`: rank-score@k at the k a FLOPs / wall-time budget buys
  (the paper's budgeted rank-score and its wall-time ranking figure), per ranker, each sample
  also paying its ranker's cost (generated tests; sandbox seconds on a time budget).
Every point has a percentile bootstrap CI over problems (one seeded resampling per
(model, benchmark), shared by its curves).

Sandbox `error` verdicts (the sandbox could not judge) are never counted as failures: the
reducer refuses them, or with `exclude_errors=True` leaves those samples out and says how many
(a `SandboxErrorsExcluded` warning); `resume` re-executes their shards.
"""

from __future__ import annotations

import warnings
import zlib
from pathlib import Path
from typing import Mapping, Optional

import numpy as np
import pandas as pd
import pyarrow as pa

import schemas
from pipeline.reduce import metrics, ranked
from pipeline.reduce.cost import ModelCost, Priced, curve_costs, normalise

KEY = list(schemas.KEY)
CURVE_COLUMNS = [f.name for f in schemas.CURVES]
#: k ranges: "half" = 1..floor(n/2) (the paper's), "full" = 1..n.
K_RANGES = ("half", "full")
#: budget metric -> (curve it reads, cost kind)
BUDGET_CURVES = {"pass_flops": ("pass@k", "flops"), "pass_time": ("pass@k", "time"),
                 "rank_score_flops": ("rank_score", "flops"),
                 "rank_score_time": ("rank_score", "time")}


class ReduceError(ValueError):
    """The run's tables cannot be reduced (missing verdicts, inconsistent keys, bad config)."""


class SandboxErrorsExcluded(UserWarning):
    """Samples with an `error` verdict were left out of the curves (`exclude_errors=True`)."""


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
    test_weights: Optional[Mapping[tuple[str, str], tuple[int, ...]]] = None,
    test_samples: Optional[Mapping[tuple[str, str], int]] = None,
) -> pa.Table:
    """The `curves` table of a run (see the module docstring for the metrics).

    `costs` maps model name -> ModelCost; FLOPs curves need a FLOPs cost for every model that
    should appear in them, time curves use the supplied seconds or else the measured
    gen_seconds of that model's sampled rows on each benchmark. `n_boot=0` leaves the CI
    columns null. `k_range`: "half" (k <= n/2, the default) or "full" (k <= n).
    `exclude_errors`: leave samples with an `error` verdict out instead of refusing them.
    `probes` (the probe stage's table), `test_weights` and `test_samples` (per problem: how
    many test samples wrote each generated test, and how many were written) feed the
    execution-based rankers (`pipeline.rank`); every ranker the tables allow gets its curves.
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
    joined = _join_verdicts(samples, verdicts)
    joined, excluded = _handle_errors(joined, exclude_errors)
    if joined.empty:
        return schemas.empty("curves")
    try:
        rank_keys, rank_costs = ranked.rank_keys(joined, excluded, scores, probes,
                                                 test_weights or {}, test_samples or {})
    except ranked.RankedError as exc:
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
            value, lo, hi, n_prob = curve
            ks = np.arange(1, value.size + 1)
            parts.append(_part(model, bench, "pass@k", ks, ks, value, lo, hi, n_prob))
        greedy = group[group["temperature"] == 0]
        if len(greedy):
            parts.append(_greedy_part(model, bench, greedy, ci, n_boot, boot_seed + 1))
        if len(rank_keys) and len(sampled):
            mine = rank_keys[(rank_keys["model"] == model) & (rank_keys["benchmark"] == bench)]
            for ranker, keys in mine.groupby("ranker", sort=True):
                curve = _rank_curve(sampled, keys, ci, n_boot, boot_seed, half)
                if curve is not None:
                    curves["rank_score"][(model, bench, str(ranker))] = curve
                    value, lo, hi, n_prob = curve
                    ks = np.arange(1, value.size + 1)
                    parts.append(_part(model, bench, "rank_score", ks, ks, value, lo, hi, n_prob,
                                       ranker=str(ranker)))

    priced = curve_costs(sorted({(m, b) for m, b, _ in curves["pass@k"]}), costs, samples)
    for metric, (source, kind) in BUDGET_CURVES.items():
        for bench, ranker in sorted({(b, r) for _, b, r in curves[source]}, key=str):
            parts.extend(_budget_parts(metric, bench, ranker, kind, priced, curves[source],
                                       rank_costs))
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


def _join_verdicts(samples: pa.Table, verdicts: pa.Table) -> pd.DataFrame:
    s = samples.select(KEY + ["temperature"]).to_pandas()
    v = verdicts.select(KEY + ["status"]).to_pandas()
    merged = s.merge(v, on=KEY, how="outer", indicator=True)
    for side, what, fix in (
        ("left_only", "samples have no verdict", "run or resume the execute stage first"),
        ("right_only", "verdicts have no sample", "the verdicts belong to another run?"),
    ):
        bad = merged[merged["_merge"] == side]
        if len(bad):
            first = bad.iloc[0]
            raise ReduceError(
                f"{len(bad)} {what} (first: model={first['model']} benchmark={first['benchmark']} "
                f"task_id={first['task_id']} sample_idx={first['sample_idx']}); {fix}"
            )
    merged = merged.drop(columns="_merge")
    merged["passed"] = (merged["status"] == "pass").astype(np.float64)
    merged["task_code"] = pd.factorize(merged["task_id"], sort=True)[0]  # ints: fast grouping
    return merged


def error_verdicts(verdicts: pa.Table) -> pd.DataFrame:
    """Samples with an `error` verdict (the sandbox could not judge them), per (model, benchmark):
    columns model, benchmark, errors, first_task_id, first_detail."""
    v = verdicts.select(["model", "benchmark", "task_id", "status", "detail"]).to_pandas()
    err = v[v["status"] == "error"]
    if err.empty:
        return pd.DataFrame(columns=["model", "benchmark", "errors", "first_task_id",
                                     "first_detail"])
    return err.groupby(["model", "benchmark"], sort=True).agg(
        errors=("status", "size"), first_task_id=("task_id", "first"),
        first_detail=("detail", "first")).reset_index()


def _handle_errors(joined: pd.DataFrame, exclude: bool) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Refuse `error` verdicts, or drop them (with a warning saying how many) if `exclude`."""
    bad = joined["status"] == "error"
    if not bad.any():
        return joined, joined.iloc[:0][KEY]
    counts = joined[bad].groupby(["model", "benchmark"]).size()
    where = ", ".join(f"{m}/{b}: {n}" for (m, b), n in counts.items())
    if not exclude:
        first = joined[bad].iloc[0]
        raise ReduceError(
            f"{int(bad.sum())} samples have a sandbox `error` verdict (the sandbox could not "
            f"judge them; {where}; first: model={first['model']} task_id={first['task_id']} "
            f"sample_idx={first['sample_idx']}); they are not failures: `budget-realloc resume "
            "RUN_DIR` re-executes their shards, or reduce with --exclude-errors "
            "(reduce: {exclude_errors: true}) to leave them out")
    warnings.warn(SandboxErrorsExcluded(
        f"excluded {int(bad.sum())} samples with a sandbox error verdict ({where})"), stacklevel=3)
    return joined[~bad].reset_index(drop=True), joined.loc[bad, KEY]


def _k_max(n_min: int, half: bool) -> int:
    """The largest k reported for problems with at least `n_min` samples."""
    return max(1, n_min // 2) if half else n_min


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
    ks = np.arange(1, _k_max(int(n.min()), half) + 1)
    per_problem = metrics.pass_at_k(n, c, ks)
    lo, hi = _interval(per_problem, ci, n_boot, seed)
    return per_problem.mean(axis=0), lo, hi, int(n.size)


def _greedy_part(model, bench, greedy, ci, n_boot, seed) -> dict:
    codes, n, _ = _per_problem(greedy)
    per_problem = (np.bincount(codes, weights=greedy["passed"].to_numpy()) / n)[:, None]
    lo, hi = _interval(per_problem, ci, n_boot, seed)
    one = np.array([1])
    return _part(model, bench, "greedy_pass@1", one, one, per_problem.mean(axis=0), lo, hi, n.size)


def _rank_curve(sampled, keys, ci, n_boot, seed, half):
    """rank-score@k of one ranker (`keys`: its key per sampled completion) over the problems
    of `sampled`; a problem without a usable sample counts as a failure at every k."""
    all_tasks = np.unique(sampled["task_code"].to_numpy())
    usable = keys[keys["usable"].astype(bool)]
    codes = np.searchsorted(all_tasks, usable["task_code"].to_numpy())
    n = np.bincount(codes, minlength=all_tasks.size)
    if not (n > 0).any():
        return None
    ks = np.arange(1, _k_max(int(n[n > 0].min()), half) + 1)
    per_problem = metrics.rank_score_by_key(codes, usable["key"].to_numpy(dtype=np.float64),
                                            usable["passed"].to_numpy(), all_tasks.size, ks)
    lo, hi = _interval(per_problem, ci, n_boot, seed)
    return per_problem.mean(axis=0), lo, hi, all_tasks.size


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
    unit = min(base.values())
    normalise(base)  # refuses non-positive costs, naming the model
    norm = {m: ranked.with_ranker_cost(base[m], kind, m, bench, ranker, rank_costs) / unit
            for m in models}
    grid = metrics.budget_grid([norm[m] for m in models], [mine[m][0].size for m in models])
    out = []
    for m in models:
        value, lo, hi, n_prob = mine[m]
        stacked = metrics.pass_at_budget(np.vstack([value, lo, hi]), norm[m], grid)
        keep = ~np.isnan(stacked[0])
        k = metrics.samples_for_budget(grid[keep], norm[m])
        out.append(_part(m, bench, metric, grid[keep], k, *stacked[:, keep], n_prob,
                         ranker=ranker))
    return out


def _part(model, bench, metric, x, k, value, lo, hi, n_problems, ranker=None) -> dict:
    keep = ~np.isnan(np.asarray(value, dtype=np.float64))
    size = int(keep.sum())
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


def load_costs(config_path: str | Path) -> dict[str, ModelCost]:
    """Model costs from a run's config.yaml (a local path or a filesystem URI):
    `models: [{name: ..., cost: {ModelCost fields}}]`.

    Read defensively: a missing file, or models without a `cost`, give no costs; a malformed
    entry raises ReduceError naming the file and the model.
    """
    import yaml

    from pipeline.run import storage

    path = str(config_path)
    if not storage.exists(path):
        return {}
    try:
        config = yaml.safe_load(storage.read_text(path)) or {}
    except yaml.YAMLError as exc:
        raise ReduceError(f"{path}: not valid YAML ({exc})") from None
    if not isinstance(config, dict):
        raise ReduceError(f"{path}: expected a mapping at the top level")
    models = config.get("models") or []
    if isinstance(models, dict):  # also accept {name: {cost: ...}}
        models = [{"name": k, **(v or {})} for k, v in models.items()]
    if not isinstance(models, list):
        raise ReduceError(f"{path}: `models` must be a list of {{name, cost}} entries")
    out: dict[str, ModelCost] = {}
    for i, entry in enumerate(models):
        if not isinstance(entry, dict) or "name" not in entry:
            raise ReduceError(f"{path}: models[{i}] needs a `name`")
        cost = entry.get("cost")
        if cost is None:
            continue
        if isinstance(cost, ModelCost):
            out[str(entry["name"])] = cost
            continue
        if not isinstance(cost, dict):
            raise ReduceError(f"{path}: models[{i}].cost must be a mapping of ModelCost fields")
        try:
            out[str(entry["name"])] = ModelCost(**{"name": entry["name"], **cost})
        except ValueError as exc:
            raise ReduceError(f"{path}: models[{i}] ({entry['name']}): bad cost: {exc}") from None
    return out


def _test_weights(run_dir: str) -> tuple[dict, dict]:
    from pipeline.benchmarks.base import DataError
    from pipeline.run.generated_tests import run_test_weights

    try:
        return run_test_weights(run_dir)
    except DataError as exc:
        raise ReduceError(str(exc)) from None


def status_counts(verdicts: pa.Table) -> pd.DataFrame:
    """Samples per (model, benchmark) and verdict status, one column per status.

    Every status counts as not passing except `pass`; `unjudgeable` (the sample answered with
    a value that only its own methods could compare, see sandbox.server) and `error` (the
    sandbox could not judge) are where pass@k may differ from an in-process reference."""
    v = verdicts.select(["model", "benchmark", "status"]).to_pandas()
    counts = (v.groupby(["model", "benchmark", "status"]).size()
              .unstack("status", fill_value=0)
              .reindex(columns=list(schemas.VERDICT_STATUSES), fill_value=0))
    counts.columns.name = None
    counts["samples"] = counts.sum(axis=1)
    return counts.reset_index()


def reduce_run(run_dir: str, *, ci: float = 0.95, n_boot: int = 1000, seed: int = 0,
               k_range: str = "half", exclude_errors: bool = False) -> pa.Table:
    """Reduce a run directory (a local path or a filesystem URI); writes curves.parquet,
    tables/ (with costs_<benchmark>: the cost each budget curve used) and figures/ through the
    same storage layer, and returns the curves.

    Layout read: RUN_DIR/{samples,verdicts,scores,probes}/model=<m>/benchmark=<b>/shard-*.parquet,
    RUN_DIR/config.yaml (optional, for costs and the generated-test files of the probe stage)
    and RUN_DIR/problems (to map those files' lines to tasks).
    """
    from pipeline.report import plots
    from pipeline.run import storage
    from pipeline.report import markdown

    if not storage.exists(run_dir):
        raise ReduceError(f"{run_dir}: no such run directory")
    samples = storage.read_dataset(storage.join(run_dir, "samples"), "samples")
    verdicts = storage.read_dataset(storage.join(run_dir, "verdicts"), "verdicts")
    if samples.num_rows == 0:
        raise ReduceError(f"{run_dir}: no samples under {storage.join(run_dir, 'samples')}")
    if verdicts.num_rows == 0:
        raise ReduceError(f"{run_dir}: no verdicts yet; run or resume the execute stage first")
    scores = storage.read_dataset(storage.join(run_dir, "scores"), "scores")
    probes = storage.read_dataset(storage.join(run_dir, "probes"), "probes")
    costs = load_costs(storage.join(run_dir, "config.yaml"))
    weights, written = _test_weights(run_dir) if probes.num_rows else ({}, {})
    curves = reduce_tables(samples, verdicts, scores if scores.num_rows else None, costs,
                           ci=ci, n_boot=n_boot, seed=seed, k_range=k_range,
                           exclude_errors=exclude_errors,
                           probes=probes if probes.num_rows else None,
                           test_weights=weights, test_samples=written)
    storage.write_table(curves, storage.join(run_dir, "curves.parquet"), "curves")
    priced = priced_costs(samples, costs)
    with storage.local_dir(storage.join(run_dir, "tables")) as tables:
        markdown.write_tables(curves, tables)
        statuses = status_counts(verdicts)
        statuses.to_csv(tables / "verdict_statuses.csv", index=False)
        (tables / "verdict_statuses.md").write_text(
            markdown.to_markdown(statuses, "samples per verdict status (unjudgeable: the answer "
                                 "could not be compared outside the sample)"))
        for bench, frame in priced.groupby("benchmark", sort=True):
            frame = frame.drop(columns="benchmark")
            frame.to_csv(tables / f"costs_{bench}.csv", index=False)
            (tables / f"costs_{bench}.md").write_text(markdown.to_markdown(
                frame, f"{bench}: cost per sample of each budget curve, and its source"))
    with storage.local_dir(storage.join(run_dir, "figures")) as figures:
        plots.draw_all(curves, figures)
    return curves
