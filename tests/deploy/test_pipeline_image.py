"""Smoke test of the built pipeline image (slow, opt-in: `make image-smoke` after `make image`).

Inside a container of the image that deploy/pipeline/build_image.sh tags: vLLM, Ray and the
project import at the versions of requirements/gpu.lock; `budget-realloc plan` runs on the paper's
config; an imported-samples run (import -> execute in the docker sandbox backend, whose containers
the host's engine runs through the mounted socket -> reduce) writes curves the host can read; and a
`ray start --head` inside a container accepts a `ray job submit` from the host's Ray. No GPU: CUDA
generation itself is not exercised (docs/deployment.md).

Needs a Docker engine, the image (`make image`), the sandbox image (deploy/sandbox/build_image.sh)
and the staged CodeGen-16B generations (../shared/data). Runs only with BUDGET_REALLOC_IMAGE_SMOKE=1,
since CI should not build a 10 GB image.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest
import yaml

from pipeline import results

REPO = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("image_names", Path(__file__).with_name("test_image_names.py"))
_names = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_names)
IMAGE = os.environ.get("PIPELINE_IMAGE", _names.IMAGE)
SANDBOX_IMAGE = "budget-realloc-sandbox:v3"
CODET = "generations/codet_HumanEval_codegen16B_temp0.8_topp0.95_num100_max300_code_solution.jsonl"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.docker,
    pytest.mark.skipif(os.environ.get("BUDGET_REALLOC_IMAGE_SMOKE") != "1",
                       reason="opt-in: `make image` then `make image-smoke` (BUDGET_REALLOC_IMAGE_SMOKE=1)"),
]


def docker(*args: str, timeout: float = 600, check: bool = True) -> subprocess.CompletedProcess:
    out = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)
    if check and out.returncode != 0:
        raise AssertionError(f"docker {' '.join(args[:6])} ... exited {out.returncode}:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}")
    return out


def in_image(*cmd: str, opts: tuple[str, ...] = (), timeout: float = 600) -> str:
    return docker("run", "--rm", *opts, IMAGE, *cmd, timeout=timeout).stdout


@pytest.fixture(scope="module", autouse=True)
def image() -> str:
    for tag, how in ((IMAGE, "make image"), (SANDBOX_IMAGE, "deploy/sandbox/build_image.sh")):
        if docker("image", "inspect", tag, check=False).returncode != 0:
            pytest.fail(f"image {tag} not found: build it with `{how}`")
    return IMAGE


def test_the_image_imports_vllm_ray_torch_and_the_pipeline_at_the_gpu_locks_versions():
    code = ("import json, vllm, ray, torch, pyarrow, pipeline; print(json.dumps([vllm.__version__, "
            "ray.__version__, torch.__version__, pyarrow.__version__, torch.version.cuda]))")
    vllm, ray, torch, pyarrow, cuda = json.loads(in_image("python", "-c", code).strip().splitlines()[-1])
    lock = _names.REPO / "requirements" / "gpu.lock"
    pins = dict(line.split("==") for line in lock.read_text().splitlines() if line and not line.startswith("#"))
    assert [vllm, ray, pyarrow] == [pins["vllm"], pins["ray"], pins["pyarrow"]]
    # the wheel is torch==2.14.0; the build names its CUDA in a local version (2.14.0+cu130)
    assert torch.split("+")[0] == pins["torch"] and cuda.startswith("13."), (torch, cuda)


def test_plan_on_the_papers_config_baked_into_the_image_prints_what_the_host_prints():
    out = in_image("budget-realloc", "plan", "/configs/paper.yaml")
    host = subprocess.run([str(Path(sys.executable).with_name("budget-realloc")), "plan", "configs/paper.yaml"],
                          capture_output=True, text=True, cwd=REPO, timeout=300, check=True).stdout
    assert "GPU-hours" in out and "codellama-70b" in out, out
    assert out == host


def test_an_imported_samples_run_executes_in_the_hosts_docker_sandbox_and_writes_curves(tmp_path, shared_data):
    samples = tmp_path / "codet-first3.jsonl"
    with open(shared_data / CODET) as src:
        samples.write_text("".join(next(src) for _ in range(3)))  # the first 3 lines: HumanEval/0, 1 and 10, 100 samples each
    config = tmp_path / "smoke.yaml"
    config.write_text(yaml.safe_dump({
        "run_id": "image-smoke", "output_dir": str(tmp_path / "run"), "seed": 0,
        "models": [{"name": "codegen-16b", "path": "imported", "cost": {"seconds_per_sample": 1.0}}],
        "benchmarks": [{"name": "humaneval", "n": 20, "temperature": 0.8, "top_p": 0.95,
                        "max_new_tokens": 300,
                        "subset": {"task_ids": ["HumanEval/0", "HumanEval/1", "HumanEval/10"]}}],
        "sandbox": {"backend": "docker", "workers": 1, "docker_image": SANDBOX_IMAGE},
        "shard_size": 20, "reduce": {"n_boot": 50, "seed": 0},
    }))
    # The same path inside and out, so that the host reads what the container wrote; the socket
    # makes the sandbox's `docker run` start its containers on the host's engine.
    opts = ("-v", f"{tmp_path}:{tmp_path}", "-v", "/var/run/docker.sock:/var/run/docker.sock", "-w", str(tmp_path))
    in_image("budget-realloc", "run", str(config), "--from-samples", str(samples), "--prompts", "file",
             "--in-process", "--no-progress", opts=opts)
    run = results.load(str(tmp_path / "run"))  # the host reads what the container wrote
    assert len(run.samples) == 60 and run.samples["status"].notna().all()  # 3 problems x n = 20, all executed
    assert 0 < run.samples["passed"].mean() < 1  # CodeGen-16B solves some of these, not all
    assert len(run.curves) > 0 and set(run.curves["benchmark"]) == {"humaneval"}
    assert (tmp_path / "run" / "curves.parquet").is_file()


def test_a_ray_head_in_the_container_accepts_a_job_submitted_from_the_host():
    name = f"budget-realloc-image-smoke-{uuid.uuid4().hex[:8]}"
    docker("run", "-d", "--rm", "--name", name, "--shm-size", "1g", "-p", "127.0.0.1::8265", IMAGE,
           "ray", "start", "--head", "--dashboard-host", "0.0.0.0", "--num-cpus", "1",
           "--include-dashboard", "true", "--block")
    try:
        port = docker("port", name, "8265/tcp").stdout.strip().splitlines()[0].rsplit(":", 1)[1]
        address = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 240  # readiness wait, not an assertion on speed
        while True:
            try:
                with urllib.request.urlopen(f"{address}/api/version", timeout=5) as reply:
                    if reply.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                logs = docker("logs", name, check=False)
                pytest.fail(f"the head's job server did not answer at {address}:\n{logs.stdout[-2000:]}{logs.stderr[-2000:]}")
            time.sleep(2)
        ray_cli = Path(sys.executable).with_name("ray")
        entry = "import ray, pipeline, vllm; ray.init(); print('smoke job on', ray.__version__, int(ray.cluster_resources()['CPU']), 'CPU')"
        out = subprocess.run([str(ray_cli), "job", "submit", "--address", address, "--", "python", "-c", entry],
                             capture_output=True, text=True, timeout=600,
                             env={**os.environ, "RAY_USAGE_STATS_ENABLED": "0"})
        assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
        import ray
        assert f"smoke job on {ray.__version__} 1 CPU" in out.stdout
        assert "succeeded" in out.stdout
    finally:
        docker("rm", "-f", name, check=False)
