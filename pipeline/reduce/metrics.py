"""Pure, vectorised metrics of the reducer: pass@k, rank-score@k, budget curves, bootstrap CIs.

Role in the pipeline: `pipeline.reduce.curves` turns the verdicts/scores tables into per-problem arrays
and calls these functions; nothing here reads files or loops in Python over samples or k.

Conventions
- Problems are rows (axis 0), k values are columns. `ks` are 1-based sample counts.
- pass@k for a problem with n samples is **NaN when k > n** (it cannot be estimated from fewer
  than k samples); averaging over problems therefore gives NaN at any k that some problem cannot
  support, and the reducer drops such points.
- Budget curves: a budget b buys k = floor(b / cost) samples (a tiny relative tolerance absorbs
  float noise, so b = 3 * cost buys 3); k = 0 or k beyond the curve gives NaN ("absent").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Relative slack when dividing a budget by a cost (so 10.41 / (10.41 / 3) buys 3, not 2).
BUDGET_RTOL = 1e-9


def _as_ks(ks, name: str = "ks") -> np.ndarray:
    ks = np.atleast_1d(np.asarray(ks))
    if ks.ndim != 1 or ks.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D sequence of positive integers")
    if not np.issubdtype(ks.dtype, np.integer):
        if not np.all(np.isfinite(ks)) or np.any(ks != np.round(ks)):
            raise ValueError(f"{name} must hold integers, got {ks[:5]}")
        ks = ks.astype(np.int64)
    if np.any(ks < 1):
        raise ValueError(f"{name} must be >= 1, got min {ks.min()}")
    return ks.astype(np.int64)


def _as_counts(n, c) -> tuple[np.ndarray, np.ndarray]:
    n = np.atleast_1d(np.asarray(n))
    c = np.atleast_1d(np.asarray(c))
    if n.ndim != 1 or n.shape != c.shape:
        raise ValueError(f"n and c must be 1-D arrays of the same length, got {n.shape} and {c.shape}")
    if np.any(n < 0) or np.any(c < 0) or np.any(c > n):
        raise ValueError("need 0 <= c <= n for every problem")
    return n.astype(np.int64), c.astype(np.int64)


def pass_at_k(n, c, ks) -> np.ndarray:
    """Unbiased pass@k (Chen et al. 2021) per problem for every k in `ks`: array [P, K].

    pass@k = 1 - C(n-c, k) / C(n, k). The ratio is built for all k = 1..max(ks) at once as a
    cumulative product of (n-c-j)/(n-j), j = 0..k-1 (exact to a few ulps per factor; no
    overflow). Problems may have different n; entries with k > n are NaN.
    """
    n, c = _as_counts(n, c)
    ks = _as_ks(ks)
    kmax = int(ks.max())
    j = np.arange(kmax, dtype=np.float64)  # j = 0..kmax-1
    num = np.clip((n - c)[:, None] - j[None, :], 0.0, None)
    den = n[:, None] - j[None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        factors = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)
    fail_all = np.cumprod(factors, axis=1)[:, ks - 1]  # P(no pass among k) per problem
    out = 1.0 - fail_all
    out[ks[None, :] > n[:, None]] = np.nan
    return out


def pass_at_k_reference(n: int, c: int, k: int) -> float:
    """Chen et al.'s numerically stable per-(problem, k) estimator; a slow reference for tests
    and benchmarks. NaN when k > n, like `pass_at_k`."""
    if k > n:
        return float("nan")
    if n - c < k:
        return 1.0
    return float(1.0 - np.prod(1.0 - k / np.arange(n - c + 1, n + 1)))


def average_ties(groups, scores, values) -> np.ndarray:
    """Replace each value by the mean over the samples of its group that share its score.

    `groups` (e.g. a problem index), `scores` and `values` are 1-D arrays of equal length. The
    result is aligned with the inputs. Averaging is what a uniformly random tie-break gives in
    expectation, which is why rank-score uses it for samples with equal ranker scores.
    """
    groups = np.asarray(groups)
    scores = np.asarray(scores, dtype=np.float64)
    values = np.asarray(values, dtype=np.float64)
    if not (groups.shape == scores.shape == values.shape) or groups.ndim != 1:
        raise ValueError("groups, scores and values must be 1-D arrays of the same length")
    if values.size == 0:
        return values.copy()
    order = np.lexsort((scores, groups))
    g, s = groups[order], scores[order]
    new = np.ones(order.size, dtype=bool)
    new[1:] = (g[1:] != g[:-1]) | (s[1:] != s[:-1])
    tie_id = np.cumsum(new) - 1
    sums = np.bincount(tie_id, weights=values[order])
    counts = np.bincount(tie_id)
    out = np.empty_like(values)
    out[order] = (sums / counts)[tie_id]
    return out


def rank_weight_matrix(n_ref: int, ks) -> np.ndarray:
    """A'[m, k] = C(m, k-1) / C(n_ref-1, k-1) for m = 0..n_ref-1 and k in `ks`: array [n_ref, K].

    Built by the downward recurrence C(m-1, k-1) = C(m, k-1) * (m-k+1)/m (one cumulative
    product), so every entry is in [0, 1] and nothing overflows. With m = n - i (the number of
    samples ranked below the i-th), the paper's weight C(n-i, k-1)/C(n, k) equals
    A'[n-i, k] / A'[n-1, k] * k / n for any n <= n_ref.
    """
    ks = _as_ks(ks)
    if n_ref < 1:
        raise ValueError("n_ref must be >= 1")
    m = np.arange(n_ref - 1, 0, -1, dtype=np.float64)  # m = n_ref-1 .. 1: step to m-1
    factors = np.clip(m[:, None] - ks[None, :] + 1, 0.0, None) / m[:, None]
    desc = np.vstack([np.ones((1, ks.size)), np.cumprod(factors, axis=0)])  # rows m = n_ref-1..0
    return desc[::-1]


def _runs_of_similar_n(n_sorted_desc: np.ndarray, max_log: float = 600.0) -> list[tuple[int, int]]:
    """Split problems (sorted by n, descending) into runs sharing one weight matrix: within a run
    log C(n_ref-1, n_ref-n) stays below `max_log`, so the normalising entry cannot underflow."""
    from math import lgamma

    runs, start = [], 0
    while start < n_sorted_desc.size:
        n_ref = int(n_sorted_desc[start])
        end = start + 1
        while end < n_sorted_desc.size:
            n_p = int(n_sorted_desc[end])
            d = n_ref - n_p
            if n_p == 0 or (d and lgamma(n_ref) - lgamma(d + 1) - lgamma(n_p) > max_log):
                break
            end += 1
        runs.append((start, end))
        start = end
    return runs


def rank_score_at_k(passed_sorted, ks, n=None) -> np.ndarray:
    """rank-score@k (Hassid et al. 2024, Eq. 4) per problem for every k in `ks`: array [P, K].

    `passed_sorted` is [P, N]: row p holds the pass values (0/1, or tie-averaged means) of
    problem p's samples, best-ranked first; with `n` given, row p is padded after its first
    `n[p]` entries (padding is ignored). A list of 1-D arrays of different lengths is padded
    here. rank-score@k = sum_{i=1}^{n-k+1} C(n-i, k-1)/C(n, k) * pass_(i), the expected pass
    of the best-ranked of k samples drawn without replacement. All k come from one matrix
    product with `rank_weight_matrix` (one per run of similar n; one in total when every problem
    has the same n). Entries with k > n are NaN (all NaN for a problem with n = 0).
    """
    if isinstance(passed_sorted, (list, tuple)) and n is None:
        rows = [np.asarray(r, dtype=np.float64).ravel() for r in passed_sorted]
        n = np.array([r.size for r in rows], dtype=np.int64)
        passed = np.zeros((len(rows), int(n.max()) if rows else 0))
        if rows and n.sum():
            starts = np.repeat(np.cumsum(n) - n, n)
            passed[np.repeat(np.arange(len(rows)), n), np.arange(n.sum()) - starts] = (
                np.concatenate(rows))
    else:
        passed = np.asarray(passed_sorted, dtype=np.float64)
    if passed.ndim != 2:
        raise ValueError("passed_sorted must be a 2-D array [problems, samples]")
    if n is None:
        n = np.full(passed.shape[0], passed.shape[1])
    n = np.atleast_1d(np.asarray(n)).astype(np.int64)
    if n.shape != (passed.shape[0],) or np.any(n < 0) or np.any(n > passed.shape[1]):
        raise ValueError("n must give, per problem, a count between 0 and passed_sorted.shape[1]")
    ks = _as_ks(ks)
    P, N = passed.shape
    out = np.full((P, ks.size), np.nan)
    if P == 0 or N == 0:
        return out
    # Q[p, m] = pass of the sample with m samples ranked below it (m = n_p - i), zero-padded.
    cols = np.arange(N)
    src = n[:, None] - 1 - cols[None, :]  # column of passed_sorted holding m = cols
    valid = src >= 0
    q = np.where(valid, np.take_along_axis(passed, np.clip(src, 0, N - 1), axis=1), 0.0)
    order = np.argsort(-n, kind="stable")
    for start, end in _runs_of_similar_n(n[order]):  # loop over runs of similar n, not samples or k
        rows = order[start:end]
        n_ref = int(n[rows[0]])
        if n_ref == 0:
            continue
        a = rank_weight_matrix(n_ref, ks)  # [n_ref, K]
        top = a[n[rows] - 1]  # A'[n_p - 1, k] per problem: [rows, K]
        raw = q[rows, :n_ref] @ a
        nk = n[rows][:, None]
        with np.errstate(divide="ignore", invalid="ignore"):
            vals = raw / top * ks[None, :] / nk
        vals[ks[None, :] > nk] = np.nan
        out[rows] = vals
    return out


def rank_score_by_key(groups, keys, passed, n_groups: int, ks) -> np.ndarray:
    """rank-score@k [n_groups, K] from flat per-sample arrays: `groups` (problem index in
    0..n_groups-1), `keys` (lower ranks first; ties averaged, `average_ties`) and `passed` (0/1).

    A problem with no sample gets 0.0 at every k (the ranker cannot pick a passing sample);
    entries with k above a problem's sample count are NaN, as in `rank_score_at_k`.
    """
    groups = np.asarray(groups, dtype=np.int64)
    keys = np.asarray(keys, dtype=np.float64)
    passed = average_ties(groups, keys, passed)
    n = np.bincount(groups, minlength=n_groups)
    order = np.lexsort((keys, groups))
    g = groups[order]
    starts = np.concatenate([[0], np.cumsum(n)[:-1]])
    padded = np.zeros((n_groups, int(n.max()) if n.size else 0))
    padded[g, np.arange(order.size) - starts[g]] = passed[order]
    out = rank_score_at_k(padded, ks, n)
    out[n == 0] = 0.0
    return out


def rank_score_reference(pass_sorted, k: int) -> float:
    """The paper's own per-(problem, k) rank-score@k loop (its Figure 7, as a fraction, not %):
    a slow reference for tests and benchmarks."""
    from fractions import Fraction
    from math import comb

    n = len(pass_sorted)
    if k > n:
        return float("nan")
    total = sum(
        comb(n - i, k - 1) * Fraction(float(pass_sorted[i - 1])) for i in range(1, n - k + 2)
    )
    return float(total / comb(n, k))


@dataclass(frozen=True)
class Bootstrap:
    """Resampling weights over problems: `weights[b, p]` = how often problem p is drawn in
    replicate b (each row sums to P). Share one Bootstrap across all curves of a
    (model, benchmark) so that their intervals come from the same resamples."""

    weights: np.ndarray

    @classmethod
    def draw(cls, n_problems: int, n_boot: int = 1000, seed: int = 0) -> "Bootstrap":
        if n_problems < 1:
            raise ValueError("bootstrap needs at least one problem")
        if n_boot < 1:
            raise ValueError("n_boot must be >= 1")
        rng = np.random.default_rng(seed)
        w = rng.multinomial(n_problems, np.full(n_problems, 1.0 / n_problems), size=n_boot)
        return cls(weights=w.astype(np.float64))

    def interval(self, per_problem: np.ndarray, ci: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
        """Percentile CI of the mean over problems for every column of `per_problem` [P, K].

        Columns with a NaN (some problem undefined) get NaN bounds.
        """
        if not 0.0 < ci < 1.0:
            raise ValueError(f"ci must be in (0, 1), got {ci}")
        v = np.asarray(per_problem, dtype=np.float64)
        if v.ndim == 1:
            v = v[:, None]
        if v.shape[0] != self.weights.shape[1]:
            raise ValueError(
                f"bootstrap drawn for {self.weights.shape[1]} problems, got {v.shape[0]}"
            )
        ok = ~np.isnan(v).any(axis=0)
        lo = np.full(v.shape[1], np.nan)
        hi = np.full(v.shape[1], np.nan)
        if ok.any():
            means = v[:, ok].T @ self.weights.T / v.shape[0]  # [K_ok, B], rows contiguous
            alpha = (1.0 - ci) / 2.0
            lo[ok], hi[ok] = np.quantile(means, [alpha, 1.0 - alpha], axis=1)
        return lo, hi


def samples_for_budget(budgets, cost_per_sample: float) -> np.ndarray:
    """k = floor(b / cost) samples bought by each budget (int64 array, 0 where b < cost)."""
    if not np.isfinite(cost_per_sample) or cost_per_sample <= 0:
        raise ValueError(f"cost per sample must be a positive number, got {cost_per_sample}")
    b = np.asarray(budgets, dtype=np.float64)
    if np.any(b < 0) or not np.all(np.isfinite(b)):
        raise ValueError("budgets must be finite and >= 0")
    return np.floor(b / cost_per_sample * (1.0 + BUDGET_RTOL)).astype(np.int64)


def pass_at_budget(pass_curve_k, cost_per_sample: float, budgets) -> np.ndarray:
    """pass_flops@f / pass_time@t: the value of a pass@k curve at k = floor(b / cost) per budget.

    `pass_curve_k[..., j]` is the curve at k = j + 1 (a 1-D curve or [rows, K], e.g. CI bounds
    stacked). Returns [..., len(budgets)]; NaN where the budget buys 0 samples or more samples
    than the curve covers.
    """
    curve = np.asarray(pass_curve_k, dtype=np.float64)
    k = samples_for_budget(budgets, cost_per_sample)
    kmax = curve.shape[-1]
    if kmax == 0:
        return np.full(curve.shape[:-1] + k.shape, np.nan)
    inside = (k >= 1) & (k <= kmax)
    return np.where(inside, np.take(curve, np.clip(k - 1, 0, kmax - 1), axis=-1), np.nan)


def budget_grid(costs, max_ks) -> np.ndarray:
    """A budget grid shared by several models, so their curves can be overlaid.

    `costs[m]` is model m's (normalised) cost per sample and `max_ks[m]` the largest k its curve
    covers. The grid is the sorted union of every budget at which some model's sample count
    steps up (j * cost_m for j = 1..max_k_m): each model's step curve is exact on it.
    """
    costs = np.asarray(costs, dtype=np.float64)
    max_ks = np.asarray(max_ks, dtype=np.int64)
    if costs.shape != max_ks.shape or costs.ndim != 1 or costs.size == 0:
        raise ValueError("costs and max_ks must be 1-D and of the same length")
    if np.any(costs <= 0) or not np.all(np.isfinite(costs)):
        raise ValueError("costs must be positive")
    if np.any(max_ks < 1):
        raise ValueError("max_ks must be >= 1")
    j = np.arange(1, int(max_ks.max()) + 1)
    steps = costs[:, None] * j[None, :]
    points = steps[j[None, :] <= max_ks[:, None]]
    return np.unique(np.round(points, 12))


def winning_budgets(budgets, small, large) -> dict:
    """Compare two budget curves on the same grid: where does `small` beat `large`?

    Returns {"small_wins": bool mask, "both": bool mask (both defined), "crossover": the smallest
    budget b* such that small > large at every budget >= b* where both are defined (None if
    small does not win at the largest such budget)}.
    """
    b = np.asarray(budgets, dtype=np.float64)
    s = np.asarray(small, dtype=np.float64)
    g = np.asarray(large, dtype=np.float64)
    both = ~np.isnan(s) & ~np.isnan(g)
    wins = both & (s > g)
    crossover = None
    idx = np.flatnonzero(both)
    if idx.size and wins[idx[-1]]:
        losing = idx[~wins[idx]]
        first = idx[0] if losing.size == 0 else idx[idx > losing[-1]][0]
        crossover = float(b[first])
    return {"small_wins": wins, "both": both, "crossover": crossover}
