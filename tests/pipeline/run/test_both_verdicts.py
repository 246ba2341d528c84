"""Both verdicts through the real sandbox: references pass the extension, known-wrong
CodeGen-16B completions that pass HumanEval's tests fail it.

The sandbox is the bwrap backend (as `make test` sets it up); the run is `execute_both` on warm
workers, exactly what the execute stage's actor calls.
"""

from __future__ import annotations

import pyarrow as pa
import pytest

import schemas
from pipeline.benchmarks.extended import checks
from pipeline.run import both_verdicts as verdicts
from sandbox.config import SandboxConfig
from sandbox.executor import Executor


def problems_of(rows: dict, suite) -> pa.Table:
    header = checks.suite_header(suite)
    return schemas.from_rows([dict(rows[t], benchmark="humaneval+",
                                   plus_tests=checks.check_code(tests, header))
                              for t, tests in suite.tasks.items()], "problems")


def samples_of(items) -> pa.Table:
    return schemas.from_rows([
        {"run_id": "r", "model": model, "benchmark": "humaneval+", "task_id": task,
         "sample_idx": i, "seed": 0, "temperature": 0.8, "completion": completion,
         "n_tokens": 1, "finish_reason": "stop", "gen_seconds": 0.0}
        for i, (model, task, completion) in enumerate(items)], "samples")


@pytest.fixture(scope="module")
def executor():
    with Executor(SandboxConfig(backend="bwrap", workers=2, timeout_s=10.0,
                                time_limit_factor=10.0)) as ex:
        yield ex


def _references_on_both(executor, he_rows, table, suite):
    """Both verdicts of HumanEval's canonical solution and EvalPlus's reference of each task
    in `suite`, and the (model, task, statuses, detail) of those not passing both."""
    items = [(who, t, code) for t in suite.tasks
             for who, code in (("canonical", he_rows[t]["reference"]),
                               ("evalplus", table[t].reference))]
    out = verdicts.execute_both(executor, problems_of(he_rows, suite),
                                samples_of(items)).to_pylist()
    bad = [(v["model"], v["task_id"], v["status"], v["plus_status"], v["plus_detail"])
           for v in out if (v["status"], v["plus_status"]) != ("pass", "pass")]
    return out, bad


def test_every_reference_passes_every_generated_test(executor, he_rows, sample_contracts,
                                                     sample_suite):
    table, _ = sample_contracts
    out, bad = _references_on_both(executor, he_rows, table, sample_suite)
    assert not bad
    assert all(v["plus_exec_ms"] > 0 or v["cached"] for v in out)


def test_known_wrong_completions_pass_the_base_tests_and_fail_the_extension(
        executor, he_rows, sample_suite, wrong_completions):
    items = [("codegen-16b", w["task_id"], w["completion"]) for w in wrong_completions]
    out = verdicts.execute_both(executor, problems_of(he_rows, sample_suite),
                                samples_of(items)).to_pylist()
    assert [v["status"] for v in out] == ["pass"] * len(items)
    assert [v["plus_status"] for v in out] == ["fail"] * len(items)
    assert all(v["plus_detail"] for v in out)


def test_a_base_failure_is_a_failure_under_both_and_skips_the_extension(
        executor, he_rows, sample_suite):
    items = [("m", "HumanEval/35", "    return None\n")]
    [v] = verdicts.execute_both(executor, problems_of(he_rows, sample_suite),
                                samples_of(items)).to_pylist()
    assert (v["status"], v["plus_status"]) == ("fail", "fail")
    assert v["plus_exec_ms"] == 0.0 and "not run" in v["plus_detail"]


def test_problems_without_extended_tests_get_null_plus_columns(executor, he_rows):
    plain = schemas.from_rows([dict(he_rows["HumanEval/35"], benchmark="humaneval+")],
                              "problems")
    [v] = verdicts.execute_both(executor, plain, samples_of(
        [("m", "HumanEval/35", he_rows["HumanEval/35"]["reference"])])).to_pylist()
    assert v["status"] == "pass" and v["plus_status"] is None and v["plus_detail"] is None


@pytest.mark.full
def test_every_reference_passes_the_full_164_task_suite(executor, he_rows, shared_data):
    """The full form of the first test: all of HumanEval with the staged EvalPlus data."""
    from pipeline.benchmarks.extended import contracts, generate

    table, sha = contracts.load(shared_data / "evalplus" / "HumanEvalPlus-base-contracts.jsonl")
    suite = generate.cached(list(he_rows.values()), table, sha, seed=0)
    _, bad = _references_on_both(executor, he_rows, table, suite)
    assert not bad
