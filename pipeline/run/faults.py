"""Crash points for testing recovery: a process kills itself where a test asks it to.

- `BUDGET_REALLOC_CRASH_AT=<point>` makes `crash_point(<point>)` SIGKILL the driver's whole
  process group (driver and the local Ray it started), as a machine failure would.
- `BUDGET_REALLOC_ACTOR_CRASH=<stage>:<marker file>` makes the first actor call of that stage
  exit hard (once: the marker file records it), as a worker dying mid-shard would.
- `BUDGET_REALLOC_ACTOR_HANG=<stage>:<marker file>` makes the first actor call of that stage
  sleep forever (once), as a worker stuck in a driver or a dead filesystem mount would.
Unset, they do nothing.
"""

from __future__ import annotations

import os
import signal
import time

ENV = "BUDGET_REALLOC_CRASH_AT"
ACTOR_ENV = "BUDGET_REALLOC_ACTOR_CRASH"
HANG_ENV = "BUDGET_REALLOC_ACTOR_HANG"


def crash_point(name: str) -> None:
    if os.environ.get(ENV) == name:
        os.killpg(os.getpgid(0), signal.SIGKILL)


def actor_crash(stage: str) -> None:
    spec = os.environ.get(ACTOR_ENV, "")
    target, _, marker = spec.partition(":")
    if target == stage and marker and not os.path.exists(marker):
        with open(marker, "w") as f:
            f.write(f"{stage} actor {os.getpid()} exited here\n")
        os._exit(1)


def actor_hang(stage: str) -> None:
    spec = os.environ.get(HANG_ENV, "")
    target, _, marker = spec.partition(":")
    if target == stage and marker and not os.path.exists(marker):
        with open(marker, "w") as f:
            f.write(f"{stage} actor {os.getpid()} hung here\n")
        while True:
            time.sleep(3600)
