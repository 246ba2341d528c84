"""A task's extended tests as HumanEval-style test code: `check(candidate)` over literal inputs.

Role: the `plus_tests` column of the humaneval+ problems table, run by the sandbox's ordinary
`function` job (no change inside the sandbox). Each input is deep-copied before the call (a
candidate may mutate its arguments) and the output compared with `child.EQUAL_SOURCE`, the
comparison the generator used; inf and nan are written as float("inf") / float("nan").
"""

from __future__ import annotations

from pipeline.benchmarks.extended.child import EQUAL_SOURCE
from pipeline.benchmarks.extended.generate import Suite, TaskTests


def check_code(tests: TaskTests, header: str = "") -> str:
    """The test code of one task's extended tests (an assert per input, in order)."""
    lines = [f"# {header}" if header else "", "import copy as _plus_copy", EQUAL_SOURCE,
             "_PLUS_CASES = ["]
    lines += [f"    ({i}, {o})," for i, o in zip(tests.inputs, tests.outputs)]
    lines += ["]", "", "", "def check(candidate):",
              "    for _n, (_args, _expected) in enumerate(_PLUS_CASES):",
              "        _out = candidate(*_plus_copy.deepcopy(_args))",
              f"        assert _plus_equal(_out, _expected, {tests.atol!r}), "
              "'extended test %d' % _n", ""]
    return "\n".join(lines)


def suite_header(suite: Suite) -> str:
    g = suite.generator
    return (f"extended tests: {g['name']} (evalplus {g['evalplus']}), seed {g['seed']}, "
            f"cap {g['cap']}, suite sha256 {suite.digest[:16]}")
