"""Dual execution agreement (CodeT, Chen et al. 2022) with model-written tests.

Role in the pipeline: reads the `generated_tests` probe set (each sample run on the distinct
asserts a model wrote for the problem, the first `max_tests_per_sample` of each test sample).
Samples of a problem that pass exactly the same set of tests form a group; a sample scores
(tests its group passes) x sqrt(group size), a test counting as many times as test samples
wrote it (`RankInputs.test_pools`), as CodeT/src/agreement.py scores a consensus set. A sample
that passes none scores 0. Its cost adds the test samples' generation, in code samples of the
same model, to the sandbox seconds.

Set-dependent (`DualScorer`): a user holding k of a problem's n code samples also holds the
test samples bought with them, round(k x T / n) of the T written (the share the cost charges),
drawn at random: groups, their sizes and the tests' weights are counted among those.
"""

from __future__ import annotations

from typing import Iterator, Optional

import numpy as np
import pandas as pd

from pipeline.rank.base import (COST_COLUMNS, KEY, RankInputs, Ranker, TestPool, exec_cost,
                                problems)

#: fixed seed of the random test hashes that identify groups inside a subset
_HASH_SEED = 20221021


def passed_tests(matches) -> np.ndarray:
    """The asserts a sample passed, as a bool vector (no probe row: none)."""
    if not isinstance(matches, (list, tuple, np.ndarray)):
        return np.zeros(0, dtype=bool)
    return np.array([m is not None and bool(m) for m in matches], dtype=bool)


def _pool_for(inputs: RankInputs, bench: str, task: str, tests: int) -> Optional[TestPool]:
    """The problem's TestPool, checked against the probe set's number of tests."""
    pool = inputs.test_pools.get((bench, task))
    if pool is not None and pool.written.shape[1] != tests:
        raise ValueError(f"{task} ({bench}): {tests} generated-test outcomes but "
                         f"{pool.written.shape[1]} tests in its test pool; the probes and the "
                         "test file differ")
    return pool


def _bit_matrix(matches, width: int) -> np.ndarray:
    """[samples, width] bool: the tests each sample passed (a sample without a probe row:
    none)."""
    out = np.zeros((len(matches), width), dtype=bool)
    for i, m in enumerate(matches):
        b = passed_tests(m)
        if b.size:
            out[i, :b.size] = b
    return out


class DualScorer:
    """One problem's code samples scored by dual agreement inside held subsets."""

    def __init__(self, bits: np.ndarray, pool: Optional[TestPool]):
        bits = np.asarray(bits, dtype=bool)
        self.n, tests = bits.shape
        patterns, self.pattern = np.unique(bits, axis=0, return_inverse=True)
        self.pattern = self.pattern.ravel()
        self.patterns = patterns.astype(np.float64).T  # [tests, patterns]
        self.onehot = np.eye(patterns.shape[0])[self.pattern]  # [n, patterns]
        self.written = None if pool is None else np.asarray(pool.written, dtype=np.float64)
        self.weights = (np.ones(tests) if pool is None else pool.weights.astype(np.float64))
        top = min(2 ** 40, 2 ** 53 // max(tests, 1))  # hash sums stay exact in float64
        self.hashes = np.random.default_rng(_HASH_SEED).integers(0, top, tests).astype(np.float64)

    @property
    def aux(self) -> int:
        return 0 if self.written is None else self.written.shape[0]

    def test_samples_held(self, k: int) -> int:
        """Test samples bought with k code samples: round(k x T / n), at most T."""
        T = self.aux
        return min(T, int(np.floor(k * T / self.n + 0.5)))

    def exact(self, k: int) -> bool:
        return self.written is None or self.test_samples_held(k) >= self.written.shape[0]

    def scores(self, held: np.ndarray, k: int, draws: Optional[np.ndarray]) -> np.ndarray:
        if self.exact(k):
            weights = self.weights[None, :]
        else:
            chosen = draws.argsort(axis=1).argsort(axis=1) < self.test_samples_held(k)
            weights = chosen.astype(np.float64) @ self.written  # [R, tests]
        passed = weights @ self.patterns  # [R | 1, patterns]: weighted tests each passes
        key = ((weights > 0) * self.hashes) @ self.patterns  # equal iff same tests passed
        held_per = held.astype(np.float64) @ self.onehot  # [R, patterns]
        same = key[:, :, None] == key[:, None, :]
        size = np.einsum("ruv,rv->ru", np.broadcast_to(same, (held.shape[0],) + same.shape[1:]),
                         held_per)
        return (passed * np.sqrt(size))[:, self.pattern]


class DualAgreement(Ranker):
    name = "dual_agreement"
    higher_is_better = True
    needs = "generated_tests"
    set_dependent = True

    def scores(self, inputs: RankInputs) -> pd.DataFrame:
        return self.all_held(inputs, inputs.probe_set(self.needs))

    def subsets(self, inputs: RankInputs) -> Iterator[tuple]:
        for (model, bench, task), rows in problems(inputs.probe_set(self.needs)):
            width = max((passed_tests(m).size for m in rows["matches"]), default=0)
            pool = _pool_for(inputs, bench, task, width) if width else None
            yield ((model, bench, task), rows[KEY],
                   DualScorer(_bit_matrix(rows["matches"], width), pool))

    def cost(self, inputs: RankInputs) -> pd.DataFrame:
        probed = inputs.probe_set(self.needs)
        out = exec_cost(probed, self.name)
        per_problem = probed.groupby(["model", "benchmark", "task_id"]).size().rename("n")
        per_problem = per_problem.reset_index()
        per_problem["tests"] = [
            inputs.test_pools[(b, t)].samples if (b, t) in inputs.test_pools else 0
            for b, t in zip(per_problem["benchmark"], per_problem["task_id"])]
        # test samples written per code sample, averaged over problems
        per_problem["model_samples"] = per_problem["tests"] / per_problem["n"]
        frac = per_problem.groupby(["model", "benchmark"])["model_samples"].mean().reset_index()
        return out.merge(frac, on=["model", "benchmark"], how="left")[COST_COLUMNS]
