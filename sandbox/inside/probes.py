"""Probe jobs: one program on the checks an execution-based ranker uses; no tests, no judge.

Role: the runners of job kinds `probe` (`run_probe_job`) and `probe_stdin`
(`run_stdin_probe_job`). A probe job runs one program on the checks an execution-based ranker
uses (`pipeline.benchmarks.probes`: the prompt's examples, model-written asserts); there are
no hidden tests in it and no judge. S loads the program once and runs the probes in order in
its own (sandboxed) process, reporting one small message per probe; the server watches each
probe with its own CPU / blocked / wall limit. Outcomes: "v:<canonical value>" (the value as
`encode` reads it through builtin slots, as canonical JSON; over PROBE_VALUE_MAX characters
"v:sha256:<hex>"), "opaque" (a value of a non-builtin type), "raise:<builtin exception
name>", "pass" / "fail" (assert probes), "timeout" (S is killed; a fresh S loads the program
and goes on with the next probe), "crash" (S died: that probe and every later one). The
value and the match with the shown output are computed inside S, so a lying sample can only
change its own probe outcomes (its rank, never its verdict, which the execute stage's judge
gives); the server only parses S's bounded JSON messages and keeps strings of a fixed shape.
"""

import json
import os
import re
import time

from .confine import CFG, fork_sample, kill_group, reap, wait_cpu
from .jobs import run_one_case
from .judge import apps_equal_stdin
from .sample import load_sample
from .values import EXC_NAMES, Uncrossable, encode, exc_index
from .watch import Watch, limits_of, task_times
from .wire import HEADER, write_msg

PROBE_VALUE_MAX = 120     # longer canonical values cross as their sha256
PROBE_MSG_MAX = 4096      # largest message S may send in a probe job
_OUTCOME = re.compile(r"v:.{0,%d}|raise:[A-Za-z_]{1,40}|pass|fail|opaque" % PROBE_VALUE_MAX,
                      re.S)


def _canon(x):
    """Order-free parts of an encoded value (sets, dicts, Counters) in a fixed order."""
    if isinstance(x, list):
        return [_canon(i) for i in x]
    if isinstance(x, dict):
        tag, v = x.get("~"), x.get("v")
        out = {k: _canon(i) for k, i in x.items()}
        if tag in ("s", "f", "d", "C", "D") and isinstance(v, list):
            out["v"] = sorted(out["v"], key=lambda i: json.dumps(i, sort_keys=True))
        return out
    return x


def _probe_value(v):
    import hashlib

    try:
        text = json.dumps(_canon(encode(v)), sort_keys=True, separators=(",", ":"))
    except (Uncrossable, RecursionError, ValueError, TypeError, OverflowError):
        return "opaque"
    if len(text) > PROBE_VALUE_MAX:
        return "v:sha256:" + hashlib.sha256(text.encode()).hexdigest()
    return "v:" + text


def _raised(exc):
    i = exc_index(exc)
    return "raise:" + (EXC_NAMES[i - 1] if i else "Exception")


def _serve_probes(job, start, out_w):
    """S for a probe job: load the program, then run probes start.. in order."""
    try:
        g = load_sample(job)
    except BaseException as exc:  # noqa: BLE001
        write_msg(out_w, {"load": _raised(exc)})
        os._exit(0)
    write_msg(out_w, {"loaded": True})
    probes = job["probes"]
    for i in range(start, len(probes)):
        p = probes[i]
        expected, match = p.get("expected"), None
        try:
            if p["kind"] == "assert":
                try:
                    exec(compile(p["code"], f"<probe {i}>", "exec"), g)
                    out, match = "pass", True
                except AssertionError:
                    out, match = "fail", False
            else:
                value = eval(compile(p["code"], f"<probe {i}>", "eval"), g)
                out = _probe_value(value)
                if expected is not None:  # a literal from the prompt (host-given)
                    try:
                        match = bool(value == eval(expected, {"__builtins__": {}}))
                    except BaseException:  # noqa: BLE001
                        match = False
        except BaseException as exc:  # noqa: BLE001
            out = _raised(exc)
            match = False if (expected is not None or p["kind"] == "assert") else None
        write_msg(out_w, {"o": out, "m": match})
    os._exit(0)


class _Frames:
    """S's messages on one pipe, each at most PROBE_MSG_MAX bytes, read under a Watch."""

    def __init__(self, fd):
        self.fd, self.buf = fd, b""

    def next(self, watch):
        """The next message (a dict), "eof", "bad" (malformed or too long) or the limit's
        reason (a str from `Watch.wait`, starting with "time")."""
        while True:
            if len(self.buf) >= 4:
                (n,) = HEADER.unpack(self.buf[:4])
                if n > PROBE_MSG_MAX:
                    return "bad"
                if len(self.buf) >= 4 + n:
                    body, self.buf = self.buf[4:4 + n], self.buf[4 + n:]
                    try:
                        msg = json.loads(body)
                    except ValueError:
                        return "bad"
                    return msg if isinstance(msg, dict) else "bad"
            r = watch.wait([self.fd])
            if isinstance(r, str):
                return r
            chunk = os.read(self.fd, 65536)
            if not chunk:
                return "eof"
            self.buf += chunk


