"""Output agreement (MBR-exec, AlphaCode's clustering): the largest cluster of equal outputs first.

Role in the pipeline: reads the `prompt_examples` probe set (every sample run on the inputs of
the prompt's examples; the shown outputs are not looked at). Samples of a problem with the same
outcome on every input form a cluster (an exception or a timeout is an outcome like a value);
a sample scores its cluster's size. A problem without examples leaves all its samples tied.
`output_agreement+nll` breaks ties inside a score by the NLL ranker (lower first).

Set-dependent: a cluster's size is counted among the samples held, so rank-score@k is
evaluated inside k-subsets (`OutputScorer`).
"""

from __future__ import annotations

from typing import Iterator, Optional

import numpy as np
import pandas as pd

from pipeline.rank.base import KEY, RankInputs, Ranker, outcome_label, problems
from pipeline.rank.nll import NLL


class OutputScorer:
    """One problem's samples scored by the size of their output cluster among the held ones,
    plus `tiebreak` (a score in [0, 1) that orders samples within a size; 0: none)."""

    aux = 0

    def __init__(self, labels, tiebreak=None):
        codes = pd.factorize(pd.Series(labels, dtype=object))[0]
        self.onehot = np.eye(int(codes.max()) + 1 if codes.size else 0)[codes]  # [n, clusters]
        self.codes = codes
        self.tiebreak = (np.zeros(codes.size) if tiebreak is None
                         else np.asarray(tiebreak, dtype=np.float64))

    def exact(self, k: int) -> bool:
        return True

    def scores(self, held: np.ndarray, k: int, draws: Optional[np.ndarray]) -> np.ndarray:
        counts = held.astype(np.float64) @ self.onehot  # [R, clusters]: exact small integers
        return counts[:, self.codes] + self.tiebreak[None, :]


class OutputAgreement(Ranker):
    name = "output_agreement"
    higher_is_better = True
    needs = "prompt_examples"
    set_dependent = True

    def scores(self, inputs: RankInputs) -> pd.DataFrame:
        return self.all_held(inputs, inputs.probe_set(self.needs))

    def subsets(self, inputs: RankInputs) -> Iterator[tuple]:
        for key, rows in problems(inputs.probe_set(self.needs)):
            yield key, rows[KEY], OutputScorer([outcome_label(o) for o in rows["outcomes"]])


class OutputAgreementNLL(OutputAgreement):
    """Cluster size first, then the NLL of the first scoring model (by name) within a size;
    samples the NLL ranker leaves out (truncated) are left out here too."""

    name = "output_agreement+nll"

    def applies(self, inputs: RankInputs) -> bool:
        return super().applies(inputs) and NLL().applies(inputs)

    def _joined(self, inputs: RankInputs) -> pd.DataFrame:
        """The probed samples with the NLL score, its usability and `tiebreak`, in (0, 1):
        higher for a lower NLL within the problem, equal for equal NLLs."""
        probed = inputs.probe_set(self.needs)
        nll = NLL().scores(inputs)
        nll = nll[nll["ranker"] == nll["ranker"].min()]
        both = probed.merge(nll[KEY + ["score", "usable"]], on=KEY, how="left")
        both["usable"] = both["usable"].fillna(True).astype(bool)
        problem = [both["model"], both["benchmark"], both["task_id"]]
        place = both.groupby(problem)["score"].rank(method="dense").fillna(1.0)
        span = both.groupby(problem)["score"].transform("size").to_numpy(dtype=np.float64) + 1
        both["tiebreak"] = 1.0 - place.to_numpy() / span  # in (0, 1): lower NLL, higher
        return both

    def subsets(self, inputs: RankInputs) -> Iterator[tuple]:
        both = self._joined(inputs)
        for key, rows in problems(both[both["usable"]]):
            yield key, rows[KEY], OutputScorer([outcome_label(o) for o in rows["outcomes"]],
                                               rows["tiebreak"].to_numpy())
