"""Monte-Carlo reference for the advisor's strategies: draw actual subsets of samples.

Role in the pipeline: a check, not a metric. Tests and the reproduction report compare every
exact formula of `pipeline.reduce.strategies` with this simulation on the same counts. Each
trial draws samples without replacement from a problem's n samples (c of them passing) and plays
the strategy out: a mix draws from every model, a cascade calls the second model only when none
of the first model's samples passes, early stopping stops at the first pass, a ranked choice
keeps the best-ranked of its draws (ties broken at random).
"""

from __future__ import annotations

import numpy as np


def _draws(rng, outcomes: np.ndarray, k: int, trials: int) -> np.ndarray:
    """[trials, k] outcomes of k samples drawn without replacement from `outcomes`."""
    if k == 0:
        return np.zeros((trials, 0), dtype=outcomes.dtype)
    order = rng.random((trials, outcomes.size)).argsort(axis=1)[:, :k]
    return outcomes[order]


def _outcomes(n: int, c: int) -> np.ndarray:
    return np.r_[np.ones(int(c), dtype=bool), np.zeros(int(n) - int(c), dtype=bool)]


def simulate(family: str, models, ks, trials: int, rng, costs=None) -> dict[str, float]:
    """Mean pass and mean cost per problem of one configuration, by simulation.

    `models[m]` is (n, c) per problem (arrays), or for "ranked" (passed [P, N], nll [P, N]);
    `ks[m]` the samples of model m (the maximum, for "early_stop"); `costs[m]` its cost per
    sample (default 1). Families: single, mix, cascade, early_stop, ranked.
    """
    costs = tuple(costs) if costs is not None else (1.0,) * len(models)
    ks = [int(k) for k in ks]
    if family == "ranked":
        passed, nll = (np.asarray(a) for a in models[0])
        P = passed.shape[0]
    else:
        P = len(np.atleast_1d(models[0][0]))
    passes, spent = np.zeros(P), np.zeros(P)
    for p in range(P):  # a reference: one problem at a time, all trials at once
        if family == "ranked":
            dense = np.unique(nll[p], return_inverse=True)[1].ravel()
            idx = rng.random((trials, dense.size)).argsort(axis=1)[:, :ks[0]]
            key = dense[idx] + rng.random(idx.shape) * 0.5  # random tie-break among equals
            pick = idx[np.arange(trials), key.argmin(axis=1)]
            passes[p], spent[p] = passed[p][pick].mean(), ks[0] * costs[0]
            continue
        draws = [_draws(rng, _outcomes(np.atleast_1d(n)[p], np.atleast_1d(c)[p]), k, trials)
                 for (n, c), k in zip(models, ks)]
        any_pass = [d.any(axis=1) for d in draws]
        if family in ("single", "mix"):
            ok = np.logical_or.reduce(any_pass)
            cost = np.full(trials, sum(k * cm for k, cm in zip(ks, costs)))
        elif family == "cascade":
            ok = any_pass[0] | any_pass[1]
            cost = ks[0] * costs[0] + (~any_pass[0]) * ks[1] * costs[1]
        elif family == "early_stop":
            d = draws[0]
            ok = any_pass[0]
            drawn = np.where(ok, d.argmax(axis=1) + 1, ks[0])  # up to and including the first pass
            cost = drawn * costs[0]
        else:
            raise ValueError(f"unknown family {family!r}")
        passes[p], spent[p] = ok.mean(), cost.mean()
    return {"pass": float(passes.mean()), "cost": float(spent.mean())}
