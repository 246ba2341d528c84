"""The executor's contract with the pipeline: one verdict per sample, same key and order,
identical programs run once, shards in and out through storage, clear errors."""

from __future__ import annotations

import pytest

import schemas
from sandbox.config import SandboxConfig
from sandbox.executor import Executor, execute
from tests.sandbox.conftest import samples_for

PROBLEM = {
    "benchmark": "humaneval", "task_id": "HumanEval/sq", "prompt": "def sq(x):\n",
    "tests": "def check(candidate):\n    assert candidate(3) == 9\n    assert candidate(-2) == 4\n",
    "test_setup": "", "entry_point": "sq", "io_kind": "function", "difficulty": None,
    "fewshot_ids": [], "stop": ["\ndef"], "reference": "    return x * x\n", "starter_code": "",
}
PROBLEMS = schemas.from_rows([PROBLEM], "problems")

RIGHT, WRONG = "    return x * x\n", "    return x + x\n"


@pytest.fixture(scope="module")
def warm():
    with Executor(SandboxConfig(workers=2, timeout_s=3.0)) as ex:
        yield ex


def test_one_verdict_per_sample_with_the_same_key_in_the_same_order(warm):
    completions = [WRONG, RIGHT, "    return 1/0\n", RIGHT + "\ndef extra(): pass\n"]
    samples = samples_for([PROBLEM] * 4, completions, run_id="r1", model="tiny")
    verdicts = warm.execute(PROBLEMS, samples)
    assert verdicts.schema.equals(schemas.VERDICTS, check_metadata=False)
    key = list(schemas.KEY)
    assert verdicts.select(key).to_pylist() == samples.select(key).to_pylist()
    assert verdicts.column("status").to_pylist() == ["fail", "pass", "fail", "pass"]
    assert "ZeroDivisionError" in verdicts.column("detail")[2].as_py()


def test_identical_programs_of_a_problem_run_once_and_the_verdict_is_fanned_out():
    completions = [RIGHT, RIGHT + "  \n\n", WRONG, RIGHT, WRONG]
    samples = samples_for([PROBLEM] * 5, completions)
    with Executor(SandboxConfig(workers=1)) as ex:
        verdicts = ex.execute(PROBLEMS, samples).to_pylist()
        stats = ex.stats
    assert [v["status"] for v in verdicts] == ["pass", "pass", "fail", "pass", "fail"]
    assert [v["cached"] for v in verdicts] == [False, True, False, True, True]
    assert [v["exec_ms"] > 0 for v in verdicts] == [True, False, True, False, False]
    assert (stats.samples, stats.unique_programs, stats.executed) == (5, 2, 2)
    assert stats.dedup_hit_rate == pytest.approx(3 / 5)


def test_programs_already_judged_by_this_executor_are_not_run_again(warm):
    warm.execute(PROBLEMS, samples_for([PROBLEM], ["    return x ** 2\n"]))
    again = warm.execute(PROBLEMS, samples_for([PROBLEM], ["    return x ** 2\n"], run_id="r2"))
    assert again.column("cached").to_pylist() == [True]
    assert again.column("status").to_pylist() == ["pass"]
    assert warm.stats.executed == 0


def test_without_dedup_every_sample_runs():
    samples = samples_for([PROBLEM] * 3, [RIGHT] * 3)
    verdicts = execute(PROBLEMS, samples, SandboxConfig(workers=1, dedup=False))
    assert verdicts.column("cached").to_pylist() == [False] * 3
    assert verdicts.column("status").to_pylist() == ["pass"] * 3


def test_a_program_that_depends_on_the_order_of_a_set_of_strings_gets_one_verdict_everywhere():
    """Every fork-server runs with hash seed 0, so str hashes, and with them the order of a set
    of strings, are the same on every worker and in every run: such a program's verdict
    does not depend on which worker it lands on."""
    import subprocess

    python = SandboxConfig().python
    order = subprocess.run([python, "-c", "print(''.join(set('abcdefghij')))"],
                           env={"PYTHONHASHSEED": "0"}, capture_output=True, text=True).stdout.strip()
    problem = dict(PROBLEM, task_id="HumanEval/order", prompt="def order():\n", entry_point="order",
                   tests=f"def check(candidate):\n    assert candidate() == {order!r}\n")
    samples = samples_for([problem] * 8, ["    return ''.join(set('abcdefghij'))\n"] * 8)
    verdicts = execute(schemas.from_rows([problem], "problems"), samples,
                       SandboxConfig(workers=2, dedup=False))
    assert verdicts.column("status").to_pylist() == ["pass"] * 8


