"""S1, the sample's own run: program and tests in one process, as the reference harnesses do.

Role: the first step of a HumanEval/MBPP job (unless `own_process_first` is off). S1 runs
under the sample's uid, rlimits and the `seccomp` filter, and reports five small numbers
(`CLAIM`). Its `fail` is final; a claimed `pass` only sends the sample on to the judge (a
fresh S and J, `jobs.run_calls_job`), after every process of the uid is killed and its files
removed, so that nothing S1 saw of the tests reaches them.
"""

import os
import signal
import struct
import time

from .confine import (CFG, describe, fork_sample, kill_group, no_int_digit_limit, reap,
                      wait_cpu)
from .seccomp import deny_kernel_stores
from .values import exc_index, exc_name
from .watch import Watch, limits_of, out_of_cpu
from .wire import read_msg

CLAIM = struct.Struct(">BBBBB")  # code, tests passed, tests total, first failing test, exception
_PASS, _FAIL, _LOAD_ERROR, _NO_FILTER = 1, 2, 3, 4
_CLAIM_BUF = bytearray(CLAIM.size)
#: [CPU seconds, passed, total, exec ms] of the last claimed pass's own run (program and
#: tests); set and cleared in place (`jobs.run_calls_job` reads it).
OWN_CPU = []


def run_program_and_tests(job, claim_w):
    """Body of S1: program + tests in one process, as the reference harness runs them."""

    def claim(code, passed=0, total=0, first=0, exc=0):
        os.write(claim_w, CLAIM.pack(code, min(passed, 255), min(total, 255), min(first, 255),
                                     min(exc, 255)))
        os._exit(0)

    try:
        deny_kernel_stores()
    except BaseException:  # noqa: BLE001
        claim(_NO_FILTER)
    os.lseek(0, 0, os.SEEK_SET)
    tests = read_msg(0)
    no_int_digit_limit()
    if job["kind"] == "function":
        program = (job["program"] + "\n" + tests["test"] + "\n"
                   + f"check({tests['entry_point']})\n")
        try:
            exec(compile(program, "<sample>", "exec"), {})
        except BaseException as exc:  # noqa: BLE001
            claim(_FAIL, 0, 1, 0, exc_index(exc))
        claim(_PASS, 1, 1)
    asserts = tests["asserts"]
    g = {"__name__": "__main__"}
    try:
        exec(compile(job["program"], "<sample>", "exec"), g)
    except BaseException as exc:  # noqa: BLE001
        claim(_LOAD_ERROR, 0, len(asserts), 0, exc_index(exc))
    passed, first, first_exc = 0, None, 0
    for i, stmt in enumerate(asserts):
        try:
            exec(compile(stmt, f"<test {i}>", "exec"), g)
            passed += 1
        except BaseException as exc:  # noqa: BLE001
            if first is None:
                first, first_exc = i, exc_index(exc)
    if first is None:
        claim(_PASS, passed, len(asserts))
    claim(_FAIL, passed, len(asserts), first, first_exc)


def run_own_process_first(job, tests_fd):
    """S1: the sample runs its own tests in its own process, as the reference harnesses do
    (program + tests + check in one namespace). Its `fail` is then the reference verdict,
    with no judge; only a claimed `pass` returns None, and goes on to the judge (a fresh S and
    J, `run_calls_job`): S1 saw the tests, so its word is only taken against itself.

    What S1 knows stays out of everything later: it runs under a seccomp filter that refuses
    the kernel stores that outlive a process (SysV IPC, POSIX message queues, keyrings), all
    its processes are killed and its files removed before the judge's S starts, and its claim
    is five small numbers read into a fixed buffer (no text of S1's reaches this process's
    memory, from which later samples are forked)."""
    uid = CFG["uid"]
    cpu_s, wall_s, blocked_s = limits_of(job)
    claim_r, claim_w = os.pipe()
    pid = fork_sample([claim_w], cpu_s, run_program_and_tests, job, claim_w, stdin_fd=tests_fd)
    os.close(claim_w)
    watch = Watch(wall_s, pid, cpu_s, blocked_s, [pid])
    view = memoryview(_CLAIM_BUF)
    got, limit = 0, False
    while got < CLAIM.size:
        r = watch.wait([claim_r])
        if isinstance(r, str):
            limit = r
            break
        n = os.readv(claim_r, [view[got:]])
        if not n:
            break
        got += n
    code, passed, total, first, exc = CLAIM.unpack_from(_CLAIM_BUF) if got == CLAIM.size \
        else (0, 0, 0, 0, 0)
    view[:] = bytes(CLAIM.size)
    kill_group(pid)
    os.close(claim_r)
    status, cpu = wait_cpu(pid)
    left = reap(uid)
    if not limit and (out_of_cpu(cpu, cpu_s) or (os.WIFSIGNALED(status)
                                                 and os.WTERMSIG(status) == signal.SIGXCPU)):
        limit = f"time limit exceeded ({cpu_s:g} CPU seconds)"
    if code == _NO_FILTER:
        return None  # no seccomp here: the judge decides every sample
    out = None
    if limit:
        out = {"status": "timeout", "passed": 0, "total": total, "detail": limit}
    elif code == _PASS and not left:
        OWN_CPU[:] = [cpu, passed, total, (time.monotonic() - watch.t0) * 1000]
        return None
    elif code == _PASS:
        out = {"status": "error", "passed": 0, "total": total,
               "detail": "sandbox: processes of the sample survived cleanup; not judged"}
    elif code == _FAIL:
        out = {"status": "fail", "passed": min(passed, total), "total": total,
               "detail": f"{exc_name(exc)} (test {first + 1})"}
    elif code == _LOAD_ERROR:
        out = {"status": "fail", "passed": 0, "total": total,
               "detail": f"{exc_name(exc)} while loading the program"}
    else:
        out = {"status": "fail", "passed": 0, "total": total,
               "detail": f"the sample stopped before its tests finished ({describe(status)})"}
    out["exec_ms"] = (time.monotonic() - watch.t0) * 1000
    out["cpu_s"] = cpu
    if left:
        out["detail"] += f" [sandbox: {left} process(es) survived cleanup]"
    return out
