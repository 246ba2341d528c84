"""Planning shards and keeping the run directory honest: files decide what is done."""

from __future__ import annotations

import pytest

import schemas
from pipeline import config
from pipeline.run import storage
from pipeline.run.orchestrator import prepare_problems
from pipeline.run.rundir import RunDir
from pipeline.run.shards import GREEDY_IDX, plan


def make_config(tmp_path, humaneval_path, **bench):
    return config.parse({
        "run_id": "r", "output_dir": str(tmp_path / "run"), "seed": 3, "shard_size": 4,
        "models": [{"name": "a", "path": "tiny-llama"}, {"name": "b", "path": "tiny-llama"}],
        "benchmarks": [{"name": "humaneval", "data": str(humaneval_path), "n": 5, **bench}],
    })


def test_shards_cover_every_problem_once_per_model(tmp_path, humaneval_path):
    cfg = make_config(tmp_path, humaneval_path, subset={"limit": 10})
    problems = prepare_problems(cfg, RunDir(cfg.output_dir))
    ids = problems["humaneval"].column("task_id").to_pylist()
    shards = plan(cfg, {"humaneval": ids})
    assert len(ids) == 10
    for model in ("a", "b"):
        covered = [t for s in shards if s.model == model for t in s.task_ids]
        assert sorted(covered) == sorted(ids)
    assert [len(s.task_ids) for s in shards if s.model == "a"] == [4, 4, 2]
    assert {(s.temperature, s.top_p, s.max_new_tokens, s.n) for s in shards} == {(0.8, 0.95, 512, 5)}


def test_greedy_shards_take_one_sample_at_index_minus_one(tmp_path, humaneval_path):
    cfg = make_config(tmp_path, humaneval_path, subset={"limit": 4}, greedy=True)
    shards = plan(cfg, {"humaneval": [f"HumanEval/{i}" for i in range(4)]})
    greedy = [s for s in shards if s.kind == "greedy"]
    assert [(s.model, s.n, s.sample_offset, s.temperature) for s in greedy] == [
        ("a", 1, GREEDY_IDX, 0.0), ("b", 1, GREEDY_IDX, 0.0)]


def test_seeds_do_not_depend_on_the_sharding(tmp_path, humaneval_path):
    ids = [f"HumanEval/{i}" for i in range(8)]
    small = plan(make_config(tmp_path, humaneval_path), {"humaneval": ids})
    cfg = make_config(tmp_path, humaneval_path).model_copy(update={"shard_size": 8})
    big = plan(cfg, {"humaneval": ids})
    assert {s.seed for s in small if s.model == "a"} == {big[0].seed}
    assert big[0].seed != [s for s in big if s.model == "b"][0].seed


def test_a_subset_with_an_unknown_task_id_is_named(tmp_path, humaneval_path):
    cfg = make_config(tmp_path, humaneval_path, subset={"task_ids": ["HumanEval/0", "HumanEval/999"]})
    with pytest.raises(config.ConfigError, match=r"unknown task id\(s\) \['HumanEval/999'\]"):
        prepare_problems(cfg, RunDir(cfg.output_dir))


def test_reconcile_takes_state_from_files_and_quarantines_corrupt_ones(tmp_path, humaneval_path):
    cfg = make_config(tmp_path, humaneval_path, subset={"limit": 8})
    rundir = RunDir(cfg.output_dir)
    problems = prepare_problems(cfg, rundir)
    shards = plan(cfg, {"humaneval": problems["humaneval"].column("task_id").to_pylist()})
    good, bad = shards[0], shards[1]
    rows = [{"run_id": "r", "model": good.model, "benchmark": "humaneval", "task_id": t,
             "sample_idx": 0, "seed": 1, "temperature": 0.8, "completion": "x", "n_tokens": 1,
             "finish_reason": "stop", "gen_seconds": 0.1} for t in good.task_ids]
    storage.write_table(schemas.from_rows(rows, "samples"), rundir.shard_path("generate", good), "samples")
    corrupt = rundir.shard_path("generate", bad)
    storage.resolve(corrupt)  # local
    import pathlib

    pathlib.Path(corrupt).parent.mkdir(parents=True, exist_ok=True)
    pathlib.Path(corrupt).write_bytes(b"garbage, not parquet")

    entries = rundir.reconcile(shards, ("generate",))
    assert entries[("generate", good.name)].state == "done"
    assert entries[("generate", good.name)].rows == 4
    assert entries[("generate", bad.name)].state == "pending"
    assert "corrupt output" in entries[("generate", bad.name)].error
    assert not pathlib.Path(corrupt).exists()
    quarantined = list((tmp_path / "run" / "quarantine").iterdir())
    assert len(quarantined) == 1 and quarantined[0].read_bytes() == b"garbage, not parquet"


def test_a_different_config_in_the_same_directory_is_refused(tmp_path, humaneval_path):
    cfg = make_config(tmp_path, humaneval_path)
    rundir = RunDir(cfg.output_dir)
    rundir.freeze_config(cfg)
    rundir.freeze_config(cfg)  # the same config again is fine
    other = cfg.model_copy(update={"seed": 4})
    with pytest.raises(config.ConfigError, match="holds a different config"):
        rundir.freeze_config(other)
    assert rundir.load_config() == cfg


def test_status_counts_shards_from_the_files_and_writes_nothing(tmp_path, humaneval_path):
    from pipeline.run.status import status

    cfg = make_config(tmp_path, humaneval_path, subset={"limit": 8})
    rundir = RunDir(cfg.output_dir)
    rundir.freeze_config(cfg)
    before = sorted(p.name for p in (tmp_path / "run").iterdir())
    st = status(cfg.output_dir)  # problems not built yet: nothing to count, nothing built
    assert st.counts["generate"] == {"done": 0, "running": 0, "pending": 0, "failed": 0}
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == before == ["config.yaml"]

    problems = prepare_problems(cfg, rundir)
    shards = plan(cfg, {"humaneval": problems["humaneval"].column("task_id").to_pylist()})
    shard = shards[0]
    rows = [{"run_id": "r", "model": shard.model, "benchmark": "humaneval", "task_id": t,
             "sample_idx": 0, "seed": 1, "temperature": 0.8, "completion": "x", "n_tokens": 1,
             "finish_reason": "stop", "gen_seconds": 0.1} for t in shard.task_ids]
    storage.write_table(schemas.from_rows(rows, "samples"), rundir.shard_path("generate", shard), "samples")
    st = status(cfg.output_dir)
    assert st.counts["generate"] == {"done": 1, "running": 0, "pending": len(shards) - 1, "failed": 0}
    assert st.rows["generate"] == 4 and not st.reduced
