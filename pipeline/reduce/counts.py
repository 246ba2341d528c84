"""Per-problem inputs of the advisor from a run's tables: counts (n, c), greedy passes, rank-scores.

Role in the pipeline: between the tables (samples, verdicts, scores) and `pipeline.reduce.advise`:
one `advise.ModelData` per (model, benchmark), with the problems of a benchmark aligned across
its models (the problems every model has samples for). Pure: tables in, arrays out.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

import schemas
from pipeline.reduce import metrics
from pipeline.reduce.advise import AdviceError, ModelData


KEY = list(schemas.KEY)


def joined(samples: pa.Table, verdicts: pa.Table, scores: pa.Table | None = None) -> pd.DataFrame:
    """One row per sample: key, temperature, passed, exec seconds, and (if scored) ranker,
    mean_nll (NaN -> inf: an empty completion ranks last), truncated."""
    s = samples.select(KEY + ["temperature"]).to_pandas()
    v = verdicts.select(KEY + ["status", "exec_ms"]).to_pandas()
    out = s.merge(v, on=KEY, how="inner")
    if len(out) != len(s):
        raise AdviceError(f"{len(s) - len(out)} samples have no verdict; run or resume the "
                          "execute stage first")
    out["passed"] = (out["status"] == "pass").astype(np.float64)
    out["exec_seconds"] = out["exec_ms"] / 1000.0
    if scores is not None and scores.num_rows:
        sc = scores.select(KEY + ["ranker", "mean_nll", "truncated"]).to_pandas()
        sc["mean_nll"] = sc["mean_nll"].fillna(np.inf)
        out = out.merge(sc, on=KEY, how="left")
    return out


def rank_keys(samples: pa.Table, scores: pa.Table | None = None, probes: pa.Table | None = None,
              test_weights=None, test_samples=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(keys, costs) of every ranker the tables allow (`pipeline.rank.rank_all`) over the
    sampled completions: what `model_data` ranks by."""
    from pipeline import rank

    s = samples.select(KEY + ["temperature"]).to_pandas()
    inputs = rank.RankInputs(
        s[s["temperature"] > 0][KEY],
        scores.to_pandas() if scores is not None and scores.num_rows else None,
        probes.to_pandas() if probes is not None and probes.num_rows else None,
        test_weights or {}, test_samples or {})
    try:
        return rank.rank_all(inputs)
    except rank.RankError as exc:
        raise AdviceError(str(exc)) from None


def _rank_per_problem(rows: pd.DataFrame, tasks: np.ndarray) -> np.ndarray | None:
    """rank-score@k per problem [P, K] as the reducer computes it from one ranker's keys:
    unusable samples (NLL: truncated) left out, ties averaged, a problem with no usable
    sample a failure at every k."""
    usable = rows[rows["usable"].astype(bool)]
    code = np.searchsorted(tasks, usable["task_id"].to_numpy())
    n = np.bincount(code, minlength=tasks.size)
    if not (n > 0).any():
        return None
    return metrics.rank_score_by_key(code, usable["key"].to_numpy(dtype=np.float64),
                                     usable["passed"].to_numpy(),
                                     tasks.size, np.arange(1, int(n[n > 0].min()) + 1))


def model_data(frame: pd.DataFrame, benchmark: str, keys: pd.DataFrame | None = None,
               rank_costs: pd.DataFrame | None = None) -> tuple[list[ModelData], dict]:
    """(ModelData per model, facts) for one benchmark of a `joined` frame; rankings from
    `keys` (`rank_keys`; default: the NLL scores in the frame) and what each ranker
    generates per sample from `rank_costs`.

    facts: problems used, problems dropped (not covered by every model), mean exec seconds per
    executed sample per model, the (n, c) arrays per model and the task ids they follow."""
    bench = frame[frame["benchmark"] == benchmark]
    sampled = bench[bench["temperature"] > 0]
    models = sorted(sampled["model"].unique())
    if not models:
        raise AdviceError(f"{benchmark}: no temperature > 0 samples to advise on")
    per_model = {m: sampled[sampled["model"] == m] for m in models}
    task_sets = [set(g["task_id"]) for g in per_model.values()]
    tasks = np.array(sorted(set.intersection(*task_sets)))
    if tasks.size == 0:
        raise AdviceError(f"{benchmark}: no problem has samples from every model ({models})")
    dropped = len(set.union(*task_sets)) - tasks.size
    out, exec_s, raw = [], {}, {}
    for m in models:
        g = per_model[m]
        g = g[g["task_id"].isin(tasks)]
        one = g.drop_duplicates(KEY) if "ranker" in g else g
        counts = one.groupby("task_id")["passed"].agg(["size", "sum"]).reindex(tasks)
        raw[m] = (counts["size"].to_numpy(np.int64),
                  np.rint(counts["sum"].to_numpy()).astype(np.int64))
        data = ModelData.from_counts(m, *raw[m])
        exec_s[m] = float(one["exec_seconds"].mean())
        if keys is None and "ranker" in g:  # NLL scores joined in: one ranker per scorer
            mine = g.dropna(subset=["ranker"]).assign(
                key=lambda f: f["mean_nll"], usable=lambda f: ~f["truncated"].astype(bool))
        elif keys is not None:
            mine = keys[(keys["model"] == m) & (keys["benchmark"] == benchmark)]
            mine = mine.merge(one[KEY + ["passed"]], on=KEY, how="inner")
        else:
            mine = pd.DataFrame(columns=["ranker"])
        for ranker, rows in mine.groupby("ranker"):
            rs = _rank_per_problem(rows, tasks)
            if rs is not None:
                data.ranked[str(ranker)] = rs
        if rank_costs is not None and len(rank_costs):
            rc = rank_costs[(rank_costs["model"] == m) & (rank_costs["benchmark"] == benchmark)]
            data.ranker_samples = {str(r): float(x) for r, x in
                                   zip(rc["ranker"], rc["model_samples"]) if float(x) > 0}
        greedy = bench[(bench["model"] == m) & (bench["temperature"] == 0)]
        greedy = greedy.drop_duplicates(KEY)
        if len(greedy) and set(tasks) <= set(greedy["task_id"]):
            data.greedy = greedy.groupby("task_id")["passed"].mean().reindex(tasks).to_numpy()
        out.append(data)
    return out, {"problems": int(tasks.size), "dropped": int(dropped), "exec_seconds": exec_s,
                 "counts": raw, "task_ids": tasks}


def curve_data(model: str, pass_at_k) -> ModelData:
    """A model known only by its mean pass@k curve (paper mode)."""
    return ModelData.from_curve(model, pass_at_k)



