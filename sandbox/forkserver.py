"""The host side of one fork-server: start it in its sandbox, send jobs, read verdicts.

Role in the pipeline: `sandbox.executor` holds a few `ForkServer`s and calls
`ForkServer.run(job)` from one thread per fork-server. The backend (`sandbox.backends`) decides
how the process is isolated; the message framing is the server's own (`sandbox.inside.wire`). A job is what `sandbox.harness.build_job` made: message A
(program and limits, read by the server) and message B (the tests, read only by the judge
process inside the sandbox). A worker that stops answering, or dies, is restarted once and the
job retried; a job that fails twice gets status `error` (the sandbox could not judge it).
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass
from typing import Any, Callable

from sandbox import backends
from sandbox.config import SandboxConfig
from sandbox.inside.wire import HEADER, frame


#: bytes that fit in an empty pipe's buffer (64 KiB on Linux): a write this size cannot block
PIPE_SAFE = 60_000


def _wire(job: "Job") -> bytes:
    """A job as the server reads it: message A (the head) then message B (the tests)."""
    tests = json.dumps(job.tests, separators=(",", ":")).encode()
    head = dict(job.head)
    head["tests_len"] = len(tests)
    return frame(head) + HEADER.pack(len(tests)) + tests


class WorkerError(RuntimeError):
    """The fork-server died or stopped answering."""


@dataclass(frozen=True)
class Job:
    """One program to judge: `head` is read by the server, `tests` only by the judge."""

    head: dict
    tests: dict
    #: longest time the whole job may take (limits plus slack), for the host-side watchdog
    budget_s: float
    #: a scheduling hint, never a verdict: the program may take far longer than most (a
    #: `while` loop, a slow import: `harness.may_run_long`). Such jobs are taken first and
    #: nothing waits behind them in a worker's pipe (`ForkServer.run_all`).
    may_run_long: bool = False


class ForkServer:
    """One long-lived fork-server in its own sandbox (bwrap namespace set or container)."""

    def __init__(self, config: SandboxConfig, index: int):
        self.config = config
        self.index = index
        self.uid, self.judge_uid = config.uids(index)
        self.proc: subprocess.Popen | None = None
        self.info: dict = {}
        self._launch: backends.Launch | None = None

    # -- lifecycle
    def start(self, timeout_s: float = 120.0) -> "ForkServer":
        tag = f"w{os.getpid()}-{self.index}-{uuid.uuid4().hex[:6]}"
        self._launch = launch = backends.for_config(self.config).launch(self.config, tag)
        self.proc = subprocess.Popen(
            launch.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            bufsize=0, start_new_session=True,
        )
        server_cfg = {
            "uid": self.uid,
            "memory_mb": self.config.memory_mb,
            "max_procs": self.config.max_procs,
            "fsize_mb": self.config.file_mb,
            "tmp": launch.tmp,
            "isolate": launch.isolate,
            "own_process_first": self.config.own_process_first,
        }
        try:
            self._send(backends.server_bundle() + frame(server_cfg))
            self.info = self._recv(time.monotonic() + timeout_s)
        except WorkerError as exc:
            err = self._stderr_tail()
            self.stop()
            raise WorkerError(
                f"sandbox worker ({self.config.backend}) did not start: {exc}"
                + (f"; its stderr: {err}" if err else "")
            ) from None
        if not self.info.get("ready"):
            self.stop()
            raise WorkerError(f"sandbox worker answered {self.info!r} instead of ready")
        if self.info.get("isolate") is not True and launch.isolate:
            self.stop()
            raise WorkerError(
                "sandbox worker is not root inside its sandbox, so it cannot give samples "
                "their own uid; run as root (or set unsafe_no_sandbox=True for debugging)"
            )
        return self

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None:
            for stream in (proc.stdin,):
                try:
                    stream.close()
                except OSError:
                    pass
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(proc.pid, 9)
                except (ProcessLookupError, PermissionError):
                    pass
                proc.wait(timeout=10)
            for stream in (proc.stdout, proc.stderr):
                try:
                    stream.close()
                except OSError:
                    pass
        launch, self._launch = self._launch, None
        if launch is not None:
            launch.cleanup()

    def restart(self) -> None:
        self.stop()
        self.start()

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    # -- jobs
    def run(self, job: Job) -> dict:
        """Run one job; restarts the worker and retries once if it dies. Never raises for
        sample behaviour: a job that cannot be judged comes back with status 'error'."""
        last = ""
        for _ in range(2):
            try:
                if not self.alive:
                    self.restart()
                return self._run_once(job)
            except WorkerError as exc:
                last = str(exc)
                try:
                    self.restart()
                except WorkerError as exc2:
                    last = str(exc2)
                    break
        return {"status": "error", "passed": 0, "total": 0,
                "detail": f"sandbox: {last}"[:300], "exec_ms": 0.0}

    def run_all(self, take: Callable[[], tuple[Any, Job] | None],
                give: Callable[[Any, dict], None]) -> None:
        """Run `take()`'s (token, job) pairs until it gives None, handing each answer to
        `give(token, result)` in order. The next job waits in the server's input pipe while
        the current one runs (where both fit in the pipe buffer, so no write can block), so
        the server never waits for the host between jobs; but none waits behind a job that
        may run long (`Job.may_run_long`): another worker takes it instead. If the worker
        dies, the jobs sent and not answered go through `run` one by one (restart, one retry
        each)."""
        sent: deque = deque()  # (token, job, bytes on the wire), answered in this order
        held = None  # taken, not sent yet: (token, job, wire bytes)
        started = time.monotonic()  # when the oldest job in `sent` began to run
        while True:
            if held is None and not (sent and sent[-1][1].may_run_long):
                nxt = take()
                held = None if nxt is None else (nxt[0], nxt[1], _wire(nxt[1]))
            if held is not None and len(held[2]) > PIPE_SAFE:  # too big to wait in the pipe
                self._answer_all(sent, give)
                give(held[0], self.run(held[1]))
                held = None
                continue
            if held is not None and len(sent) < 2 and \
                    sum(n for _, _, n in sent) + len(held[2]) <= PIPE_SAFE:
                try:
                    if not sent and not self.alive:
                        self.restart()
                    self._send(held[2])
                except WorkerError:
                    self._answer_all(sent, give, failed=True)
                    give(held[0], self.run(held[1]))
                    held = None
                    continue
                if not sent:
                    started = time.monotonic()
                sent.append((held[0], held[1], len(held[2])))
                held = None
                continue
            if not sent:
                return
            token, job, _ = sent[0]
            try:
                out = self._recv(started + job.budget_s + 10)
            except WorkerError:
                self._answer_all(sent, give, failed=True)
                continue
            sent.popleft()
            started = time.monotonic()
            give(token, out)

    def _answer_all(self, sent: deque, give: Callable[[Any, dict], None],
                    failed: bool = False) -> None:
        """Answer every job in `sent`: read the answers, or after a failure run each again."""
        while sent:
            token, job, _ = sent.popleft()
            if failed:
                give(token, self.run(job))
                continue
            try:
                give(token, self._recv(time.monotonic() + job.budget_s + 10))
            except WorkerError:
                give(token, self.run(job))
                failed = True

    def _run_once(self, job: Job) -> dict:
        data = _wire(job)
        if len(data) <= PIPE_SAFE:  # fits the pipe buffer: the write cannot block
            self._send(data)
            return self._recv(time.monotonic() + job.budget_s + 10)
        writer = threading.Thread(target=self._send_quiet, args=(data,), daemon=True)
        writer.start()
        out = self._recv(time.monotonic() + job.budget_s + 10)
        writer.join(timeout=5)
        return out

    def ping(self, timeout_s: float = 10.0) -> dict:
        """The server's state: `procs` (sample and judge processes alive between jobs: 0),
        `numpy` (loaded in the server itself: never, see the server's `Zygote`) and
        `zygotes` (those started, each with the modules it imported for the programs it ran)."""
        self._send(frame({"kind": "ping"}))
        return self._recv(time.monotonic() + timeout_s)

    # -- pipes
    def _send_quiet(self, data: bytes) -> None:
        try:
            self._send(data)
        except WorkerError:
            pass

    def _send(self, data: bytes) -> None:
        if self.proc is None or self.proc.stdin is None:
            raise WorkerError("worker is not running")
        try:
            self.proc.stdin.write(data)
        except (BrokenPipeError, OSError) as exc:
            raise WorkerError(f"worker closed its input ({exc})") from None

    def _read(self, n: int, deadline: float) -> bytes:
        assert self.proc is not None and self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        out = b""
        while len(out) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise WorkerError("worker did not answer in time")
            r, _, _ = select.select([fd], [], [], left)
            if not r:
                continue
            chunk = os.read(fd, n - len(out))
            if not chunk:
                raise WorkerError(f"worker exited ({self.proc.poll()})")
            out += chunk
        return out

    def _recv(self, deadline: float) -> dict:
        (n,) = HEADER.unpack(self._read(HEADER.size, deadline))
        return json.loads(self._read(n, deadline))

    def _stderr_tail(self) -> str:
        if self.proc is None or self.proc.stderr is None:
            return ""
        try:
            if self.proc.poll() is None:
                return ""
            return self.proc.stderr.read()[-500:].decode(errors="replace").strip()
        except OSError:
            return ""
