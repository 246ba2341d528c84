"""Object storage that fails: throttling (503 SlowDown), 500s, connection resets (also in the
middle of an upload) and a slow endpoint, injected by a proxy on 127.0.0.1 (`tests/s3_faults.py`)
between pyarrow's S3 filesystem and the tests' S3 server.

Transient faults are retried with bounded backoff and logged (`pipeline.run.retry`), and the run
gives the same verdicts and curves as an undisturbed one; a persistent fault fails the shard with
a message naming the object, no partial object is ever taken for a finished shard, and `resume`
completes the run once the store answers.
"""

from __future__ import annotations

import logging

import pyarrow as pa
import pytest

import schemas
from pipeline.jobs import evaluate
from pipeline.run import importers, retry, storage
from pipeline.run.rundir import RunDir
from tests.pipeline.run.imported_run import config as _config
from tests.pipeline.run.imported_run import equal as _equal
from tests.pipeline.run.imported_run import generations as _generations
from tests.pipeline.run.imported_run import outputs as _outputs
from tests.pipeline.run.imported_run import reference_outputs
from tests.s3_faults import FaultProxy


def _verdicts(n: int) -> pa.Table:
    return schemas.from_rows([
        {"run_id": "r", "model": "m", "benchmark": "humaneval", "task_id": f"HumanEval/{i}",
         "sample_idx": 0, "status": "pass" if i % 2 else "fail", "tests_passed": 1,
         "tests_total": 1, "detail": "", "exec_ms": 1.0, "cached": False} for i in range(n)],
        "verdicts")


@pytest.fixture
def faulty(s3_server, monkeypatch):
    """(proxy, s3://bucket/run): the run directory reached through the fault proxy."""
    with FaultProxy(s3_server.port) as proxy:
        for key, value in {**s3_server.env, "AWS_ENDPOINT_URL": proxy.endpoint}.items():
            monkeypatch.setenv(key, value)
        monkeypatch.setenv("BUDGET_REALLOC_STORAGE_BACKOFF_S", "0.05")
        yield proxy, f"s3://{s3_server.bucket()}/run"


# -- one object ------------------------------------------------------------------------------------
# pyarrow's AWS SDK retries each request a few times itself (more than 12 faults in a row were absorbed
# here, pyarrow 26): 40 in a row get past it to our layer.
@pytest.mark.parametrize("fault,partial", [("503", False), ("500", False), ("reset", False),
                                           ("reset", True)],
                         ids=["503-slowdown", "500", "connection-reset", "reset-mid-upload"])
def test_transient_write_faults_are_retried_and_logged_and_the_object_is_whole(
        faulty, caplog, fault, partial):
    proxy, root = faulty
    uri = storage.join(root, "verdicts/x.parquet")
    table = _verdicts(5)
    proxy.add(fault, methods=("PUT",), path=r"x\.parquet", times=40, partial=partial)
    with caplog.at_level(logging.WARNING, logger=retry.log.name):
        storage.write_table(table, uri, "verdicts")
    assert proxy.rules[0].hits == 40
    assert any(uri in r.getMessage() and "retrying" in r.getMessage() for r in caplog.records)
    assert storage.read_table(uri, "verdicts").equals(schemas.conform(table, "verdicts"))
    assert storage.list_files(storage.join(root, "verdicts")) == [uri]  # no temporary left visible


@pytest.mark.parametrize("fault", ["503", "500", "reset"])
def test_transient_read_faults_are_retried_and_never_make_a_finished_shard_look_missing(faulty, fault):
    proxy, root = faulty
    uri = storage.join(root, "verdicts/x.parquet")
    storage.write_table(_verdicts(4), uri, "verdicts")
    proxy.add(fault, methods=("GET", "HEAD"), times=4)
    assert storage.probe(uri, "verdicts") == 4
    proxy.add(fault, methods=("GET", "HEAD"), times=4)
    assert storage.read_table(uri, "verdicts").num_rows == 4
    proxy.add(fault, methods=("GET",), times=4)
    assert storage.list_files(storage.join(root, "verdicts")) == [uri]
    assert sum(r.hits for r in proxy.rules) == 12


def test_a_slow_endpoint_only_slows_the_calls(faulty):
    proxy, root = faulty
    uri = storage.join(root, "verdicts/x.parquet")
    proxy.add("slow", delay_s=1.0, times=4)
    storage.write_table(_verdicts(3), uri, "verdicts")
    assert storage.read_table(uri, "verdicts").num_rows == 3
    assert proxy.rules[0].hits == 4


