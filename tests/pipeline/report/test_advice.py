"""advise on run directories and on paper mode: costs per unit, outputs, paper crossovers."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml

from pipeline import results
from pipeline.reduce import advise as adv
from pipeline.reduce import advise_run, paper
from pipeline.report import advice


@pytest.mark.parametrize("bench", paper.benchmarks())
@pytest.mark.parametrize("budget", ["flops", "time"])
@pytest.mark.parametrize("small", ["codellama-7b", "codellama-13b"])
def test_on_the_papers_tables_advise_reproduces_paper_modes_crossovers(bench, budget, small):
    got = advise_run.paper_advice(bench, budget, [small, "codellama-70b"])
    ref = paper.crossover(bench, small, "codellama-70b", budget)
    raw = paper._costs_for(budget, None)
    # paper mode's unit: the cheapest model's cost per sample
    cheapest = min(raw[m] for m in paper.pass_curves(bench) if m in raw) * advise_run.PAPER_SCALE[budget]
    mine = adv.last_crossover_to(got.table, f"single {small}")
    if ref.crossover is None:
        assert mine is None
    else:
        assert mine == pytest.approx(ref.crossover * cheapest, rel=1e-9)
    # and the small model is best exactly at the budgets where paper mode says it wins
    grid, mid = paper.budget_curves(bench, budget)
    at = np.searchsorted(grid * cheapest, got.table["budget"].to_numpy() * (1 - 1e-9))
    wins = mid[small][at] > mid["codellama-70b"][at]
    assert ((got.table["best"] == f"single {small}").to_numpy() == wins).all()


def test_advise_run_writes_the_table_curves_markdown_csv_json_and_figures(
        tmp_path, synthetic_run, write_run):
    write_run(tmp_path, *synthetic_run(n_problems=8, n=10, benchmarks=("mbpp",)))
    result = advise_run.advise_run(tmp_path, n_boot=20)
    files = advice.write(result, tmp_path)
    assert {"tests", "no-tests"} == set(result.table["setting"])
    names = {f.rsplit("/", 1)[-1] for f in files}
    assert {"advice.md", "advice.csv", "advice.json", "frontier-mbpp-tests.png",
            "frontier-mbpp-no-tests.svg"} <= names
    loaded = results.load(str(tmp_path)).advice
    assert len(loaded) == len(result.table) and set(loaded["best"]) == set(result.table["best"])
    md = (tmp_path / "advice" / "advice.md").read_text()
    assert "### mbpp, with tests (flops)" in md and "Crossovers" in md
    back = json.loads((tmp_path / "advice" / "advice.json").read_text())
    assert len(back["advice"]) == len(result.table)
    # without tests: the ranked choices and the greedy samples of both models compete
    nt = result.curves[result.curves.setting == "no-tests"]
    assert {"ranked small", "ranked large", "greedy small", "greedy large"} == set(nt.strategy)


def test_dollars_price_gpu_seconds_and_add_the_sandbox_time_as_cpu_time_with_tests(tmp_path):
    prices = {"gpu_price_per_hour": {"a100": 3.6}, "default_gpu": "a100",
              "cpu_price_per_hour": 36.0, "models": {"big": {"gpus_per_replica": 4}}}
    costs, source = advise_run.unit_costs(
        "dollars", ["small", "big"], ["he"], {}, {("small", "he"): 2.0, ("big", "he"): 5.0}, prices, {},
        exec_seconds={("small", "he"): 0.5, ("big", "he"): 0.5})
    assert costs[("small", "he")] == pytest.approx(2.0 * 3.6 / 3600 + 0.5 * 36 / 3600)
    assert costs[("big", "he")] == pytest.approx(5.0 * 4 * 3.6 / 3600 + 0.5 * 36 / 3600)
    assert "a100 $3.6/h" in source and "sandbox wall seconds per executed sample" in source
    gpu_s, _ = advise_run.unit_costs("gpu-seconds", ["big"], ["he"], {}, {("big", "he"): 5.0}, {},
                                 {"big": 2.0})
    assert gpu_s[("big", "he")] == 10.0


def test_dollars_without_a_price_for_a_models_gpu_name_the_model():
    with pytest.raises(advise_run.PriceError, match="'small'"):
        advise_run.unit_costs("dollars", ["small"], ["he"], {}, {("small", "he"): 1.0}, {}, {})


def test_a_prices_file_that_is_not_a_mapping_of_prices_is_refused(tmp_path):
    bad = tmp_path / "prices.yaml"
    bad.write_text(yaml.safe_dump({"gpu_price_per_hour": [1, 2]}))
    with pytest.raises(advise_run.PriceError, match="gpu_price_per_hour"):
        advise_run.load_prices(bad)


def test_the_markdown_table_shows_a_few_budgets_and_every_crossover(tmp_path, synthetic_run,
                                                                    write_run):
    write_run(tmp_path, *synthetic_run(n_problems=8, n=30, benchmarks=("mbpp",)))
    result = advise_run.advise_run(tmp_path, n_boot=0)
    tests = result.table[result.table.setting == "tests"].sort_values("budget")
    cross = result.crossovers[result.crossovers.setting == "tests"]
    shown = advice.shown_rows(tests, cross, n=5)
    assert len(shown) < len(tests)
    assert set(cross["budget"][:5]) <= set(shown["budget"])


def test_each_benchmark_is_priced_at_its_own_seconds_per_sample():
    secs = {("m", "humaneval"): 2.0, ("m", "mbpp"): 20.0}
    costs, _ = advise_run.unit_costs("gpu-seconds", ["m"], ["humaneval", "mbpp"], {}, secs, {}, {})
    assert costs == {("m", "humaneval"): 2.0, ("m", "mbpp"): 20.0}


def test_the_markdown_says_when_the_runner_up_ties_and_when_the_best_only_spends_less():
    import numpy as np

    from pipeline.reduce import advise as adv

    m = adv.ModelData.from_counts("m", np.full(20, 10), np.arange(20) % 2)
    t, c = adv.advise("he", [m], {"m": 1.0}, budgets=[2.0], n_boot=10)
    row = advice.markdown(advise_run._collect([t], [c], [])).splitlines()
    assert any("| single m | 0 (same pass rate, spends less) |" in r for r in row)
    counts = np.random.default_rng(1).integers(0, 11, 12)
    a = adv.ModelData.from_counts("a", np.full(12, 10), counts)
    b = adv.ModelData.from_counts("b", np.full(12, 10), counts.copy())
    t, c = adv.advise("he", [a, b], {"a": 1.0, "b": 1.0}, budgets=[2.0], n_boot=10,
                      mixes=False, cascades=False, early_stopping=False)
    text = advice.markdown(advise_run._collect([t], [c], []))
    assert "| single b (tie) | 0.0 |" in text and "| 0.50 |" in text
