"""The probe job: a program run once, then each probe in order inside the sample's own
sandboxed process, with one bounded outcome per probe and no hidden test anywhere."""

from __future__ import annotations

import json
import random
import time

import pytest

import schemas
from sandbox.config import SandboxConfig
from sandbox.executor import Executor
from sandbox.harness import HarnessError, prepare_probes
from tests.sandbox.conftest import samples_for
from tests.sandbox.test_adversarial import Listener, _live_pids_of, _problem, hostile_samples

FUNCTION = {
    "benchmark": "humaneval", "task_id": "HumanEval/t", "io_kind": "function",
    "prompt": "def add(a, b):\n", "entry_point": "add", "stop": ["\ndef"], "test_setup": "",
    "tests": "def check(candidate):\n    assert candidate(1, 2) == 3\n", "difficulty": None,
    "fewshot_ids": [], "reference": None, "starter_code": "",
}
GOOD = "    return a + b\n"


def expr(code, expected=None):
    return {"kind": "expr", "code": code, "expected": expected}


def run(ex, completions, probes, problem=FUNCTION, timeout=0.2):
    problems = schemas.from_rows([problem], "problems")
    samples = samples_for([problem] * len(completions), completions)
    key = (problem["benchmark"], problem["task_id"])
    return ex.probe(problems, samples, {key: {"prompt_examples": probes}},
                    probe_timeout_s=timeout).to_pylist()


@pytest.fixture(scope="module")
def ex():
    with Executor(SandboxConfig(workers=1, timeout_s=2.0, wall_timeout_factor=2.0)) as e:
        yield e


def test_values_exceptions_and_asserts_become_outcomes_with_matches(ex):
    probes = [expr("add(1, 2)", "3"), expr("add(1, 2)", "4"), expr("add(1, None)"),
              {"kind": "assert", "code": "assert add(2, 2) == 4"},
              {"kind": "assert", "code": "assert add(2, 2) == 5"}, expr("add([1], (2,))")]
    (row,) = run(ex, [GOOD], probes)
    assert row["outcomes"] == ["v:3", "v:3", "raise:TypeError", "pass", "fail", "raise:TypeError"]
    assert row["matches"] == [True, False, None, True, False, None]
    assert row["probe_set"] == "prompt_examples" and row["cached"] is False


def test_a_hanging_probe_times_out_and_the_next_probe_still_runs(ex):
    probes = [expr("add(1, 1)", "2"), expr("[0 for _ in iter(int, 1)]"), expr("add(2, 3)", "5")]
    (row,) = run(ex, [GOOD], probes)
    assert row["outcomes"] == ["v:2", "timeout", "v:5"]
    assert row["matches"] == [True, None, True]


def test_a_probe_that_kills_the_process_ends_the_remaining_probes_as_crash(ex):
    probes = [expr("add(1, 1)"), expr("__import__('os')._exit(3)"), expr("add(2, 3)")]
    (row,) = run(ex, [GOOD], probes)
    assert row["outcomes"] == ["v:2", "crash", "crash"]


def test_long_values_cross_as_their_hash_and_other_types_as_opaque(ex):
    probes = [expr("'x' * 100000"), expr("type('T', (), {})()"), expr("{3, 1, 2}"), expr("{2, 3, 1}")]
    (row,) = run(ex, [GOOD], probes)
    assert row["outcomes"][0].startswith("v:sha256:") and len(row["outcomes"][0]) == 9 + 64
    assert row["outcomes"][1] == "opaque"
    assert row["outcomes"][2] == row["outcomes"][3]  # a set's canonical value has one order


def test_a_program_that_fails_to_load_gives_its_exception_for_every_probe(ex):
    (row,) = run(ex, ["    return a +\n"], [expr("add(1, 1)", "2"), expr("add(2, 2)")])
    assert row["outcomes"] == ["raise:SyntaxError", "raise:SyntaxError"]
    assert row["matches"] == [False, None]


def test_identical_programs_run_once_and_are_fanned_out(ex):
    rows = run(ex, [GOOD, GOOD + "\n\n", "    return a - b\n"], [expr("add(5, 2)", "7")])
    assert [r["cached"] for r in rows] == [False, True, False]
    assert rows[1]["exec_ms"] == 0.0 and rows[1]["outcomes"] == rows[0]["outcomes"] == ["v:7"]
    assert rows[2]["outcomes"] == ["v:3"]
    assert ex.stats.executed == 2


def test_a_probe_job_carries_no_hidden_test():
    prep = prepare_probes(FUNCTION, GOOD, "prompt_examples", [expr("add(1, 2)", "3")],
                          SandboxConfig(), 0.1)
    assert prep.job.tests == {}
    assert "check" not in json.dumps(prep.job.head) and "candidate" not in json.dumps(prep.job.head)
    assert prep.job.head["program"] == FUNCTION["prompt"] + GOOD


def test_apps_call_based_problems_are_refused_by_the_probe_job_for_now():
    apps = dict(FUNCTION, io_kind="call", task_id="APPS/1")
    with pytest.raises(HarnessError, match="APPS/1: probes run on function, assert and stdin"):
        prepare_probes(apps, "def f(x): return x\n", "prompt_examples", [], SandboxConfig(),
                       0.1)


STDIN = dict(FUNCTION, benchmark="apps", task_id="APPS/s", io_kind="stdin", prompt="",
             entry_point=None, stop=[], tests=json.dumps({"inputs": ["1 2\n"],
                                                          "outputs": ["3\n"]}))


def stdin(text, shown=None):
    return {"kind": "stdin", "code": text, "expected": shown}


