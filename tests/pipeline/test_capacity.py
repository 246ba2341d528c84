"""`budget-realloc plan`: samples, tokens, GPU-hours and sandbox CPU-hours from a config and a cluster shape."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pipeline import benchmarks, config
from pipeline import capacity

REPO = Path(__file__).resolve().parents[2]


def make(n=10, models=("m-7b",), benchmark="humaneval", greedy=False, ranker=None, **bench):
    return config.parse({
        "run_id": "t",
        "output_dir": "runs/t",
        "models": [{"name": m, "path": f"org/{m}", "num_gpus": 1} for m in models],
        "benchmarks": [{"name": benchmark, "n": n, "greedy": greedy, **bench}],
        **({"ranker": {"name": ranker, "path": f"org/{ranker}"}} if ranker else {}),
    })


def test_samples_are_problems_times_n_plus_the_greedy_one():
    p = capacity.plan(make(n=10, greedy=True, subset={"limit": 20}))
    assert p.rows[0].problems == 20
    assert p.samples == 20 * 11


def test_apps_counts_only_the_chosen_difficulties():
    p = capacity.plan(make(benchmark="apps", difficulties=["interview"]))
    assert p.rows[0].problems == 3000
    assert capacity.plan(make(benchmark="apps")).rows[0].problems == 5000


def test_explicit_task_ids_fix_the_problem_count():
    p = capacity.plan(make(subset={"task_ids": ["HumanEval/0", "HumanEval/1", "HumanEval/7"]}))
    assert p.rows[0].problems == 3


@pytest.mark.parametrize("field", ["gpu_hours", "gpu_hours_max", "sandbox_cpu_hours"])
def test_cost_grows_with_n(field):
    costs = [getattr(capacity.plan(make(n=n)), field) for n in (1, 10, 100, 1000)]
    assert costs == sorted(costs) and len(set(costs)) == 4


@pytest.mark.parametrize("scaling", ["flops", "paper-walltime"])
def test_gpu_hours_grow_with_model_size_at_equal_n(scaling):
    cluster = capacity.Cluster(scaling=scaling)
    hours = [capacity.plan(make(models=(f"m-{s}b",)), cluster).gpu_hours for s in (7, 13, 34, 70)]
    assert hours == sorted(hours) and len(set(hours)) == 4


def test_paper_walltime_scaling_reproduces_the_papers_70b_to_7b_ratio():
    cluster = capacity.Cluster(scaling="paper-walltime")
    ratio = capacity.decode_tokens_per_s(7, cluster) / capacity.decode_tokens_per_s(70, cluster)
    assert ratio == pytest.approx(5605 / 395)


def test_more_nodes_shorten_the_wall_clock_but_not_the_gpu_hours():
    cfg = make(n=100, models=("a-7b", "b-13b"))
    one, four = capacity.plan(cfg, capacity.Cluster(nodes=1)), capacity.plan(cfg, capacity.Cluster(nodes=4))
    assert one.gpu_hours == pytest.approx(four.gpu_hours)
    assert four.wall_hours_packed == pytest.approx(one.wall_hours_packed / 4)


def test_a_model_cannot_go_faster_than_its_replicas_allow():
    p = capacity.plan(make(n=100), capacity.Cluster(nodes=4))  # one replica of one GPU on 32 GPUs
    assert p.wall_hours == pytest.approx(p.model_wall_hours("m-7b"))
    assert p.wall_hours > p.wall_hours_packed


def test_an_h100_needs_fewer_gpu_hours_than_an_a100():
    cfg = make(n=100)
    assert capacity.plan(cfg, capacity.Cluster(gpu="h100")).gpu_hours < capacity.plan(cfg, capacity.Cluster(gpu="a100")).gpu_hours


def test_generated_tokens_are_capped_by_max_new_tokens():
    p = capacity.plan(make(n=10, max_new_tokens=16))
    assert p.rows[0].generated_tokens == p.rows[0].generated_tokens_max == p.samples * 16
    q = capacity.plan(make(n=10))
    assert q.rows[0].generated_tokens < q.rows[0].generated_tokens_max


def test_more_sandbox_cores_or_a_faster_sandbox_shorten_only_the_sandbox_time():
    cfg = make(n=100, benchmark="apps")
    base = capacity.plan(cfg, capacity.Cluster(sandbox_nodes=1))
    wider = capacity.plan(cfg, capacity.Cluster(sandbox_nodes=4))
    faster = capacity.plan(cfg, capacity.Cluster(sandbox_runs_per_core_s=215.0))
    assert wider.sandbox_wall_hours == pytest.approx(base.sandbox_wall_hours / 4)
    assert faster.sandbox_cpu_hours == pytest.approx(base.sandbox_cpu_hours / 2)
    assert wider.gpu_hours == base.gpu_hours


def test_apps_runs_a_program_per_test_case():
    he = capacity.plan(make(n=100, benchmark="humaneval", subset={"limit": 100}))
    apps = capacity.plan(make(n=100, benchmark="apps", difficulties=["introductory"], subset={"limit": 100}))
    assert he.samples == apps.samples
    assert apps.sandbox_cpu_hours == pytest.approx(he.sandbox_cpu_hours * benchmarks.get("apps").planner.runs_per_sample.value)


def test_the_ranker_prefills_every_sample_once():
    without, with_ranker = capacity.plan(make(n=50)), capacity.plan(make(n=50, ranker="r-7b"))
    (row,) = with_ranker.ranker_rows
    assert row.samples == without.samples
    assert with_ranker.gpu_hours == pytest.approx(without.gpu_hours + row.gpu_hours)
    assert row.gpu_hours > 0


def test_the_single_ranker_actor_bounds_the_wall_clock():
    cfg = config.parse({
        "run_id": "t", "output_dir": "o", "benchmarks": [{"name": "apps", "n": 100}],
        "models": [{"name": "m-7b", "path": "m-7b", "num_gpus": 1, "replicas": 32}],
        "ranker": {"name": "r-70b", "path": "r-70b", "num_gpus": 1},
    })
    p = capacity.plan(cfg, capacity.Cluster(nodes=4))
    assert p.usable_gpus["ranker:r-70b"] == 1
    assert p.wall_hours == pytest.approx(p.model_wall_hours("ranker:r-70b"))
    assert p.wall_hours > p.model_wall_hours("m-7b")


def test_sizes_come_from_names_or_overrides():
    assert capacity.params_billions("x", "codellama/CodeLlama-34b-hf") == 34
    assert capacity.params_billions("smollm2-135m", "smollm2-135m") == pytest.approx(0.135)
    assert capacity.params_billions("mine", "/models/mine", {"mine": 3.0}) == 3.0
    with pytest.raises(capacity.PlanError, match="cannot tell the size of model 'mine'.*--params mine=BILLIONS"):
        capacity.params_billions("mine", "/models/mine")


def test_a_replica_larger_than_the_cluster_is_refused():
    cfg = config.parse({
        "run_id": "t", "output_dir": "o", "benchmarks": [{"name": "humaneval", "n": 1}],
        "models": [{"name": "m-70b", "path": "m-70b", "num_gpus": 16}],
    })
    with pytest.raises(capacity.PlanError, match="needs 16 GPUs per replica; the cluster has 8"):
        capacity.plan(cfg)


@pytest.mark.parametrize("bad", [{"nodes": 0}, {"gpu": "v100"}, {"scaling": "vibes"}, {"sandbox_runs_per_core_s": 0}])
def test_a_bad_cluster_shape_is_a_clear_error(bad):
    with pytest.raises(capacity.PlanError):
        capacity.Cluster(**bad)


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipeline", *args], capture_output=True, text=True,
                          timeout=120, cwd=REPO)


def test_the_cli_prints_the_paper_protocols_gpu_hours_with_sources():
    result = run_cli("plan", "configs/paper.yaml", "--nodes", "4", "--gpus-per-node", "8", "--gpu", "a100")
    assert result.returncode == 0, result.stderr
    assert "GPU-hours:" in result.stdout and "sources:" in result.stdout
    for model in ("codellama-7b", "codellama-13b", "codellama-34b", "codellama-70b"):
        assert model in result.stdout
    assert "= 32 GPUs" in result.stdout


def test_the_cli_names_a_bad_option_value_and_exits_2(tmp_path):
    result = run_cli("plan", "configs/paper.yaml", "--params", "nonsense")
    assert result.returncode == 2 and "MODEL=BILLIONS" in result.stderr
    result = run_cli("plan", str(tmp_path / "missing.yaml"))
    assert result.returncode == 2 and "config file not found" in result.stderr
    assert "Traceback" not in result.stderr
