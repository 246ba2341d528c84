"""The sandbox judges the benchmarks' reference solutions as passing and wrong ones as failing,
on every backend (bwrap here; docker against a real engine)."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.compute as pc
import pytest

import schemas
from pipeline.benchmarks import apps, humaneval, mbpp
from tests.sandbox.conftest import samples_for


def _verdicts(executor, problems, completions, rows=None):
    """Judge `completions` (one per row of `rows`, default one per problem row)."""
    samples = samples_for(rows if rows is not None else problems, completions)
    verdicts = executor.execute(problems, samples)
    assert verdicts.num_rows == samples.num_rows
    return verdicts.to_pylist()


def _not_passing(rows):
    return [(r["task_id"], r["status"], r["detail"]) for r in rows if r["status"] != "pass"]


def test_all_164_humaneval_canonical_solutions_pass(executor, humaneval_path):
    problems = humaneval.load(humaneval_path)
    rows = _verdicts(executor, problems, problems.column("reference").to_pylist())
    assert len(rows) == 164
    assert _not_passing(rows) == []
    assert all(r["tests_passed"] == r["tests_total"] == 1 for r in rows)


#: The MBPP test ids CI judges on every backend: every 10th (20, 30, ..., 510) and the known
#: tricky ones: 123 and 495, the slowest references in plain python3 here (123 sums amicable
#: numbers below 9999 in 4.8 CPU s; 495 took about 2 s), and 367 (the only test id with
#: test_setup_code: a tree built before the asserts). All 500 run in `make test-full` (marker
#: `full`, below).
MBPP_CI_IDS = sorted({*range(20, 511, 10), 123, 367, 495})


def _mbpp_references_pass_with_each_assert_counted(executor, problems, n):
    rows = _verdicts(executor, problems, problems.column("reference").to_pylist())
    assert len(rows) == n
    assert _not_passing(rows) == []
    assert all(r["tests_passed"] == r["tests_total"] == 3 for r in rows)


def test_mbpp_references_of_a_fixed_subset_pass_with_each_assert_counted(executor, mbpp_path):
    problems = mbpp.load(mbpp_path)
    ids = [f"MBPP/{i}" for i in MBPP_CI_IDS]
    problems = problems.filter(pc.is_in(problems.column("task_id"), pa.array(ids)))
    assert problems.column("task_id").to_pylist() == ids
    _mbpp_references_pass_with_each_assert_counted(executor, problems, len(MBPP_CI_IDS))


@pytest.mark.full
def test_all_500_mbpp_test_references_pass_with_each_assert_counted(executor, mbpp_path):
    problems = mbpp.load(mbpp_path)
    _mbpp_references_pass_with_each_assert_counted(executor, problems, 500)


def _wrong(problem: dict) -> str:
    if problem["io_kind"] == "stdin":
        return "print(-1)\n"
    fn = problem["entry_point"]
    if "class Solution" in problem["starter_code"]:
        return f"class Solution:\n    def {fn}(self, *args):\n        return -1\n"
    return f"def {fn}(*args):\n    return -1\n"


def test_apps_references_pass_and_a_wrong_solution_fails_every_staged_problem(executor, apps_path):
    problems = apps.load(apps_path)
    plist = problems.to_pylist()
    completions = [p["reference"] for p in plist] + [_wrong(p) for p in plist]
    rows = _verdicts(executor, problems, completions, rows=plist * 2)
    refs, wrongs = rows[: len(plist)], rows[len(plist):]
    assert _not_passing(refs) == []
    for p, r in zip(plist, refs):
        n = len(json.loads(p["tests"])["inputs"])
        assert r["tests_passed"] == r["tests_total"] == n, p["task_id"]
    assert [r["status"] for r in wrongs] == ["fail"] * len(plist)
    assert all(r["tests_passed"] == 0 for r in wrongs)


def test_apps_reports_how_many_test_cases_passed(executor, apps_path):
    problems = apps.load(apps_path).filter(pc.equal(pc.field("task_id"), "APPS/4184"))
    tests = json.loads(problems.column("tests")[0].as_py())
    # is_prime(n) that calls every odd number prime: right exactly on the odd primes and evens.
    sloppy = "def is_prime(n):\n    return n % 2 == 1\n"
    expected = sum(
        (x[0] % 2 == 1) == (out[0] if isinstance(out, list) else out)
        for x, out in zip(tests["inputs"], tests["outputs"])
    )
    (row,) = _verdicts(executor, problems, [sloppy])
    assert 0 < expected < len(tests["inputs"])
    assert (row["status"], row["tests_passed"], row["tests_total"]) == (
        "fail", expected, len(tests["inputs"]))


def test_apps_stdin_program_with_top_level_return_passes_thanks_to_the_reference_wrapping(
    executor, apps_path
):
    problems = apps.load(apps_path).filter(pc.equal(pc.field("task_id"), "APPS/2287"))
    with open(apps_path) as f:
        rec = next(json.loads(line) for line in f if json.loads(line)["problem_id"] == 2287)
    def plain_script_fails(code):
        try:
            compile(code, "solution", "exec")
        except SyntaxError as exc:
            return "outside function" in str(exc)
        return False

    with_return = [s for s in json.loads(rec["solutions"]) if plain_script_fails(s)]
    assert with_return, "the staged problem 2287 should have a solution with a top-level return"
    rows = _verdicts(executor, problems, with_return, rows=problems.to_pylist() * len(with_return))
    assert _not_passing(rows) == []


def test_stdin_output_is_compared_like_the_apps_reference(executor):
    io = {"inputs": ["2\n"], "outputs": ["1.0000000 2\n"]}
    problem = {
        "benchmark": "apps", "task_id": "APPS/x", "prompt": "", "tests": json.dumps(io),
        "test_setup": "", "entry_point": None, "io_kind": "stdin", "difficulty": "interview",
        "fewshot_ids": [], "stop": apps.STOP, "reference": None, "starter_code": "",
    }
    problems = schemas.from_rows([problem], "problems")
    rows = _verdicts(executor, problems, rows=[problem] * 4, completions=[
        "print(1.000000001, 2)",   # float fallback
        "print('  1.0000000 2  ')",  # surrounding whitespace
        "print(1, 3)",  # wrong
        "print('1.0000000 2')\nraise SystemExit(0)",  # exit() is not a failure
    ])
    assert [r["status"] for r in rows] == ["pass", "pass", "fail", "pass"]


def _f_of_1_is_2() -> dict:
    """A one-test HumanEval-style problem (f(1) == 2), for the time-limit tests below."""
    return {
        "benchmark": "humaneval", "task_id": "HumanEval/t", "prompt": "def f(x):\n",
        "tests": "def check(candidate):\n    assert candidate(1) == 2\n", "test_setup": "",
        "entry_point": "f", "io_kind": "function", "difficulty": None, "fewshot_ids": [],
        "stop": humaneval.STOP, "reference": None, "starter_code": "",
    }


@pytest.mark.parametrize(
    "completion",
    [
        "    while True:\n        pass\n",  # out of CPU time
        "    import signal\n    signal.signal(signal.SIGXCPU, signal.SIG_IGN)\n    while True:\n        pass\n",
        "    import time\n    time.sleep(60)\n",  # out of wall time
    ],
    ids=["busy_loop", "busy_loop_ignoring_sigxcpu", "sleep"],
)
def test_a_sample_over_its_time_limit_is_reported_as_timeout_not_fail(quick_executor, completion):
    problem = _f_of_1_is_2()
    problems = schemas.from_rows([problem], "problems")
    (row,) = _verdicts(quick_executor, problems, [completion])
    assert row["status"] == "timeout"
    assert row["tests_passed"] == 0


# bwrap only: the 4 CPU-second limit per APPS test case is the sandbox server's, the same code on
# every backend; that the docker backend enforces a CPU limit and reports a timeout is checked
# (in about 1 s, not 20) by test_a_sample_over_its_time_limit_is_reported_as_timeout_not_fail[docker].
@pytest.mark.parametrize("executor", ["bwrap"], indirect=True)
def test_an_apps_test_case_over_four_cpu_seconds_is_a_timeout(executor, apps_path):
    problems = apps.load(apps_path).filter(pc.equal(pc.field("task_id"), "APPS/1"))
    (row,) = _verdicts(executor, problems, ["while True:\n    pass\n"])
    assert row["status"] == "timeout"
    assert row["exec_ms"] >= 4000


@pytest.mark.parametrize(
    "completion",
    [
        "    import time\n    time.sleep(60)\n",
        "    import os\n    r, w = os.pipe()\n    os.read(r, 1)\n",
        "    import threading\n    lock = threading.Lock()\n    lock.acquire()\n    lock.acquire()\n",
        "    import threading, time\n    t = threading.Thread(target=time.sleep, args=(60,))\n"
        "    t.start()\n    t.join()\n",
    ],
    ids=["sleep", "read_a_pipe_nobody_writes", "wait_on_a_lock", "join_a_sleeping_thread"],
)
def test_a_blocked_sample_ends_on_the_blocked_time_limit_not_the_wall_backstop(completion):
    """With a 1 CPU-second limit and a 20 s wall backstop, a sample that sleeps or waits is
    ended by the blocked-time limit (1 s of neither running nor waiting for a CPU); the
    detail says which limit applied."""
    problem = _f_of_1_is_2()
    problems = schemas.from_rows([problem], "problems")
    from sandbox.config import SandboxConfig
    from sandbox.executor import Executor

    config = SandboxConfig(workers=1, timeout_s=1.0, wall_timeout_factor=20.0)
    with Executor(config) as ex:
        (row,) = ex.execute(problems, samples_for([problem], [completion])).to_pylist()
    assert row["status"] == "timeout"
    assert "blocked for 1 s" in row["detail"], row["detail"]


def test_a_cpu_bound_sample_gets_its_full_cpu_seconds_however_loaded_the_machine():
    """Waiting for a CPU is not blocked time: a busy loop ends on its CPU limit (1 s), not on
    the blocked-time limit (also 1 s), even where it waits long for a CPU."""
    from sandbox.config import SandboxConfig
    from sandbox.executor import Executor

    problem = _f_of_1_is_2()
    problems = schemas.from_rows([problem], "problems")
    config = SandboxConfig(workers=1, timeout_s=1.0, wall_timeout_factor=60.0)
    with Executor(config) as ex:
        (row,) = _verdicts(ex, problems, ["    while True:\n        pass\n"])
    assert row["status"] == "timeout"
    assert "1 CPU seconds" in row["detail"], row["detail"]
