"""Output agreement (MBR-exec, AlphaCode's clustering): the largest cluster of equal outputs first.

Role in the pipeline: reads the `prompt_examples` probe set (every sample run on the inputs of
the prompt's examples; the shown outputs are not looked at). Samples of a problem with the same
outcome on every input form a cluster (an exception or a timeout is an outcome like a value);
a sample scores its cluster's size. A problem without examples leaves all its samples tied.
`output_agreement+nll` breaks ties inside a score by the NLL ranker (lower first).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.rank.base import RankInputs, Ranker, frame, group_sizes, outcome_label
from pipeline.rank.nll import NLL


def cluster_sizes(probed: pd.DataFrame) -> np.ndarray:
    """Per sample: the number of samples of its problem with exactly its outcomes."""
    return group_sizes(probed, [outcome_label(o) for o in probed["outcomes"]])


class OutputAgreement(Ranker):
    name = "output_agreement"
    higher_is_better = True
    needs = "prompt_examples"

    def scores(self, inputs: RankInputs) -> pd.DataFrame:
        probed = inputs.probe_set(self.needs)
        return frame(probed, self.name, cluster_sizes(probed))


class OutputAgreementNLL(OutputAgreement):
    """Cluster size first, then the NLL of the first scoring model (by name) within a size."""

    name = "output_agreement+nll"

    def applies(self, inputs: RankInputs) -> bool:
        return super().applies(inputs) and NLL().applies(inputs)

    def scores(self, inputs: RankInputs) -> pd.DataFrame:
        probed = inputs.probe_set(self.needs)
        nll = NLL().scores(inputs)
        nll = nll[nll["ranker"] == nll["ranker"].min()]
        both = probed.assign(cluster=cluster_sizes(probed)).merge(
            nll[["model", "benchmark", "task_id", "sample_idx", "score", "usable"]],
            on=["model", "benchmark", "task_id", "sample_idx"], how="left")
        problem = [both["model"], both["benchmark"], both["task_id"]]
        # dense NLL rank within the problem (1 = lowest NLL); equal NLLs share a rank
        nll_rank = both.groupby(problem)["score"].rank(method="dense").fillna(1.0)
        span = both.groupby(problem)["score"].transform("size").to_numpy(dtype=np.float64) + 1
        score = both["cluster"].to_numpy() * span + (span - nll_rank.to_numpy())
        return frame(both, self.name, score, both["usable"].fillna(True).to_numpy(dtype=bool))
