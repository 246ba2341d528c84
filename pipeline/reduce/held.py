"""rank-score@k of set-dependent rankers, with the ranking recomputed inside the k samples held.

Role in the pipeline: the reducer (`pipeline.reduce.ranked`) calls `per_problem` for a ranker
whose score of a sample depends on the other samples (`pipeline.rank.base.Ranker.set_dependent`:
output clusters, agreement with generated tests). rank-score@k is the expected pass of the
best-ranked of k samples drawn without replacement, the ranking computed from those k samples
only (what a user holding k samples can compute), ties at the top broken uniformly at random.

Per (problem, k) the expectation is
- exact where it is tractable: k = 1 (any sample, c / n), and every k-subset enumerated when
  there are at most `n_subsets` of them and the subset decides the scores (k = n included);
- otherwise a seeded Monte Carlo over `n_subsets` random k-subsets (the same random orders of
  the problem's samples for every k, so the k-subsets are nested), whose standard error is
  returned beside the value (0 where exact).
Pure numpy: arrays in, arrays out; loops run over problems and k, never over samples.
"""

from __future__ import annotations

import itertools
import math
import zlib

import numpy as np

#: Random k-subsets per (problem, k) where enumeration is not tractable (reduce's default).
N_SUBSETS = 200
#: Scores within this relative distance of the top score tie with it.
SCORE_RTOL = 1e-9


def best_pass(scores: np.ndarray, held: np.ndarray, passed: np.ndarray,
              higher_is_better: bool = True) -> np.ndarray:
    """Per held subset (rows of `held`, bool [R, n]): the expected pass of its best-scored
    sample, ties at the top shared evenly. `scores` [R, n] (or [1, n]); `passed` [n] in [0, 1]."""
    s = np.broadcast_to(scores if higher_is_better else -scores, held.shape)
    s = np.where(held, s, -np.inf)
    top = s.max(axis=1, keepdims=True)
    tied = held & (s >= top - SCORE_RTOL * np.abs(top))
    return (tied @ np.asarray(passed, dtype=np.float64)) / tied.sum(axis=1)


def _all_subsets(n: int, k: int) -> np.ndarray:
    """Every k-subset of n items as a bool matrix [C(n, k), n]."""
    idx = np.array(list(itertools.combinations(range(n), k)), dtype=np.int64)
    held = np.zeros((idx.shape[0], n), dtype=bool)
    held[np.repeat(np.arange(idx.shape[0]), k), idx.ravel()] = True
    return held


def rank_score(scorer, passed, ks, *, higher_is_better: bool = True,
               n_subsets: int = N_SUBSETS, rng=None) -> tuple[np.ndarray, np.ndarray]:
    """(rank-score@k, its Monte Carlo standard error) for every k in `ks` on one problem:
    `scorer` (a `pipeline.rank.base.SubsetScorer`) scores its samples inside a held subset,
    `passed` [n] says which pass. NaN where k > n; SE 0 where the value is exact."""
    passed = np.asarray(passed, dtype=np.float64)
    n = passed.size
    ks = np.asarray(ks, dtype=np.int64)
    value, se = np.full(ks.size, np.nan), np.full(ks.size, np.nan)
    if n == 0:
        value[:], se[:] = 0.0, 0.0  # nothing usable: the ranker cannot pick a passing sample
        return value, se
    rng = rng if rng is not None else np.random.default_rng(0)
    order = draws = None
    for j, k in enumerate(ks):
        if k > n:
            continue
        if k == 1:
            value[j], se[j] = passed.mean(), 0.0
            continue
        if math.comb(n, int(k)) <= n_subsets and scorer.exact(int(k)):
            held = _all_subsets(n, int(k))
            vals = best_pass(scorer.scores(held, int(k), None), held, passed, higher_is_better)
            value[j], se[j] = vals.mean(), 0.0
            continue
        if order is None:  # drawn once per problem: nested subsets across k
            order = rng.random((n_subsets, n)).argsort(axis=1).argsort(axis=1)
            draws = rng.random((n_subsets, scorer.aux)) if scorer.aux else None
        held = order < k
        vals = best_pass(scorer.scores(held, int(k), None if scorer.exact(int(k)) else draws),
                         held, passed, higher_is_better)
        value[j], se[j] = vals.mean(), vals.std(ddof=1) / math.sqrt(n_subsets)
    return value, se


def problem_rng(seed: int, model: str, benchmark: str, task_id: str) -> np.random.Generator:
    """The random stream of one problem's subsets: fixed by the seed and the problem alone."""
    return np.random.default_rng([int(seed), zlib.crc32(f"{model}\x00{benchmark}\x00{task_id}"
                                                        .encode())])


def per_problem(problems, ks, *, higher_is_better: bool = True, n_subsets: int = N_SUBSETS,
                seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(values, standard errors), both [P, K], of rank-score@k for `problems`: a list of
    ((model, benchmark, task_id), scorer, passed) per problem (scorer None: no usable
    sample, a failure at every k)."""
    ks = np.asarray(ks, dtype=np.int64)
    values = np.zeros((len(problems), ks.size))
    errors = np.zeros((len(problems), ks.size))
    for p, (key, scorer, passed) in enumerate(problems):
        if scorer is None:
            continue
        values[p], errors[p] = rank_score(scorer, passed, ks, higher_is_better=higher_is_better,
                                          n_subsets=n_subsets, rng=problem_rng(seed, *key))
    return values, errors


def mean_se(errors: np.ndarray) -> np.ndarray:
    """Standard error of the mean over problems of independent per-problem estimates [P, K]."""
    errors = np.asarray(errors, dtype=np.float64)
    return np.sqrt(np.nansum(errors ** 2, axis=0)) / errors.shape[0]