# `full`: about 15 s each here (pyarrow's SDK retries each request many times before our layer
# sees it); the run-level persistent-fault test below covers the same path in `make test`.
@pytest.mark.full
@pytest.mark.parametrize("partial", [False, True], ids=["throttled", "reset-mid-upload"])
def test_a_persistent_write_fault_names_the_object_and_leaves_no_partial_object(
        faulty, monkeypatch, partial):
    proxy, root = faulty
    monkeypatch.setenv("BUDGET_REALLOC_STORAGE_RETRIES", "2")
    uri = storage.join(root, "verdicts/x.parquet")
    proxy.add("reset" if partial else "503", methods=("PUT",), path=r"x\.parquet", times=None,
              partial=partial)
    with pytest.raises(storage.StorageError) as err:
        storage.write_table(_verdicts(3), uri, "verdicts")
    assert uri in str(err.value) and "failed after 2 attempts" in str(err.value)
    assert "resume" in str(err.value)
    proxy.clear()
    assert not storage.exists(uri)
    assert storage.probe(uri, "verdicts") is None
    assert storage.list_files(root) == []


@pytest.mark.full  # about 12 s here, as above
def test_a_persistent_read_fault_is_an_error_naming_the_object_not_a_missing_shard(faulty, monkeypatch):
    proxy, root = faulty
    monkeypatch.setenv("BUDGET_REALLOC_STORAGE_RETRIES", "2")
    uri = storage.join(root, "verdicts/x.parquet")
    storage.write_table(_verdicts(3), uri, "verdicts")
    proxy.add("503", methods=("GET", "HEAD"), times=None)
    with pytest.raises(storage.StorageError, match="x.parquet: probe failed after 2 attempts"):
        storage.probe(uri, "verdicts")
    proxy.clear()
    assert storage.probe(uri, "verdicts") == 3


# -- a whole run -----------------------------------------------------------------------------------
@pytest.fixture
def undisturbed(tmp_path, humaneval_path):
    return reference_outputs(tmp_path / "reference", tmp_path, humaneval_path)


def test_a_run_through_transient_faults_equals_an_undisturbed_run(faulty, tmp_path, humaneval_path,
                                                                   undisturbed, caplog):
    proxy, root = faulty
    cfg = _config(root, humaneval_path)
    importers.import_to_run(cfg, _generations(tmp_path / "g.jsonl"))
    # during the run's writes and reads: throttling, 500s, resets (one mid-upload), a slow endpoint
    proxy.add("503", methods=("PUT",), path=r"\.parquet", times=40)
    proxy.add("reset", methods=("PUT",), times=4, partial=True)
    proxy.add("500", methods=("GET", "HEAD"), times=5)
    proxy.add("reset", methods=("GET",), times=4)
    proxy.add("slow", delay_s=0.5, times=6)
    with caplog.at_level(logging.WARNING, logger=retry.log.name):
        outcome = evaluate.run(cfg, progress=False, in_process=True)
    assert not outcome.failed and outcome.reduced
    assert all(r.hits == r.times for r in proxy.rules), [(r.fault, r.hits) for r in proxy.rules]
    assert any("retrying" in r.getMessage() for r in caplog.records)
    _equal(_outputs(root), undisturbed)


def test_a_persistent_fault_fails_the_shard_naming_the_object_and_resume_completes(
        faulty, tmp_path, humaneval_path, undisturbed, monkeypatch):
    proxy, root = faulty
    monkeypatch.setenv("BUDGET_REALLOC_STORAGE_RETRIES", "2")
    cfg = _config(root, humaneval_path)
    importers.import_to_run(cfg, _generations(tmp_path / "g.jsonl"))
    proxy.add("503", methods=("PUT", "POST"), path=r"verdicts/.*sampled-00001", times=None)
    outcome = evaluate.run(cfg, progress=False, in_process=True)
    assert not outcome.reduced
    assert [(e.stage, e.shard) for e in outcome.failed] == [("execute", "theirs/humaneval/sampled-00001")]
    error = outcome.failed[0].error
    assert "verdicts/model=theirs/benchmark=humaneval/sampled-00001.parquet" in error, error
    assert "failed after 2 attempts" in error
    rundir = RunDir(root)
    assert len(storage.list_files(rundir.uri("verdicts"))) == 2  # the other shards, whole
    proxy.clear()
    outcome = evaluate.resume(root, progress=False, in_process=True)
    assert not outcome.failed and outcome.reduced
    _equal(_outputs(root), undisturbed)
