"""The StarCoderBase section of the reproduction report, on a slice of the real Astraios files:
imported, executed and reduced through the pipeline, then rendered; a missing run degrades to a
placeholder, and the harness-header check re-runs only the samples it concerns."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import pandas as pd
import pytest

from pipeline import config
from pipeline.reproduce import astraios

# HumanEval/162 needs `hashlib`, which the bigcode harness imports for every program
TASKS = ["HumanEval/0", "HumanEval/2", "HumanEval/162"]
FILE = "generations-humanevalsynthesizepython-starcoderbase-{}-fft.json.gz"


@pytest.fixture(scope="module")
def slice_run(shared_data, humaneval_path, tmp_path_factory) -> Path:
    from pipeline.jobs import evaluate
    from pipeline.run import importers

    if shutil.which("bwrap") is None:
        pytest.skip("bubblewrap (the default sandbox) is not installed")
    out = tmp_path_factory.mktemp("astraios") / "run"
    data = config.load(Path(__file__).resolve().parents[3] / "configs/reproduce-astraios.yaml").model_dump()
    data.update(output_dir=str(out), shard_size=3, reduce={**data["reduce"], "n_boot": 100})
    data["benchmarks"][0].update(data=str(humaneval_path), subset={"task_ids": TASKS})
    cfg = config.parse(data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", importers.ImportWarning)
        for m in astraios.MODELS:
            path = shared_data / "generations" / "astraios" / FILE.format(m.split("-")[-1])
            importers.import_to_run(cfg, path, model=m)
    outcome = evaluate.run(cfg, progress=False, in_process=True)
    assert not outcome.failed
    return out


def test_the_section_shows_the_import_pass_at_k_and_the_budget_comparison(slice_run):
    res = astraios.result(slice_run)
    assert res["samples"] == 3 * 3 * 20 and res["sandbox_errors"] == 0
    text = "\n".join(astraios.section(res, astraios.PUBLISHED_PASS1))
    for m in astraios.MODELS:
        assert f"| {m} | 164 | 3,280 | 60 | 3,280 | 0 | 0 |" in text
    assert "| 10 | " in text and "| 20 | " in text
    assert "Crossovers" in text and "| pass_flops | starcoderbase-1b | starcoderbase-7b |" in text
    assert "**Reading.**" in text and "the same answer" in text
    assert "wall seconds per executed sample" in text and "5 s CPU limit per sample" in text
    # the header re-run concerns HumanEval/162 only, and can only add passes
    assert set().union(*[set(t) for t in res["header"]["per_task"].values()]) <= {"HumanEval/162"}
    for m in astraios.MODELS:
        assert res["pass1_with_header"][m] >= res["pass"][m][1]["value"] - 1e-9


def test_a_missing_run_gives_a_placeholder_naming_the_commands(tmp_path):
    assert astraios.result(tmp_path / "nowhere") is None
    text = "\n".join(astraios.section(None, astraios.PUBLISHED_PASS1))
    assert "Not run yet" in text and "configs/reproduce-astraios.yaml" in text


def test_pass_at_1_with_extra_passes_adds_them_per_task():
    samples = pd.DataFrame({
        "model": ["starcoderbase-1b"] * 4 + ["starcoderbase-3b"] * 2 + ["starcoderbase-7b"] * 2,
        "task_id": ["A", "A", "B", "B", "A", "A", "A", "A"],
        "passed": [True, False, False, False, True, True, False, False],
    })
    got = astraios.pass1_with(samples, {"starcoderbase-1b": {"B": 1}})
    assert got == {"starcoderbase-1b": pytest.approx(50.0), "starcoderbase-3b": 100.0,
                   "starcoderbase-7b": 0.0}


# -- the reading follows the numbers it states --------------------------------------------------
def _cross(fractions):
    m = astraios.MODELS
    return pd.DataFrame({"smaller": [m[0], m[0], m[1]], "larger": [m[1], m[2], m[2]],
                         "smaller_wins_fraction": fractions})


def _paper_pair(crossover, win_ranges):
    from pipeline.reduce import paper

    return paper.Crossover("humaneval", "flops", "codellama-7b", "codellama-70b", 10.41,
                           crossover, win_ranges, (10.41, 676.0))


def test_the_pairs_reading_names_the_pairs_where_the_cheaper_model_is_above():
    assert "above at none of the shared budgets, for every pair" in astraios.pair_reading(
        _cross([0.0, 0.0, None]))
    text = astraios.pair_reading(_cross([0.25, 0.0, 0.0]))
    assert text == ("The cheaper model is above at some budgets: starcoderbase-1b above "
                    "starcoderbase-3b at 25.0 % of their shared budgets")


def test_the_equal_budget_reading_says_which_model_is_higher_at_that_budget():
    m = astraios.MODELS
    res = {"n_per_task": 20, "tflops": {m[0]: 1.0, m[2]: 6.5},
           "pass_n": {m[0]: {"value": 23.8, "lo": None, "hi": None}},
           "pass": {m[2]: {3: {"value": 40.5, "lo": None, "hi": None}}}}
    text = astraios.equal_budget_reading(res)
    assert text.startswith("At a budget of 20 (1b: 20 samples; 7b: 3)")
    assert text.endswith("pass@20 of 1b 23.8 % against pass@3 of 7b 40.5 %: 7b higher")
    res["pass_n"][m[0]]["value"] = 45.0
    assert astraios.equal_budget_reading(res).endswith("1b higher")


def test_the_reading_says_whether_the_run_answers_as_paper_mode_does():
    everywhere = _paper_pair(10.41, [(10.41, 676.0)])
    assert astraios.headline_reading(_cross([0.0, 0.0, 0.0]), everywhere).endswith(
        "at no shared budget (`smaller_wins_fraction` 0.00): not the same answer")
    assert astraios.headline_reading(_cross([0.0, 1.0, 0.0]), everywhere).endswith(
        "at every shared budget (`smaller_wins_fraction` 1.00): the same answer")
    assert astraios.headline_reading(_cross([0.0, 0.0, 0.0]), _paper_pair(None, [])).endswith(
        ": the same answer")