def test_samples_of_a_task_missing_from_problems_are_refused_naming_the_task(warm):
    other = dict(PROBLEM, task_id="HumanEval/missing")
    with pytest.raises(ValueError, match="humaneval:HumanEval/missing"):
        warm.execute(PROBLEMS, samples_for([other], [RIGHT]))


def test_an_empty_shard_gives_an_empty_verdicts_table(warm):
    empty = schemas.empty("samples")
    out = warm.execute(PROBLEMS, empty)
    assert out.num_rows == 0 and out.schema.names == schemas.VERDICTS.names


def test_config_refuses_a_tmp_smaller_than_the_largest_file():
    with pytest.raises(ValueError, match="tmp_mb"):
        SandboxConfig(file_mb=32, tmp_mb=16)


def test_a_missing_docker_image_is_reported_with_how_to_build_it(docker_engine):
    from sandbox.backends import SandboxUnavailable

    with pytest.raises(SandboxUnavailable, match="build_image.sh"):
        Executor(SandboxConfig(backend="docker", docker_image="budget-realloc-no-such:image")).start()


def test_a_worker_that_died_is_restarted_and_the_samples_still_judged():
    with Executor(SandboxConfig(workers=1)) as ex:
        ex.workers[0].proc.kill()
        ex.workers[0].proc.wait()
        verdicts = ex.execute(PROBLEMS, samples_for([PROBLEM] * 2, [RIGHT, WRONG]))
        assert ex.workers[0].alive
    assert verdicts.column("status").to_pylist() == ["pass", "fail"]


def test_the_explicit_unsafe_flag_runs_samples_without_a_sandbox():
    config = SandboxConfig(workers=1, unsafe_no_sandbox=True)
    verdicts = execute(PROBLEMS, samples_for([PROBLEM] * 2, [RIGHT, WRONG]), config)
    assert verdicts.column("status").to_pylist() == ["pass", "fail"]


def test_a_calibrated_limit_comes_from_the_reference_cpu_time_and_the_timeout_names_it():
    config = SandboxConfig(workers=1, timeout_s=5.0, time_limit_factor=4.0, time_limit_floor_s=1.0)
    spin = "    while True:\n        pass\n"
    with Executor(config) as ex:
        verdicts = ex.execute(PROBLEMS, samples_for([PROBLEM] * 2, [RIGHT, spin])).to_pylist()
        limit, note = ex._limits[("humaneval", "HumanEval/sq")]
    # the reference squares two numbers: 4 x its CPU time is far below the 1 s floor
    assert limit == 1.0
    assert [v["status"] for v in verdicts] == ["pass", "timeout"]
    assert "1 CPU seconds" in verdicts[1]["detail"] and note in verdicts[1]["detail"]
    assert "floor 1 s, ceiling 5 s" in note


def test_without_a_passing_reference_the_configured_limit_applies():
    broken = dict(PROBLEM, task_id="HumanEval/nosol", reference="    return x +\n")
    config = SandboxConfig(workers=1, timeout_s=2.0, time_limit_factor=4.0)
    with Executor(config) as ex:
        (v,) = ex.execute(schemas.from_rows([broken], "problems"),
                          samples_for([broken], ["    while True:\n        pass\n"])).to_pylist()
        assert ex._limits[("humaneval", "HumanEval/nosol")] == (None, "")
    assert v["status"] == "timeout" and "2 CPU seconds" in v["detail"]


SPIN = "    while True:\n        pass\n"


def _counting_runs(monkeypatch):
    """Every job sent to a worker, in the order sent (each one goes through `_wire`)."""
    from sandbox import forkserver

    sent = []
    real = forkserver._wire
    monkeypatch.setattr(forkserver, "_wire", lambda job: sent.append(job) or real(job))
    return sent


def test_only_the_calibration_of_the_reference_solution_skips_the_judge(monkeypatch):
    """`reference` is a job field the host alone sets: a sample's job never carries it, even
    when its text names it, and a reference that fails its tests still fails."""
    sent = _counting_runs(monkeypatch)
    liar = '    return x * x  # "reference": true\n'
    config = SandboxConfig(workers=1, timeout_s=1.0, time_limit_factor=4.0, time_limit_floor_s=0.2)
    broken = dict(PROBLEM, task_id="HumanEval/wrongref", reference=WRONG)
    problems = schemas.from_rows([PROBLEM, broken], "problems")
    # a spinning sample of each task runs out of the floor, so both references are timed
    tasks, completions = [PROBLEM, broken, PROBLEM, broken], [liar, WRONG, SPIN, SPIN]
    with Executor(config) as ex:
        verdicts = ex.execute(problems, samples_for(tasks, completions)).to_pylist()
        assert ex._limits[("humaneval", "HumanEval/sq")][0] == 0.2  # calibrated from its run
        assert ex._limits[("humaneval", "HumanEval/wrongref")] == (None, "")  # it failed
    marked = [job.head["program"] for job in sent if job.head.get("reference")]
    assert sorted(marked) == sorted([PROBLEM["prompt"] + RIGHT, PROBLEM["prompt"] + WRONG])
    assert not any(liar in p for p in marked)
    assert any(liar in job.head["program"] for job in sent if not job.head.get("reference"))
    assert [v["status"] for v in verdicts] == ["pass", "fail", "timeout", "timeout"]


