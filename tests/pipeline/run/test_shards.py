"""Planning shards: every problem once per model, greedy shards apart, seeds independent of sharding."""

from __future__ import annotations

import pytest

from pipeline import config
from pipeline.run.problems import prepare_problems
from pipeline.run.rundir import RunDir
from pipeline.run.shards import GREEDY_IDX, plan


def test_shards_cover_every_problem_once_per_model(tmp_path, make_config):
    cfg = make_config(subset={"limit": 10})
    problems = prepare_problems(cfg, RunDir(cfg.output_dir))
    ids = problems["humaneval"].column("task_id").to_pylist()
    shards = plan(cfg, {"humaneval": ids})
    assert len(ids) == 10
    for model in ("a", "b"):
        covered = [t for s in shards if s.model == model for t in s.task_ids]
        assert sorted(covered) == sorted(ids)
    assert [len(s.task_ids) for s in shards if s.model == "a"] == [4, 4, 2]
    assert {(s.temperature, s.top_p, s.max_new_tokens, s.n) for s in shards} == {(0.8, 0.95, 512, 5)}


def test_greedy_shards_take_one_sample_at_index_minus_one(tmp_path, make_config):
    cfg = make_config(subset={"limit": 4}, greedy=True)
    shards = plan(cfg, {"humaneval": [f"HumanEval/{i}" for i in range(4)]})
    greedy = [s for s in shards if s.kind == "greedy"]
    assert [(s.model, s.n, s.sample_offset, s.temperature) for s in greedy] == [
        ("a", 1, GREEDY_IDX, 0.0), ("b", 1, GREEDY_IDX, 0.0)]


def test_seeds_do_not_depend_on_the_sharding(tmp_path, make_config):
    ids = [f"HumanEval/{i}" for i in range(8)]
    small = plan(make_config(), {"humaneval": ids})
    cfg = make_config().model_copy(update={"shard_size": 8})
    big = plan(cfg, {"humaneval": ids})
    assert {s.seed for s in small if s.model == "a"} == {big[0].seed}
    assert big[0].seed != [s for s in big if s.model == "b"][0].seed


def test_a_subset_with_an_unknown_task_id_is_named(tmp_path, make_config):
    cfg = make_config(subset={"task_ids": ["HumanEval/0", "HumanEval/999"]})
    with pytest.raises(config.ConfigError, match=r"unknown task id\(s\) \['HumanEval/999'\]"):
        prepare_problems(cfg, RunDir(cfg.output_dir))
