"""The job users submit: a real Ray head on 127.0.0.1, `ray job submit`, then results with pandas."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from pipeline import results
from tests.conftest import REPO

pytestmark = pytest.mark.slow

RAY = str(Path(sys.executable).with_name("ray"))


@pytest.fixture
def ray_head(tmp_path):
    temp = Path("/tmp") / f"rayjob-{os.getpid()}"  # Ray's socket paths must stay short
    # Ray 2.60 clusters ask for a token; the head and every client must agree on the mode
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "token"}
    env.pop("RAY_ADDRESS", None)
    start = subprocess.run(
        [RAY, "start", "--head", "--node-ip-address=127.0.0.1", "--num-cpus=4",
         "--dashboard-host=127.0.0.1", "--dashboard-port=8265", f"--temp-dir={temp}",
         "--include-dashboard=true", "--disable-usage-stats"],
        env=env, capture_output=True, text=True, timeout=180,
    )
    assert start.returncode == 0, start.stdout + start.stderr
    try:
        yield env
    finally:
        # `ray stop` stops every Ray on the machine, not only this head: do not run this test
        # beside other Ray work you care about (CI runs it alone)
        subprocess.run([RAY, "stop", "--force"], env=env, capture_output=True, timeout=120)
        shutil.rmtree(temp, ignore_errors=True)


def test_ray_job_submit_runs_the_pipeline_and_results_load(ray_head, tmp_path, humaneval_path):
    from workers.tiny_model import build_tiny_llama

    model = build_tiny_llama(str(tmp_path / "tiny"), seed=0)
    engine = {"dtype": "float32", "max_model_len": 1024, "kv_cache_space_gb": 1}
    out = tmp_path / "run"
    cfg = tmp_path / "job.yaml"
    cfg.write_text(yaml.safe_dump({
        "run_id": "job", "output_dir": str(out), "seed": 1, "shard_size": 2,
        "models": [{"name": "tiny", "path": model, "engine": engine}],
        "benchmarks": [{"name": "humaneval", "data": str(humaneval_path), "subset": {"limit": 2},
                        "n": 2, "max_new_tokens": 16}],
        "sandbox": {"backend": "bwrap", "workers": 1},
        "reduce": {"n_boot": 20},
    }))
    command = [RAY, "job", "submit", "--address", "http://127.0.0.1:8265", "--working-dir", str(REPO),
               "--", sys.executable, "-m", "pipeline", "run", str(cfg), "--no-progress"]
    for _ in range(60):  # the head's job agent comes up some seconds after `ray start` returns
        submit = subprocess.run(command, env=ray_head, capture_output=True, text=True, timeout=900)
        if "No available agent to submit job" not in submit.stderr:
            break
        time.sleep(2)
    assert submit.returncode == 0, submit.stdout[-4000:] + submit.stderr[-4000:]
    assert "succeeded" in submit.stdout
    r = results.load(str(out))
    assert len(r.samples) == 4 and r.samples.status.notna().all()
    assert set(r.curves.metric) >= {"pass@k"}
