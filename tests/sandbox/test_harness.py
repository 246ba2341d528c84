"""Program assembly, dedup keys, truncation, APPS comparisons (values crossing: test_values)."""

from __future__ import annotations

import pytest

from pipeline.benchmarks import apps, humaneval, mbpp
from sandbox.config import SandboxConfig
from sandbox.harness import HarnessError, normalise, prepare, truncate, wrap_stdin
from sandbox.inside.judge import apps_equal_call, apps_equal_stdin

CFG = SandboxConfig(workers=1)

HE = {
    "benchmark": "humaneval", "task_id": "HumanEval/0", "prompt": "def f(x):\n",
    "tests": "def check(candidate):\n    assert candidate(1) == 1\n", "test_setup": "",
    "entry_point": "f", "io_kind": "function", "stop": humaneval.STOP,
}


def test_completion_is_cut_at_the_problem_stop_sequences_before_running():
    p = prepare(HE, "    return x\n\ndef other():\n    pass\n", CFG)
    assert p.job.head["program"] == "def f(x):\n    return x\n"


def test_whitespace_variants_of_one_program_share_a_dedup_key_but_other_code_does_not():
    a = prepare(HE, "    return x\n", CFG).key
    b = prepare(HE, "    return x   \r\n\n\n", CFG).key
    c = prepare(HE, "    return  x\n", CFG).key
    d = prepare(dict(HE, task_id="HumanEval/1"), "    return x\n", CFG).key
    assert a == b
    assert len({a, c, d}) == 3


def test_normalise_keeps_indentation():
    assert normalise("if x:\n    y()  \n\n") == "if x:\n    y()\n"


def test_tests_travel_only_in_the_judge_message_never_with_the_program():
    p = prepare(HE, "    return x\n", CFG)
    assert "assert" not in p.job.head["program"]
    assert "assert candidate(1) == 1" in p.job.tests["test"]


def test_mbpp_program_is_code_then_setup_and_each_assert_is_a_test():
    prob = {
        "benchmark": "mbpp", "task_id": "MBPP/1", "prompt": "", "io_kind": "assert",
        "tests": "assert g(1) == 2\nassert g(2) == 3", "test_setup": "K = 1", "entry_point": "g",
        "stop": mbpp.STOP,
    }
    p = prepare(prob, "def g(x):\n    return x + K\n[DONE] junk", CFG)
    assert p.job.head["program"] == "def g(x):\n    return x + K\n\nK = 1\n"
    assert p.job.tests["asserts"] == ["assert g(1) == 2", "assert g(2) == 3"]


def test_apps_stdin_wrapping_keeps_imports_at_top_level_and_indents_the_rest():
    code = "import sys\nn = int(input())\nif n > 1:\n    return\nprint(n)"
    assert wrap_stdin(code) == (
        "import sys\nstdin = sys.stdin\nstdout = sys.stdout\ndef code():\n"
        "\tn = int(input())\n\tif n > 1:\n\t    return\n\tprint(n)\n"
    )


def test_unknown_io_kind_is_refused_naming_the_task():
    with pytest.raises(HarnessError, match="HumanEval/0.*io_kind 'shell'"):
        prepare(dict(HE, io_kind="shell"), "x", CFG)


def test_apps_tests_that_are_not_input_output_json_are_refused_naming_the_task():
    bad = dict(HE, benchmark="apps", task_id="APPS/9", io_kind="stdin", tests="nope", stop=[])
    with pytest.raises(HarnessError, match="APPS/9"):
        prepare(bad, "print(1)", CFG)


@pytest.mark.parametrize(
    "printed, expected, same",
    [
        ("1 2\n", "1 2\n", True),
        ("  1 2  \n", "1 2", True),
        ("1\n\n2\n", "1\n2\n", True),
        ("0.3333333333\n", "0.33333333333333\n", True),
        ("2 1\n", "1 2\n", True),  # the reference's last resort compares token sets
        ("1 3\n", "1 2\n", False),
        ("", "1\n", False),
        ("YES\n", "NO\n", False),
    ],
)
def test_stdin_outputs_compare_like_the_apps_reference(printed, expected, same):
    assert apps_equal_stdin(printed, expected) is same


@pytest.mark.parametrize(
    "output, expected, same",
    [
        ((1, 2), [1, 2], True),  # tuple -> list
        (9, [9], True),  # outputs wrapped in a one-element list
        ([(1, 2)], [[[1, 2]]], True),
        (True, [False], False),
        ([9], [[9]], True),
        (8, [9], False),
    ],
)
def test_call_based_outputs_compare_like_the_apps_reference(output, expected, same):
    assert apps_equal_call(output, expected) is same


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


@pytest.mark.parametrize("code, long", [
    ("    while n > 1:\n        n //= 2\n    return n\n", True),
    ("    import pandas as pd\n    return pd.Series([n]).sum()\n", True),
    ("    from matplotlib import pyplot\n    return n\n", True),
    ("    for i in range(n):\n        pass\n    return n\n", False),
    ("    # while we are here\n    return 'while'\n", False),
    ("    import math\n    return math.floor(n)\n", False),
])
def test_a_job_says_whether_it_may_run_long_from_its_loops_and_imports(code, long):
    problem = {"benchmark": "humaneval", "task_id": "HumanEval/x", "prompt": "def f(n):\n",
               "tests": "def check(c):\n    assert c(1) == 1\n", "entry_point": "f",
               "io_kind": "function", "stop": []}
    assert prepare(problem, code, SandboxConfig()).job.may_run_long is long
