"""The server's main loop: config, readiness, then one job at a time, dispatched by kind.

Role: BOOT (`sandbox.backends.base`) installs the bundle's importer and calls `main`. It reads
the config (the host's first message) into `confine.CFG`, preloads common stdlib modules,
prepares the `seccomp` call, freezes the heap and says ready; then for each job it reads
message A, copies message B (the tests) into a sealed memfd (`wire.take_tests`) and answers
with the runner `RUNNERS` names for the job's kind. Programs that mention numpy, pandas or
matplotlib go to one of `ZYGOTES`, forks of this server with those loaded, so that they do not
import them per sample and other samples' forks stay cheap.
"""

import gc
import os
import signal
import sys

from .confine import CFG, OWN_PIDS, procs_of, sample_environment
from .jobs import run_apps_job, run_calls_job
from .probes import run_probe_job, run_stdin_probe_job
from .seccomp import prepare
from .wire import HEADER, Gone, read_msg, take_tests, write_msg

#: job kind -> runner (the host's kinds: `sandbox.harness.KINDS`, plus the probe kinds)
RUNNERS = {
    "function": run_calls_job,
    "assert": run_calls_job,
    "stdin": run_apps_job,
    "call": run_apps_job,
    "probe": run_probe_job,
    "probe_stdin": run_stdin_probe_job,
}

#: stdlib modules the server imports once, so that samples forked from it need not
PRELOAD = (
    "re", "math", "collections", "itertools", "functools", "heapq", "bisect", "string",
    "typing", "random", "hashlib", "statistics", "fractions", "decimal", "copy", "operator",
    "ctypes",
    "datetime", "array", "cmath", "numbers", "textwrap", "unicodedata", "io", "traceback",
)


def main():
    """Read the config, get ready, then answer jobs until the host closes stdin."""
    CFG.update(read_msg(0))  # in place: every module holds this same dict
    CFG.setdefault("isolate", os.geteuid() == 0)
    # numpy (where installed) is loaded on first use (see the job loop). One BLAS thread, so
    # that no thread is lost across fork. The server's environment is the samples' own.
    if "uid" in CFG:
        sample_environment(os.path.join(CFG.get("tmp", "/tmp"), f"w{CFG['uid']}"))
    # `python3 -S` skips site.py; add back the distribution's package directory (Debian's
    # python3-numpy lives there) but nothing user- or venv-specific.
    for extra in ("/usr/lib/python3/dist-packages",):
        if os.path.isdir(extra) and extra not in sys.path:
            sys.path.append(extra)
    for name in PRELOAD:
        try:
            __import__(name)
        except ImportError:
            pass
    if CFG.get("isolate"):
        try:
            with open("/proc/self/oom_score_adj", "w") as f:
                f.write("-1000")
        except OSError:
            pass
        os.makedirs(CFG.get("tmp", "/tmp"), exist_ok=True)
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    prepare()
    # Before any job: every pid here is the sandbox's own (its init and this server), alive
    # as long as this server is, so never reused by a sample's process (see confine.reap).
    OWN_PIDS.update(int(n) for n in os.listdir("/proc") if n.isdigit())
    gc.collect()
    gc.freeze()
    write_msg(1, {"ready": True, "python": sys.version.split()[0], "isolate": bool(CFG.get("isolate")),
                  "uid": os.geteuid(), "pid": os.getpid()})
    while True:
        try:
            job = read_msg(0)
        except Gone:
            return
        if job.get("kind") == "ping":
            write_msg(1, {"pong": True, "procs": len(procs_of({CFG["uid"], CFG["uid"] + 1}))
                          if CFG.get("isolate") else 0, "numpy": "numpy" in sys.modules,
                          "zygotes": {z.name: sorted(z.asked) for z in ZYGOTES
                                      if z.pid is not None}})
            continue
        tests_fd = take_tests()
        try:
            zygote = zygote_for(job.get("program", ""))
            out = zygote.run(job, tests_fd) if zygote else run_job(job, tests_fd)
        finally:
            os.close(tests_fd)
        write_msg(1, out)
        del job


def run_job(job, tests_fd):
    """One job's answer, by its kind (`RUNNERS`)."""
    runner = RUNNERS.get(job.get("kind"))
    if runner is None:
        return {"status": "error", "passed": 0, "total": 0, "exec_ms": 0.0,
                "detail": f"sandbox: unknown job kind {str(job.get('kind'))[:40]!r}"}
    return runner(job, tests_fd)


