"""The registry and the loaders' shared reading: clear errors naming file and line, the paper's sampling."""

from __future__ import annotations

import gzip
import json
import re

import pytest

from pipeline import benchmarks
from pipeline.benchmarks import DataError, apps, humaneval, mbpp


def test_a_malformed_row_names_the_file_and_line(tmp_path):
    path = tmp_path / "HumanEval.jsonl"
    good = {"task_id": "HumanEval/0", "prompt": "p", "test": "t", "entry_point": "f", "canonical_solution": "s"}
    bad = dict(good, task_id="HumanEval/1")
    del bad["test"]
    path.write_text(json.dumps(good) + "\n" + json.dumps(bad) + "\n")
    with pytest.raises(DataError, match=r"HumanEval.jsonl:2: missing field 'test'"):
        humaneval.load(path)


def test_invalid_json_names_the_line(tmp_path):
    path = tmp_path / "mbpp.jsonl.gz"
    with gzip.open(path, "wt") as f:
        f.write('{"task_id": 2}\n{oops\n')
    with pytest.raises(DataError, match=r"mbpp.jsonl.gz:2: not valid JSON"):
        mbpp.load(path)


def test_a_wrongly_typed_field_is_named(tmp_path):
    path = tmp_path / "apps.jsonl"
    row = {"problem_id": "7", "question": "q", "input_output": "{}", "difficulty": "interview"}
    path.write_text(json.dumps(row) + "\n")
    with pytest.raises(DataError, match=r"apps.jsonl:1: field 'problem_id' should be int, got str"):
        apps.load(path)


@pytest.mark.parametrize("name", ["humaneval", "humaneval+", "mbpp", "apps"])
def test_a_missing_file_is_named(name, tmp_path):
    with pytest.raises(DataError, match=r"nope.jsonl: file not found"):
        benchmarks.get(name).load(tmp_path / "nope.jsonl")


def test_an_unknown_benchmark_lists_the_known_ones():
    message = "unknown benchmark 'humaneval-x'; choose one of: humaneval, humaneval+, mbpp, apps"
    with pytest.raises(DataError, match=re.escape(message)):
        benchmarks.get("humaneval-x")


def test_sampling_settings_follow_the_paper():
    assert (humaneval.SAMPLING.max_new_tokens, humaneval.SAMPLING.temperature) == (512, 0.8)
    assert (mbpp.SAMPLING.max_new_tokens, mbpp.SAMPLING.temperature) == (256, 0.8)
    assert (apps.SAMPLING.max_new_tokens, apps.SAMPLING.temperature) == (256, 0.6)
    assert {humaneval.SAMPLING.top_p, mbpp.SAMPLING.top_p, apps.SAMPLING.top_p} == {0.95}
