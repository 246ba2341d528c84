"""The stage table is the one list of stages: the run directory, status and the manifest follow it."""

from __future__ import annotations

import pytest

import schemas
from pipeline import config
from pipeline.run import stages
from pipeline.run.actors import ACTOR_CLASSES
from pipeline.run.rundir import RunDir
from pipeline.run.shards import Shard


def _config(tmp_path, ranker: bool):
    data = {"run_id": "r", "output_dir": str(tmp_path), "models": [{"name": "m", "path": "tiny-llama"}],
            "benchmarks": [{"name": "humaneval", "n": 1}]}
    if ranker:
        data["ranker"] = {"name": "m", "path": "tiny-llama"}
    return config.parse(data)


def test_score_is_a_stage_only_when_the_config_has_a_ranker(tmp_path):
    assert stages.names_for(_config(tmp_path, ranker=False)) == ("generate", "execute")
    assert stages.names_for(_config(tmp_path, ranker=True)) == ("generate", "execute", "score")


def test_every_stage_writes_a_known_table_and_has_an_actor_class():
    for stage in stages.STAGES:
        assert stage.output in schemas.TABLES and stage.input in schemas.TABLES
        assert stage.actor in ACTOR_CLASSES


def test_each_stage_output_lives_in_the_directory_named_after_its_table(tmp_path):
    shard = Shard("m", "humaneval", "sampled", 3, ("HumanEval/0",), 1, 0, 0.8, 0.95, 16, 1)
    rundir = RunDir(str(tmp_path))
    for stage in stages.STAGES:
        assert rundir.shard_rel(stage.name, shard) == f"{stage.output}/model=m/benchmark=humaneval/sampled-00003.parquet"


def test_an_unknown_stage_is_named():
    with pytest.raises(KeyError, match="unknown stage 'rank'; stages: generate, execute, score"):
        stages.get("rank")
