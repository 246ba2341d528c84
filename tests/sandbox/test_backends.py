"""Backends are looked up by name; each launches a locked-down fork-server and cleans up after it."""

from __future__ import annotations

import shutil

import pytest

from sandbox import backends
from sandbox.config import SandboxConfig


def test_the_registry_names_bwrap_docker_and_the_unsafe_debug_mode():
    assert {"bwrap", "docker", "unsafe"} <= set(backends.REGISTRY)
    with pytest.raises(backends.SandboxUnavailable, match="unknown sandbox backend 'podman'; choose one of: bwrap, docker"):
        backends.get("podman")


def test_the_unsafe_flag_selects_the_unsafe_backend_whatever_the_name():
    assert backends.for_config(SandboxConfig(backend="docker", unsafe_no_sandbox=True)).name == "unsafe"
    assert backends.for_config(SandboxConfig()).name == "bwrap"


@pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap not installed")
def test_bwrap_has_no_network_and_binds_no_host_home_or_work_tree():
    launch = backends.get("bwrap").launch(SandboxConfig(cgroup=False), "t")
    try:
        argv = launch.argv
        assert "--unshare-net" in argv and "--clearenv" in argv
        binds = {argv[i + 1] for i, a in enumerate(argv) if a in ("--ro-bind", "--bind")}
        assert binds <= {"/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"}
        assert launch.isolate and launch.tmp == "/tmp"
    finally:
        launch.cleanup()


def test_docker_runs_without_network_read_only_and_with_few_capabilities(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: f"/usr/bin/{name}")
    argv = backends.get("docker").launch(SandboxConfig(backend="docker"), "t").argv
    assert argv[argv.index("--network") + 1] == "none" and "--read-only" in argv
    assert argv[argv.index("--cap-drop") + 1] == "ALL"
    assert [argv[i + 1] for i, a in enumerate(argv) if a == "--cap-add"] == ["SETUID", "SETGID", "KILL"]


def test_the_unsafe_backend_works_in_its_own_temporary_directory_and_removes_it():
    launch = backends.get("unsafe").launch(SandboxConfig(unsafe_no_sandbox=True), "t")
    import os

    assert os.path.isdir(launch.tmp) and not launch.isolate
    launch.cleanup()
    assert not os.path.exists(launch.tmp)
