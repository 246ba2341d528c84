"""Crash points for testing recovery: the process kills itself where a test asks it to.

`BUDGET_REALLOC_CRASH_AT=<point>` makes `crash_point(<point>)` SIGKILL the whole process group
(driver and the local Ray it started), as a machine failure would. Unset, it does nothing.
"""

from __future__ import annotations

import os
import signal

ENV = "BUDGET_REALLOC_CRASH_AT"


def crash_point(name: str) -> None:
    if os.environ.get(ENV) == name:
        os.killpg(os.getpgid(0), signal.SIGKILL)
