"""Specification of paper mode (pipeline.reduce.paper): the paper's appendix tables -> budget curves."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import schemas
from pipeline.reduce import paper


def test_the_committed_tables_cover_every_benchmark_and_model_of_the_appendix():
    table = paper.load_pass_table()
    assert paper.benchmarks() == ["apps-competition", "apps-interview", "apps-introductory",
                                  "humaneval", "mbpp"]
    counts = table.groupby("benchmark")["model"].nunique().to_dict()
    assert counts == {"humaneval": 6, "mbpp": 6, "apps-introductory": 4, "apps-interview": 4,
                      "apps-competition": 4}
    # published pass@k never decreases with k and stays within [0, 1]
    for _, g in table.groupby(["benchmark", "model"]):
        assert np.all(np.diff(g.sort_values("k")["value"]) >= 0)
    assert table["value"].between(0, 1).all()


def test_table_1_costs_normalise_to_the_papers_ratios():
    costs = paper.load_costs().set_index("model")
    flops = costs["tflops"] / costs.loc["codellama-7b", "tflops"]
    time = costs["wall_seconds"] / costs.loc["codellama-7b", "wall_seconds"]
    assert flops.round(2).tolist() == [1.00, 1.95, 5.08, 10.41]
    assert time.round(2).tolist() == [1.00, 1.69, 7.58, 14.19]


def test_interpolation_is_exact_at_published_k_and_brackets_between_them():
    k, v = np.array([1, 4, 16]), np.array([0.2, 0.5, 0.8])
    ks = np.arange(1, 20)
    mid = paper.interpolate(k, v, ks)
    low = paper.interpolate(k, v, ks, "lower")
    up = paper.interpolate(k, v, ks, "upper")
    np.testing.assert_allclose(mid[[0, 3, 15]], v)
    np.testing.assert_allclose(mid[1], 0.35)  # halfway between 1 and 4 in log k
    ok = ~np.isnan(mid)
    assert np.all(low[ok] <= mid[ok]) and np.all(mid[ok] <= up[ok])
    assert np.isnan(mid[16:]).all()  # nothing past the last published k


def test_headline_at_equal_flops_7b_beats_70b_on_humaneval_at_large_budgets(capsys):
    res = paper.crossover("humaneval", "codellama-7b", "codellama-70b", "flops")
    print(res.describe())
    assert res.cost_ratio == pytest.approx(17.60 / 1.69)
    assert res.crossover is not None
    lo, hi = res.shared_range
    grid, curves = paper.budget_curves("humaneval", "flops")
    big = (grid >= hi / 2) & (grid <= hi)  # the upper half of the shared budget range
    assert np.all(curves["codellama-7b"][big] > curves["codellama-70b"][big])
    # and without any interpolation: 7B's lower bound beats 70B's upper bound at the top budgets
    assert res.certain_from is not None and res.certain_from < hi
    assert "crossover budget" in capsys.readouterr().out


def test_paper_mode_reproduces_the_apps_exception_7b_does_not_win_at_large_budgets():
    # the paper (Sec. 4): on APPS the 7B model "slightly underperforms the other models on
    # larger budgets", while the 13B wins under a fixed wall time
    assert paper.crossover("apps-interview", "codellama-7b", "codellama-70b").crossover is None
    assert paper.crossover("apps-competition", "codellama-13b", "codellama-70b",
                           "time").crossover is not None


def test_paper_curves_table_is_a_valid_curves_table_with_budget_curves():
    table = paper.paper_curves_table("mbpp")
    schemas.validate(table, "curves")
    df = table.to_pandas()
    assert set(df["metric"]) == {"pass@k", "pass_flops", "pass_time"}
    pk = df[(df.metric == "pass@k") & (df.model == "codellama-70b")].set_index("k")["value"]
    assert pk.index.tolist() == [1, 2, 4, 16, 64]  # the published k only, nothing interpolated
    assert pk[1] == pytest.approx(0.573) and pk[64] == pytest.approx(0.900)
    # Llama-3 has no Table 1 cost, so it has a pass@k curve but no budget curves
    assert "llama3-8b" in set(df[df.metric == "pass@k"].model)
    assert "llama3-8b" not in set(df[df.metric == "pass_flops"].model)


def test_synthetic_tables_where_the_big_model_dominates_give_no_crossover():
    rows = [("b", "small", k, v) for k, v in ((1, 0.10), (2, 0.12), (4, 0.14), (64, 0.2))]
    rows += [("b", "big", k, v) for k, v in ((1, 0.60), (2, 0.7), (4, 0.8), (8, 0.9))]
    table = pd.DataFrame(rows, columns=["benchmark", "model", "k", "value"])
    costs = pd.DataFrame({"model": ["small", "big"], "tflops": [1.0, 8.0],
                          "wall_seconds": [1.0, 8.0]})
    res = paper.crossover("b", "small", "big", pass_table=table, costs=costs)
    assert res.crossover is None and res.win_ranges == []


def test_unknown_benchmark_or_budget_is_a_clear_error():
    with pytest.raises(paper.PaperError, match="no paper tables for benchmark 'nope'"):
        paper.crossover("nope", "codellama-7b", "codellama-70b")
    with pytest.raises(paper.PaperError, match="unknown budget"):
        paper.crossover("humaneval", "codellama-7b", "codellama-70b", "joules")
    with pytest.raises(paper.PaperError, match="no flops curve"):
        paper.crossover("humaneval", "llama3-8b", "codellama-70b")
