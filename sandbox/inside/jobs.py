"""The runners of the judged job kinds: HumanEval/MBPP calls jobs and APPS jobs.

Role: `loop` dispatches each job to one of these by its kind. `run_calls_job` runs S1
(`own_run`), then, on a claimed pass, S (`sample.serve_calls`) and J (`judge.fork_judge`)
side by side under one `Watch`; `run_apps_job` runs S once per test case (`run_one_case`, also
used by the stdin probes) and then J on what they printed or returned. Each runner kills and
reaps every process of both uids before it answers.
"""

import json
import os
import select
import signal
import time

from . import own_run
from .confine import CFG, describe, fork_sample, kill_group, reap, wait_cpu, wait_exit
from .judge import fork_judge
from .sample import run_case, serve_calls
from .watch import Watch, collect, limits_of, out_of_cpu, verdict
from .wire import HEADER

MAX_STDOUT = 16 << 20       # APPS stdout cap per test


def run_calls_job(job, tests_fd):
    """A HumanEval (`function`) or MBPP (`assert`) job: S1 first, then S and J."""
    uid = CFG["uid"]
    t0 = time.monotonic()
    own_run.OWN_CPU[:] = []
    if CFG.get("own_process_first", True):
        out = own_run.run_own_process_first(job, tests_fd)
        if out is not None:
            return out
        if job.get("reference") and own_run.OWN_CPU:
            # The host's own reference solution, sent to calibrate the time limit: trusted
            # code, so its own run's pass is the verdict and no judge is needed.
            cpu, passed, total, exec_ms = own_run.OWN_CPU
            return {"status": "pass", "passed": passed, "total": total, "detail": "",
                    "exec_ms": exec_ms, "cpu_s": cpu}
    cpu_s, wall_s, blocked_s = limits_of(job)
    req_r, req_w = os.pipe()
    resp_r, resp_w = os.pipe()
    s_pid = fork_sample([req_r, resp_w], cpu_s, serve_calls, job, req_r, resp_w)
    os.close(req_r)
    os.close(resp_w)
    j_pid, result_r = fork_judge(job, (req_w, resp_r), None, uid + 1, wall_s, tests_fd,
                                 (req_w, resp_r))
    os.close(req_w)
    os.close(resp_r)
    watch = Watch(wall_s, s_pid, cpu_s, blocked_s, [s_pid, j_pid])
    marks, done, timed_out = collect(result_r, watch)
    kill_group(s_pid)
    if not any(m[:1] == "R" for m in marks):
        # J was starved and has not yet read the tests: with S gone it will finish at once.
        more, done, _ = collect(result_r, Watch(30, j_pid, 0, 0, [j_pid]))
        marks += more
    os.close(result_r)
    kill_group(j_pid)
    s_status, s_cpu = wait_cpu(s_pid)
    wait_exit(j_pid)
    left = reap(uid) + reap(uid + 1)
    if not timed_out and out_of_cpu(s_cpu, cpu_s):
        timed_out = f"time limit exceeded ({cpu_s:g} CPU seconds)"
    out = verdict(marks, done, timed_out, s_status)
    out["exec_ms"] = (time.monotonic() - t0) * 1000
    # CPU of the program with its tests where its own run had them, else of the sample side
    out["cpu_s"] = own_run.OWN_CPU[0] if own_run.OWN_CPU else s_cpu
    if left:
        out["detail"] = (out["detail"] + f" [sandbox: {left} process(es) survived cleanup]").strip()
    return out


