"""Command lines that start one fork-server inside a sandbox: bwrap, docker, or (unsafe) none.

Role in the pipeline: `sandbox.worker` calls `command(config, index)` to get the argv of a
worker process and `cleanup` when the worker stops. Every backend runs
`python3 -I -S -c BOOT`, where BOOT reads the server's source (sandbox/server.py) from stdin,
so the same code runs everywhere and the docker image never goes stale.

* bwrap: new pid, net, ipc, uts namespaces (no network at all), a read-only view of /usr only
  plus /etc/alternatives and /etc/ld.so.cache for shared libraries (no other host files: not
  /work, not /home, not the rest of /etc), a private size-limited /tmp, a minimal /dev and
  /proc; optionally a per-worker memory+pids cgroup (v1 or v2) as a backstop.
* docker: one long-lived container per worker with --network none --read-only, a tmpfs /tmp,
  --memory/--pids-limit/--cpus, --cap-drop ALL plus the three capabilities the server needs
  to drop samples to their own uid and kill them (SETUID, SETGID, KILL), no-new-privileges,
  and --init to reap orphans.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
from pathlib import Path

from sandbox.config import SandboxConfig

#: Reads `<decimal length>\n<source>` from fd 0 with exact reads (never past the source).
BOOT = (
    "import os\n"
    "def r(n):\n"
    "    b = b''\n"
    "    while len(b) < n:\n"
    "        c = os.read(0, n - len(b))\n"
    "        if not c: raise SystemExit(2)\n"
    "        b += c\n"
    "    return b\n"
    "h = b''\n"
    "while not h.endswith(b'\\n'): h += r(1)\n"
    "src = r(int(h))\n"
    "g = {'__name__': '__main__', '__file__': 'sandbox-server'}\n"
    "del r, h\n"
    "exec(compile(src, 'sandbox-server', 'exec'), g)\n"
)

SERVER_SOURCE = Path(__file__).with_name("server.py")

CGROUP_NAME = "budget-realloc-sandbox"


class SandboxUnavailable(RuntimeError):
    """The chosen backend cannot run here; the message says what to install or change."""


def server_source() -> bytes:
    src = SERVER_SOURCE.read_bytes()
    return str(len(src)).encode() + b"\n" + src


def _bwrap_binds() -> list[str]:
    args = ["--ro-bind", "/usr", "/usr"]
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        p = Path("/") / name
        if p.is_symlink():
            args += ["--symlink", os.readlink(p), f"/{name}"]
        elif p.is_dir():
            args += ["--ro-bind", str(p), f"/{name}"]
    # Shared libraries (e.g. numpy's BLAS) resolve through these; no secrets in either.
    for path in ("/etc/alternatives", "/etc/ld.so.cache"):
        args += ["--ro-bind-try", path, path]
    return args


def bwrap_command(config: SandboxConfig) -> list[str]:
    exe = shutil.which("bwrap")
    if exe is None:
        raise SandboxUnavailable(
            "backend 'bwrap': bubblewrap is not installed; run `make sysdeps` as root or "
            "`sudo apt-get install bubblewrap`, or choose backend='docker'"
        )
    return [
        exe,
        "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts",
        "--unshare-cgroup-try",
        # No --die-with-parent: it ties the sandbox to the *thread* that started it (workers
        # are started and restarted from short-lived threads). The server exits when its
        # stdin closes, i.e. when the host process goes away.
        "--new-session",
        *_bwrap_binds(),
        "--perms", "1777", "--size", str(config.tmp_mb << 20), "--tmpfs", "/tmp",
        "--dev", "/dev", "--proc", "/proc",
        "--chdir", "/",
        "--clearenv", "--setenv", "PATH", "/usr/bin:/bin", "--setenv", "LANG", "C.UTF-8",
        config.python, "-I", "-S", "-c", BOOT,
    ]


def docker_command(config: SandboxConfig, name: str) -> list[str]:
    exe = shutil.which("docker")
    if exe is None:
        raise SandboxUnavailable(
            "backend 'docker': the docker CLI is not installed (apt-get install docker.io)"
        )
    mem = config.memory_mb * 2 + 256
    return [
        exe, "run", "--rm", "-i", "--init", "--name", name,
        "--network", "none", "--read-only",
        "--tmpfs", f"/tmp:rw,exec,nosuid,nodev,size={config.tmp_mb}m,mode=1777",
        "--tmpfs", "/dev/shm:rw,nosuid,nodev,noexec,size=1m,mode=1777",
        "--memory", f"{mem}m", "--memory-swap", f"{mem}m",
        "--pids-limit", str(config.max_procs * 2 + 32),
        "--cpus", str(config.docker_cpus),
        "--cap-drop", "ALL", "--cap-add", "SETUID", "--cap-add", "SETGID", "--cap-add", "KILL",
        "--security-opt", "no-new-privileges",
        "--ulimit", "core=0",
        "--log-driver", "none",
        config.docker_image,
        "python3", "-I", "-S", "-c", BOOT,
    ]


def check_docker(config: SandboxConfig) -> None:
    """Raise SandboxUnavailable unless the engine answers and the image exists."""
    exe = shutil.which("docker")
    if exe is None:
        raise SandboxUnavailable("backend 'docker': the docker CLI is not installed")
    probe = subprocess.run([exe, "image", "inspect", config.docker_image],
                           capture_output=True, text=True, timeout=60)
    if probe.returncode != 0:
        err = probe.stderr.strip().splitlines()[-1:] or [""]
        if "No such image" in probe.stderr or "No such object" in probe.stderr:
            raise SandboxUnavailable(
                f"backend 'docker': image {config.docker_image!r} not found; build it with "
                "deploy/sandbox/build_image.sh"
            )
        raise SandboxUnavailable(f"backend 'docker': the engine does not answer ({err[0]})")


def unsafe_command(config: SandboxConfig) -> list[str]:
    return [config.python, "-I", "-S", "-c", BOOT]


class Cgroup:
    """A memory+pids cgroup for one worker (v1 or v2); does nothing where it cannot be made."""

    def __init__(self, config: SandboxConfig, tag: str):
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


def command(config: SandboxConfig, index: int) -> tuple[list[str], dict]:
    """(argv, context) for worker `index`; context is passed back to `cleanup`."""
    tag = f"w{os.getpid()}-{index}-{uuid.uuid4().hex[:6]}"
    if config.unsafe_no_sandbox:
        return unsafe_command(config), {"tag": tag}
    if config.backend == "bwrap":
        cg = Cgroup(config, tag)
        return cg.wrap(bwrap_command(config)), {"tag": tag, "cgroup": cg}
    name = f"budget-realloc-sandbox-{tag}"
    return docker_command(config, name), {"tag": tag, "container": name}


def cleanup(context: dict) -> None:
    """Remove what `command` made (the cgroup; a docker container that outlived its client)."""
    cg = context.get("cgroup")
    if cg is not None:
        cg.remove()
    name = context.get("container")
    if name and shutil.which("docker"):
        subprocess.run(["docker", "rm", "-f", name], capture_output=True, timeout=60)
