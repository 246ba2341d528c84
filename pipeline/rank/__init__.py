"""Rankers: ordering a problem's samples without its hidden tests (rank-score@k per ranker).

Role in the pipeline: the reducer (`pipeline.reduce.curves`) and the advisor
(`pipeline.reduce.counts`) call `rank_all` on a run's tables and compute rank-score@k and the
budgeted rank-scores of every ranker that the run's tables allow. Adding a ranker is a module
with a `base.Ranker` subclass plus a line in RANKERS.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.rank.base import (COST_COLUMNS, KEY, SCORE_COLUMNS, RankError, RankInputs,
                                Ranker)
from pipeline.rank.dual_agreement import DualAgreement
from pipeline.rank.nll import NLL
from pipeline.rank.output_agreement import OutputAgreement, OutputAgreementNLL
from pipeline.rank.prompt_examples import PromptExamples

#: name -> ranker class; `rank_all` runs every one whose inputs the run has
RANKERS: dict[str, type[Ranker]] = {
    "nll": NLL,
    "output_agreement": OutputAgreement,
    "output_agreement+nll": OutputAgreementNLL,
    "prompt_examples": PromptExamples,
    "dual_agreement": DualAgreement,
}
#: columns of `rank_all`'s keys: lower `key` ranks first
KEY_COLUMNS = KEY + ["ranker", "key", "usable"]


def reads_hidden_tests(name: str, benchmark: str) -> bool:
    """Ranker `name` (a curve's `ranker`) reads `benchmark`'s hidden tests: on that benchmark
    its rank-score is an upper bound, not a choice without tests. NLL rankers (named after
    their scoring model) never do."""
    return name in RANKERS and RANKERS[name]().reads_hidden_tests(benchmark)


def label(name: str, benchmark: str) -> str:
    """How tables and figures name ranker `name` on `benchmark`."""
    if reads_hidden_tests(name, benchmark):
        return f"{name} (upper bound: reads {benchmark}'s hidden tests)"
    return name


def rank_all(inputs: RankInputs, names=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(keys, costs) of every ranker in `names` (default: all of RANKERS) that applies.

    keys: KEY_COLUMNS, one row per sample and ranker, `key` = the score turned so that lower
    ranks first. costs: COST_COLUMNS (`Ranker.cost`)."""
    keys, costs = [], []
    for name in names or RANKERS:
        if name not in RANKERS:
            raise RankError(f"unknown ranker {name!r}; known: {', '.join(RANKERS)}")
        ranker = RANKERS[name]()
        if not ranker.applies(inputs):
            continue
        s = ranker.scores(inputs)
        sign = -1.0 if ranker.higher_is_better else 1.0
        keys.append(s.assign(key=sign * s["score"].to_numpy(dtype=np.float64))[KEY_COLUMNS])
        costs.append(ranker.cost(inputs))
    keys_frame = pd.concat(keys, ignore_index=True) if keys else pd.DataFrame(columns=KEY_COLUMNS)
    costs = [c for c in costs if len(c)]
    cost_frame = (pd.concat(costs, ignore_index=True) if costs
                  else pd.DataFrame(columns=COST_COLUMNS))
    return keys_frame, cost_frame


__all__ = ["COST_COLUMNS", "KEY_COLUMNS", "RANKERS", "SCORE_COLUMNS", "RankError", "RankInputs",
           "Ranker", "label", "rank_all", "reads_hidden_tests"]
