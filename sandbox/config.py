"""Settings of the sandbox stage: backend, parallel workers, time and resource limits.

Role in the pipeline: the `sandbox` section of a run's config; `sandbox.executor` reads it to
start fork-server workers (`sandbox.forkserver`) under the chosen backend (`sandbox.backends`).
The defaults work on a 2-core laptop or CI machine with bubblewrap installed.
"""

from __future__ import annotations

import os
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


def _default_workers() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


class SandboxConfig(BaseModel):
    """How untrusted completions are executed. All limits apply per sample process."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: a name in `sandbox.backends.REGISTRY` (bwrap, docker, or one registered at run time)
    backend: str = "bwrap"
    #: parallel fork-servers (each a bwrap sandbox or a docker container)
    workers: int = Field(default_factory=_default_workers, ge=1, le=32)
    #: CPU seconds per HumanEval/MBPP sample (RLIMIT_CPU: whole seconds, rounded up). CPU time,
    #: not wall time, so that verdicts do not depend on how loaded the machine is.
    timeout_s: float = Field(default=5.0, gt=0, le=600)
    #: CPU seconds per APPS test case (the APPS reference harness uses 4 s)
    apps_test_timeout_s: float = Field(default=4.0, gt=0, le=600)
    #: per-problem CPU limit calibrated from the problem's reference solution, as evalplus
    #: does: max(time_limit_floor_s, time_limit_factor x the CPU seconds the reference takes
    #: with its tests), never above timeout_s (the ceiling); measured once per problem and
    #: Executor. 0 (default): no calibration, every sample gets timeout_s. HumanEval and MBPP.
    time_limit_factor: float = Field(default=0.0, ge=0.0, le=1000.0)
    time_limit_floor_s: float = Field(default=1.0, gt=0, le=600)
    #: wall-clock backstop = factor x the CPU limit, for samples that sleep or block
    wall_timeout_factor: float = Field(default=10.0, ge=1.0, le=100.0)
    #: a sample (with its judge) that is *blocked* (neither on a CPU nor waiting for one:
    #: sleeping, waiting on a pipe, a lock, input) for factor x the CPU limit is ended as a
    #: timeout; 0 turns this off (then only the wall-clock backstop ends it)
    blocked_timeout_factor: float = Field(default=1.0, ge=0.0, le=100.0)
    #: run each sample's tests in its own process first, as the reference harnesses do, and
    #: send only the samples that pass there through the judge (their `fail` is the reference
    #: verdict); False: the judge decides every sample
    own_process_first: bool = True
    #: address-space limit of one sample process, MiB
    memory_mb: int = Field(default=2048, ge=64)
    #: processes (and threads) the sample's uid may have at once
    max_procs: int = Field(default=32, ge=1, le=4096)
    #: largest file a sample may write, MiB; the sandbox's /tmp holds at most `tmp_mb`
    file_mb: int = Field(default=16, ge=1)
    tmp_mb: int = Field(default=64, ge=1)
    #: memory+pids cgroup per worker (bwrap, cgroup v1 or v2, root only) as a backstop
    cgroup: bool = True
    #: docker image (built by deploy/sandbox/build_image.sh) and engine options
    docker_image: str = "budget-realloc-sandbox:v3"
    docker_cpus: float = Field(default=1.0, gt=0)
    #: python inside the sandbox (the distribution's python3; starts faster than a venv's)
    python: str = "/usr/bin/python3"
    #: first uid for sample processes; 0 picks a free-looking range from the process id.
    #: Worker i uses uid_base + 2i (sample) and uid_base + 2i + 1 (judge).
    uid_base: int = Field(default=0, ge=0)
    #: run identical programs of the same problem once and fan the verdict out
    dedup: bool = True
    #: run samples without any sandbox (no namespaces, no uid change). Only for debugging
    #: on a machine you do not care about.
    unsafe_no_sandbox: bool = False

    @field_validator("backend")
    @classmethod
    def _known_backend(cls, name: str) -> str:
        from sandbox import backends

        if name not in backends.REGISTRY or name == "unsafe":
            raise ValueError(
                f"unknown sandbox backend {name!r}; choose one of: "
                f"{', '.join(n for n in backends.REGISTRY if n != 'unsafe')} "
                "(unsafe_no_sandbox=True runs without one)")
        return name

    @model_validator(mode="after")
    def _check(self) -> "SandboxConfig":
        if self.tmp_mb < self.file_mb:
            raise ValueError(
                f"tmp_mb ({self.tmp_mb}) must be at least file_mb ({self.file_mb}); raise tmp_mb"
            )
        return self

    def uids(self, worker: int) -> tuple[int, int]:
        """(sample uid, judge uid) of worker number `worker`."""
        base = self.uid_base or 200_000 + (os.getpid() % 20_000) * 64
        return base + 2 * worker, base + 2 * worker + 1
