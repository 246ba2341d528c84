"""Fixtures of the pipeline tests: a small synthetic run (samples, verdicts, scores), a
writer that lays it out as a run directory, and the extended-test (humaneval+) fixtures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

import schemas
from pipeline.run import storage

RUN_ID = "run-test"


def _synthetic_run(
    models=(("small", 0.35, 1.0), ("large", 0.55, 4.0)),
    benchmarks=("humaneval", "mbpp"),
    n_problems=12,
    n=16,
    seed=0,
):
    """samples, verdicts, scores: each model has its own pass rate and seconds per sample;
    one greedy sample per problem; ranker 'r' scores passing samples lower NLL on average."""
    rng = np.random.default_rng(seed)
    s_rows, v_rows, sc_rows = [], [], []
    for model, rate, secs in models:
        for bench in benchmarks:
            for t in range(n_problems):
                difficulty = rng.uniform(0, 2 * rate)
                for i in range(n + 1):
                    greedy = i == n
                    passed = rng.random() < min(difficulty, 1.0)
                    key = dict(run_id=RUN_ID, model=model, benchmark=bench,
                               task_id=f"{bench}/{t}", sample_idx=i)
                    truncated = bool(rng.random() < 0.1) and not passed
                    s_rows.append({**key, "seed": i, "temperature": 0.0 if greedy else 0.8,
                                   "completion": "pass" if passed else "x", "n_tokens": 10,
                                   "finish_reason": "length" if truncated else "stop",
                                   "gen_seconds": secs})
                    v_rows.append({**key, "status": "pass" if passed else "fail",
                                   "tests_passed": int(passed), "tests_total": 1, "detail": "",
                                   "exec_ms": 1.0, "cached": False})
                    nll = rng.normal(1.0 - 0.5 * passed, 0.3)
                    sc_rows.append({**key, "ranker": "r", "mean_nll": round(nll, 1),
                                    "n_tokens": 10, "truncated": truncated})
    return (schemas.from_rows(s_rows, "samples"), schemas.from_rows(v_rows, "verdicts"),
            schemas.from_rows(sc_rows, "scores"))


def _write_run(run_dir: Path, samples, verdicts, scores) -> None:
    for name, table in (("samples", samples), ("verdicts", verdicts), ("scores", scores)):
        df = table.to_pandas()
        for (m, b), part in df.groupby(["model", "benchmark"]):
            t = pa.Table.from_pandas(part, preserve_index=False)
            storage.write_table(t, run_dir / name / f"model={m}" / f"benchmark={b}"
                                / "shard-00000.parquet", name)
    (run_dir / "config.yaml").write_text(_config_yaml(
        [("small", {"flops_per_pass": 1.0e12}), ("large", {"flops_per_pass": 3.0e12})],
        sorted(set(samples.column("benchmark").to_pylist()))))


def _config_yaml(models, benchmarks, n: int = 16) -> str:
    """A run's frozen config.yaml: imported `models` [(name, cost)] on `benchmarks`."""
    from pipeline import config

    return config.dump(config.parse({
        "run_id": RUN_ID, "output_dir": "unused",
        "models": [{"name": m, "path": "imported", "cost": cost} for m, cost in models],
        "benchmarks": [{"name": b, "n": n} for b in benchmarks]}, counts_only=True))


@pytest.fixture(scope="session")
def synthetic_run():
    """A function (models, benchmarks, n_problems, n, seed) -> (samples, verdicts, scores)."""
    return _synthetic_run


@pytest.fixture(scope="session")
def write_run():
    """A function (run_dir, samples, verdicts, scores) writing the run layout + config.yaml."""
    return _write_run


@pytest.fixture(scope="session")
def config_yaml():
    """A function (models [(name, cost)], benchmarks, n) -> a run's frozen config.yaml text."""
    return _config_yaml


# -- extended tests (humaneval+): HumanEval rows and the committed EvalPlus subset (7 tasks:
# tests/fixtures/evalplus/contracts-sample.jsonl) with four real CodeGen-16B completions that
# pass HumanEval's tests and are wrong (codegen16b-false-positives.jsonl; README there)
EVALPLUS_FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "evalplus"


@pytest.fixture(scope="session")
def he_rows(humaneval_path):
    from pipeline.benchmarks import humaneval

    return {r["task_id"]: r for r in humaneval.load(humaneval_path).to_pylist()}


@pytest.fixture(scope="session")
def sample_contracts():
    from pipeline.benchmarks.extended import contracts

    return contracts.load(EVALPLUS_FIXTURES / "contracts-sample.jsonl")


@pytest.fixture(scope="session")
def sample_suite(he_rows, sample_contracts):
    """The committed tasks' extended suite at the default cap, seed 0 (made once a session)."""
    from pipeline.benchmarks.extended import generate

    table, sha = sample_contracts
    return generate.generate([he_rows[t] for t in table], table, sha, seed=0)


@pytest.fixture(scope="session")
def wrong_completions():
    import json

    text = (EVALPLUS_FIXTURES / "codegen16b-false-positives.jsonl").read_text()
    return [json.loads(line) for line in text.splitlines() if line.strip()]
