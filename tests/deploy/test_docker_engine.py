"""deploy/tools/docker_engine.sh: `make image` (deploy/pipeline/build_image.sh) starts a Docker engine
when none answers (root), or stop saying exactly what to run. Checked with stand-in `docker`
and `dockerd` programs on PATH, so no real engine is started or needed."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "deploy" / "tools" / "docker_engine.sh"


def _bin(tmp_path: Path, *, dockerd: bool) -> Path:
    """A bin directory: `docker info` answers once the marker file exists; `dockerd` (if
    present) creates the marker and lives a few seconds (bounded)."""
    marker = tmp_path / "engine-up"
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "docker").write_text(
        f"#!/bin/sh\n[ -f {marker} ] && exit 0\necho 'Cannot connect to the Docker daemon' >&2\nexit 1\n")
    if dockerd:
        (bindir / "dockerd").write_text(f"#!/bin/sh\ntouch {marker}\nexec sleep 3\n")
    for f in bindir.iterdir():
        f.chmod(0o755)
    return bindir


def _run(bindir: Path, tmp_path: Path, **env) -> subprocess.CompletedProcess:
    path = f"{bindir}:/usr/bin:/bin"
    return subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, timeout=60,
                          env={"PATH": path, "DOCKERD_LOG": str(tmp_path / "dockerd.log"),
                               "DOCKERD_WAIT_S": "10", **env})


def test_an_engine_that_answers_is_left_alone(tmp_path):
    bindir = _bin(tmp_path, dockerd=False)
    (tmp_path / "engine-up").touch()
    r = _run(bindir, tmp_path)
    assert r.returncode == 0 and r.stdout == "" and r.stderr == ""


@pytest.mark.skipif(os.geteuid() != 0, reason="the engine is started only as root")
def test_no_engine_as_root_starts_dockerd_and_waits_for_it(tmp_path):
    r = _run(_bin(tmp_path, dockerd=True), tmp_path)
    assert r.returncode == 0, r.stderr
    assert "starting dockerd" in r.stdout and "answers" in r.stdout
    assert (tmp_path / "engine-up").exists()


def test_no_engine_and_not_allowed_to_start_one_says_what_to_run(tmp_path):
    r = _run(_bin(tmp_path, dockerd=True), tmp_path, DOCKER_ENGINE_NO_START="1")
    assert r.returncode == 1
    assert "Cannot connect to the Docker daemon" in r.stderr and "sudo dockerd" in r.stderr
    assert not (tmp_path / "engine-up").exists()


def test_no_docker_installed_says_how_to_install_it(tmp_path):
    bindir = tmp_path / "empty"
    bindir.mkdir()
    r = subprocess.run(["/bin/bash", str(SCRIPT)], capture_output=True, text=True, timeout=60,
                       env={"PATH": str(bindir)})
    assert r.returncode == 1 and "apt-get install docker.io" in r.stderr


def test_make_image_goes_through_it():
    assert "docker_engine.sh" in (REPO / "deploy/pipeline/build_image.sh").read_text()
