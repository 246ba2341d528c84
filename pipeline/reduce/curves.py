"""The reducer: a run's samples, verdicts and scores -> the `curves` table, Markdown/CSV tables
and figures.

Role in the pipeline: the last stage. `reduce_tables` is pure (tables in, curves table out);
`reduce_run` is its edge: it reads RUN_DIR/{samples,verdicts,scores} and RUN_DIR/config.yaml,
then writes RUN_DIR/curves.parquet, RUN_DIR/tables/*.{md,csv} (with `verdict_statuses`: samples
per verdict status, `status_counts`) and RUN_DIR/figures/*.{png,svg}.

Curves (metric column of the `curves` schema), one set per (model, benchmark):
- `pass@k`: unbiased pass@k for every k = 1..min n over the problems (temperature > 0 samples).
- `greedy_pass@1`: mean pass of the temperature == 0 samples, where there are any.
- `pass_flops` / `pass_time`: pass@k at the k a normalised budget buys (x = budget in units of
  the cheapest model's cost per sample), on one budget grid per benchmark shared by all models.
- `rank_score`: rank-score@k per ranker (lower mean NLL ranks first, ties averaged); samples
  that hit the token limit (`scores.truncated`) are excluded as in the paper; a problem left with
  no usable sample counts as a failure at every k.
Every point has a percentile bootstrap CI over problems (one seeded resampling per
(model, benchmark), shared by its curves).
"""

from __future__ import annotations

import zlib
from pathlib import Path
from typing import Mapping, Optional

import numpy as np
import pandas as pd
import pyarrow as pa

import schemas
from pipeline.reduce import metrics
from pipeline.reduce.cost import ModelCost, model_costs, normalise

KEY = list(schemas.KEY)
CURVE_COLUMNS = [f.name for f in schemas.CURVES]


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
) -> pa.Table:
    """The `curves` table of a run (see the module docstring for the metrics).

    `costs` maps model name -> ModelCost; FLOPs curves need a FLOPs cost for every model that
    should appear in them, time curves use the supplied seconds or else the measured
    gen_seconds of `samples`. `n_boot=0` leaves the CI columns null.
    """
    if not 0.0 < ci < 1.0:
        raise ReduceError(f"ci must be in (0, 1), got {ci}")
    if n_boot < 0:
        raise ReduceError(f"n_boot must be >= 0, got {n_boot}")
    try:
        schemas.validate(samples, "samples")
        schemas.validate(verdicts, "verdicts")
        if scores is not None:
            schemas.validate(scores, "scores")
    except schemas.SchemaError as exc:
        raise ReduceError(str(exc)) from None
    joined = _join_verdicts(samples, verdicts)
    if joined.empty:
        return schemas.empty("curves")
    score_frame = _score_frame(scores, joined)

    parts: list[dict] = []
    pass_curves: dict[tuple[str, str], tuple[np.ndarray, np.ndarray, np.ndarray, int]] = {}
    for (model, bench), group in joined.groupby(["model", "benchmark"], sort=True):
        boot_seed = _group_seed(seed, model, bench)
        sampled = group[group["temperature"] > 0]
        if len(sampled):
            curve = _pass_at_k_curve(sampled, ci, n_boot, boot_seed)
            pass_curves[(model, bench)] = curve
            value, lo, hi, n_prob = curve
            ks = np.arange(1, value.size + 1)
            parts.append(_part(model, bench, "pass@k", ks, ks, value, lo, hi, n_prob))
        greedy = group[group["temperature"] == 0]
        if len(greedy):
            parts.append(_greedy_part(model, bench, greedy, ci, n_boot, boot_seed + 1))
        if score_frame is not None and len(sampled):
            mine = score_frame[(score_frame["model"] == model) & (score_frame["benchmark"] == bench)]
            for ranker, sc in mine.groupby("ranker", sort=True):
                part = _rank_part(model, bench, str(ranker), sampled, sc, ci, n_boot, boot_seed)
                if part is not None:
                    parts.append(part)

    models = sorted({m for m, _ in pass_curves})
    flops, secs = model_costs(models, costs, samples)
    for metric, per_model in (("pass_flops", flops), ("pass_time", secs)):
        for bench in sorted({b for _, b in pass_curves}):
            parts.extend(_budget_parts(metric, bench, per_model, pass_curves))
    return _to_table(parts)


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


def _score_frame(scores: Optional[pa.Table], joined: pd.DataFrame) -> Optional[pd.DataFrame]:
    if scores is None or scores.num_rows == 0:
        return None
    sc = scores.select(KEY + ["ranker", "mean_nll", "truncated"]).to_pandas()
    known = sc.merge(joined[KEY + ["temperature", "passed", "task_code"]], on=KEY, how="left",
                     indicator=True)
    orphan = known[known["_merge"] == "left_only"]
    if len(orphan):
        first = orphan.iloc[0]
        raise ReduceError(
            f"{len(orphan)} scores have no sample/verdict (first: model={first['model']} "
            f"task_id={first['task_id']} sample_idx={first['sample_idx']} ranker={first['ranker']})"
        )
    # An empty completion has no token to score (mean_nll NaN): it ranks after every scored one.
    known["mean_nll"] = known["mean_nll"].fillna(np.inf)
    return known.drop(columns="_merge")


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


