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


def test_apps_problems_are_refused_by_the_probe_job_for_now():
    apps = dict(FUNCTION, io_kind="stdin", task_id="APPS/1")
    with pytest.raises(HarnessError, match="APPS/1: probes run on function and assert problems"):
        prepare_probes(apps, "print(1)\n", "prompt_examples", [], SandboxConfig(), 0.1)


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
