"""Storage (pipeline.run.storage) works the same on a local path, a file:// URI and a real
S3-compatible server (moto on 127.0.0.1, through pyarrow's own S3FileSystem)."""

from __future__ import annotations

import pyarrow.fs as pafs
import pytest

import schemas
from pipeline.run import storage


def _verdicts(statuses):
    return schemas.from_rows([
        {"run_id": "r", "model": "m", "benchmark": "humaneval", "task_id": f"HumanEval/{i}",
         "sample_idx": 0, "status": s, "tests_passed": 0, "tests_total": 1, "detail": "",
         "exec_ms": 1.0, "cached": False} for i, s in enumerate(statuses)], "verdicts")


@pytest.fixture(params=["path", "file-uri", "s3"])
def root(request, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    if request.param == "path":
        return str(tmp_path / "run")
    if request.param == "file-uri":
        return f"file://{tmp_path}/run"
    return request.getfixturevalue("s3_run_uri")


def test_tables_text_and_local_only_writers_round_trip_on_every_kind_of_root(root, tmp_path):
    table = _verdicts(["pass", "error", "fail", "error"])
    uri = storage.join(root, "verdicts/model=m/shard-0.parquet")
    storage.write_table(table, uri, "verdicts")
    assert storage.read_table(uri, "verdicts").equals(table)
    assert storage.probe(uri, "verdicts") == 4
    assert storage.probe(uri, "samples") is None  # another schema
    assert storage.count_equal(uri, "status", "error") == 2
    storage.write_text(storage.join(root, "config.yaml"), "run_id: r\n")
    assert storage.read_text(storage.join(root, "config.yaml")) == "run_id: r\n"
    with storage.local_dir(storage.join(root, "figures")) as local:
        (local / "a.svg").write_text("<svg/>")
        (local / "sub").mkdir()
        (local / "sub" / "b.csv").write_text("x\n")
    assert storage.read_text(storage.join(root, "figures/sub/b.csv")) == "x\n"
    assert storage.list_files(root, suffix="") == sorted(storage.join(root, p) for p in [
        "config.yaml", "figures/a.svg", "figures/sub/b.csv", "verdicts/model=m/shard-0.parquet"])
    assert storage.exists(root) and not storage.exists(storage.join(root, "nothing"))
    with pytest.raises(storage.StorageError, match="file not found"):
        storage.read_text(storage.join(root, "missing.txt"))
    # nothing was written beside the run as a local directory named after the URI scheme
    assert not any(p.name.endswith(":") for p in tmp_path.iterdir())


def test_an_s3_uri_takes_its_endpoint_and_credentials_from_the_environment(s3_run_uri, s3_server):
    fs, path = storage.resolve(s3_run_uri + "/x.parquet")
    assert isinstance(fs, pafs.S3FileSystem) and path == s3_run_uri[len("s3://"):] + "/x.parquet"
    storage.write_table(_verdicts(["pass"]), s3_run_uri + "/x.parquet", "verdicts")
    raw = pafs.S3FileSystem(access_key="testing", secret_key="testing", region="us-east-1",
                            endpoint_override=f"127.0.0.1:{s3_server.port}", scheme="http")
    assert raw.get_file_info(path).size > 0  # really on the server
    assert storage.actor_env()["AWS_ENDPOINT_URL"] == s3_server.endpoint


def test_a_uri_pyarrow_does_not_know_is_a_clear_storage_error():
    with pytest.raises(storage.StorageError, match="nope://x/y: not a filesystem URI"):
        storage.resolve("nope://x/y")
