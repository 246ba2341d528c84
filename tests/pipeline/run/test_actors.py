"""The actors read a shard's input through storage and write its output file atomically."""

from __future__ import annotations

import pytest

import schemas
from pipeline import config
from pipeline.run import storage
from pipeline.run.actors import ExecuteActor, actor_spec, colocated_ranker
from pipeline.run.scheduler import InProcessScheduler, RayScheduler
from pipeline.run.shards import Shard

PROBLEM = {"benchmark": "humaneval", "task_id": "HumanEval/0", "prompt": "def f(x):\n",
           "tests": "def check(candidate):\n    assert candidate(1) == 2\n", "test_setup": "",
           "entry_point": "f", "io_kind": "function", "difficulty": None, "fewshot_ids": [],
           "stop": ["\ndef"], "reference": "    return x + 1\n", "starter_code": ""}
SHARD = Shard("m", "humaneval", "sampled", 0, ("HumanEval/0",), 2, 0, 0.8, 0.95, 16, 1)


def _samples():
    return schemas.from_rows([
        {"run_id": "r", "model": "m", "benchmark": "humaneval", "task_id": "HumanEval/0", "sample_idx": i,
         "seed": i, "temperature": 0.8, "completion": c, "n_tokens": 3, "finish_reason": "stop",
         "gen_seconds": 0.1} for i, c in enumerate(["    return x + 1\n", "    return x\n"])], "samples")


def test_the_execute_actor_reads_samples_and_writes_verdicts_through_storage(tmp_path):
    samples_uri = str(tmp_path / "samples" / "s.parquet")
    storage.write_table(_samples(), samples_uri, "samples")
    actor = ExecuteActor({"workers": 1})
    try:
        info = actor.run(SHARD, schemas.from_rows([PROBLEM], "problems"), samples_uri,
                         str(tmp_path / "verdicts" / "v.parquet"))
        stats = actor.stats()
    finally:
        actor.close()
    verdicts = storage.read_table(tmp_path / "verdicts" / "v.parquet", "verdicts")
    assert verdicts.column("status").to_pylist() == ["pass", "fail"]
    assert info["rows"] == 2 and stats["samples"] == 2


def _cfg(tmp_path, ranker_engine=None):
    return config.parse({
        "run_id": "r", "output_dir": str(tmp_path),
        "models": [{"name": "m", "path": "tiny-llama", "num_cpus": 2, "replicas": 3}],
        "benchmarks": [{"name": "humaneval", "n": 1}],
        "ranker": {"name": "m", "path": "tiny-llama", **({"engine": ranker_engine} if ranker_engine else {})},
        "sandbox": {"workers": 1}, "sandbox_actors": 2,
    })


def test_the_factory_gives_each_kind_its_class_resources_and_replicas(tmp_path):
    cfg = _cfg(tmp_path)
    gen = actor_spec("generate", cfg, "m")
    assert (gen.cls.__name__, gen.num_cpus, gen.replicas) == ("GenerateActor", 2, 3)
    assert gen.env["VLLM_CPU_OMP_THREADS_BIND"] == "nobind"  # CPU engine settings, no GPU
    ex = actor_spec("execute", cfg)
    assert (ex.cls.__name__, ex.args, ex.replicas) == ("ExecuteActor", ({"workers": 1},), 2)
    with pytest.raises(KeyError, match="unknown actor kind 'rank'"):
        actor_spec("rank", cfg)


def test_a_ranker_with_the_generator_weights_and_engine_ranks_on_the_generator(tmp_path):
    assert colocated_ranker(_cfg(tmp_path)) == "m"
    assert colocated_ranker(_cfg(tmp_path, ranker_engine={"max_model_len": 256})) is None


@pytest.mark.slow
@pytest.mark.parametrize("scheduler", ["ray", "in-process"])
def test_the_same_actor_judges_a_shard_on_ray_and_in_process(tmp_path, monkeypatch, scheduler):
    monkeypatch.setenv("RAY_USAGE_STATS_ENABLED", "0")
    samples_uri = str(tmp_path / "s.parquet")
    storage.write_table(_samples(), samples_uri, "samples")
    s = RayScheduler(num_cpus=1) if scheduler == "ray" else InProcessScheduler()
    try:
        actor = s.start(actor_spec("execute", _cfg(tmp_path).model_copy(update={"sandbox_actors": 1})))
        ref = s.call(actor, "run", SHARD, schemas.from_rows([PROBLEM], "problems"), samples_uri,
                     str(tmp_path / "v.parquet"))
        [done] = s.wait([ref], timeout=120)
        info = s.result(done)
        s.stop(actor)
    finally:
        s.shutdown()
    assert info["rows"] == 2
    assert storage.read_table(tmp_path / "v.parquet", "verdicts").column("status").to_pylist() == ["pass", "fail"]
