"""A full or read-only local run directory: a clear error naming the path, nothing finished
damaged, and `resume` completes once space (or write access) is back, with the outputs of an
undisturbed run. The disk is a small tmpfs mounted for the test (root only; skipped elsewhere).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest

from pipeline.jobs import evaluate
from pipeline.run import importers, storage
from tests.pipeline.run.imported_run import config, equal, generations, outputs, reference_outputs

SHARD_FILE = "verdicts/model=theirs/benchmark=humaneval/sampled-0000{}.parquet"


@contextmanager
def tmpfs(path: Path, size_kb: int):
    """A tmpfs of `size_kb` KiB mounted at `path` for the block."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    path.mkdir(parents=True, exist_ok=True)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", str(path)],
                       capture_output=True, text=True)
    if r.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=True)  # lazy: a writer may still hold a file


def fill(directory: Path) -> Path:
    """Fill the filesystem of `directory` (bounded: stops at ENOSPC or after 64 MiB)."""
    filler = directory / ".filler"
    chunk = b"\0" * (64 << 10)
    with open(filler, "wb", buffering=0) as f:
        for _ in range(1024):
            try:
                f.write(chunk)
            except OSError:
                break
        else:
            raise AssertionError("the filesystem never filled up")
    return filler


def hashes(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and not p.name.startswith(".filler")}


@pytest.fixture
def undisturbed(tmp_path, humaneval_path):
    return reference_outputs(tmp_path / "reference", tmp_path, humaneval_path)


@pytest.fixture
def imported(tmp_path, humaneval_path):
    cfg = config(str(tmp_path / "run"), humaneval_path)
    importers.import_to_run(cfg, generations(tmp_path / "g.jsonl"))
    return cfg, tmp_path / "run"


def test_a_write_on_a_full_disk_names_the_path_and_keeps_the_old_file(tmp_path):
    import schemas

    table = schemas.from_rows([{"run_id": "r", "model": "m", "benchmark": "b", "task_id": "t",
                                "sample_idx": 0, "status": "pass", "tests_passed": 1,
                                "tests_total": 1, "detail": "", "exec_ms": 1.0, "cached": False}],
                              "verdicts")
    with tmpfs(tmp_path / "disk", 256) as disk:
        uri = str(disk / "v.parquet")
        storage.write_table(table, uri, "verdicts")
        before = Path(uri).read_bytes()
        fill(disk)
        with pytest.raises(storage.StorageError) as err:
            storage.write_table(table, uri, "verdicts")
        assert uri in str(err.value) and "no space left on device" in str(err.value)
        assert "resume" in str(err.value)
        assert Path(uri).read_bytes() == before  # the finished file is untouched
        assert sorted(p.name for p in disk.iterdir()) == [".filler", "v.parquet"]  # no temporary


@pytest.mark.parametrize("fault", ["full", "read-only"])
def test_a_full_or_read_only_verdicts_disk_fails_its_shards_naming_them_and_resume_completes(
        imported, undisturbed, fault):
    cfg, run = imported
    finished = hashes(run)
    with tmpfs(run / "verdicts", 1024) as disk:
        if fault == "full":
            filler = fill(disk)
        else:
            subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
        outcome = evaluate.run(cfg, progress=False, in_process=True)
        assert not outcome.reduced
        assert sorted(e.shard for e in outcome.failed) == [
            f"theirs/humaneval/sampled-0000{i}" for i in range(3)]
        why = "no space left on device" if fault == "full" else "read-only file system"
        for e in outcome.failed:
            assert e.stage == "execute" and SHARD_FILE.format(e.shard[-1]) in e.error, e.error
            assert why in e.error, e.error
        after = hashes(run)
        assert {k: after[k] for k in finished} == finished  # nothing finished was touched
        if fault == "full":
            filler.unlink()
        else:
            subprocess.run(["mount", "-o", "remount,rw", str(disk)], check=True)
        outcome = evaluate.resume(str(run), progress=False, in_process=True)
        assert not outcome.failed and outcome.reduced
        equal(outputs(str(run)), undisturbed)


def test_a_full_run_directory_stops_the_driver_with_one_line_naming_the_path(tmp_path, humaneval_path,
                                                                              undisturbed):
    with tmpfs(tmp_path / "disk", 4096) as disk:
        cfg = config(str(disk / "run"), humaneval_path)
        importers.import_to_run(cfg, generations(tmp_path / "g.jsonl"))
        finished = hashes(disk / "run")
        filler = fill(disk)
        r = subprocess.run([sys.executable, "-m", "pipeline", "resume", str(disk / "run"),
                            "--in-process", "--no-progress"], capture_output=True, text=True,
                           timeout=600)
        assert r.returncode == 2, (r.stdout, r.stderr)
        assert "no space left on device" in r.stderr and str(disk / "run") in r.stderr, r.stderr
        assert "Traceback" not in r.stderr
        after = hashes(disk / "run")
        assert {k: after[k] for k in finished} == finished
        filler.unlink()
        r = subprocess.run([sys.executable, "-m", "pipeline", "resume", str(disk / "run"),
                            "--in-process", "--no-progress"], capture_output=True, text=True,
                           timeout=600)
        assert r.returncode == 0, (r.stdout, r.stderr)
        equal(outputs(str(disk / "run")), undisturbed)
