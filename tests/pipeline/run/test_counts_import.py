"""import-counts: CSV, JSON, JSON lines and evalplus files become a run directory that advise
and reduce read; malformed rows are refused naming FILE:LINE."""

from __future__ import annotations

import json

import numpy as np
import pytest

from pipeline.reduce import metrics
from pipeline.jobs.reduce import reduce
from pipeline.reduce.curves import reduce_run
from pipeline.reduce.advise_run import advise_run
from pipeline.run import counts_import as ci

HEADER = "model,benchmark,task_id,n,c\n"


def _csv(tmp_path, body, name="counts.csv"):
    p = tmp_path / name
    p.write_text(HEADER + body)
    return p


def test_imported_counts_reduce_to_the_pass_at_k_of_the_counts(tmp_path):
    rows = [("a", "HumanEval/0", 10, 3), ("a", "HumanEval/1", 10, 0), ("a", "HumanEval/2", 10, 10)]
    f = _csv(tmp_path, "".join(f"{m},humaneval,{t},{n},{c}\n" for m, t, n, c in rows))
    summary = ci.write_run(ci.read_counts(f), tmp_path / "run",
                           costs={"a": {"flops_per_pass": 1e12}})
    assert summary["samples"] == 30
    curves = reduce_run(str(tmp_path / "run"), n_boot=0, k_range="full").curves.to_pandas()
    got = curves[curves.metric == "pass@k"].set_index("k")["value"]
    want = metrics.pass_at_k([10, 10, 10], [3, 0, 10], np.arange(1, 11)).mean(axis=0)
    assert np.allclose(got.loc[np.arange(1, 11)], want)
    table = advise_run(tmp_path / "run", n_boot=0).table
    assert table.iloc[0]["best_config"] == "a x1"
    assert table.iloc[0]["value"] == pytest.approx(want[0])


def test_counts_of_a_benchmark_outside_the_registry_are_imported_under_its_lower_cased_name(
        tmp_path):
    f = _csv(tmp_path, "a,LiveCodeBench,lcb-1,4,1\na,in-house_v2.1,q-7,3,3\n")
    assert ci.read_counts(f).benchmark == ["livecodebench", "in-house_v2.1"]
    summary = ci.write_run(ci.read_counts(f), tmp_path / "run")
    assert summary["benchmarks"] == ["in-house_v2.1", "livecodebench"]
    assert (tmp_path / "run" / "samples" / "model=a" / "benchmark=livecodebench").is_dir()


def test_counts_of_a_benchmark_outside_the_registry_reduce_to_the_pass_at_k_of_the_counts(
        tmp_path):
    rows = [("lcb-1", 6, 2), ("lcb-2", 6, 0), ("lcb-3", 6, 5)]
    f = _csv(tmp_path, "".join(f"a,livecodebench,{t},{n},{c}\n" for t, n, c in rows))
    ci.write_run(ci.read_counts(f), tmp_path / "run", costs={"a": {"flops_per_pass": 1e12}})
    curves = reduce(str(tmp_path / "run"), n_boot=0, k_range="full").curves.to_pandas()
    got = curves[curves.metric == "pass@k"]
    assert set(got["benchmark"]) == {"livecodebench"}
    want = metrics.pass_at_k([6, 6, 6], [2, 0, 5], np.arange(1, 7)).mean(axis=0)
    assert np.allclose(got.set_index("k")["value"].loc[np.arange(1, 7)], want)
    assert (tmp_path / "run" / "tables" / "pass_at_k_livecodebench.csv").exists()


@pytest.mark.parametrize("body, message", [
    ("a,humaneval,HumanEval/0,10,3\na,humaneval,HumanEval/1,10,11\n", ":3: need n >= 1 and 0 <= c <= n"),
    ("a,humaneval,HumanEval/0,ten,3\n", ":2: n must be a whole number"),
    ("a,humaneval,HumanEval/0,10,3\na,humaneval,HumanEval/0,10,2\n", ":3: .* repeats line 2"),
    ("a,no such,X/0,10,3\n", ":2: benchmark name 'no such' must be letters, digits"),
    ("a b,humaneval,HumanEval/0,10,3\n", ":2: model name 'a b'"),
    ("a,humaneval,,10,3\n", ":2: missing task_id"),
])
def test_a_malformed_csv_row_is_refused_naming_the_file_and_line(tmp_path, body, message):
    f = _csv(tmp_path, body)
    with pytest.raises(ci.CountsError, match=f"{f}{message}"):
        ci.read_counts(f)


