"""deploy/ray/cluster-8xa100.yaml passes Ray's own offline config validation and has the right shape."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import jsonschema
import pytest
import yaml
from ray.autoscaler._private.util import prepare_config, validate_config

from pipeline import config

REPO = Path(__file__).resolve().parents[2]
LAUNCHER = REPO / "deploy" / "ray" / "cluster-8xa100.yaml"
PIPELINE_IMAGE = re.compile(r"\S+/budget-realloc/pipeline:[\w.-]+")  # any registry (docs/deployment.md)
EIGHT_A100 = {"p4d.24xlarge", "p4de.24xlarge", "a2-highgpu-8g", "a2-ultragpu-8g"}


@pytest.fixture()
def launcher() -> dict:
    return yaml.safe_load(LAUNCHER.read_text())


def ray_validate(cfg: dict) -> dict:
    """What `ray up` does before it talks to the cloud: fill defaults, then check the schema."""
    prepared = prepare_config(copy.deepcopy(cfg))
    validate_config(prepared)
    return prepared


def test_the_launcher_yaml_passes_rays_validation(launcher):
    prepared = ray_validate(launcher)
    assert prepared["provider"]["type"] == "aws"
    assert set(prepared["available_node_types"]) == {"head", "gpu_8xa100", "sandbox_cpu"}


@pytest.mark.parametrize(
    "break_it, error",
    [
        (lambda c: c["available_node_types"]["gpu_8xa100"].update(min_worker=1), jsonschema.ValidationError),
        (lambda c: c["available_node_types"]["gpu_8xa100"]["resources"].update(GPU=7.5), jsonschema.ValidationError),
        (lambda c: c.update(head_node_type="nope"), ValueError),
        (lambda c: c["docker"].update(imag="x"), jsonschema.ValidationError),
    ],
    ids=["unknown-node-field", "fractional-gpu-count", "missing-head-type", "unknown-docker-field"],
)
def test_rays_validation_rejects_a_broken_copy(launcher, break_it, error):
    break_it(launcher)
    with pytest.raises(error):
        ray_validate(launcher)


def test_gpu_workers_are_8xa100_nodes(launcher):
    gpu = launcher["available_node_types"]["gpu_8xa100"]
    assert gpu["node_config"]["InstanceType"] in EIGHT_A100
    assert gpu["resources"]["GPU"] == 8
    assert "sandbox" not in gpu["resources"]


def test_only_sandbox_nodes_carry_the_sandbox_resource_and_none_has_gpus(launcher):
    types = launcher["available_node_types"]
    assert types["sandbox_cpu"]["resources"]["sandbox"] == 1
    assert types["sandbox_cpu"]["resources"].get("GPU", 0) == 0
    assert types["head"]["resources"].get("GPU", 0) == 0
    assert [name for name, t in types.items() if "sandbox" in t["resources"]] == ["sandbox_cpu"]


def test_every_node_type_runs_the_pipeline_image(launcher):
    assert PIPELINE_IMAGE.fullmatch(launcher["docker"]["image"])
    for name, node_type in launcher["available_node_types"].items():
        docker = node_type.get("docker", {})
        assert "worker_image" not in docker, f"{name} overrides the image"
    assert "head_image" not in launcher["docker"] and "worker_image" not in launcher["docker"]


def test_sandbox_nodes_reach_the_host_docker_and_pull_the_sandbox_image(launcher):
    sandbox = launcher["available_node_types"]["sandbox_cpu"]
    assert "-v /var/run/docker.sock:/var/run/docker.sock" in sandbox["docker"]["worker_run_options"]
    assert any("budget-realloc/sandbox:" in cmd for cmd in sandbox["initialization_commands"])


def test_each_paper_model_fits_one_gpu_node(launcher):
    gpu = launcher["available_node_types"]["gpu_8xa100"]["resources"]
    paper = config.load(REPO / "configs" / "paper.yaml")
    for model in paper.models:
        assert model.replicas * model.num_gpus <= gpu["GPU"], model.name
        assert model.replicas * model.num_cpus <= gpu["CPU"], model.name
    assert launcher["available_node_types"]["gpu_8xa100"]["max_workers"] >= 1


def test_the_problem_data_the_paper_config_reads_is_mounted(launcher):
    paper = config.load(REPO / "configs" / "paper.yaml")
    mounted = set(launcher["file_mounts"])
    for bench in paper.benchmarks:
        if bench.data:
            assert any(bench.data.startswith(m.rstrip("/") + "/") for m in mounted), bench.data


def test_the_paper_configs_sandbox_actors_land_on_sandbox_nodes_only(launcher):
    paper = config.load(REPO / "configs" / "paper.yaml")
    types = launcher["available_node_types"]
    fits = [name for name, t in types.items()
            if all(t["resources"].get(k, 0) >= v for k, v in paper.sandbox_resources.items())]
    assert paper.sandbox_resources and fits == ["sandbox_cpu"]
    assert paper.sandbox_actors <= types["sandbox_cpu"]["max_workers"]
