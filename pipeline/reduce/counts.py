"""Per-problem inputs of the advisor from a run: counts (n, c), greedy passes, rank-scores.

Role in the pipeline: between a run's reading (`pipeline.reduce.run_data.RunData`: the verdict
join with its error policy, the rankers) and `pipeline.reduce.advise`: one `advise.ModelData`
per (model, benchmark), with the problems of a benchmark aligned across its models (the
problems every model has samples for). It reads the same join and the same rank-scores
(`Ranked.per_problem`) as the reducer's curves, so the two agree on every run. Pure: frames in,
arrays out.
"""

from __future__ import annotations

from typing import Optional

import numpy as np
import pandas as pd

import schemas
from pipeline.reduce import held
from pipeline.reduce.advise import AdviceError, ModelData
from pipeline.reduce.joined import exec_wall_seconds
from pipeline.reduce.ranked import Ranked

KEY = list(schemas.KEY)


def model_data(joined: pd.DataFrame, benchmark: str, ranked: Optional[Ranked] = None, *,
               rank_subsets: int = held.N_SUBSETS, seed: int = 0
               ) -> tuple[list[ModelData], dict]:
    """(ModelData per model, facts) for one benchmark of a joined run
    (`pipeline.reduce.joined.join`); rank-scores for every ranker of `ranked` (none if None)
    except those that read the benchmark's hidden tests (listed in facts), and what each
    ranker generates per sample.

    facts: problems used, problems dropped (not covered by every model), mean wall seconds of
    sandbox execution per executed sample per model, the (n, c) arrays per model and the task
    ids they follow, and `upper_bounds`: rankers left out for reading the hidden tests."""
    bench = joined[joined["benchmark"] == benchmark]
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
    upper = sorted({r for r, b in (ranked.hidden if ranked else set()) if b == benchmark})
    for m in models:
        g = per_model[m]
        g = g[g["task_id"].isin(tasks)]
        counts = g.groupby("task_id")["passed"].agg(["size", "sum"]).reindex(tasks)
        raw[m] = (counts["size"].to_numpy(np.int64),
                  np.rint(counts["sum"].to_numpy()).astype(np.int64))
        data = ModelData.from_counts(m, *raw[m])
        exec_s[m] = exec_wall_seconds(g)
        for ranker in (ranked.rankers(m, benchmark) if ranked else []):
            if ranker in upper:
                continue
            got = ranked.per_problem(m, benchmark, ranker, tasks, k_range="full",
                                     n_subsets=rank_subsets, seed=seed)
            if got is not None:
                data.ranked[ranker] = got[0]
        if ranked is not None and len(ranked.costs):
            rc = ranked.costs[(ranked.costs["model"] == m)
                              & (ranked.costs["benchmark"] == benchmark)]
            data.ranker_samples = {str(r): float(x) for r, x in
                                   zip(rc["ranker"], rc["model_samples"]) if float(x) > 0}
        greedy = bench[(bench["model"] == m) & (bench["temperature"] == 0)]
        if len(greedy) and set(tasks) <= set(greedy["task_id"]):
            data.greedy = greedy.groupby("task_id")["passed"].mean().reindex(tasks).to_numpy()
        out.append(data)
    return out, {"problems": int(tasks.size), "dropped": int(dropped), "exec_seconds": exec_s,
                 "counts": raw, "task_ids": tasks, "upper_bounds": upper}


def curve_data(model: str, pass_at_k) -> ModelData:
    """A model known only by its mean pass@k curve (paper mode)."""
    return ModelData.from_curve(model, pass_at_k)
