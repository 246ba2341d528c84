"""Dual execution agreement (CodeT, Chen et al. 2022) with model-written tests.

Role in the pipeline: reads the `generated_tests` probe set (each sample run on the distinct
asserts a model wrote for the problem, the first `max_tests_per_sample` of each test sample).
Samples of a problem that pass exactly the same set of tests form a group; a sample scores
(tests its group passes) x sqrt(group size), a test counting as many times as test samples
wrote it (`RankInputs.test_weights`), as CodeT/src/agreement.py scores a consensus set. A sample
that passes none scores 0. Its cost adds the test samples' generation, in code samples of the
same model, to the sandbox seconds.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.rank.base import COST_COLUMNS, RankInputs, Ranker, exec_cost, frame, group_sizes


def passed_tests(matches) -> np.ndarray:
    """The asserts a sample passed, as a bool vector (no probe row: none)."""
    if not isinstance(matches, (list, tuple, np.ndarray)):
        return np.zeros(0, dtype=bool)
    return np.array([m is not None and bool(m) for m in matches], dtype=bool)


class DualAgreement(Ranker):
    name = "dual_agreement"
    higher_is_better = True
    needs = "generated_tests"

    def scores(self, inputs: RankInputs) -> pd.DataFrame:
        probed = inputs.probe_set(self.needs)
        bits = [passed_tests(m) for m in probed["matches"]]
        weighted = np.zeros(len(bits))
        for i, (b, bench, task) in enumerate(zip(bits, probed["benchmark"], probed["task_id"])):
            w = np.asarray(inputs.test_weights.get((bench, task), np.ones(b.size)), dtype=float)
            if w.size != b.size:
                raise ValueError(f"{task} ({bench}): {b.size} generated-test outcomes but "
                                 f"{w.size} test weights; the probes and the test file differ")
            weighted[i] = w[b].sum()
        sizes = group_sizes(probed, [b.tobytes() for b in bits])
        return frame(probed, self.name, weighted * np.sqrt(sizes))

    def cost(self, inputs: RankInputs) -> pd.DataFrame:
        probed = inputs.probe_set(self.needs)
        out = exec_cost(probed, self.name)
        per_problem = probed.groupby(["model", "benchmark", "task_id"]).size().rename("n")
        per_problem = per_problem.reset_index()
        per_problem["tests"] = [inputs.test_samples.get((b, t), 0) for b, t in
                                zip(per_problem["benchmark"], per_problem["task_id"])]
        # test samples written per code sample, averaged over problems
        per_problem["model_samples"] = per_problem["tests"] / per_problem["n"]
        frac = per_problem.groupby(["model", "benchmark"])["model_samples"].mean().reset_index()
        return out.merge(frac, on=["model", "benchmark"], how="left")[COST_COLUMNS]
