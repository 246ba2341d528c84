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


def _first_time(env: str, stage: str, what: str) -> bool:
    """True once per marker file: when `env` is `<stage>:<marker>` and the marker is absent,
    write it (saying what the actor did) and return True."""
    target, _, marker = os.environ.get(env, "").partition(":")
    if target != stage or not marker or os.path.exists(marker):
        return False
    with open(marker, "w") as f:
        f.write(f"{stage} actor {os.getpid()} {what} here\n")
    return True


def actor_crash(stage: str) -> None:
    if _first_time(ACTOR_ENV, stage, "exited"):
        os._exit(1)


def actor_hang(stage: str) -> None:
    if _first_time(HANG_ENV, stage, "hung"):
        while True:
            time.sleep(3600)