def test_a_stdin_program_runs_once_per_sample_input_with_its_output_as_the_outcome(ex):
    adds = "a, b = map(int, input().split())\nprint(a + b)\n"
    probes = [stdin("1 2\n", "3\n"), stdin("2 2\n", "5\n"), stdin("x y\n", "0\n"),
              stdin("4 5\n")]
    (row,) = run(ex, [adds], probes, problem=STDIN)
    assert row["outcomes"] == ['v:"3"', 'v:"4"', "raise:Exception", 'v:"9"']
    assert row["matches"] == [True, False, False, None]


def test_a_hanging_or_unloadable_stdin_program_times_out_or_fails_for_every_input(ex):
    probes = [stdin("1\n", "1\n"), stdin("2\n", "2\n")]
    loops = "n = int(input())\nwhile n == 1:\n    pass\nprint(n)\n"
    broken = "print(\n"
    rows = run(ex, [loops, broken], probes, problem=STDIN)
    assert rows[0]["outcomes"] == ["timeout", 'v:"2"'] and rows[0]["matches"] == [False, True]
    assert rows[1]["outcomes"] == ["raise:SyntaxError"] * 2


def test_a_stdin_probe_job_carries_no_hidden_test():
    prep = prepare_probes(STDIN, "print(3)\n", "prompt_examples", [stdin("9 9\n", "18\n")],
                          SandboxConfig(), 0.1)
    assert prep.job.tests == {} and "1 2" not in json.dumps(prep.job.head)
    assert prep.job.head["kind"] == "probe_stdin"


ATTACKS = ("fork_bomb", "setsid_double_fork_orphan", "kill_parent_worker_and_everyone",
           "write_host_file", "delete_host_files", "read_answer_file_outside_sandbox",
           "connect_to_host_listener", "infinite_loop", "allocate_10_gb")


def test_hostile_samples_in_the_probe_path_end_cleanly_with_no_escape(tmp_path):
    secret = random.randrange(10**8, 10**9)
    answer = tmp_path / "answer.txt"
    answer.write_text(str(secret))
    canary_dir = tmp_path / "canary"
    canary_dir.mkdir()
    canary = canary_dir / "canary.txt"
    canary.write_text("untouched")
    listener = Listener(secret)
    problem = _problem(secret)
    attacks = hostile_samples(str(answer), str(canary), str(canary_dir), listener.port)
    chosen = [attacks[name] for name in ATTACKS]
    probes = [expr("secret(7)", str(secret)), expr("secret(8)")]
    try:
        with Executor(SandboxConfig(workers=1, timeout_s=2.0, wall_timeout_factor=2.0)) as ex:
            pids = [w.proc.pid for w in ex.workers]
            uids = {u for w in ex.workers for u in (w.uid, w.judge_uid)}
            rows = run(ex, chosen, probes, problem=problem, timeout=0.5)
            time.sleep(2.5)  # longer than the orphan's delay before it would write the canary
            (after,) = run(ex, ["    return x * 2\n"], probes, problem=problem)
            assert [w.proc.pid for w in ex.workers] == pids, "a worker was restarted"
            left = _live_pids_of(uids)
    finally:
        listener.close()
    by_name = dict(zip(ATTACKS, rows))
    assert after["outcomes"] == ["v:14", "v:16"]
    assert all(len(r["outcomes"]) == 2 for r in rows)
    for name in ("read_answer_file_outside_sandbox", "connect_to_host_listener"):
        assert by_name[name]["matches"][0] is not True, name
    assert by_name["infinite_loop"]["outcomes"] == ["timeout", "timeout"]
    assert canary.read_text() == "untouched"
    assert answer.read_text() == str(secret)
    assert listener.connections == 0
    assert left == []


def test_hostile_stdin_programs_in_the_probe_path_end_cleanly_with_no_escape(tmp_path):
    canary = tmp_path / "canary.txt"
    canary.write_text("untouched")
    attacks = {
        "fork_bomb": "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n"
                     "        pass\n",
        # kill(-1) spares the caller: it goes on and prints a wrong answer
        "kill_everyone": "import os, signal\nos.kill(-1, signal.SIGKILL)\nprint(0)\n",
        "write_host_file": f"open({str(canary)!r}, 'w').write('pwned')\nprint(1)\n",
        "flood_stdout": "while True:\n    print('x' * 10000)\n",
        "infinite_loop": "while True:\n    pass\n",
    }
    probes = [stdin("1\n", "1\n"), stdin("2\n", "2\n")]
    echo = "print(input())\n"
    with Executor(SandboxConfig(workers=1, timeout_s=2.0, wall_timeout_factor=2.0)) as ex:
        pids = [w.proc.pid for w in ex.workers]
        uids = {u for w in ex.workers for u in (w.uid, w.judge_uid)}
        rows = run(ex, list(attacks.values()), probes, problem=STDIN, timeout=0.5)
        (after,) = run(ex, [echo], probes, problem=STDIN)
        assert [w.proc.pid for w in ex.workers] == pids, "a worker was restarted"
        left = _live_pids_of(uids)
    by_name = dict(zip(attacks, rows))
    assert after["outcomes"] == ['v:"1"', 'v:"2"'] and after["matches"] == [True, True]
    assert all(len(r["outcomes"]) == 2 and not any(r["matches"]) for r in rows)
    assert by_name["kill_everyone"]["outcomes"] == ['v:"0"', 'v:"0"']
    assert by_name["infinite_loop"]["outcomes"] == ["timeout", "timeout"]
    assert by_name["flood_stdout"]["outcomes"][0] in ("raise:Exception", "timeout")
    assert canary.read_text() == "untouched"
    assert left == []
