"""Bad input to `run`/`resume`/`status` gives one clear line naming it, and loses nothing."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

import schemas
from pipeline import results
from pipeline.run import storage
from pipeline.run.rundir import RunDir


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipeline", *args, "--no-progress"],
                          capture_output=True, text=True, timeout=300)


def config(tmp_path, **changes) -> str:
    data = {
        "run_id": "bad", "output_dir": str(tmp_path / "run"),
        "models": [{"name": "m", "path": "tiny-llama"}],
        "benchmarks": [{"name": "humaneval", "n": 2, "subset": {"limit": 2}}],
        **changes,
    }
    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump(data))
    return str(path)


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"models": [{"name": "m", "path": "/no/such/model"}]},
         "models.m.path: model directory '/no/such/model' not found"),
        ({"benchmarks": [{"name": "humaneval-x", "n": 2}]},
         "benchmarks.0.name: Value error, unknown benchmark 'humaneval-x'"),
        ({"benchmarks": [{"name": "humaneval", "n": 0}]},
         "benchmarks.0.n: Input should be greater than or equal to 1"),
        ({"models": [{"name": "m", "path": "tiny-llama", "engine": {"max_model_length": 9}}]},
         "models.m.engine.max_model_length: Extra inputs are not permitted"),
        ({"sandbox": {"backend": "chroot"}},
         "sandbox.backend: Value error, unknown sandbox backend 'chroot'; choose one of: bwrap, docker"),
    ],
)
def test_a_bad_config_exits_2_naming_the_field_before_any_work(tmp_path, changes, message):
    result = run_cli("run", config(tmp_path, **changes))
    assert result.returncode == 2, result.stdout + result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "run" / "samples").exists()


def test_resume_of_a_directory_that_is_not_a_run_says_so(tmp_path):
    result = run_cli("resume", str(tmp_path))
    assert result.returncode == 2
    assert "config.yaml: not found; is" in result.stderr and "a run directory?" in result.stderr


def test_a_corrupt_shard_is_named_by_the_query_api_and_nothing_else_is_touched(tmp_path):
    rundir = RunDir(str(tmp_path / "run"))
    from pipeline import config as config_mod

    rundir.freeze_config(config_mod.load(config(tmp_path)))
    row = {"run_id": "bad", "model": "m", "benchmark": "humaneval", "task_id": "HumanEval/0",
           "sample_idx": 0, "seed": 1, "temperature": 0.8, "completion": "x", "n_tokens": 1,
           "finish_reason": "stop", "gen_seconds": 0.1}
    good = tmp_path / "run/samples/model=m/benchmark=humaneval/sampled-00000.parquet"
    storage.write_table(schemas.from_rows([row], "samples"), good, "samples")
    bad = good.with_name("sampled-00001.parquet")
    bad.write_bytes(b"\x00" * 64)
    with pytest.raises(storage.StorageError, match="sampled-00001.parquet: not a readable Parquet file"):
        results.load(str(tmp_path / "run"))
    assert bad.read_bytes() == b"\x00" * 64 and good.exists()


def test_sandbox_error_verdicts_stop_reduce_and_resume_re_executes_their_shard(tmp_path):
    import json

    from pipeline import config as config_mod
    from pipeline.jobs import evaluate
    from pipeline.run import importers

    cfg = config_mod.parse({
        "run_id": "err", "output_dir": str(tmp_path / "run"), "shard_size": 2,
        "models": [{"name": "theirs", "path": "imported", "cost": {"seconds_per_sample": 1.0}}],
        "benchmarks": [{"name": "humaneval", "n": 2, "subset": {"limit": 4}}],
        "sandbox": {"backend": "bwrap", "workers": 1}, "reduce": {"n_boot": 0},
    })
    gens = tmp_path / "g.jsonl"
    gens.write_text("".join(json.dumps({"task_id": f"HumanEval/{t}", "completion": c}) + "\n"
                            for t in range(4) for c in ("    return 1\n", "    pass\n")))
    importers.import_to_run(cfg, gens)
    assert evaluate.run(cfg, progress=False, in_process=True).reduced
    before = results.load(cfg.output_dir).samples.sort_values(["task_id", "sample_idx"])

    # the sandbox could not judge one sample of the first shard
    rundir = RunDir(cfg.output_dir)
    shard_file = storage.list_files(rundir.uri("verdicts"))[0]
    rows = storage.read_table(shard_file, "verdicts").to_pylist()
    rows[0].update(status="error", detail="sandbox: worker died")
    storage.write_table(schemas.from_rows(rows, "verdicts"), shard_file, "verdicts")

    refused = subprocess.run([sys.executable, "-m", "pipeline", "reduce", cfg.output_dir],
                             capture_output=True, text=True, timeout=300)
    assert refused.returncode == 2
    assert "1 samples have a sandbox `error` verdict" in refused.stderr
    assert "--exclude-errors" in refused.stderr
    excluded = subprocess.run([sys.executable, "-m", "pipeline", "reduce", cfg.output_dir,
                               "--exclude-errors", "--n-boot", "0"],
                              capture_output=True, text=True, timeout=300)
    assert excluded.returncode == 0, excluded.stderr
    assert "excluded 1 samples with a sandbox error verdict (theirs/humaneval: 1)" in excluded.stdout
    status_out = subprocess.run([sys.executable, "-m", "pipeline", "status", cfg.output_dir],
                                capture_output=True, text=True, timeout=300).stdout
    assert "sandbox errors: 1 verdicts not judged" in status_out

    outcome = evaluate.resume(cfg.output_dir, progress=False, in_process=True)
    assert outcome.reduced
    after = results.load(cfg.output_dir).samples.sort_values(["task_id", "sample_idx"])
    assert (after.status != "error").all()
    assert after.status.tolist() == before.status.tolist()  # re-executed, judged as before


def test_a_pool_whose_shards_have_all_ended_is_stopped_while_the_run_goes_on(
        tmp_path, humaneval_path, monkeypatch):
    """Actors give their places back once their stage has nothing left (on a cluster that
    lost a node, the replacements of other stages' actors need them): in process, downstream
    shards run first, so the probe actor is stopped after its 3 shards and before any
    execute shard has run; every actor is stopped once, the execute actor at the end."""
    from pipeline import config as config_mod
    from pipeline.jobs import evaluate
    from pipeline.run import importers
    from pipeline.run.scheduler import InProcessScheduler
    from tests.pipeline.run.imported_run import config_data, generations

    stopped = []
    real_stop = InProcessScheduler.stop

    def stop(self, actor):
        verdicts = list((tmp_path / "run" / "verdicts").rglob("*.parquet"))
        stopped.append((type(actor).__name__, len(verdicts)))
        real_stop(self, actor)

    monkeypatch.setattr(InProcessScheduler, "stop", stop)
    cfg = config_mod.parse(config_data(str(tmp_path / "run"), humaneval_path,
                                       probes={"prompt_examples": True}))
    importers.import_to_run(cfg, generations(tmp_path / "g.jsonl"))
    assert evaluate.run(cfg, progress=False, in_process=True).reduced
    assert stopped == [("ProbeActor", 0), ("ExecuteActor", 3)]


def test_calls_go_to_actors_that_are_up_while_a_replacement_waits_for_room():
    """A call queued on an actor that never gets a place on the cluster would never run:
    while some of a pool's actors are up and one is not, calls go to the least busy of those
    up; once all are up (or none is, at the start), round-robin."""
    from pipeline.run.orchestrator import _Pool
    from pipeline.run.scheduler import ActorSpec

    class Cluster:
        up: set = set()

        def start(self, spec):
            return object()

        def is_ready(self, actor):
            return id(actor) in self.up

    cluster = Cluster()
    pool = _Pool(cluster, ActorSpec(object, (), replicas=3))
    a, b, c = pool.actors
    assert [pool.next({}) for _ in range(4)] == [a, b, c, a]  # none up yet: round-robin
    cluster.up = {id(a), id(b)}
    queued = {id(a): ["x", "y"], id(b): ["z"]}
    assert [pool.next(queued) for _ in range(2)] == [b, b]
    queued[id(b)] += ["w", "v"]
    assert pool.next(queued) is a
    cluster.up.add(id(c))
    assert {id(pool.next(queued)) for _ in range(3)} == {id(a), id(b), id(c)}


def test_an_actor_not_up_with_calls_queued_is_killed_when_one_of_its_pool_is_up_and_idle(
        monkeypatch):
    """After UNSTICK_AFTER_S of that, its calls fail as ActorDied and are retried on the idle
    actor (without counting as the shards' failures: `Runner.killed`); an actor not up while
    the others are busy, or with nothing queued, is left to come up."""
    from pipeline.run.orchestrator import Runner, _Pool
    from pipeline.run.scheduler import ActorSpec

    class Cluster:
        def __init__(self):
            self.up, self.killed = set(), []

        def start(self, spec):
            return object()

        def is_ready(self, actor):
            return id(actor) in self.up

        def kill(self, actor):
            self.killed.append(actor)

    from pipeline.run import orchestrator

    runner = Runner.__new__(Runner)
    runner.scheduler = cluster = Cluster()
    pool = _Pool(cluster, ActorSpec(object, (), replicas=3))
    up, waiting, empty = pool.actors
    runner.pools, runner.killed, runner.stuck_since = {("execute", None): pool}, set(), {}
    cluster.up = {id(up)}
    runner.queues = {id(up): ["busy"], id(waiting): ["queued"], id(empty): []}
    clock = [1000.0]
    monkeypatch.setattr(orchestrator.time, "monotonic", lambda: clock[0])
    runner._unstick()
    clock[0] += 60
    runner._unstick()
    assert cluster.killed == []  # the actor that is up has work: wait
    runner.queues[id(up)] = []
    runner._unstick()
    clock[0] += orchestrator.UNSTICK_AFTER_S - 1
    runner._unstick()
    assert cluster.killed == []  # not for long enough yet: it may be about to come up
    clock[0] += 2
    runner._unstick()
    runner._unstick()
    assert cluster.killed == [waiting] and runner.killed == {id(waiting)}
