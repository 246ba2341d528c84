"""Limits of a running sample, and the verdict from the judge's report lines.

Role: `Watch` waits on a job's pipes while it checks three limits: CPU seconds of the sample
process (RLIMIT_CPU is the backstop), *blocked* seconds (neither S nor J on a CPU or waiting
for one, from /proc/PID/task/*/schedstat: `task_times`) and a wall-clock backstop. `collect`
reads J's report lines under a `Watch`; `verdict` turns them into the job's status.
"""

import os
import select
import signal
import time

from .confine import describe

TICK_S = 0.05  # how often a running job's CPU and blocked time are looked at
CPU_SLACK_S = 0.002  # past the earliest moment the CPU limit could be reached


def task_times(pid):
    """Seconds on a CPU and seconds waiting for one, over every thread of `pid`."""
    run = wait = 0
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return 0.0, 0.0
    for t in tasks:
        try:
            with open(f"/proc/{pid}/task/{t}/schedstat", "rb") as f:
                fields = f.read().split()
            run += int(fields[0])
            wait += int(fields[1])
        except (OSError, ValueError, IndexError):
            continue
    return run / 1e9, wait / 1e9


class Watch:
    """The limits of one running sample: wall-clock backstop, CPU seconds of the sample
    process, and *blocked* seconds: wall time in which neither the sample nor the judge was
    on a CPU or waiting for one (sleeping, waiting on a pipe, a lock, input). CPU-bound work
    on a loaded machine waits for a CPU, which is not blocked time."""

    def __init__(self, wall_s, cpu_pid, cpu_s, blocked_s, pids, cpu_now=0.0):
        self.t0 = time.monotonic()
        self.deadline = self.t0 + wall_s
        self.cpu_pid, self.cpu_s, self.blocked_s = cpu_pid, cpu_s, blocked_s
        self.pids = list(pids)
        #: CPU seconds of cpu_pid when last looked at (`cpu_now`: the caller just did)
        self.cpu_seen = cpu_now

    def wait(self, fds):
        """The readable fds of `fds`, or the reason (a str) why a limit ended the wait.

        It looks at the CPU time every TICK_S, and also just after the CPU limit could first
        be reached (one process gains at most one CPU second per second of wall clock), so
        that a short limit (a probe's 0.1 s) is kept to a few milliseconds, not a tick."""
        while True:
            left = self.deadline - time.monotonic()
            if left <= 0:
                return f"time limit exceeded (wall clock, {self.deadline - self.t0:g} s)"
            step = min(left, TICK_S)
            if self.cpu_s:
                step = min(step, max(self.cpu_s - self.cpu_seen, 0.0) + CPU_SLACK_S)
            r, _, _ = select.select(fds, [], [], step)
            if r:
                return r
            busy, cpu = 0.0, 0.0
            for pid in self.pids:
                run, queued = task_times(pid)
                busy += run + queued
                if pid == self.cpu_pid:
                    cpu = run
            self.cpu_seen = cpu
            if self.cpu_s and cpu > self.cpu_s:
                return f"time limit exceeded ({self.cpu_s:g} CPU seconds)"
            blocked = time.monotonic() - self.t0 - busy
            if self.blocked_s and blocked > self.blocked_s:
                return (f"time limit exceeded (blocked for {self.blocked_s:g} s: "
                        "sleeping or waiting)")


def collect(result_r, watch):
    """Read J's report lines until D, EOF or a limit. Returns (lines, done, timed_out), with
    timed_out False or the reason a limit gave."""
    buf = b""
    marks = []
    done = timed_out = False
    while True:
        r = watch.wait([result_r])
        if isinstance(r, str):
            timed_out = r
            break
        chunk = os.read(result_r, 65536)
        if not chunk:
            break
        buf += chunk
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            text = line.decode(errors="replace")
            if text == "D":
                done = True
            elif text:
                marks.append(text)
        if done:
            break
    return marks, done, timed_out


def verdict(marks, done, timed_out, s_status):
    """Status from J's report lines: R<n> (tests read), P, F<why> (a test failed),
    G<why> (the sample went away mid-tests), U<why> (an answer that cannot be judged outside
    the sample), X<why> (the judge itself failed)."""
    started = [m for m in marks if m[:1] == "R"]
    errors = [m[1:] for m in marks if m[:1] == "X"]
    total = int(started[0][1:] or 0) if started else 0
    passed = sum(1 for m in marks if m == "P")
    fails = [m[1:] for m in marks if m[:1] == "F"]
    gone = [m[1:] for m in marks if m[:1] == "G"]
    unjudged = [m[1:] for m in marks if m[:1] == "U"]
    if errors or not started:
        why = errors[0] if errors else "the judge did not start"
        return {"status": "error", "passed": 0, "total": total, "detail": "sandbox: " + why}
    if done and not fails and not gone and passed == total and total > 0:
        return {"status": "pass", "passed": passed, "total": total, "detail": ""}
    if fails:
        return {"status": "fail", "passed": passed, "total": total, "detail": fails[0]}
    cpu_out = (s_status is not None and os.WIFSIGNALED(s_status)
               and os.WTERMSIG(s_status) == signal.SIGXCPU)
    if timed_out or cpu_out:
        return {"status": "timeout", "passed": passed, "total": total,
                "detail": timed_out if isinstance(timed_out, str) else "time limit exceeded"}
    if unjudged:  # no test failed, but some answer could only be judged inside the sample
        return {"status": "unjudgeable", "passed": passed, "total": total, "detail": unjudged[0]}
    if gone:
        why = f"{gone[0]} ({describe(s_status)})" if s_status is not None else gone[0]
        return {"status": "fail", "passed": passed, "total": total, "detail": why}
    return {"status": "fail", "passed": passed, "total": total,
            "detail": "the judge stopped before the tests finished"}


def limits_of(job):
    cpu_s = float(job["timeout_s"])  # CPU seconds of the sample process
    wall_s = float(job.get("wall_s") or cpu_s)  # wall-clock backstop
    blocked_s = float(job.get("blocked_s") or 0)  # blocked (sleeping, waiting) seconds
    return cpu_s, wall_s, blocked_s


def out_of_cpu(cpu_used, cpu_s):
    """It ran out of CPU time (also when it ignored SIGXCPU until the hard limit)."""
    return cpu_used >= min(cpu_s, max(1, int(cpu_s + 0.999))) - 0.01
