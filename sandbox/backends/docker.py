"""docker backend: one long-lived, locked-down container per worker.

--network none --read-only, a tmpfs /tmp, --memory/--pids-limit/--cpus, --cap-drop ALL plus the
three capabilities the server needs to drop samples to their own uid and kill them (SETUID,
SETGID, KILL), no-new-privileges, and --init to reap orphans. The image is built without a
registry by deploy/sandbox/build_image.sh.
"""

from __future__ import annotations

import shutil
import subprocess

from sandbox.backends.base import Backend, Launch, SandboxUnavailable


class DockerBackend(Backend):
    name = "docker"

    def _exe(self) -> str:
        exe = shutil.which("docker")
        if exe is None:
            raise SandboxUnavailable(
                "backend 'docker': the docker CLI is not installed (apt-get install docker.io)")
        return exe

    def check(self, config) -> None:
        """Raise SandboxUnavailable unless the engine answers and the image exists."""
        probe = subprocess.run([self._exe(), "image", "inspect", config.docker_image],
                               capture_output=True, text=True, timeout=60)
        if probe.returncode != 0:
            err = probe.stderr.strip().splitlines()[-1:] or [""]
            if "No such image" in probe.stderr or "No such object" in probe.stderr:
                raise SandboxUnavailable(
                    f"backend 'docker': image {config.docker_image!r} not found; build it with "
                    "deploy/sandbox/build_image.sh"
                )
            raise SandboxUnavailable(f"backend 'docker': the engine does not answer ({err[0]})")

    def command(self, config, name: str) -> list[str]:
        mem = config.memory_mb * 2 + 256
        return [
            self._exe(), "run", "--rm", "-i", "--init", "--name", name,
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
            *self.python_argv("python3"),
        ]

    def launch(self, config, tag: str) -> Launch:
        name = f"budget-realloc-sandbox-{tag}"

        def remove() -> None:  # a container that outlived its client
            if shutil.which("docker"):
                subprocess.run(["docker", "rm", "-f", name], capture_output=True, timeout=60)

        return Launch(self.command(config, name), cleanup=remove)
