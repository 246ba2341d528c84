"""Specification of the reducer's metrics (pipeline.reduce.metrics): pass@k, rank-score@k, budgets, CIs."""

from __future__ import annotations

from fractions import Fraction
from math import comb

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.reduce import metrics as M

SETTINGS = settings(max_examples=60, deadline=None)


@st.composite
def counts(draw, max_n: int = 60, max_problems: int = 8):
    """Problems with their own n (1..max_n) and c (0..n)."""
    n = draw(st.lists(st.integers(1, max_n), min_size=1, max_size=max_problems))
    c = [draw(st.integers(0, ni)) for ni in n]
    return np.array(n), np.array(c)


@st.composite
def ranked(draw, max_n: int = 30):
    """One problem: a 0/1 pass vector in ranker order (best first)."""
    return np.array(draw(st.lists(st.integers(0, 1), min_size=1, max_size=max_n)), dtype=float)


# ---------------------------------------------------------------- pass@k


@SETTINGS
@given(counts())
def test_pass_at_1_is_the_fraction_of_passing_samples(nc):
    n, c = nc
    np.testing.assert_allclose(M.pass_at_k(n, c, [1])[:, 0], c / n, rtol=0, atol=1e-15)


@SETTINGS
@given(counts())
def test_pass_at_n_is_one_exactly_when_some_sample_passes(nc):
    n, c = nc
    full = M.pass_at_k(n, c, np.arange(1, n.max() + 1))
    at_n = full[np.arange(n.size), n - 1]
    np.testing.assert_array_equal(at_n, (c > 0).astype(float))


@SETTINGS
@given(counts())
def test_pass_at_k_is_non_decreasing_in_k(nc):
    n, c = nc
    full = M.pass_at_k(n, c, np.arange(1, n.max() + 1))
    for p in range(n.size):
        row = full[p, : n[p]]
        assert np.all(np.diff(row) >= -1e-15)


@SETTINGS
@given(counts(max_n=400, max_problems=4))
def test_pass_at_k_equals_the_exact_binomial_formula_to_1e_12(nc):
    n, c = nc
    ks = np.arange(1, n.max() + 1)
    got = M.pass_at_k(n, c, ks)
    for p in range(n.size):
        for k in range(1, n[p] + 1):
            exact = 1 - Fraction(comb(int(n[p] - c[p]), k), comb(int(n[p]), k))
            assert abs(got[p, k - 1] - float(exact)) <= 1e-12


def test_pass_at_k_is_exact_for_n_2000_at_large_k():
    n, c = np.array([2000, 2000, 2000]), np.array([1, 37, 1999])
    ks = np.array([1, 2, 10, 100, 500, 1000, 1999, 2000])
    got = M.pass_at_k(n, c, ks)
    for p in range(3):
        for j, k in enumerate(ks):
            exact = 1 - Fraction(comb(int(n[p] - c[p]), int(k)), comb(int(n[p]), int(k)))
            assert abs(got[p, j] - float(exact)) <= 1e-12


def test_pass_at_k_is_nan_where_k_exceeds_n():
    got = M.pass_at_k([3, 5], [1, 0], [1, 3, 4, 5])
    assert np.isnan(got[0, 2]) and np.isnan(got[0, 3])
    assert not np.isnan(got[1]).any()
    assert got[1].tolist() == [0.0, 0.0, 0.0, 0.0]


def test_pass_at_k_matches_chen_et_al_reference_per_k():
    rng = np.random.default_rng(3)
    n = rng.integers(1, 300, 20)
    c = rng.integers(0, n + 1)
    got = M.pass_at_k(n, c, np.arange(1, 301))
    for p in range(20):
        for k in (1, 2, 7, 50, 299, 300):
            ref = M.pass_at_k_reference(int(n[p]), int(c[p]), k)
            assert (np.isnan(ref) and np.isnan(got[p, k - 1])) or abs(ref - got[p, k - 1]) < 1e-12


