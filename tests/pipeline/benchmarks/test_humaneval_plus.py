"""The humaneval+ benchmark variant: HumanEval's rows plus generated extended tests."""

from __future__ import annotations

import json

import pytest

from pipeline import benchmarks
from pipeline.benchmarks import humaneval, humaneval_plus
from pipeline.benchmarks.extended.generate import CAP

SAMPLE = (__import__("pathlib").Path(__file__).resolve().parents[2] / "fixtures" / "evalplus"
          / "contracts-sample.jsonl")


@pytest.fixture()
def subset(monkeypatch, tmp_path, humaneval_path):
    """humaneval+ on the committed 7-task EvalPlus subset (HumanEval rows narrowed to them)."""
    monkeypatch.setenv("BUDGET_REALLOC_CACHE", str(tmp_path / "cache"))
    rows = [json.loads(line) for line in SAMPLE.read_text().splitlines()]
    ids = [r["task_id"] for r in rows]
    src = tmp_path / "he.jsonl"
    import gzip
    with gzip.open(humaneval_path, "rt") as f:
        keep = [line for line in f if json.loads(line)["task_id"] in ids]
    src.write_text("".join(keep))
    return src


def test_is_registered_with_humaneval_settings():
    b = benchmarks.get("humaneval+")
    assert b.name == "humaneval+" and b.n_problems == 164
    assert b.stop == humaneval.BENCHMARK.stop and b.sampling == humaneval.SAMPLING


def test_rows_are_humaneval_rows_with_extended_tests(subset):
    table = humaneval_plus.load(subset, contracts=SAMPLE)
    base = humaneval.load(subset)
    assert table.num_rows == base.num_rows == 7
    assert set(table.column("benchmark").to_pylist()) == {"humaneval+"}
    assert table.column("prompt").to_pylist() == base.column("prompt").to_pylist()
    assert table.column("tests").to_pylist() == base.column("tests").to_pylist()
    for code in table.column("plus_tests").to_pylist():
        assert "def check(candidate)" in code and "TypedMutGen (evalplus 0.3.1)" in code
        assert code.count("\n    (") <= CAP


def test_the_run_directory_keeps_the_suite_with_its_hash_and_version(subset):
    table = humaneval_plus.load(subset, contracts=SAMPLE)
    files = humaneval_plus.run_files(table)
    suite = json.loads(files["humaneval+.json"])
    assert suite["generator"]["evalplus"] == "0.3.1" and len(suite["digest"]) == 64
    assert suite["digest"][:16] in table.column("plus_tests")[0].as_py()
    assert sorted(suite["tasks"]) == sorted(table.column("task_id").to_pylist())
