"""Sandbox backends: how one fork-server process is started in isolation, looked up by name.

Role in the pipeline: `sandbox.forkserver` asks `for_config(config)` for the backend and calls
its `launch(config, tag)` to start a worker; `sandbox.executor` calls `check(config)` once before
starting workers. Adding a backend is a module with a `Backend` subclass plus one line in
`REGISTRY` below (or `register(...)` at run time, as the tests do).

* `bwrap`  - bubblewrap namespaces + a per-worker memory/pids cgroup (the default)
* `docker` - one long-lived locked-down container per worker
* `unsafe` - no isolation at all; chosen only by `SandboxConfig(unsafe_no_sandbox=True)`
"""

from __future__ import annotations

from sandbox.backends.base import BOOT, Backend, Launch, SandboxUnavailable, server_bundle
from sandbox.backends.bwrap import BwrapBackend
from sandbox.backends.docker import DockerBackend
from sandbox.backends.unsafe import UnsafeBackend

REGISTRY: dict[str, Backend] = {b.name: b for b in (BwrapBackend(), DockerBackend(), UnsafeBackend())}


def register(backend: Backend) -> Backend:
    """Add (or replace) a backend under `backend.name`; returns it."""
    REGISTRY[backend.name] = backend
    return backend


def get(name: str) -> Backend:
    """The backend called `name`; a clear error lists the known ones."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise SandboxUnavailable(
            f"unknown sandbox backend {name!r}; choose one of: "
            f"{', '.join(n for n in REGISTRY if n != 'unsafe')}") from None


def for_config(config) -> Backend:
    """The backend a `SandboxConfig` selects (`unsafe` when `unsafe_no_sandbox` is set)."""
    return REGISTRY["unsafe"] if config.unsafe_no_sandbox else get(config.backend)


__all__ = ["BOOT", "Backend", "Launch", "REGISTRY", "SandboxUnavailable", "for_config", "get",
           "register", "server_bundle"]