@pytest.mark.parametrize(
    "n,c,ks,match",
    [([3], [4], [1], "c <= n"), ([3], [-1], [1], "c <= n"), ([3], [1], [0], ">= 1"),
     ([3, 4], [1], [1], "same length"), ([3], [1], [1.5], "integers")],
)
def test_pass_at_k_rejects_bad_input_with_a_clear_error(n, c, ks, match):
    with pytest.raises(ValueError, match=match):
        M.pass_at_k(n, c, ks)


# ---------------------------------------------------------------- rank-score@k


def _one(passed: np.ndarray, ks) -> np.ndarray:
    return M.rank_score_at_k(passed[None, :], ks)[0]


@SETTINGS
@given(ranked())
def test_rank_score_at_1_is_c_over_n_for_any_ranking(passed):
    assert _one(passed, [1])[0] == pytest.approx(passed.mean(), abs=1e-14)


@SETTINGS
@given(ranked())
def test_oracle_ranking_gives_rank_score_equal_to_pass_at_k(passed):
    n, c = passed.size, int(passed.sum())
    oracle = np.sort(passed)[::-1]  # passing samples first
    ks = np.arange(1, n + 1)
    np.testing.assert_allclose(_one(oracle, ks), M.pass_at_k([n], [c], ks)[0], atol=1e-12)


@SETTINGS
@given(ranked())
def test_rank_score_never_exceeds_pass_at_k(passed):
    n, c = passed.size, int(passed.sum())
    ks = np.arange(1, n + 1)
    assert np.all(_one(passed, ks) <= M.pass_at_k([n], [c], ks)[0] + 1e-12)


@SETTINGS
@given(ranked())
def test_rank_score_equals_the_papers_formula_to_1e_12(passed):
    ks = np.arange(1, passed.size + 1)
    got = _one(passed, ks)
    for k in ks:
        assert abs(got[k - 1] - M.rank_score_reference(list(passed), int(k))) <= 1e-12


def test_rank_score_handles_problems_of_very_different_n_in_one_call():
    rng = np.random.default_rng(1)
    n = np.array([900, 850, 400, 37, 1, 0])
    passed = (rng.random((n.size, 900)) < 0.4).astype(float)
    ks = np.array([1, 2, 5, 37, 200, 400, 401, 850, 900])
    got = M.rank_score_at_k(passed, ks, n)
    for p in range(n.size):
        for j, k in enumerate(ks):
            ref = M.rank_score_reference(list(passed[p, : n[p]]), int(k))
            if np.isnan(ref):
                assert np.isnan(got[p, j])
            else:
                assert abs(got[p, j] - ref) <= 1e-12


def test_padding_after_n_does_not_change_rank_score():
    passed = np.array([[1, 0, 1, 0, 0, 0], [1, 0, 1, 0, 1, 1]], dtype=float)
    got = M.rank_score_at_k(passed, [1, 2, 3, 4], n=[4, 4])
    np.testing.assert_array_equal(got[0], got[1])


def test_tied_scores_get_the_mean_pass_of_their_tie_group():
    groups = np.array([0, 0, 0, 0, 1, 1])
    scores = np.array([0.5, 0.5, 0.2, 0.5, 0.5, 0.5])
    passed = np.array([1, 0, 0, 0, 1, 1], dtype=float)
    got = M.average_ties(groups, scores, passed)
    np.testing.assert_allclose(got, [1 / 3, 1 / 3, 0, 1 / 3, 1, 1])


def test_averaging_ties_equals_the_mean_over_all_tie_breaks():
    # three samples tied at the top, one passes: rank-score must not depend on input order
    scores = np.array([0.1, 0.1, 0.1, 0.9])
    passed = np.array([1.0, 0.0, 0.0, 1.0])
    avg = M.average_ties(np.zeros(4), scores, passed)
    order = np.argsort(scores, kind="stable")
    got = _one(avg[order], [1, 2, 3, 4])
    perms = [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]]
    brute = np.mean([_one(np.r_[passed[:3][q], passed[3]], [1, 2, 3, 4]) for q in perms], axis=0)
    np.testing.assert_allclose(got, brute, atol=1e-12)


