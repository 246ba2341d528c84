"""The advisor: best strategy per budget, runner-up, margin, bootstrap CI, p_best, crossovers."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.reduce import advise, metrics
from pipeline.reduce import strategies as st


def _models(rng, P=30, n=20, rates=(0.2, 0.5), names=("small", "large")):
    out = []
    for name, r in zip(names, rates):
        p = np.clip(rng.beta(0.5, 0.5, size=P) * 2 * r, 0, 1)
        out.append(advise.ModelData.from_counts(name, np.full(P, n), rng.binomial(n, p)))
    return out


def test_every_budget_names_the_best_strategy_its_runner_up_and_the_margin_between():
    rng = np.random.default_rng(0)
    models = _models(rng)
    table, curves = advise.advise("he", models, {"small": 1.0, "large": 5.0}, n_boot=50)
    assert len(table) > 0 and set(table["setting"]) == {"tests"}
    # the best is the maximum of every strategy's curve at that budget
    top = curves.groupby("budget")["value"].max()
    assert np.allclose(table.set_index("budget")["value"], top.loc[table["budget"]])
    both = table.dropna(subset=["runner_up"])
    assert (both["runner_up"] != both["best"]).all()
    assert np.allclose(both["margin"], both["value"] - both["runner_up_value"])
    assert (both["margin"] >= 0).all()
    assert (table["spent"] <= table["budget"] * (1 + 1e-9)).all()


def test_the_best_strategy_ci_contains_its_value_and_p_best_is_a_share():
    rng = np.random.default_rng(1)
    table, _ = advise.advise("he", _models(rng), {"small": 1.0, "large": 5.0}, n_boot=100)
    ok = table.dropna(subset=["ci_low"])
    assert len(ok) == len(table)
    assert ((ok["ci_low"] <= ok["value"] + 1e-6) & (ok["value"] <= ok["ci_high"] + 1e-6)).all()
    assert table["p_best"].between(0, 1).all()


def _winners_share(vals, spent, codes, best_code):
    """The best strategy's share of one resample's win, by the rule written out: the highest
    pass rate, of equal ones (relative 1e-9) the cheapest, equal ones at equal cost tie."""
    def same(a, b):
        return np.abs(a - b) <= 1e-9 * np.maximum(np.abs(a), np.abs(b)) + 1e-12

    top = vals.max()
    equal = np.isfinite(vals) & same(vals, top)
    least = spent[equal].min()
    winners = {int(c) for c, e, s in zip(codes, equal, spent) if e and same(s, least)}
    return (best_code in winners) / len(winners)


def _p_best_by_loop(cands, res, budgets, n_boot, seed, P):
    w = metrics.Bootstrap.draw(P, n_boot, seed).weights / P
    codes, _ = advise._strategy_codes(cands)
    out = []
    for g in range(budgets.size):  # a plain loop over resamples and strategies
        vals = np.array([[w[b] @ st.success(ch, f, [g])[:, 0] if ch.ks[g, 0] >= 0 else -np.inf
                          for ch, f in zip(cands.choices, cands.fails)] for b in range(n_boot)])
        spent = np.array([ch.spent[g] for ch in cands.choices])
        out.append(np.mean([_winners_share(v, spent, codes[:, g], codes[res["best"][g], g])
                            for v in vals]))
    return np.array(out)


def test_p_best_is_the_share_of_resamples_in_which_the_best_configuration_wins():
    rng = np.random.default_rng(2)
    models = _models(rng, P=12, n=6, rates=(0.3, 0.4))
    budgets = np.array([1.0, 2.0, 3.0, 4.0, 6.0, 9.0])
    cands = advise.tests_candidates(models, {"small": 1.0, "large": 2.0}, budgets)
    res = advise.compare(cands, n_boot=64, seed=5)
    assert res["p_best"] == pytest.approx(_p_best_by_loop(cands, res, budgets, 64, 5, 12),
                                          abs=1e-9)


def _nudged(models, rng, ulps=4):
    """The same models with every fail-curve entry moved a few ulps up or down."""
    out = []
    for m in models:
        f = m.fail.copy()
        for _ in range(ulps):
            f = np.nextafter(f, np.where(rng.random(f.shape) < 0.5, -np.inf, np.inf))
        out.append(advise.ModelData(m.model, np.clip(f, 0.0, 1.0)))
    return out


def test_best_runner_up_and_p_best_do_not_move_when_every_value_moves_a_few_ulps():
    # equal pass rates are common here (small P and n): ties must not depend on the last bits
    rng = np.random.default_rng(2)
    models = _models(rng, P=12, n=6, rates=(0.3, 0.4))
    costs = {"small": 1.0, "large": 2.0}
    budgets = np.array([1.0, 2.0, 3.0, 4.0, 6.0, 9.0])
    base, _ = advise.advise("he", models, costs, budgets=budgets, n_boot=64, seed=5)
    for trial in range(5):
        moved, _ = advise.advise("he", _nudged(models, np.random.default_rng(trial)), costs,
                                 budgets=budgets, n_boot=64, seed=5)
        for column in ("best", "best_config", "runner_up", "runner_up_config", "tie"):
            assert moved[column].tolist() == base[column].tolist()
        assert moved["p_best"].to_numpy() == pytest.approx(base["p_best"].to_numpy(), abs=1e-9)
        assert moved["margin"].to_numpy() == pytest.approx(base["margin"].to_numpy(), abs=1e-9,
                                                           nan_ok=True)


def test_two_strategies_with_equal_pass_rate_and_cost_tie_and_share_p_best():
    rng = np.random.default_rng(4)
    n, c = np.full(15, 10), rng.integers(0, 11, size=15)
    a = advise.ModelData.from_counts("a", n, c)
    b = advise.ModelData.from_counts("b", n, c.copy())
    table, _ = advise.advise("he", [a, b], {"a": 1.0, "b": 1.0}, budgets=[1.0, 3.0], n_boot=50,
                             mixes=False, cascades=False, early_stopping=False)
    assert table["tie"].all() and (table["margin"] == 0).all()
    assert {table["best"].iloc[0], table["runner_up"].iloc[0]} == {"single a", "single b"}
    assert table["p_best"].to_numpy() == pytest.approx([0.5, 0.5])


def test_crossovers_list_where_the_best_strategy_changes():
    # large is far better per sample at small budgets; many cheap samples win later
    n = np.full(4, 50)
    small = advise.ModelData.from_counts("small", n, np.array([5, 5, 5, 5]))
    large = advise.ModelData.from_counts("large", n, np.array([35, 35, 35, 35]))
    table, _ = advise.advise("he", [small, large], {"small": 1.0, "large": 10.0}, n_boot=0,
                             mixes=False, cascades=False, early_stopping=False,
                             budgets=np.arange(1.0, 51.0))
    cross = advise.crossovers(table)
    assert cross.iloc[0]["from"] == "single small" and cross.iloc[0]["to"] == "single large"
    assert cross.iloc[-1]["to"] == "single small"
    assert advise.last_crossover_to(table, "single small") == cross.iloc[-1]["budget"]


def test_a_model_without_a_cost_on_a_benchmark_is_named_in_the_error():
    with pytest.raises(advise.AdviceError, match="'b' on 'mbpp'"):
        advise.cost_per_sample(["a", "b"], "mbpp", {("a", "mbpp"): 1.0, ("b", "he"): 2.0})


def test_published_curves_without_problems_allow_no_mixes_and_get_no_ci():
    a = advise.ModelData.from_curve("a", [0.1, 0.2, 0.3])
    b = advise.ModelData.from_curve("b", [0.3, 0.4])
    with pytest.raises(advise.AdviceError, match="per-problem"):
        advise.advise("he", [a, b], {"a": 1.0, "b": 2.0})
    table, _ = advise.advise("he", [a, b], {"a": 1.0, "b": 2.0}, mixes=False, cascades=False)
    assert table["ci_low"].isna().all() and table["p_best"].isna().all()
    assert (table["n_problems"] == 0).all()


def test_no_tests_setting_compares_ranked_choices_with_greedy_samples():
    P = 3
    m = advise.ModelData.from_counts("m", np.full(P, 4), np.array([1, 2, 0]))
    m.ranked["nll"] = np.array([[0.25, 0.5, 0.75, 1.0], [0.5, 0.9, 1.0, 1.0], [0, 0, 0, 0]])
    m.greedy = np.array([1.0, 0.0, 0.0])
    table, _ = advise.advise("he", [m], {"m": 1.0}, setting="no-tests", n_boot=0,
                             budgets=[1.0, 2.0, 3.0])
    assert table["best"].tolist() == ["greedy m", "ranked m", "ranked m"]
    assert table["value"].tolist() == pytest.approx([1 / 3, 1.4 / 3, 1.75 / 3])
    assert table["runner_up"].tolist() == ["ranked m", "greedy m", "greedy m"]


def test_mixes_of_three_models_join_the_candidates_with_mix_size_3():
    rng = np.random.default_rng(3)
    models = _models(rng, P=10, n=12, rates=(0.2, 0.3, 0.5), names=("a", "b", "c"))
    costs = {"a": 1.0, "b": 2.0, "c": 4.0}
    _, curves = advise.advise("he", models, costs, n_boot=0, mix_size=3, mix_ks=6)
    assert "mix a+b+c" in set(curves["strategy"])
    two, _ = advise.advise("he", models, costs, n_boot=0)
    three, _ = advise.advise("he", models, costs, n_boot=0, mix_size=3, mix_ks=6)
    # more candidates never make the best worse
    assert (three.set_index("budget")["value"] >= two.set_index("budget")["value"] - 1e-12).all()


def test_at_an_equal_pass_rate_the_strategy_that_spends_less_is_best_in_every_resample():
    m = advise.ModelData.from_counts("m", np.full(20, 10), np.arange(20) % 2)  # hard problems
    table, _ = advise.advise("he", [m], {"m": 1.0}, budgets=[2.0], n_boot=50)
    row = table.iloc[0]
    # up to 2 samples stopping at the first pass passes as often as 2 samples, for less
    assert row["best"] == "early_stop m" and row["runner_up"] == "single m"
    assert row["margin"] == 0 and row["spent"] < 2.0 and row["p_best"] == 1.0
    assert not row["tie"]  # equal pass rates, but one spends less: not a tie
