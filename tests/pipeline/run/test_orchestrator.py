"""Bad input to `run`/`resume`/`status` gives one clear line naming it, and loses nothing."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

import schemas
from pipeline import results
from pipeline.run import storage
from pipeline.run.rundir import RunDir


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipeline", *args, "--no-progress"],
                          capture_output=True, text=True, timeout=300)


def config(tmp_path, **changes) -> str:
    data = {
        "run_id": "bad", "output_dir": str(tmp_path / "run"),
        "models": [{"name": "m", "path": "tiny-llama"}],
        "benchmarks": [{"name": "humaneval", "n": 2, "subset": {"limit": 2}}],
        **changes,
    }
    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump(data))
    return str(path)


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"models": [{"name": "m", "path": "/no/such/model"}]},
         "models.m.path: model directory '/no/such/model' not found"),
        ({"benchmarks": [{"name": "humaneval-x", "n": 2}]},
         "benchmarks.0.name: Value error, unknown benchmark 'humaneval-x'"),
        ({"benchmarks": [{"name": "humaneval", "n": 0}]},
         "benchmarks.0.n: Input should be greater than or equal to 1"),
        ({"models": [{"name": "m", "path": "tiny-llama", "engine": {"max_model_length": 9}}]},
         "models.m.engine.max_model_length: Extra inputs are not permitted"),
        ({"sandbox": {"backend": "chroot"}},
         "sandbox.backend: Value error, unknown sandbox backend 'chroot'; choose one of: bwrap, docker"),
    ],
)
def test_a_bad_config_exits_2_naming_the_field_before_any_work(tmp_path, changes, message):
    result = run_cli("run", config(tmp_path, **changes))
    assert result.returncode == 2, result.stdout + result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "run" / "samples").exists()


def test_resume_of_a_directory_that_is_not_a_run_says_so(tmp_path):
    result = run_cli("resume", str(tmp_path))
    assert result.returncode == 2
    assert "config.yaml: not found; is" in result.stderr and "a run directory?" in result.stderr


def test_a_corrupt_shard_is_named_by_the_query_api_and_nothing_else_is_touched(tmp_path):
    rundir = RunDir(str(tmp_path / "run"))
    from pipeline import config as config_mod

    rundir.freeze_config(config_mod.load(config(tmp_path)))
    row = {"run_id": "bad", "model": "m", "benchmark": "humaneval", "task_id": "HumanEval/0",
           "sample_idx": 0, "seed": 1, "temperature": 0.8, "completion": "x", "n_tokens": 1,
           "finish_reason": "stop", "gen_seconds": 0.1}
    good = tmp_path / "run/samples/model=m/benchmark=humaneval/sampled-00000.parquet"
    storage.write_table(schemas.from_rows([row], "samples"), good, "samples")
    bad = good.with_name("sampled-00001.parquet")
    bad.write_bytes(b"\x00" * 64)
    with pytest.raises(storage.StorageError, match="sampled-00001.parquet: not a readable Parquet file"):
        results.load(str(tmp_path / "run"))
    assert bad.read_bytes() == b"\x00" * 64 and good.exists()
