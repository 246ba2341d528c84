"""The job users submit: a real Ray head on 127.0.0.1, `ray job submit`, then results with pandas.

The head is this test's own (own temp dir, own ports) and only its processes are stopped: the
test can run beside other Ray work on the same machine.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml

from pipeline import results
from tests.conftest import REPO

pytestmark = pytest.mark.slow

RAY = str(Path(sys.executable).with_name("ray"))
PORT_OPTIONS = ("--port", "--dashboard-port", "--ray-client-server-port", "--node-manager-port",
                "--object-manager-port", "--metrics-export-port", "--dashboard-agent-grpc-port",
                "--dashboard-agent-listen-port", "--runtime-env-agent-port")


def free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    try:
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in socks]
    finally:
        for sock in socks:
            sock.close()


def session_pids(sid: int) -> list[int]:
    """Processes of session `sid` (this test's head runs in a session of its own)."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == sid and fields[0] != "Z":  # fields 6 and 3 of /proc/PID/stat
            pids.append(int(stat.parent.name))  # (session id, state; a zombie is gone already)
    return pids


@pytest.fixture
def ray_head(tmp_path):
    """A Ray head of this test only: its own temp dir and ports, started with `ray start
    --block` in a session of its own, and stopped by signalling that session's processes (never
    `ray stop`, which stops every Ray on the machine)."""
    temp = Path(tempfile.mkdtemp(prefix="rayjob-", dir="/tmp"))  # Ray's socket paths must stay short
    ports = dict(zip(PORT_OPTIONS, free_ports(len(PORT_OPTIONS))))
    # Ray 2.60 clusters ask for a token; the head and every client must agree on the mode
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "token"}
    env.pop("RAY_ADDRESS", None)
    log = (tmp_path / "ray-head.log").open("w")
    head = subprocess.Popen(
        [RAY, "start", "--head", "--block", "--node-ip-address=127.0.0.1", "--num-cpus=4",
         "--dashboard-host=127.0.0.1", "--include-dashboard=true", f"--temp-dir={temp}",
         "--disable-usage-stats", *[f"{opt}={port}" for opt, port in ports.items()]],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    dashboard = f"http://127.0.0.1:{ports['--dashboard-port']}"
    try:
        deadline = time.monotonic() + 300
        while True:
            assert head.poll() is None, (tmp_path / "ray-head.log").read_text()[-4000:]
            assert time.monotonic() < deadline, (
                "the Ray head's dashboard did not answer in 300 s:\n"
                + (tmp_path / "ray-head.log").read_text()[-4000:])
            try:
                urllib.request.urlopen(f"{dashboard}/api/version", timeout=2).close()
                break
            except urllib.error.HTTPError:
                break  # it answers (token auth may refuse an anonymous request): it is up
            except OSError:
                time.sleep(1)
        yield env, dashboard
    finally:
        for sig, wait in ((signal.SIGTERM, 60), (signal.SIGKILL, 30)):
            for pid in session_pids(head.pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, sig)
            end = time.monotonic() + wait
            while head.poll() is None or session_pids(head.pid):
                if time.monotonic() > end:
                    break
                time.sleep(0.5)
        head.wait(timeout=30)
        log.close()
        leftover = session_pids(head.pid)
        shutil.rmtree(temp, ignore_errors=True)
        assert not leftover, f"processes of the test's Ray head still running: {leftover}"


def test_ray_job_submit_runs_the_pipeline_and_results_load(ray_head, tmp_path, humaneval_path):
    env, dashboard = ray_head
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
    command = [RAY, "job", "submit", "--address", dashboard, "--working-dir", str(REPO),
               "--", sys.executable, "-m", "pipeline", "run", str(cfg), "--no-progress"]
    for _ in range(60):  # the head's job agent comes up some seconds after `ray start` returns
        submit = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
        if "No available agent to submit job" not in submit.stderr:
            break
        time.sleep(2)
    assert submit.returncode == 0, submit.stdout[-4000:] + submit.stderr[-4000:]
    assert "succeeded" in submit.stdout
    r = results.load(str(out))
    assert len(r.samples) == 4 and r.samples.status.notna().all()
    assert set(r.curves.metric) >= {"pass@k"}