class Zygote:
    """A fork of this server, started on the first program that names one of its `words`,
    which runs every such program. Before each job it imports the modules of `imports`
    ((word, module) pairs) whose word the program names and that it has not imported yet, so
    that it pays each import once, and only for modules some sample uses.

    Forks cost in proportion to what the forking process has mapped: with numpy loaded a
    sample process costs about 3 ms more to fork and end (measured here: fork + exit 1.3 ms
    without it, 3.6-4.6 ms with it), which every later sample would pay if this server
    loaded it itself; importing pandas or matplotlib.pyplot costs a sample 0.5-0.9 s, far
    more than a fork from a process that has them. The zygote is this process (same limits,
    same uids, one job at a time: this server waits for its answer), so it runs the same
    code on the same job; the tests go to it by splice, never through this process's memory.
    Its imports are its own (trusted) code: a sample's own imports die with the sample."""

    def __init__(self, name, words, imports):
        self.name, self.words, self.imports = name, words, imports
        self.loaded = set()  # in the zygote: the modules imported
        self.asked = set()  # in this server: the modules the zygote was sent programs naming
        self.pid = None

    def _load(self, program):
        """Import the modules `program` names that are not loaded yet (one not installed is
        left out, as the sample would find), then freeze the heap again. They import with
        HOME set to a directory of the zygote's own (read-only to samples), then the
        samples' HOME comes back: what they write on import (matplotlib's config and font
        cache) is written once, there, and never into the sample's work directory, which
        would then be root's and refuse the sample's uid."""
        todo = [m for word, m in self.imports if word in program and m not in self.loaded]
        if not todo:
            return
        home = os.path.join(CFG.get("tmp", "/tmp"), f"zygote-{self.name}")
        os.makedirs(home, mode=0o755, exist_ok=True)
        samples_home = os.environ.get("HOME")
        os.environ["HOME"] = home
        try:
            for name in todo:
                self.loaded.add(name)
                try:
                    __import__(name)
                except ImportError:
                    pass
        finally:
            if samples_home is None:
                os.environ.pop("HOME", None)
            else:
                os.environ["HOME"] = samples_home
        gc.collect()
        gc.freeze()

    def _start(self):
        job_r, job_w = os.pipe()
        out_r, out_w = os.pipe()
        pid = os.fork()
        if pid == 0:
            try:
                OWN_PIDS.add(os.getpid())
                os.close(job_w)
                os.close(out_r)
                null = os.open(os.devnull, os.O_RDWR)
                os.dup2(null, 0)  # the host's pipes stay this server's alone
                os.dup2(null, 1)
                os.close(null)
                while True:
                    try:
                        job = read_msg(job_r)
                    except Gone:
                        break
                    self._load(job.get("program", ""))
                    tests_fd = take_tests(job_r)
                    try:
                        out = run_job(job, tests_fd)
                    finally:
                        os.close(tests_fd)
                    write_msg(out_w, out)
                    del job
            finally:
                os._exit(0)
        os.close(job_r)
        os.close(out_w)
        OWN_PIDS.add(pid)
        self.pid, self.job_w, self.out_r = pid, job_w, out_r

    def run(self, job, tests_fd):
        if self.pid is None:
            self._start()
        self.asked.update(m for word, m in self.imports if word in job.get("program", ""))
        write_msg(self.job_w, job)
        (n,) = HEADER.unpack(os.pread(tests_fd, 4, 0))
        offset, left = 0, 4 + n
        while left:  # memfd -> pipe, in the kernel
            got = os.splice(tests_fd, self.job_w, left, offset_src=offset)
            if not got:
                raise Gone()
            offset += got
            left -= got
        return read_msg(self.out_r)  # Gone if the zygote died: this server ends, the host restarts it


#: the zygotes, the first whose words a program names runs it: one for the scientific stack
#: (pandas, matplotlib; each imported the first time a program names it), one with numpy
#: alone for the rest that name numpy (every APPS job does, through the reference header):
#: a fork of a process with pandas or matplotlib mapped is dearer than one of numpy alone
ZYGOTES = (
    Zygote("scientific", ("pandas", "matplotlib"),
           (("numpy", "numpy"), ("pandas", "pandas"), ("matplotlib", "matplotlib.pyplot"))),
    Zygote("numpy", ("numpy",), (("numpy", "numpy"),)),
)


def zygote_for(program):
    """The zygote that runs `program`, or None (this server runs it)."""
    for z in ZYGOTES:
        if any(w in program for w in z.words):
            return z
    return None