def _probe_outcome(msg):
    """(outcome, match) from S's message, or None when it is not one of the fixed shapes."""
    o, m = msg.get("o"), msg.get("m")
    if type(o) is not str or not _OUTCOME.fullmatch(o) or not (m is None or type(m) is bool):
        return None
    return o, m


def run_probe_job(job, tests_fd):
    """Run a probe job (see the module docstring); returns outcomes and matches per probe."""
    uid = CFG["uid"]
    t0 = time.monotonic()
    probes = job["probes"]
    n = len(probes)
    per = float(job["probe_timeout_s"])
    per_wall = float(job.get("probe_wall_s") or per)
    per_blocked = float(job.get("probe_blocked_s") or 0)
    cpu_s, wall_s, blocked_s = limits_of(job)
    outcomes, matches = [], []
    cpu_used, left = 0.0, 0
    while len(outcomes) < n:
        start = len(outcomes)
        out_r, out_w = os.pipe()
        pid = fork_sample([out_w], cpu_s + per * (n - start), _serve_probes, job, start, out_w)
        os.close(out_w)
        frames = _Frames(out_r)
        msg = frames.next(Watch(wall_s, pid, cpu_s, blocked_s, [pid]))
        rest = None  # what every probe not yet run gets, when this S ends them all
        if isinstance(msg, dict) and type(msg.get("load")) is str and \
                _OUTCOME.fullmatch(msg["load"]) and msg["load"].startswith("raise:"):
            rest = msg["load"]
        elif isinstance(msg, str):
            rest = "timeout" if msg.startswith("time") else "crash"
        elif msg.get("loaded") is not True:
            rest = "crash"
        timed_out = False
        while rest is None and len(outcomes) < n:
            # probe i starts as soon as S has sent the message before it (the load's or
            # probe i-1's outcome): one message, one wake-up of this server, per probe
            i = len(outcomes)
            cpu0 = task_times(pid)[0]
            msg = frames.next(Watch(per_wall, pid, cpu0 + per, per_blocked, [pid], cpu0))
            if isinstance(msg, str) and msg.startswith("time"):
                outcomes.append("timeout")
                matches.append(False if probes[i].get("expected") is not None
                               or probes[i]["kind"] == "assert" else None)
                timed_out = True
                break
            got = _probe_outcome(msg) if isinstance(msg, dict) else None
            if got is None:
                rest = "crash"
                break
            outcomes.append(got[0])
            matches.append(got[1])
        os.close(out_r)
        kill_group(pid)
        _, cpu = wait_cpu(pid)
        cpu_used += cpu
        left += reap(uid)
        if rest is not None:
            for p in probes[len(outcomes):]:
                outcomes.append(rest)
                matches.append(False if (p.get("expected") is not None
                                         or p["kind"] == "assert") else None)
        elif not timed_out:
            break
    detail = f"sandbox: {left} process(es) survived cleanup" if left else ""
    return {"status": "probed", "passed": 0, "total": n, "detail": detail,
            "outcomes": outcomes, "matches": matches,
            "exec_ms": (time.monotonic() - t0) * 1000, "cpu_s": cpu_used}


def _stdout_outcome(text):
    """A stdin program's output as an outcome: lines stripped, blank lines dropped (APPS
    compares whitespace-insensitively), as a JSON string; long ones as their sha256."""
    import hashlib

    lines = [line.strip() for line in text.splitlines()]
    value = json.dumps("\n".join(line for line in lines if line))
    if len(value) > PROBE_VALUE_MAX:
        return "v:sha256:" + hashlib.sha256(value.encode()).hexdigest()
    return "v:" + value


def run_stdin_probe_job(job, tests_fd):
    """Run a stdin program on each probe input in a fresh S (`run_one_case`, the execute
    stage's runner); the match with the shown output is the execute stage's comparison.
    Outcomes: "v:<output>", "timeout", "raise:Exception" (a non-zero exit or an output over
    the limit), "raise:SyntaxError" (the program does not load: this and every later probe)."""
    t0 = time.monotonic()
    probes = job["probes"]
    run = {"kind": "stdin", "program": job["program"], "inputs": [p["code"] for p in probes],
           "test_timeout_s": job["probe_timeout_s"], "test_wall_s": job.get("probe_wall_s"),
           "test_blocked_s": job.get("probe_blocked_s")}
    outcomes, matches = [], []
    for i, p in enumerate(probes):
        state, payload = run_one_case(run, i)
        shown = p.get("expected")
        if state == "ok":
            outcomes.append(_stdout_outcome(payload))
            matches.append(None if shown is None else bool(apps_equal_stdin(payload, shown)))
            continue
        if state == "load_error":
            for q in probes[i:]:
                outcomes.append("raise:SyntaxError")
                matches.append(None if q.get("expected") is None else False)
            break
        outcomes.append("timeout" if state == "timeout" else "raise:Exception")
        matches.append(None if shown is None else False)
    return {"status": "probed", "passed": 0, "total": len(probes), "detail": "",
            "outcomes": outcomes, "matches": matches,
            "exec_ms": (time.monotonic() - t0) * 1000}
