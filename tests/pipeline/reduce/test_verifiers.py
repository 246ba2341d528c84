"""Reading a run under either verifier, and false-positive rates of the base tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import schemas
from pipeline.reduce import verifiers
from pipeline.reduce.run_data import RunData, RunDataError


def with_plus(verdicts: pa.Table, every: dict[str, int]) -> pa.Table:
    """Humaneval verdicts get a plus verdict: a base pass of model m with sample_idx %
    every[m] == 0 fails the extension; mbpp rows have none (null)."""
    rows = verdicts.to_pylist()
    for v in rows:
        if v["benchmark"] != "humaneval":
            continue
        wrong = v["status"] == "pass" and v["sample_idx"] % every[v["model"]] == 0
        v["plus_status"] = "fail" if wrong else v["status"]
        v["plus_detail"] = "AssertionError" if wrong else ""
        v["plus_exec_ms"] = 1.0
    return schemas.from_rows(rows, "verdicts")


@pytest.fixture(scope="module")
def run(synthetic_run):
    samples, verdicts, scores = synthetic_run(n_problems=12)
    return samples, with_plus(verdicts, {"small": 2, "large": 4}), scores


def test_plus_reads_the_extended_verdict_and_base_is_unchanged(run):
    _, v, _ = run
    assert verifiers.as_verifier(v, "base") is v
    plus = verifiers.as_verifier(v, "plus").to_pandas()
    base = v.to_pandas()
    he = base["benchmark"] == "humaneval"
    assert (plus.loc[he, "status"] == base.loc[he, "plus_status"]).all()
    assert (plus.loc[~he, "status"] == base.loc[~he, "status"]).all()  # no extension: base
    assert plus["status"].eq("pass").sum() < base["status"].eq("pass").sum()


def test_plus_is_refused_on_a_run_without_extended_verdicts(synthetic_run):
    _, v, _ = synthetic_run(n_problems=3)
    with pytest.raises(verifiers.VerifierError, match="humaneval\\+"):
        verifiers.as_verifier(v, "plus")
    with pytest.raises(verifiers.VerifierError, match="not one of"):
        verifiers.as_verifier(v, "strict")


def test_false_positive_rate_is_the_share_of_base_passes_failing_the_extension(run):
    _, v, _ = run
    fp = verifiers.false_positives(v, n_boot=200, seed=0)
    df = v.to_pandas()
    for model in ("small", "large"):
        g = df[(df["model"] == model) & (df["benchmark"] == "humaneval")]
        base = g["status"].eq("pass")
        want = (base & g["plus_status"].ne("pass")).sum() / base.sum()
        row = fp[(fp["model"] == model) & (fp["difficulty"] == "all")].iloc[0]
        assert row["false_positive_rate"] == pytest.approx(want)
        assert row["base_passes"] == base.sum()
        assert row["false_positive_rate_ci_low"] <= want <= row["false_positive_rate_ci_high"]
    assert set(fp["benchmark"]) == {"humaneval"}  # mbpp has no extended tests
    # every second base pass of `small` is wrong, every fourth of `large`
    rates = fp[fp["difficulty"] == "all"].set_index("model")["false_positive_rate"]
    assert rates["small"] > rates["large"]


def test_difficulty_is_the_tertile_of_the_pooled_base_pass_rate():
    rows = pd.DataFrame({"benchmark": "b", "task_id": np.repeat([f"t{i}" for i in range(6)], 4),
                         "status": ["pass"] * 4 + ["fail"] * 4 + ["pass", "pass", "fail", "fail"]
                         + ["pass", "fail", "fail", "fail"] + ["pass"] * 3 + ["fail"]
                         + ["fail"] * 4})
    d = verifiers.difficulty(rows)
    assert d[("b", "t0")] == "easy" and d[("b", "t4")] == "easy"
    assert d[("b", "t2")] == "medium" and d[("b", "t3")] == "medium"
    assert d[("b", "t1")] == "hard" and d[("b", "t5")] == "hard"
    assert d.value_counts().to_dict() == {"easy": 2, "medium": 2, "hard": 2}


def test_run_data_reads_either_verifier(run, write_run, tmp_path):
    samples, v, scores = run
    write_run(tmp_path, samples, v, scores)
    base = RunData.load(str(tmp_path)).verdicts.to_pandas()
    plus = RunData.load(str(tmp_path), verifier="plus").verdicts.to_pandas()
    assert plus["status"].eq("pass").sum() < base["status"].eq("pass").sum()
    with pytest.raises(RunDataError, match="not one of"):
        RunData.load(str(tmp_path), verifier="nope")


def test_reduce_under_plus_writes_its_own_outputs_and_the_comparison(run, write_run, tmp_path):
    from pipeline.jobs.reduce import reduce
    from pipeline.run import storage

    samples, v, scores = run
    write_run(tmp_path, samples, v, scores)
    base = reduce(str(tmp_path), n_boot=50, k_range="half")
    plus = reduce(str(tmp_path), n_boot=50, k_range="half", verifier="plus")
    assert plus.root == storage.join(str(tmp_path), "plus")
    assert (tmp_path / "curves.parquet").exists() and (tmp_path / "plus" / "curves.parquet").exists()
    tables = tmp_path / "plus" / "tables"
    for stem in ("false_positives", "verifiers_humaneval", "crossovers_verifiers_humaneval"):
        assert (tables / f"{stem}.md").exists() and (tables / f"{stem}.csv").exists()

    def p1(reduced, model):
        c = reduced.curves.to_pandas()
        c = c[(c["metric"] == "pass@k") & (c["k"] == 1) & (c["benchmark"] == "humaneval")]
        return float(c[c["model"] == model]["value"].iloc[0])

    for model in ("small", "large"):
        assert p1(plus, model) < p1(base, model)
    cmp = pd.read_csv(tables / "verifiers_humaneval.csv").set_index("model")
    assert cmp.loc["small", "plus pass@1"] == pytest.approx(p1(plus, "small"))
    assert cmp.loc["small", "base pass@1"] == pytest.approx(p1(base, "small"))