def test_a_reference_is_timed_only_for_a_task_where_a_sample_ran_out_of_the_floor(monkeypatch):
    """Below the floor no calibrated limit can change a verdict, so a task whose samples all
    end within it never runs its reference; a task with a sample past it does, once."""
    sent = _counting_runs(monkeypatch)
    other = dict(PROBLEM, task_id="HumanEval/sq2")
    problems = schemas.from_rows([PROBLEM, other], "problems")
    config = SandboxConfig(workers=1, timeout_s=1.0, time_limit_factor=4.0, time_limit_floor_s=0.2)
    with Executor(config) as ex:
        first = ex.execute(problems, samples_for([PROBLEM, other, other], [RIGHT, WRONG, SPIN]))
        again = ex.execute(problems, samples_for([other], [SPIN + "\n# again\n"]))
        assert ("humaneval", "HumanEval/sq") not in ex._limits
        assert ex._limits[("humaneval", "HumanEval/sq2")][0] == 0.2
    references = [job for job in sent if job.head.get("reference")]
    assert len(references) == 1 and "sq2" not in references[0].head["program"]
    assert first.column("status").to_pylist() == ["pass", "fail", "timeout"]
    assert again.column("status").to_pylist() == ["timeout"]
    assert "calibrated" in again.column("detail")[0].as_py()


def test_a_sample_past_the_floor_but_within_its_calibrated_limit_is_rerun_and_passes(monkeypatch):
    """The reference burns some CPU; the sample burns twice that and is right. The floor is
    below both, the calibrated limit (4 x the reference) above the sample: the first run
    times out at the floor, the rerun at the calibrated limit passes, as it would have if the
    task had been calibrated before its samples ran."""
    sent = _counting_runs(monkeypatch)
    burn = "    n = 0\n    for i in range({}):\n        n += i\n    return x * x\n"
    slow = dict(PROBLEM, task_id="HumanEval/slow", reference=burn.format(1_500_000))
    problems = schemas.from_rows([slow], "problems")
    config = SandboxConfig(workers=1, timeout_s=5.0, time_limit_factor=4.0,
                           time_limit_floor_s=0.05)
    sample = burn.format(3_000_000)
    with Executor(config) as ex:
        (v,) = ex.execute(problems, samples_for([slow], [sample])).to_pylist()
        limit = ex._limits[("humaneval", "HumanEval/slow")][0]
    runs = [job.head["timeout_s"] for job in sent if not job.head.get("reference")
            and sample in job.head["program"]]
    assert runs == [0.05, limit] and limit > 0.05
    assert v["status"] == "pass"


def test_programs_that_mention_numpy_run_in_a_numpy_zygote_and_the_server_stays_lean():
    """numpy makes every fork after it dearer, so the server never loads it: programs that
    mention numpy go to a fork of the server that has it (right and wrong judged as
    before), and the programs after them are forked from the lean server again."""
    numpy_right = "    import numpy as np\n    return np.int64(x) * np.int64(x)\n"
    numpy_wrong = "    import numpy as np\n    return np.float64(x) + x\n"
    completions = [numpy_right, RIGHT, numpy_wrong, WRONG, numpy_right + "\n\n"]
    with Executor(SandboxConfig(workers=1, dedup=False)) as ex:
        before = ex.workers[0].ping()
        verdicts = ex.execute(PROBLEMS, samples_for([PROBLEM] * 5, completions))
        after = ex.workers[0].ping()
    assert verdicts.column("status").to_pylist() == ["pass", "pass", "fail", "fail", "pass"]
    assert (before["numpy"], before["zygotes"]) == (False, {})
    assert (after["numpy"], after["zygotes"], after["procs"]) == (False, {"numpy": ["numpy"]}, 0)


def _jobs(completions, problem=PROBLEM):
    from sandbox.harness import prepare

    return [prepare(problem, c, SandboxConfig(timeout_s=3.0)).job for c in completions]


