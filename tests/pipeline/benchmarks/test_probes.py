"""Probe extraction: the prompt's own examples and CodeT's model-written asserts, per problem."""

from __future__ import annotations

import json

import pytest

from pipeline.benchmarks import DataError, apps, humaneval, mbpp
from pipeline.benchmarks.probes import Probe, codet_test_cases, humaneval_examples, prompt_examples
from pipeline.sources.generated_tests import read_generated_tests

CODET_TESTS = "generations/codet_HumanEval_codegen16B_temp0.8_topp0.95_num100_max300_test_case.jsonl"


@pytest.fixture(scope="module")
def humaneval_rows(humaneval_path):
    return {r["task_id"]: r for r in humaneval.load(humaneval_path).to_pylist()}


def test_humaneval_docstring_examples_are_the_shown_calls_with_their_outputs(humaneval_rows):
    assert prompt_examples(humaneval_rows["HumanEval/0"]) == [
        Probe("expr", "has_close_elements([1.0, 2.0, 3.0], 0.5)", "False"),
        Probe("expr", "has_close_elements([1.0, 2.8, 3.0, 4.0, 5.0, 2.0], 0.3)", "True"),
    ]


def test_humaneval_one_line_forms_count_and_unquoted_arguments_do_not(humaneval_rows):
    # HumanEval/76 writes "is_simple_power(1, 4) => true"; /150 "for x_or_y(7, 34, 12) == 34"
    assert prompt_examples(humaneval_rows["HumanEval/76"])[0] == Probe("expr", "is_simple_power(1, 4)", "True")
    assert prompt_examples(humaneval_rows["HumanEval/150"])[:1] == [Probe("expr", "x_or_y(7, 34, 12)", "34")]
    # HumanEval/80 shows "is_happy(a) => False" (no quotes): not taken for an example
    assert prompt_examples(humaneval_rows["HumanEval/80"]) == []


def test_input_output_pairs_in_a_docstring_become_calls():
    prompt = 'def f(arr):\n    """\n    Example 1:\n        Input: [4,2,3]\n        Output: [2, 1]\n    """\n'
    assert humaneval_examples(prompt, "f") == [Probe("expr", "f([4, 2, 3])", "[2, 1]")]


def test_139_of_164_humaneval_problems_show_at_least_one_example(humaneval_rows):
    probes = {t: prompt_examples(r) for t, r in humaneval_rows.items()}
    assert sum(bool(p) for p in probes.values()) == 139
    assert sum(any(x.expected is not None for x in p) for p in probes.values()) == 133
    assert sum(len(p) for p in probes.values()) == 395
    assert all(p.kind == "expr" for ps in probes.values() for p in ps)


def test_apps_sample_blocks_give_stdin_probes_without_the_explanation(apps_path):
    rows = {r["task_id"]: r for r in apps.load(apps_path).to_pylist()}
    assert prompt_examples(rows["APPS/111"]) == [Probe("stdin", "3 5\n00100\n10110\n11001\n", "5\n")]
    # "-----Sample Output-----" is followed by prose; the output ends at its blank line
    assert prompt_examples(rows["APPS/2287"])[0].expected == "Yes\n5\n6\n6\n5\n7\n"
    # call-based: "Input: arr = [2,3,4,7,11], k = 5" / "Output: 9"
    assert prompt_examples(rows["APPS/2404"])[0] == Probe("args", json.dumps([[2, 3, 4, 7, 11], 5]), "9")


def test_mbpp_prompt_examples_are_its_hidden_test_asserts(mbpp_sample_path):
    rows = mbpp.load(mbpp_sample_path).to_pylist()
    for row in rows:
        probes = prompt_examples(row)
        assert [p.code for p in probes] == [t for t in row["tests"].split("\n") if t.strip()]
        assert {p.kind for p in probes} == {"assert"}


def test_codet_extraction_keeps_asserts_that_call_the_entry_point_and_compile():
    sample = ("f(1) == 2\nassert f(2) == 3\nassert g(1) == 1\nassert f(3 == \n"
              "assert f(4) == 5\n# done\nprint('x')")
    assert codet_test_cases(sample, "f") == ["assert f(1) == 2", "assert f(2) == 3", "assert f(4) == 5"]


def test_codegen16b_generated_tests_parse_for_all_164_tasks(shared_data, humaneval_rows):
    tests = read_generated_tests(shared_data / CODET_TESTS, humaneval_rows)
    assert len(tests) == 164
    total = sum(len(t.tests) for t in tests.values())
    assert total == 8331
    zero = tests["HumanEval/0"]
    assert len(set(zero.tests)) == len(zero.tests)  # distinct per problem
    assert all(c >= 1 for t in tests.values() for c in t.counts)
    # at most 5 per generated sample, 100 samples per task
    assert all(sum(t.counts) <= 500 for t in tests.values())


def test_a_malformed_generated_test_file_is_rejected_naming_file_and_line(tmp_path, humaneval_rows):
    good = {"prompt": humaneval_rows["HumanEval/0"]["prompt"], "samples": ["f(1)"]}
    bad = tmp_path / "tests.jsonl"
    bad.write_text(json.dumps(good) + "\n" + json.dumps({"prompt": "x", "samples": "oops"}) + "\n")
    with pytest.raises(DataError, match=rf"{bad}:2: 'samples' must be a list of strings"):
        read_generated_tests(bad, humaneval_rows)
    bad.write_text(json.dumps(good) + "\n{not json\n")
    with pytest.raises(DataError, match=rf"{bad}:2: not valid JSON"):
        read_generated_tests(bad, humaneval_rows)
