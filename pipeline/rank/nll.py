"""The paper's ranker: the mean token NLL of the completion under a ranker model (lower first).

Role in the pipeline: reads the `scores` table the score stage wrote, one ranker per scoring
model (its `ranker` value, e.g. the generator itself). Completions that hit the token limit
(`truncated`) are left out of the ranking, as in Hassid et al. 2024; an empty completion (no
token, NaN) ranks after every scored one.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.rank.base import COST_COLUMNS, KEY, SCORE_COLUMNS, RankError, RankInputs, Ranker


class NLL(Ranker):
    name = "nll"  # the curves name each NLL ranker after its scoring model instead
    higher_is_better = False
    needs = "scores"

    def applies(self, inputs: RankInputs) -> bool:
        return inputs.scores is not None and not inputs.scores.empty

    def scores(self, inputs: RankInputs) -> pd.DataFrame:
        sc = inputs.scores[KEY + ["ranker", "mean_nll", "truncated"]]
        out = inputs.samples[KEY].merge(sc, on=KEY, how="inner")
        wanted = inputs.samples.groupby(["model", "benchmark"]).size()
        got = out.groupby(["model", "benchmark", "ranker"]).size()
        for (model, bench, ranker), count in got.items():
            if count != wanted[(model, bench)]:
                raise RankError(
                    f"ranker {ranker!r} scored {count} of {wanted[(model, bench)]} sampled "
                    f"completions of model={model} benchmark={bench}; finish the scoring "
                    "stage first")
        out["score"] = out["mean_nll"].fillna(np.inf).astype(np.float64)
        out["usable"] = ~out["truncated"].astype(bool)
        return out[SCORE_COLUMNS]

    def cost(self, inputs: RankInputs) -> pd.DataFrame:
        """Not charged: one prompt-logprob pass, which the paper's budgets leave out too."""
        return pd.DataFrame(columns=COST_COLUMNS)
