"""`budget-realloc problems` writes a valid problems table, and bad input exits with one clear line."""

from __future__ import annotations

import subprocess
import sys

from pipeline.run import storage


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipeline", *args], capture_output=True, text=True, timeout=120)


def test_problems_writes_the_table(tmp_path, mbpp_path):
    out = tmp_path / "mbpp.parquet"
    result = run_cli("problems", "--benchmark", "mbpp", "--data", str(mbpp_path), "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "wrote 500 mbpp problems" in result.stdout
    assert storage.read_table(out, "problems").num_rows == 500


def test_problems_with_a_missing_file_exits_2_naming_it(tmp_path):
    result = run_cli("problems", "--benchmark", "humaneval", "--data", str(tmp_path / "x.jsonl"), "--out", str(tmp_path / "o.parquet"))
    assert result.returncode == 2
    assert "x.jsonl: file not found" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "o.parquet").exists()
