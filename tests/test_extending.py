"""Adding a benchmark or a sandbox backend is one module plus one registry line.

Shown here from inside a test: a toy benchmark and a toy backend are registered, a run config
names them, and their problems go through the sandbox executor and the reducer unchanged.
"""

from __future__ import annotations

import numpy as np
import pytest

import schemas
from pipeline import benchmarks, config
from pipeline.benchmarks.base import Benchmark, Figure, PlannerFigures, Sampling
from pipeline.reduce.curves import reduce_tables
from sandbox import backends
from sandbox.backends.bwrap import BwrapBackend
from sandbox.config import SandboxConfig
from sandbox.executor import Executor

TOY_TESTS = "def check(candidate):\n    assert candidate(2) == 4\n    assert candidate(-3) == 9\n"


def _toy_load(path=None):
    rows = [{"benchmark": "toy", "task_id": f"Toy/{i}", "prompt": f"def square_{i}(x):\n",
             "tests": TOY_TESTS, "test_setup": "", "entry_point": f"square_{i}", "io_kind": "function",
             "difficulty": None, "fewshot_ids": [], "stop": ["\ndef"], "reference": "    return x * x\n",
             "starter_code": ""} for i in range(2)]
    return schemas.from_rows(rows, "problems")


TOY = Benchmark(
    name="toy", n_problems=2, sampling=Sampling(max_new_tokens=32, temperature=0.5), stop=("\ndef",),
    load=_toy_load, build_prompt=lambda record: record["prompt"],
    planner=PlannerFigures(Figure(8, "toy"), Figure(4, "toy"), Figure(1, "toy")),
)


class CountingBackend(BwrapBackend):
    """bwrap, counting its launches: proof that the executor asked the registry for it."""

    name = "toy-bwrap"
    launches = 0

    def launch(self, config, tag):
        type(self).launches += 1
        return super().launch(config, tag)


@pytest.fixture
def registered(monkeypatch):
    monkeypatch.setitem(benchmarks.REGISTRY, "toy", TOY)
    monkeypatch.setitem(backends.REGISTRY, CountingBackend.name, CountingBackend())
    CountingBackend.launches = 0


def test_a_registered_benchmark_and_backend_run_through_the_executor_and_the_reducer(registered, tmp_path):
    cfg = config.parse({
        "run_id": "toy", "output_dir": str(tmp_path / "run"),
        "models": [{"name": "m", "path": "imported", "cost": {"seconds_per_sample": 1.0}}],
        "benchmarks": [{"name": "toy", "n": 4, "greedy": False}],
        "sandbox": {"backend": "toy-bwrap", "workers": 1},
    })
    spec = cfg.benchmarks[0]
    problems = benchmarks.get(spec.name).load_for(spec)
    assert benchmarks.get("toy").problem_count(spec) == 2

    completions = ["    return x * x\n", "    return x + x\n", "    return x ** 2\n", "    return abs(x) * 2\n"]
    rows = [{"run_id": "toy", "model": "m", "benchmark": "toy", "task_id": t, "sample_idx": i,
             "seed": i, "temperature": 0.5, "completion": c, "n_tokens": 4, "finish_reason": "stop",
             "gen_seconds": 1.0}
            for t in ("Toy/0", "Toy/1") for i, c in enumerate(completions)]
    samples = schemas.from_rows(rows, "samples")
    with Executor(SandboxConfig(**cfg.sandbox)) as ex:
        verdicts = ex.execute(problems, samples)
    assert CountingBackend.launches == 1
    # x*x and x**2 pass; x+x passes the first assert only; abs(x)*2 fails both
    assert verdicts.column("status").to_pylist() == ["pass", "fail", "pass", "fail"] * 2

    curves = reduce_tables(samples, verdicts, n_boot=0, k_range="full").to_pandas()
    pass_at_k = curves[curves.metric == "pass@k"].set_index("k").value
    np.testing.assert_allclose(pass_at_k.loc[[1, 2, 3]], [0.5, 1 - 1 / 6, 1.0])


def test_an_unregistered_benchmark_or_backend_is_refused_naming_the_known_ones(tmp_path):
    with pytest.raises(config.ConfigError, match="unknown benchmark 'toy'"):
        config.parse({"run_id": "r", "output_dir": str(tmp_path), "models": [{"name": "m", "path": "tiny-llama"}],
                      "benchmarks": [{"name": "toy"}]})
    with pytest.raises(ValueError, match="unknown sandbox backend 'toy-bwrap'; choose one of: bwrap, docker"):
        SandboxConfig(backend="toy-bwrap")
