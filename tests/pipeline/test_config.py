"""Run configs: the default validates; each bad field is named in the error."""

from __future__ import annotations

import re

import pytest

from pipeline import config
from tests.conftest import REPO

BASE = {
    "run_id": "r",
    "output_dir": "out",
    "models": [{"name": "tiny", "path": "tiny-llama"}],
    "benchmarks": [{"name": "humaneval", "n": 4}],
}


def with_(**changes):
    data = {**BASE, **changes}
    return data


def test_the_default_config_validates():
    cfg = config.load(REPO / "configs" / "default.yaml")
    assert cfg.models[0].path == "smollm2-135m"
    assert cfg.benchmarks[0].name == "humaneval"


def test_config_round_trips_through_yaml():
    cfg = config.parse(BASE)
    import yaml

    assert config.parse(yaml.safe_load(config.dump(cfg))) == cfg


@pytest.mark.parametrize(
    "data, message",
    [
        (with_(benchmarks=[{"name": "humaneval", "n": 0}]), "benchmarks.0.n: Input should be greater than or equal to 1"),
        (with_(benchmarks=[{"name": "codecontests", "n": 1}]), "benchmarks.0.name: Value error, unknown benchmark 'codecontests'"),
        (with_(models=[]), "models: List should have at least 1 item"),
        (with_(shard_size=0), "shard_size: Input should be greater than or equal to 1"),
        (with_(modles=[]), "modles: Extra inputs are not permitted"),
        (with_(models=[{"name": "a", "path": "x"}, {"name": "a", "path": "y"}]), "model names must be unique"),
        ({"run_id": "r"}, "output_dir: Field required"),
    ],
)
def test_a_bad_field_is_named(data, message):
    with pytest.raises(config.ConfigError, match=re.escape(message)):
        config.parse(data, "cfg.yaml")


def test_a_missing_config_file_is_named(tmp_path):
    with pytest.raises(config.ConfigError, match="nope.yaml: config file not found"):
        config.load(tmp_path / "nope.yaml")


def test_invalid_yaml_is_named(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("run_id: [unclosed\n")
    with pytest.raises(config.ConfigError, match="bad.yaml: not valid YAML"):
        config.load(path)
