"""The extension as test code: literal inputs, deep copies, tolerance, inf and nan."""

from __future__ import annotations

import math

import pytest

from pipeline.benchmarks.extended.checks import check_code
from pipeline.benchmarks.extended.child import to_source
from pipeline.benchmarks.extended.generate import TaskTests


def run_check(tests: TaskTests, candidate) -> None:
    env: dict = {}
    exec(check_code(tests, "header"), env)  # our own generated test code, no sample code
    env["check"](candidate)


@pytest.mark.parametrize("value", [float("inf"), float("-inf"), 1e-300, -0.0, [1.5, (2, "a")],
                                   {"k": [None, True]}, {3, 1}, set(), (1,), "q'\"\n"])
def test_literals_rebuild_their_value(value):
    rebuilt = eval(to_source(value))  # noqa: S307 - our own rendering of a literal
    assert rebuilt == value and type(rebuilt) is type(value)


def test_nan_renders_as_source_that_compares_equal_in_the_check():
    tests = TaskTests(("(1.0,)",), (to_source(float("nan")),), 1e-6)
    run_check(tests, lambda x: math.nan)
    with pytest.raises(AssertionError):
        run_check(tests, lambda x: 0.0)


def test_floats_are_compared_within_the_tolerance():
    tests = TaskTests(("(2.0,)",), ("[1.0, 0.5]",), 1e-4)
    run_check(tests, lambda x: [1.00005, 0.5])
    with pytest.raises(AssertionError, match="extended test 0"):
        run_check(tests, lambda x: [1.001, 0.5])


def test_each_call_gets_a_fresh_copy_of_its_input():
    tests = TaskTests(("([3, 1, 2],)", "([3, 1, 2],)"), ("[1, 2, 3]", "[1, 2, 3]"), 1e-6)

    def sorts_in_place(xs):
        xs.sort()
        xs.append(99)  # would change the next case's input if it were shared
        return xs[:-1]

    run_check(tests, sorts_in_place)


def test_a_wrong_answer_names_the_case():
    tests = TaskTests(("(1,)", "(2,)"), ("1", "4"), 1e-6)
    with pytest.raises(AssertionError, match="extended test 1"):
        run_check(tests, lambda x: x)
