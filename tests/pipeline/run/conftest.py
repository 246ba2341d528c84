"""Fixtures of the run tests: a two-model HumanEval run config (tiny models, shards of 4)."""

from __future__ import annotations

import pytest

from pipeline import config


@pytest.fixture
def make_config(tmp_path, humaneval_path):
    """A function (**benchmark settings) -> a RunConfig writing to tmp_path/run."""

    def make(**bench):
        return config.parse({
            "run_id": "r", "output_dir": str(tmp_path / "run"), "seed": 3, "shard_size": 4,
            "models": [{"name": "a", "path": "tiny-llama"}, {"name": "b", "path": "tiny-llama"}],
            "benchmarks": [{"name": "humaneval", "data": str(humaneval_path), "n": 5, **bench}],
        })

    return make
