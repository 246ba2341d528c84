"""The reducer's view of the rankers: each ranker's key per sample, joined with its pass, and
what a ranker adds to a model's cost per sample on a budget axis.

Role in the pipeline: between `pipeline.rank` (scores without the hidden tests) and
`pipeline.reduce.curves` (rank-score curves). Pure: tables in, frames out.
"""

from __future__ import annotations

from typing import Optional

import pandas as pd
import pyarrow as pa

import schemas

KEY = list(schemas.KEY)


class RankedError(ValueError):
    """The ranker tables do not fit the run's samples (the message names the first bad row)."""


def _known_rows(table: pa.Table, name: str, joined: pd.DataFrame,
                excluded: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """`table`'s rows as pandas, less those of samples excluded with their error verdicts;
    a row without a sample/verdict is refused (ReduceError naming it)."""
    frame = table.select(columns).to_pandas()
    if len(excluded):
        drop = frame.merge(excluded.assign(_x=True), on=KEY, how="left")["_x"].fillna(False)
        frame = frame[~drop.to_numpy(dtype=bool)]
    known = frame[KEY].merge(joined[KEY], on=KEY, how="left", indicator=True)
    orphan = known[known["_merge"] == "left_only"]
    if len(orphan):
        first = orphan.iloc[0]
        raise RankedError(
            f"{len(orphan)} {name} have no sample/verdict (first: model={first['model']} "
            f"task_id={first['task_id']} sample_idx={first['sample_idx']})")
    return frame.reset_index(drop=True)


def rank_keys(joined, excluded, scores, probes, test_weights, test_samples):
    """(keys, costs) of every ranker the tables allow (`pipeline.rank.rank_all`), the keys
    joined with the pass of each sample."""
    from pipeline import rank

    score_rows = probe_rows = None
    if scores is not None and scores.num_rows:
        score_rows = _known_rows(scores, "scores", joined, excluded,
                                 KEY + ["ranker", "mean_nll", "truncated"])
    if probes is not None and probes.num_rows:
        probe_rows = _known_rows(probes, "probes", joined, excluded,
                                 KEY + ["probe_set", "outcomes", "matches", "exec_ms"])
    sampled = joined[joined["temperature"] > 0][KEY]
    inputs = rank.RankInputs(sampled, score_rows, probe_rows, test_weights, test_samples)
    try:
        keys, costs = rank.rank_all(inputs)
    except rank.RankError as exc:
        raise RankedError(str(exc)) from None
    keys = keys.merge(joined[KEY + ["passed", "task_code"]], on=KEY, how="inner")
    return keys, costs


def with_ranker_cost(cost: float, kind: str, model: str, bench: str, ranker: Optional[str],
                      rank_costs: Optional[pd.DataFrame]) -> float:
    """A model's cost per sample plus what `ranker` spends on each sample: `model_samples`
    more samples of the model (generated tests) and, on a time budget, its sandbox seconds
    (execution uses no accelerator FLOPs, so a FLOPs budget does not count them)."""
    if ranker is None or rank_costs is None or rank_costs.empty:
        return cost
    row = rank_costs[(rank_costs["model"] == model) & (rank_costs["benchmark"] == bench)
                     & (rank_costs["ranker"] == ranker)]
    if row.empty:
        return cost
    extra = cost * float(row["model_samples"].iloc[0])
    if kind == "time":
        extra += float(row["exec_seconds"].iloc[0])
    return cost + extra
