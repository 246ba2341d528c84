"""bwrap backend: bubblewrap namespaces plus a per-worker memory+pids cgroup (the default).

New pid, net, ipc and uts namespaces (no network at all), a read-only view of /usr only plus
/etc/alternatives and /etc/ld.so.cache for shared libraries and /etc/matplotlibrc (no other
host files: not /work, not /home, not the rest of /etc), a private size-limited /tmp, a
minimal /dev and /proc;
optionally a per-worker memory+pids cgroup (v1 or v2, root only) as a backstop.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from sandbox.backends.base import Backend, Launch, SandboxUnavailable

CGROUP_NAME = "budget-realloc-sandbox"


def _binds() -> list[str]:
    args = ["--ro-bind", "/usr", "/usr"]
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        p = Path("/") / name
        if p.is_symlink():
            args += ["--symlink", os.readlink(p), f"/{name}"]
        elif p.is_dir():
            args += ["--ro-bind", str(p), f"/{name}"]
    # Shared libraries (e.g. numpy's BLAS: libblas.so.3 -> /etc/alternatives/...) resolve
    # through the first two; Debian's matplotlib keeps its only matplotlibrc in /etc. No secrets
    # in any. /etc itself is made 0755 first: bwrap would create it 0700, and a sample (its own
    # uid) could then not follow those links (numpy's BLAS "not found" when a sample imports
    # pandas or scipy).
    args += ["--perms", "0755", "--dir", "/etc"]
    for path in ("/etc/alternatives", "/etc/ld.so.cache", "/etc/matplotlibrc"):
        args += ["--ro-bind-try", path, path]
    return args


class Cgroup:
    """A memory+pids cgroup for one worker (v1 or v2); does nothing where it cannot be made."""

    def __init__(self, config, tag: str):
        self.dirs: list[Path] = []
        if not config.cgroup or os.geteuid() != 0:
            return
        memory = (config.memory_mb * 2 + 256) << 20
        pids = config.max_procs * 2 + 32
        root = Path("/sys/fs/cgroup")
        try:
            if (root / "cgroup.controllers").exists():  # v2
                d = root / CGROUP_NAME / tag
                d.mkdir(parents=True, exist_ok=True)
                (d / "memory.max").write_text(str(memory))
                (d / "pids.max").write_text(str(pids))
                self.dirs.append(d)
            else:  # v1
                for ctl, knob, value in (("memory", "memory.limit_in_bytes", memory),
                                         ("pids", "pids.max", pids)):
                    base = root / ctl
                    if not base.is_dir():
                        continue
                    d = base / CGROUP_NAME / tag
                    d.mkdir(parents=True, exist_ok=True)
                    (d / knob).write_text(str(value))
                    self.dirs.append(d)
        except OSError:
            self.remove()
            self.dirs = []

    def wrap(self, argv: list[str]) -> list[str]:
        """argv run from a shell that first moves itself into the cgroup(s)."""
        if not self.dirs:
            return argv
        moves = "; ".join(f"echo $$ > {d}/cgroup.procs" for d in self.dirs)
        return ["/bin/sh", "-c", f'{moves}; exec "$@"', "sandbox-worker", *argv]

    def remove(self, wait_s: float = 3.0) -> None:
        """Remove the cgroup(s); the sandbox's last processes may take a moment to go."""
        deadline = time.monotonic() + wait_s
        for d in self.dirs:
            while True:
                try:
                    d.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        break
                    time.sleep(0.02)


class BwrapBackend(Backend):
    name = "bwrap"

    def check(self, config) -> None:
        if shutil.which("bwrap") is None:
            raise SandboxUnavailable(
                "backend 'bwrap': bubblewrap is not installed; run `make sysdeps` as root or "
                "`sudo apt-get install bubblewrap`, or choose backend='docker'"
            )

    def command(self, config) -> list[str]:
        self.check(config)
        return [
            shutil.which("bwrap"),
            "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts",
            "--unshare-cgroup-try",
            # No --die-with-parent: it ties the sandbox to the *thread* that started it (workers
            # are started and restarted from short-lived threads). The server exits when its
            # stdin closes, i.e. when the host process goes away.
            "--new-session",
            *_binds(),
            "--perms", "1777", "--size", str(config.tmp_mb << 20), "--tmpfs", "/tmp",
            "--dev", "/dev", "--proc", "/proc",
            "--chdir", "/",
            "--clearenv", "--setenv", "PATH", "/usr/bin:/bin", "--setenv", "LANG", "C.UTF-8",
            *self.python_argv(config.python),
        ]

    def launch(self, config, tag: str) -> Launch:
        argv = self.command(config)
        cgroup = Cgroup(config, tag)
        return Launch(cgroup.wrap(argv), cleanup=cgroup.remove)