def _pass_at_k_curve(sampled: pd.DataFrame, ci: float, n_boot: int, seed: int):
    _, n, c = _per_problem(sampled)
    ks = np.arange(1, int(n.min()) + 1)
    per_problem = metrics.pass_at_k(n, c, ks)
    lo, hi = _interval(per_problem, ci, n_boot, seed)
    return per_problem.mean(axis=0), lo, hi, int(n.size)


def _greedy_part(model, bench, greedy, ci, n_boot, seed) -> dict:
    codes, n, _ = _per_problem(greedy)
    per_problem = (np.bincount(codes, weights=greedy["passed"].to_numpy()) / n)[:, None]
    lo, hi = _interval(per_problem, ci, n_boot, seed)
    one = np.array([1])
    return _part(model, bench, "greedy_pass@1", one, one, per_problem.mean(axis=0), lo, hi, n.size)


def _rank_part(model, bench, ranker, sampled, sc, ci, n_boot, seed) -> Optional[dict]:
    # keys are unique and every score has a sample (checked), so equal counts = full coverage
    rows = sc[sc["temperature"] > 0]
    if len(rows) != len(sampled):
        raise ReduceError(
            f"ranker {ranker!r} scored {len(rows)} of {len(sampled)} sampled completions "
            f"of model={model} benchmark={bench}; finish the scoring stage first"
        )
    all_tasks = np.unique(sampled["task_code"].to_numpy())
    usable = rows[~rows["truncated"].astype(bool)]
    task_codes = np.searchsorted(all_tasks, usable["task_code"].to_numpy())
    nll = usable["mean_nll"].to_numpy(dtype=np.float64)
    passed = metrics.average_ties(task_codes, nll, usable["passed"].to_numpy())
    order = np.lexsort((nll, task_codes))
    codes_sorted = task_codes[order]
    n = np.bincount(task_codes, minlength=all_tasks.size)
    if not (n > 0).any():
        return None
    starts = np.concatenate([[0], np.cumsum(n)[:-1]])
    pos = np.arange(order.size) - starts[codes_sorted]
    padded = np.zeros((all_tasks.size, int(n.max())))
    padded[codes_sorted, pos] = passed[order]
    ks = np.arange(1, int(n[n > 0].min()) + 1)
    per_problem = metrics.rank_score_at_k(padded, ks, n)
    per_problem[n == 0] = 0.0  # nothing finished: the ranker cannot pick a passing completion
    lo, hi = _interval(per_problem, ci, n_boot, seed)
    return _part(model, bench, "rank_score", ks, ks, per_problem.mean(axis=0), lo, hi,
                 all_tasks.size, ranker=ranker)


def _budget_parts(metric, bench, per_model_cost, pass_curves) -> list[dict]:
    models = [m for (m, b) in pass_curves if b == bench and per_model_cost.get(m) is not None]
    if not models:
        return []
    norm = normalise({m: per_model_cost[m] for m in models})
    max_ks = [pass_curves[(m, bench)][0].size for m in models]
    grid = metrics.budget_grid([norm[m] for m in models], max_ks)
    out = []
    for m in models:
        value, lo, hi, n_prob = pass_curves[(m, bench)]
        stacked = metrics.pass_at_budget(np.vstack([value, lo, hi]), norm[m], grid)
        keep = ~np.isnan(stacked[0])
        k = metrics.samples_for_budget(grid[keep], norm[m])
        out.append(_part(m, bench, metric, grid[keep], k, *stacked[:, keep], n_prob))
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
    """Model costs from a run's config.yaml: `models: [{name: ..., cost: {ModelCost fields}}]`.

    Read defensively: a missing file, or models without a `cost`, give no costs; a malformed
    entry raises ReduceError naming the file and the model.
    """
    import yaml

    path = Path(config_path)
    if not path.exists():
        return {}
    try:
        config = yaml.safe_load(path.read_text()) or {}
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


def reduce_run(run_dir: str, *, ci: float = 0.95, n_boot: int = 1000, seed: int = 0) -> pa.Table:
    """Reduce a run directory; writes curves.parquet, tables/ and figures/ and returns the curves.

    Layout read: RUN_DIR/{samples,verdicts,scores}/model=<m>/benchmark=<b>/shard-*.parquet and
    RUN_DIR/config.yaml (optional, for costs).
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
    costs = load_costs(Path(run_dir) / "config.yaml") if "://" not in str(run_dir) else {}
    curves = reduce_tables(samples, verdicts, scores if scores.num_rows else None, costs,
                           ci=ci, n_boot=n_boot, seed=seed)
    storage.write_table(curves, storage.join(run_dir, "curves.parquet"), "curves")
    markdown.write_tables(curves, Path(run_dir) / "tables")
    statuses = status_counts(verdicts)
    statuses.to_csv(Path(run_dir) / "tables" / "verdict_statuses.csv", index=False)
    (Path(run_dir) / "tables" / "verdict_statuses.md").write_text(
        markdown.to_markdown(statuses, "samples per verdict status (unjudgeable: the answer "
                             "could not be compared outside the sample)"))
    plots.draw_all(curves, Path(run_dir) / "figures")
    return curves
