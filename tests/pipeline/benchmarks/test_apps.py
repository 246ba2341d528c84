"""APPS: 2-shot prompts (stdin / call-based), jsonl or directories, difficulties, few-shot files."""

from __future__ import annotations

import json

import pytest

from pipeline.benchmarks import DataError, apps


def by_task(table):
    return {row["task_id"]: row for row in table.to_pylist()}


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


def raw(apps_path, problem_id: int) -> dict:
    with open(apps_path) as f:
        return next(r for r in map(json.loads, f) if r["problem_id"] == problem_id)


def test_apps_stdin_prompt_is_two_shots_then_the_question(apps_path):
    rows = by_task(apps.load(apps_path))
    question = raw(apps_path, 1)["question"]
    row = rows["APPS/1"]
    assert row["prompt"] == (
        APPS_SHOTS + "\nQUESTION:\n" + question + "\nUse Standard Input format\nANSWER:\n"
    )
    assert (row["io_kind"], row["entry_point"], row["difficulty"]) == ("stdin", None, "interview")


def test_apps_call_based_prompt_carries_the_starter_code(apps_path):
    rows = by_task(apps.load(apps_path))
    source = raw(apps_path, 2404)
    row = rows["APPS/2404"]
    assert source["starter_code"].startswith("class Solution:")
    assert row["prompt"] == (
        APPS_SHOTS + "\nQUESTION:\n" + source["question"] + "\n"
        + source["starter_code"] + "\nUse Call-Based format\nANSWER:\n"
    )
    assert (row["io_kind"], row["entry_point"]) == ("call", "findKthPositive")
    assert json.loads(row["tests"])["outputs"] == [9]


def test_apps_loads_the_five_staged_problems_from_jsonl_or_directories(apps_path, shared_data):
    # the original per-problem directories are not committed: this one needs ../shared
    from_jsonl = apps.load(apps_path)
    from_dirs = apps.load(shared_data / "apps/coderl_train_examples")
    assert from_jsonl.num_rows == 5
    assert from_dirs.equals(from_jsonl)
    assert sorted(by_task(from_jsonl)) == ["APPS/1", "APPS/111", "APPS/2287", "APPS/2404", "APPS/4184"]


def test_apps_filters_by_difficulty(apps_path):
    table = apps.load(apps_path, difficulties=("introductory",))
    assert sorted(by_task(table)) == ["APPS/2404", "APPS/4184"]


def test_apps_takes_bigcode_style_few_shot_files(apps_path, apps_fewshot_path):
    table = apps.load(apps_path, fewshot_path=apps_fewshot_path)
    prompt = by_task(table)["APPS/1"]["prompt"]
    assert prompt.startswith("\nQUESTION:\nFor an integer x find the largest positive integer y")
    assert prompt.count("\nANSWER:\n") == 3


def test_apps_mismatched_inputs_and_outputs_are_named(tmp_path):
    path = tmp_path / "apps.jsonl"
    io = json.dumps({"inputs": ["1\n", "2\n"], "outputs": ["1\n"]})
    row = {"problem_id": 7, "question": "q", "input_output": io, "difficulty": "interview"}
    path.write_text(json.dumps(row) + "\n")
    with pytest.raises(DataError, match=r"apps.jsonl:1: input_output has 2 inputs and 1 outputs"):
        apps.load(path)