def test_a_csv_without_the_required_columns_names_them(tmp_path):
    f = tmp_path / "x.csv"
    f.write_text("model,task,n\na,HumanEval/0,3\n")
    with pytest.raises(ci.CountsError, match=":1: the header must name model, benchmark"):
        ci.read_counts(f)


def test_json_arrays_and_json_lines_name_the_line_of_a_bad_record(tmp_path):
    arr = tmp_path / "c.json"
    arr.write_text('[\n {"model": "a", "benchmark": "mbpp", "task_id": "MBPP/11", "n": 5, "c": 1},\n'
                   ' {"model": "a", "benchmark": "mbpp", "task_id": "MBPP/12", "n": 5, "c": 9}\n]')
    with pytest.raises(ci.CountsError, match=f"{arr}:3: need n >= 1"):
        ci.read_counts(arr)
    lines = tmp_path / "c.jsonl"
    lines.write_text('{"model": "a", "benchmark": "mbpp", "task_id": "MBPP/11", "n": 5, "c": 1}\n'
                     '{"model": "a", "benchmark": "mbpp", "task_id": "MBPP/12", "n": 5}\n')
    with pytest.raises(ci.CountsError, match=f"{lines}:2: missing c"):
        ci.read_counts(lines)
    lines.write_text('{"model": "a", "benchmark": "mbpp", "task_id": "MBPP/11", "n": 5, "c": 1}\n')
    assert ci.read_counts(lines).c == [1]


def test_evalplus_eval_results_count_base_passes_or_base_and_plus(tmp_path):
    f = tmp_path / "eval_results.json"
    f.write_text(json.dumps({"date": "x", "hash": "h", "eval": {
        "HumanEval/0": [{"task_id": "HumanEval/0", "base_status": "pass", "plus_status": "fail"},
                        {"task_id": "HumanEval/0", "base_status": "pass", "plus_status": "pass"},
                        {"task_id": "HumanEval/0", "base_status": "fail", "plus_status": "fail"}],
        "HumanEval/1": [{"task_id": "HumanEval/1", "base_status": "fail", "plus_status": None}],
    }}))
    base = ci.read_counts(f, model="m")
    assert (base.benchmark, base.n, base.c) == (["humaneval"] * 2, [3, 1], [2, 0])
    assert ci.read_counts(f, model="m", plus=True).c == [1, 0]
    with pytest.raises(ci.CountsError, match="give --model"):
        ci.read_counts(f)


def test_evalplus_task_ids_without_a_benchmark_prefix_need_the_benchmark_option(tmp_path):
    f = tmp_path / "eval_results.json"
    f.write_text(json.dumps({"eval": {"q-7": [{"base_status": "pass"}, {"base_status": "fail"}]}}))
    with pytest.raises(ci.CountsError, match=f"{f}:1: task id 'q-7' has no 'Benchmark/' prefix"
                                             ".* give --benchmark"):
        ci.read_counts(f, model="m")
    got = ci.read_counts(f, model="m", benchmark="livecodebench")
    assert (got.benchmark, got.n, got.c) == (["livecodebench"], [2], [1])


def test_the_older_evalplus_layout_is_read_too(tmp_path):
    f = tmp_path / "eval_results.json"
    f.write_text(json.dumps({"eval": {"Mbpp/2": {"nfiles": 2, "base": [["pass", []], ["fail", []]],
                                                  "plus": [["pass", []], ["pass", []]]}}}))
    got = ci.read_counts(f, model="m")
    assert (got.benchmark, got.task_id, got.n, got.c) == (["mbpp"], ["Mbpp/2"], [2], [1])


def test_importing_into_a_run_directory_that_holds_samples_is_refused(tmp_path):
    f = _csv(tmp_path, "a,humaneval,HumanEval/0,4,1\n")
    ci.write_run(ci.read_counts(f), tmp_path / "run")
    with pytest.raises(ci.CountsError, match="already holds samples"):
        ci.write_run(ci.read_counts(f), tmp_path / "run")