# ---------------------------------------------------------------- budgets


def test_a_budget_buys_floor_of_budget_over_cost_samples():
    assert M.samples_for_budget([0.5, 1, 2.99, 3, 10.41], 1.0).tolist() == [0, 1, 2, 3, 10]
    assert M.samples_for_budget([10.41 * 3], 10.41).tolist() == [3]


def test_pass_at_budget_reads_the_curve_at_the_samples_bought_and_is_nan_outside():
    curve = np.array([0.1, 0.2, 0.3])  # k = 1, 2, 3
    got = M.pass_at_budget(curve, 2.0, [1, 2, 5, 6, 8])
    np.testing.assert_array_equal(got[1:4], [0.1, 0.2, 0.3])
    assert np.isnan(got[0]) and np.isnan(got[4])


def test_budget_grid_contains_every_step_of_every_model():
    grid = M.budget_grid([1.0, 2.5], [4, 2])
    np.testing.assert_allclose(grid, [1, 2, 2.5, 3, 4, 5])


def test_winning_budgets_finds_where_the_small_model_stays_ahead():
    budgets = np.array([1, 2, 3, 4, 5, 6])
    small = np.array([0.1, 0.2, 0.3, 0.5, 0.6, 0.7])
    large = np.array([np.nan, 0.25, 0.35, 0.4, 0.5, np.nan])
    res = M.winning_budgets(budgets, small, large)
    assert res["crossover"] == 4.0
    assert res["small_wins"].tolist() == [False, False, False, True, True, False]
    assert M.winning_budgets(budgets, large, small)["crossover"] is None


def test_budget_functions_reject_nonpositive_costs():
    with pytest.raises(ValueError, match="positive"):
        M.samples_for_budget([1.0], 0.0)
    with pytest.raises(ValueError, match="positive"):
        M.budget_grid([0.0], [3])


# ---------------------------------------------------------------- bootstrap


def test_bootstrap_interval_brackets_the_mean_and_is_reproducible_with_a_seed():
    rng = np.random.default_rng(0)
    v = rng.random((50, 3))
    lo, hi = M.Bootstrap.draw(50, 500, seed=7).interval(v, 0.9)
    lo2, hi2 = M.Bootstrap.draw(50, 500, seed=7).interval(v, 0.9)
    np.testing.assert_array_equal(lo, lo2)
    mean = v.mean(axis=0)
    assert np.all(lo < mean) and np.all(mean < hi)


def test_bootstrap_interval_width_shrinks_like_one_over_root_n():
    rng = np.random.default_rng(0)
    small = rng.integers(0, 2, (100, 1)).astype(float)
    big = np.repeat(small, 16, axis=0)
    lo_s, hi_s = M.Bootstrap.draw(100, 2000, 1).interval(small)
    lo_b, hi_b = M.Bootstrap.draw(1600, 2000, 1).interval(big)
    ratio = (hi_s - lo_s)[0] / (hi_b - lo_b)[0]
    assert 3.0 < ratio < 5.0  # sqrt(16) = 4


def test_bootstrap_interval_is_nan_for_columns_with_undefined_problems():
    v = np.array([[0.1, np.nan], [0.2, 0.3]])
    lo, hi = M.Bootstrap.draw(2, 50).interval(v)
    assert not np.isnan(lo[0]) and np.isnan(lo[1]) and np.isnan(hi[1])


def test_ragged_lists_of_ranked_passes_are_padded_like_explicit_n():
    rows = [[1, 0, 1], [0], [0, 0, 1, 1, 0]]
    ks = [1, 2, 3]
    padded = np.zeros((3, 5))
    for p, r in enumerate(rows):
        padded[p, : len(r)] = r
    np.testing.assert_array_equal(M.rank_score_at_k(rows, ks),
                                  M.rank_score_at_k(padded, ks, n=[3, 1, 5]))
