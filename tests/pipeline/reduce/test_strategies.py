"""Every exact strategy formula against a Monte-Carlo simulation that draws actual subsets of
samples, and every per-budget choice against a brute-force search over configurations."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from pipeline.reduce import metrics
from pipeline.reduce import strategies as st
from pipeline.reduce.simulate import simulate

TRIALS = 40_000


def _random_counts(rng, problems=6, n_lo=4, n_hi=9):
    n = rng.integers(n_lo, n_hi, size=problems)
    c = rng.integers(0, n + 1)
    return n, c


def _close(exact, simulated, trials=TRIALS, problems=1):
    # the simulated mean over problems of Bernoulli(p) trials: 5 standard errors
    sd = np.sqrt(np.maximum(exact * (1 - exact), 1e-4) / (trials * problems))
    assert abs(exact - simulated) <= 5 * sd + 1e-3, (exact, simulated)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_single_model_pass_matches_drawing_k_of_n_samples(seed):
    rng = np.random.default_rng(seed)
    n, c = _random_counts(rng)
    f = st.fail_curve(n, c)
    for k in (1, 2, int(n.min())):
        sim = simulate("single", [(n, c)], [k], TRIALS, rng)
        _close(1 - f[:, k].mean(), sim["pass"], problems=n.size)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_mix_passes_when_any_of_the_drawn_samples_of_either_model_passes(seed):
    rng = np.random.default_rng(seed)
    (na, ca), (nb, cb) = _random_counts(rng), _random_counts(rng)
    fa, fb = st.fail_curve(na, ca), st.fail_curve(nb, cb)
    budgets = np.array([3.0, 7.5, 12.0])
    choice = st.mix(("a", "b"), (fa, fb), (1.0, 2.5), budgets)
    assert (choice.ks >= 0).all()
    for g in range(budgets.size):
        ka, kb = choice.ks[g]
        sim = simulate("mix", [(na, ca), (nb, cb)], [ka, kb], TRIALS, rng)
        _close(choice.value[g], sim["pass"], problems=na.size)
        assert choice.spent[g] == pytest.approx(ka * 1.0 + kb * 2.5)
        assert choice.spent[g] <= budgets[g] + 1e-9


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_cascade_value_and_expected_cost_match_a_simulated_cascade(seed):
    rng = np.random.default_rng(seed)
    (ns, cs), (nl, cl) = _random_counts(rng), _random_counts(rng)
    fs, fl = st.fail_curve(ns, cs), st.fail_curve(nl, cl)
    budgets = np.array([4.0, 9.0, 15.0, 30.0])
    choice = st.cascade(("s", "l"), (fs, fl), (1.0, 3.0), budgets)
    defined = np.flatnonzero(choice.ks[:, 0] >= 0)
    assert defined.size == budgets.size
    for g in defined:
        k1, k2 = choice.ks[g]
        sim = simulate("cascade", [(ns, cs), (nl, cl)], [k1, k2], TRIALS, rng, costs=(1.0, 3.0))
        _close(choice.value[g], sim["pass"], problems=ns.size)
        # cost: k1 + 3 k2 * [no pass among the k1]; its sd is at most 3 k2 / sqrt(trials P)
        assert abs(choice.spent[g] - sim["cost"]) <= 5 * 3 * k2 / np.sqrt(TRIALS * ns.size) + 1e-9
        assert choice.spent[g] <= budgets[g] * (1 + 1e-9)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_early_stopping_spends_the_expected_samples_of_stopping_at_the_first_pass(seed):
    rng = np.random.default_rng(seed)
    n, c = _random_counts(rng)
    f = st.fail_curve(n, c)
    budgets = np.array([1.0, 2.0, 3.5, 5.0])
    choice = st.early_stop("m", f, 2.0, budgets * 2.0)
    for g in np.flatnonzero(choice.ks[:, 0] > 0):
        k = int(choice.ks[g, 0])
        sim = simulate("early_stop", [(n, c)], [k], TRIALS, rng, costs=(2.0,))
        _close(choice.value[g], sim["pass"], problems=n.size)
        assert abs(choice.spent[g] - sim["cost"]) <= 5 * 2.0 * k / np.sqrt(TRIALS * n.size)
        assert choice.spent[g] <= budgets[g] * 2.0 * (1 + 1e-9)


def test_early_stopping_affords_a_larger_k_than_drawing_all_k_at_the_same_budget():
    n, c = np.array([10, 10, 10]), np.array([5, 2, 0])
    f = st.fail_curve(n, c)
    b = np.array([4.0])
    assert st.early_stop("m", f, 1.0, b).ks[0, 0] > st.single("m", f, 1.0, b).ks[0, 0] == 4


@pytest.mark.parametrize("seed", [0, 1])
def test_ranked_choice_is_the_best_ranked_of_k_drawn_samples_ties_broken_at_random(seed):
    rng = np.random.default_rng(seed)
    P, N = 5, 7
    passed = rng.integers(0, 2, size=(P, N)).astype(float)
    nll = rng.integers(0, 3, size=(P, N)).astype(float)  # few values: many ties
    groups = np.repeat(np.arange(P), N)
    tied = metrics.average_ties(groups, nll.ravel(), passed.ravel()).reshape(P, N)
    order = np.argsort(nll, axis=1, kind="stable")
    per_problem = metrics.rank_score_at_k(np.take_along_axis(tied, order, axis=1),
                                          np.arange(1, N + 1))
    budgets = np.arange(1, N + 1) * 1.5
    choice = st.ranked("m", per_problem, 1.5, budgets)
    for g, k in enumerate(choice.ks[:, 0]):
        sim = simulate("ranked", [(passed, nll)], [k], TRIALS, rng)
        _close(choice.value[g], sim["pass"], problems=P)


def _brute_force(fails, costs, budget, expected):
    """(best pass rate within the budget over every configuration, whether the budget is above
    the dearest configuration: the counts cannot say what more samples would give)."""
    best, dearest = -np.inf, 0.0
    ranges = [range(f.shape[1]) for f in fails]
    for ks in itertools.product(*ranges):
        if sum(ks) == 0:
            continue
        fail = np.prod([f[:, k] for f, k in zip(fails, ks)], axis=0)
        cost = ks[0] * costs[0] + sum(k * c for k, c in zip(ks[1:], costs[1:])) * (
            fails[0][:, ks[0]].mean() if expected else 1.0)
        dearest = max(dearest, cost)
        if cost <= budget * (1 + 1e-9):
            best = max(best, 1 - fail.mean())
    return (np.nan if best == -np.inf else best), budget > dearest * (1 + 1e-9)


@pytest.mark.parametrize("family", ["mix", "cascade"])
def test_two_model_choice_is_the_best_configuration_within_the_budget(family):
    rng = np.random.default_rng(7)
    fa = st.fail_curve(*_random_counts(rng, n_lo=5, n_hi=6))
    fb = st.fail_curve(*_random_counts(rng, n_lo=5, n_hi=6))
    budgets = np.linspace(1.0, 25.0, 30)
    fn = st.mix if family == "mix" else st.cascade
    choice = fn(("a", "b"), (fa, fb), (1.0, 3.2), budgets)
    for g, b in enumerate(budgets):
        value, capped = _brute_force([fa, fb], (1.0, 3.2), b, family == "cascade")
        assert choice.value[g] == pytest.approx(value, nan_ok=True)
        assert choice.capped[g] == capped
    assert np.isfinite(choice.value).sum() >= 10 and choice.capped.any()


def test_mix_of_three_models_on_a_k_grid_is_the_best_grid_configuration():
    rng = np.random.default_rng(3)
    fails = [st.fail_curve(*_random_counts(rng, n_lo=4, n_hi=5)) for _ in range(3)]
    costs = (1.0, 2.0, 4.5)
    ks = [np.arange(f.shape[1]) for f in fails]  # every k: the grid is the full search
    budgets = np.array([2.0, 6.0, 11.0])
    choice = st.mix_grid(("a", "b", "c"), fails, costs, budgets, ks)
    for g, b in enumerate(budgets):
        assert choice.value[g] == pytest.approx(_brute_force(fails, costs, b, False)[0])


def test_mix_of_three_models_matches_drawing_from_all_three():
    rng = np.random.default_rng(4)
    counts = [_random_counts(rng) for _ in range(3)]
    fails = [st.fail_curve(n, c) for n, c in counts]
    ks = [np.arange(f.shape[1]) for f in fails]
    choice = st.mix_grid(("a", "b", "c"), fails, (1.0, 2.0, 4.5), np.array([9.0]), ks)
    sim = simulate("mix", counts, list(choice.ks[0]), TRIALS, rng)
    _close(choice.value[0], sim["pass"], problems=counts[0][0].size)


def test_below_one_sample_there_is_no_choice_and_beyond_the_counts_the_dearest_is_capped():
    f = st.fail_curve([4, 4], [1, 2])
    ch = st.single("m", f, 2.0, [1.0, 2.0, 8.0, 8.5])
    assert ch.ks[:, 0].tolist() == [-1, 1, 4, 4]
    assert np.isnan(ch.value[0]) and ch.value[3] == ch.value[2]
    assert ch.capped.tolist() == [False, False, False, True]


def test_labels_name_a_mix_that_uses_one_model_as_that_single_model():
    assert st.label("mix", ("a", "b"), [3, 0]) == ("single a", "a x3")
    assert st.label("cascade", ("a", "b"), [0, 2]) == ("single b", "b x2")
    assert st.label("cascade", ("a", "b"), [2, 1])[0] == "cascade a->b"


def test_a_cascade_whose_first_model_always_passes_spends_nothing_on_the_second():
    fs = st.fail_curve([4, 4], [4, 4])  # every sample passes
    fl = st.fail_curve([4, 4], [0, 1])
    choice = st.cascade(("s", "l"), (fs, fl), (1.0, 5.0), np.array([1.0, 3.0]))
    assert choice.value.tolist() == [1.0, 1.0]
    assert choice.spent.tolist() == [1.0, 1.0]  # one sample of s; l is never called
    sim = simulate("cascade", [([4, 4], [4, 4]), ([4, 4], [0, 1])], list(choice.ks[1]), 200,
                   np.random.default_rng(0), costs=(1.0, 5.0))
    assert sim == {"pass": 1.0, "cost": 1.0}