def run_one_case(job, index):
    """Fork S for one APPS test case; returns (state, payload) with state ok|error|timeout."""
    uid = CFG["uid"]
    limit = float(job["test_timeout_s"])  # CPU seconds per test case
    wall = float(job.get("test_wall_s") or limit)
    out_r, out_w = os.pipe()
    in_fd = None
    stdin = job["kind"] == "stdin"  # it prints on out_w as its stdout; call-based write there
    if stdin:
        data = job["inputs"][index]
        if isinstance(data, list):
            data = "\n".join(data)
        in_fd = os.memfd_create("stdin")
        os.write(in_fd, data.encode())
        os.lseek(in_fd, 0, os.SEEK_SET)
    pid = fork_sample([] if stdin else [out_w], limit, run_case, job, index, out_w,
                      stdin_fd=in_fd, stdout_fd=out_w if stdin else None)
    os.close(out_w)
    if in_fd is not None:
        os.close(in_fd)
    pidfd = os.pidfd_open(pid)
    chunks, size = [], 0
    state = None
    exited = False
    watch = Watch(wall, pid, limit, float(job.get("test_blocked_s") or 0), [pid])
    why = "time limit exceeded"
    while True:
        if exited:
            r, _, _ = select.select([out_r], [], [], 0.05)
        else:
            r = watch.wait([out_r, pidfd])
            if isinstance(r, str):
                state, why = "timeout", r
                break
        if out_r in r:
            chunk = os.read(out_r, 1 << 16)
            if chunk:
                chunks.append(chunk)
                size += len(chunk)
                if size > MAX_STDOUT:
                    state = "error"
                    chunks = [b"output limit exceeded"]
                    break
                continue
            break  # EOF: every writer is gone
        if pidfd in r:
            exited = True
            continue
        if exited:
            break  # S is gone; an orphan may hold the pipe: stop reading
    os.close(pidfd)
    os.close(out_r)
    kill_group(pid)
    status, cpu = wait_cpu(pid)
    reap(uid)
    if out_of_cpu(cpu, limit):
        state = "timeout"
    if state == "timeout":
        return ("timeout", why)
    if state == "error":
        return ("error", "output limit exceeded")
    if os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGXCPU:
        return ("timeout", "time limit exceeded")
    data = b"".join(chunks)
    if stdin:
        if os.WIFEXITED(status) and os.WEXITSTATUS(status) == 3:
            return ("load_error", "the program could not be loaded")
        if not os.WIFEXITED(status) or os.WEXITSTATUS(status) != 0:
            return ("error", f"runtime error: the program {describe(status)}")
        return ("ok", data.decode("utf-8", errors="replace"))
    try:
        (n,) = HEADER.unpack(data[:4])
        msg = json.loads(data[4 : 4 + n])
    except Exception:  # noqa: BLE001
        return ("error", f"runtime error: the program {describe(status)} without an answer")
    if "load_error" in msg:
        return ("load_error", str(msg["load_error"]))
    if "u" in msg:
        return ("unjudgeable", str(msg["u"]))
    if "e" in msg:
        return ("error", str(msg["e"]))
    return ("ok", msg["v"])


def run_apps_job(job, tests_fd):
    """An APPS job (`stdin`, `call`): a fresh S per test case in order, then J on the outputs."""
    t0 = time.monotonic()
    n = len(job["inputs"])
    results = []
    timed_out = False
    for i in range(n):
        res = run_one_case(job, i)
        if res[0] == "load_error":
            results.append(("error", res[1]))
            results.extend([None] * (n - i - 1))
            break
        results.append(res)
        if res[0] == "timeout":
            timed_out = True
            results.extend([None] * (n - i - 1))
            break
    uid = CFG["uid"]
    judge_timeout = max(10.0, float(job["timeout_s"]))
    j_pid, result_r = fork_judge(job, None, results, uid + 1, judge_timeout, tests_fd)
    marks, done, _ = collect(result_r, Watch(judge_timeout, j_pid, 0, 0, [j_pid]))
    os.close(result_r)
    kill_group(j_pid)
    wait_exit(j_pid)
    reap(uid + 1)
    out = verdict(marks, done, False, None)
    if timed_out and out["status"] != "pass":
        out["status"] = "timeout"
        out["detail"] = f"time limit exceeded on test {len([r for r in results if r is not None])}"
    out["exec_ms"] = (time.monotonic() - t0) * 1000
    return out