@pytest.fixture
def writes(monkeypatch) -> list[int]:
    """The size of each write to a fork-server's input pipe, in order."""
    from sandbox.forkserver import ForkServer

    sizes: list[int] = []
    real_send = ForkServer._send
    monkeypatch.setattr(ForkServer, "_send", lambda self, data: sizes.append(len(data))
                        or real_send(self, data))
    return sizes


def test_a_worker_answers_a_stream_of_jobs_in_order_with_the_next_one_waiting_in_its_pipe(
        writes):
    jobs = list(enumerate(_jobs([RIGHT, WRONG, "    return 1/0\n", RIGHT, WRONG])))
    answers, in_flight = [], []
    with Executor(SandboxConfig(workers=1)) as ex:
        w = ex.workers[0]
        writes.clear()
        todo = list(jobs)

        def take():
            return todo.pop(0) if todo else None

        def give(token, out):
            in_flight.append(len(writes) - len(answers))  # sent, not answered, before this one
            answers.append((token, out["status"]))

        w.run_all(take, give)
    assert answers == [(0, "pass"), (1, "fail"), (2, "fail"), (3, "pass"), (4, "fail")]
    assert max(in_flight) == 2  # the next job was already sent while one ran


def test_nothing_waits_in_a_workers_pipe_behind_a_job_that_may_run_long(writes):
    loop = "    while x > 0:\n        x -= 1\n    return 9 if x == 0 else 4\n"
    jobs = _jobs([RIGHT, loop, WRONG, RIGHT])
    assert [j.may_run_long for j in jobs] == [False, True, False, False]
    answers, in_flight = [], {}
    with Executor(SandboxConfig(workers=1)) as ex:
        writes.clear()
        todo = list(enumerate(jobs))

        def give(token, out):
            in_flight[token] = len(writes) - len(answers)  # sent, not answered, before this one
            answers.append(token)

        ex.workers[0].run_all(lambda: todo.pop(0) if todo else None, give)
    assert answers == [0, 1, 2, 3]
    assert in_flight[0] == 2  # the looping job was sent while the first one ran ...
    assert in_flight[1] == 1  # ... but nothing was sent behind it
    assert in_flight[2] == 2


def test_jobs_that_may_run_long_are_taken_first(monkeypatch):
    from sandbox.forkserver import ForkServer

    order = []
    real_run_all = ForkServer.run_all

    def spy(self, take, give):
        def taking():
            got = take()
            if got is not None:
                order.append(got[1].may_run_long)
            return got
        return real_run_all(self, taking, give)

    monkeypatch.setattr(ForkServer, "run_all", spy)
    loops = [f"    while x > {i}:\n        x -= 1\n    return x * x\n" for i in range(2)]
    with Executor(SandboxConfig(workers=1, dedup=False)) as ex:
        ex.execute(PROBLEMS, samples_for([PROBLEM] * 5, [RIGHT, WRONG, loops[0], RIGHT, loops[1]]))
    assert order == [True, True, False, False, False]


def test_a_worker_that_dies_with_jobs_in_its_pipe_is_restarted_and_every_job_answered():
    jobs = list(enumerate(_jobs([RIGHT, WRONG, RIGHT, WRONG, RIGHT, WRONG])))
    answers, pids = [], []
    with Executor(SandboxConfig(workers=1)) as ex:
        w = ex.workers[0]
        todo = list(jobs)

        def take():
            return todo.pop(0) if todo else None

        def give(token, out):
            answers.append((token, out["status"]))
            if token == 1:  # job 2 waits in the pipe; after it the server reads garbage and dies
                w._send(b"\xff\xff\xff\xff")
                pids.append(w.proc.pid)

        w.run_all(take, give)
        assert w.alive and w.proc.pid != pids[0]  # a new worker took over
    assert answers == [(i, "pass" if i % 2 == 0 else "fail") for i in range(6)]


def test_a_job_too_big_to_wait_in_the_pipe_runs_alone_between_pipelined_ones():
    big = dict(PROBLEM, task_id="HumanEval/big", tests=PROBLEM["tests"]
               + "".join(f"    assert candidate({i}) == {i * i}\n" for i in range(4000)))
    small = _jobs([RIGHT, WRONG])
    large = _jobs([RIGHT], big)
    from sandbox.forkserver import PIPE_SAFE, _wire

    assert len(_wire(large[0])) > PIPE_SAFE
    todo = list(enumerate([small[0], large[0], small[1], large[0]]))
    answers = []
    with Executor(SandboxConfig(workers=1)) as ex:
        ex.workers[0].run_all(lambda: todo.pop(0) if todo else None,
                              lambda token, out: answers.append((token, out["status"])))
    assert answers == [(0, "pass"), (1, "pass"), (2, "fail"), (3, "pass")]
