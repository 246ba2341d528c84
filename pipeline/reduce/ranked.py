"""The reducer's view of the rankers: each ranker's rank-score@k per problem, and what a ranker
adds to a model's cost per sample on a budget axis.

Role in the pipeline: between `pipeline.rank` (scores without the hidden tests) and its two
readers, the curves (`pipeline.reduce.curves`) and the advisor (`pipeline.reduce.counts`), which
both get rank-scores from `Ranked.per_problem` only. A ranker whose scores do not depend on the
other samples (NLL) is evaluated exactly from its keys (`metrics.rank_score_by_key`); a
set-dependent one (output agreement, dual agreement) with its ranking recomputed inside the k
samples held (`pipeline.reduce.held`). Pure: tables in, arrays out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Optional

import numpy as np
import pandas as pd
import pyarrow as pa

import schemas
from pipeline.reduce import held, metrics

KEY = list(schemas.KEY)
#: k ranges: "half" = 1..floor(n/2) (the paper's), "full" = 1..n.
K_RANGES = ("half", "full")


class RankedError(ValueError):
    """The ranker tables do not fit the run's samples (the message names the first bad row)."""


def k_max(n_min: int, k_range: str) -> int:
    """The largest k reported for problems with at least `n_min` samples."""
    return max(1, n_min // 2) if k_range == "half" else n_min


@dataclass
class Ranked:
    """Every ranker the tables allow, over a run's sampled completions.

    `keys`: `pipeline.rank.KEY_COLUMNS` plus `passed` (lower key ranks first); `costs`:
    `pipeline.rank.COST_COLUMNS`; `subsets`: set-dependent ranker -> (model, benchmark,
    task_id) -> (its usable samples' KEY rows, SubsetScorer); `hidden`: (ranker, benchmark)
    pairs where the ranker reads the benchmark's hidden tests (an upper bound there)."""

    keys: pd.DataFrame
    costs: pd.DataFrame
    subsets: dict[str, dict[tuple[str, str, str], tuple[pd.DataFrame, object]]] = field(
        default_factory=dict)
    hidden: set[tuple[str, str]] = field(default_factory=set)

    def rankers(self, model: str, benchmark: str) -> list[str]:
        mine = self.keys[(self.keys["model"] == model) & (self.keys["benchmark"] == benchmark)]
        return sorted(str(r) for r in mine["ranker"].unique())

    def per_problem(self, model: str, benchmark: str, ranker: str, tasks, *,
                    k_range: str = "full", n_subsets: int = held.N_SUBSETS, seed: int = 0
                    ) -> Optional[tuple[np.ndarray, np.ndarray]]:
        """(rank-score@k, its Monte Carlo standard error), both [P, K] over `tasks` (sorted
        task ids) for k = 1..k_max(the smallest usable n, k_range); None if no problem has a
        usable sample. A problem without a usable sample is a failure at every k."""
        tasks = np.asarray(tasks)
        rows = self.keys[(self.keys["model"] == model) & (self.keys["benchmark"] == benchmark)
                         & (self.keys["ranker"] == ranker)]
        usable = rows[rows["usable"].astype(bool) & rows["task_id"].isin(tasks)]
        code = np.searchsorted(tasks, usable["task_id"].to_numpy())
        n = np.bincount(code, minlength=tasks.size)
        if not (n > 0).any():
            return None
        ks = np.arange(1, k_max(int(n[n > 0].min()), k_range) + 1)
        if ranker not in self.subsets:
            values = metrics.rank_score_by_key(code, usable["key"].to_numpy(dtype=np.float64),
                                               usable["passed"].to_numpy(), tasks.size, ks)
            return values, np.zeros_like(values)
        passed = usable.set_index(KEY)["passed"]
        mine = self.subsets[ranker]
        problems = []
        for task in tasks:
            key = (model, benchmark, str(task))
            if key not in mine or not len(mine[key][0]):
                problems.append((key, None, None))
                continue
            sample_rows, scorer = mine[key]
            problems.append((key, scorer, passed.loc[pd.MultiIndex.from_frame(sample_rows)]
                             .to_numpy(dtype=np.float64)))
        return held.per_problem(problems, ks, n_subsets=n_subsets, seed=seed)


def _known_rows(table: pa.Table, name: str, joined: pd.DataFrame,
                excluded: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """`table`'s rows as pandas, less those of samples excluded with their error verdicts;
    a row without a sample/verdict is refused (RankedError naming it)."""
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


def rank(joined: pd.DataFrame, excluded: pd.DataFrame, scores: Optional[pa.Table],
         probes: Optional[pa.Table], test_pools: Optional[Mapping] = None) -> Ranked:
    """Every ranker the tables allow (`pipeline.rank.rank_all`) over the sampled completions of
    `joined` (`pipeline.reduce.joined.join`), keys joined with the pass of each sample."""
    from pipeline import rank as rank_mod

    score_rows = probe_rows = None
    if scores is not None and scores.num_rows:
        score_rows = _known_rows(scores, "scores", joined, excluded,
                                 KEY + ["ranker", "mean_nll", "truncated"])
    if probes is not None and probes.num_rows:
        probe_rows = _known_rows(probes, "probes", joined, excluded,
                                 KEY + ["probe_set", "outcomes", "matches", "exec_ms"])
    sampled = joined[joined["temperature"] > 0][KEY]
    inputs = rank_mod.RankInputs(sampled, score_rows, probe_rows, dict(test_pools or {}))
    try:
        keys, costs = rank_mod.rank_all(inputs)
        subsets, hidden = {}, set()
        for name in keys["ranker"].unique():
            ranker = rank_mod.RANKERS.get(str(name))
            if ranker is None:
                continue  # an NLL ranker, named after its scoring model
            ranker = ranker()
            if ranker.set_dependent:
                subsets[str(name)] = {key: (rows, scorer)
                                      for key, rows, scorer in ranker.subsets(inputs)}
            hidden |= {(str(name), b) for b in keys["benchmark"].unique()
                       if ranker.reads_hidden_tests(str(b))}
    except (rank_mod.RankError, ValueError) as exc:
        raise RankedError(str(exc)) from None
    keys = keys.merge(joined[KEY + ["passed"]], on=KEY, how="inner")
    return Ranked(keys, costs, subsets, hidden)


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
