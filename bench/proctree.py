"""Process trees read from /proc: what a measuring tool sees of the processes a run started.

Role: shared by the tools that watch processes from outside, `bench/sandbox_throughput.py`
(the CPU time of the sandboxes' processes), `deploy/tools/soak.py` (the workers' memory, what
a run leaves behind) and the multi-node tests (`tests/pipeline/run/cluster.py`: the processes
of a Ray node). Linux only; a process that ends while it is read is left out.
"""

from __future__ import annotations

import os
from pathlib import Path


def stats() -> dict[int, list[str]]:
    """pid -> the fields of /proc/PID/stat after the command name (state, ppid, ...)."""
    out = {}
    for name in filter(str.isdigit, os.listdir("/proc")):
        try:
            out[int(name)] = Path(f"/proc/{name}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
    return out


def ppids() -> dict[int, int]:
    """pid -> parent pid, for every process."""
    return {pid: int(fields[1]) for pid, fields in stats().items()}


def descendants(pid: int, parents: dict[int, int] | None = None) -> list[int]:
    """Every live process under `pid` (children, their children, ...)."""
    parents = ppids() if parents is None else parents
    found, frontier = [], [pid]
    while frontier:
        parent = frontier.pop()
        kids = [p for p, pp in parents.items() if pp == parent]
        found += kids
        frontier += kids
    return found


def cmdline(pid: int) -> str:
    """The process's command line, arguments joined by spaces ("" once it has ended)."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(
            errors="replace").strip()
    except OSError:
        return ""


def cpu_seconds(roots: list[int]) -> float:
    """CPU seconds of the processes `roots` and all under them, each with the children it
    has waited for (utime, stime, cutime, cstime)."""
    table = stats()
    parents = {pid: int(fields[1]) for pid, fields in table.items()}
    pids = set(roots)
    for root in roots:
        pids.update(descendants(root, parents))
    ticks = sum(sum(int(x) for x in table[p][11:15]) for p in pids if p in table)
    return ticks / os.sysconf("SC_CLK_TCK")
