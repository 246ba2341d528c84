"""configs/paper.yaml is the paper's protocol (Hassid et al. 2024, section 3.3) and validates."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline import config

REPO = Path(__file__).resolve().parents[2]
PAPER = REPO / "configs" / "paper.yaml"


@pytest.fixture(scope="module")
def paper() -> config.RunConfig:
    return config.load(PAPER)


def test_the_paper_config_validates_with_the_run_config_loader(paper):
    assert paper.run_id == "paper-codellama"


def test_it_runs_the_four_code_llama_base_models(paper):
    assert [m.path for m in paper.models] == [
        "codellama/CodeLlama-7b-hf",
        "codellama/CodeLlama-13b-hf",
        "codellama/CodeLlama-34b-hf",
        "codellama/CodeLlama-70b-hf",
    ]


@pytest.mark.parametrize(
    "benchmark, expected",
    [("humaneval", [2000, 1000, 400, 200]), ("mbpp", [2000, 1000, 400, 200]), ("apps", [1000, 500, 200, 100])],
)
def test_samples_per_problem_follow_the_paper_per_model(paper, benchmark, expected):
    bench = next(b for b in paper.benchmarks if b.name == benchmark)
    assert [bench.n_for(m.name) for m in paper.models] == expected
    assert bench.greedy


def test_tensor_parallel_size_matches_the_gpus_each_actor_asks_for(paper):
    for model in paper.models:
        assert model.engine["tensor_parallel_size"] == model.num_gpus
    assert [m.num_gpus for m in paper.models] == [1, 1, 2, 4]
    # Each model's replicas fill exactly one 8-GPU node.
    assert [m.replicas * m.num_gpus for m in paper.models] == [8, 8, 8, 8]


def test_results_go_to_shared_object_storage_and_the_sandbox_is_docker(paper):
    assert paper.output_dir.startswith("s3://")
    assert paper.sandbox["backend"] == "docker"
    assert paper.ranker is not None and paper.ranker.num_gpus == 1


def test_n_per_model_must_name_configured_models(tmp_path):
    data = config.yaml.safe_load(PAPER.read_text())
    data["benchmarks"][0]["n_per_model"] = {"codellama-8b": 10}
    with pytest.raises(config.ConfigError, match=r"n_per_model names unknown models \['codellama-8b'\]"):
        config.parse(data)


def test_n_per_model_rejects_a_zero_sample_count():
    data = config.yaml.safe_load(PAPER.read_text())
    data["benchmarks"][0]["n_per_model"] = {"codellama-7b": 0}
    with pytest.raises(config.ConfigError, match="benchmarks.0.n_per_model"):
        config.parse(data)


def test_models_without_an_override_use_the_benchmark_n():
    spec = config.BenchmarkSpec(name="humaneval", n=7, n_per_model={"big": 2})
    assert spec.n_for("small") == 7
    assert spec.n_for("big") == 2
