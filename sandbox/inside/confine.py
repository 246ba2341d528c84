"""Confinement of the processes the server forks: rlimits, own uid, session, work dir, reaping.

Role: `enter_child` is the common start of every sample (S, S1) and judge (J) process: own
session, std fds, every other fd closed, rlimits, then its own uid (`become`). `workdir` gives
a sample its private directory. After each job `reap` kills every process of a uid (`kill(-1)`
from a helper that takes the uid: inside the sandbox's pid namespace that reaches exactly this
worker's processes) and removes the files it left. `CFG`, the server's config, lives here.
"""

import os
import resource
import signal
import sys
import time

#: The server's config (the host's first message), filled in place by `loop.main`; every
#: module reads this one dict.
CFG = {}


def set_limits(cpu_s, memory_mb, nproc, fsize_mb, nofile=128):
    cpu = max(1, int(cpu_s + 0.999))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    if memory_mb:
        m = int(memory_mb) << 20
        resource.setrlimit(resource.RLIMIT_AS, (m, m))
    resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))
    resource.setrlimit(resource.RLIMIT_FSIZE, (int(fsize_mb) << 20, int(fsize_mb) << 20))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if nproc and CFG.get("isolate"):
        resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))


def become(uid):
    """Drop to `uid` (no groups, no capabilities). Only with isolation (root in the sandbox)."""
    if CFG.get("isolate"):
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)


def enter_child(keep, uid, cpu_s, memory_mb, nproc, stdin_fd=None, stdout_fd=None, oom=1000):
    """Common start of S and J: own process group, std fds, close the rest, limits, uid.

    A process group, not a session: `setsid` would also make the kernel a scheduler group
    for the session (autogroup), about 40 us per sample to make and tear down. The host's
    terminal is not reachable either way (the sandbox runs in a new session); what a sample
    leaves behind is killed by uid (`reap`), not by group."""
    os.setpgid(0, 0)
    try:  # os-level calls: a Python file object costs more than the write itself here
        fd = os.open("/proc/self/oom_score_adj", os.O_WRONLY)
        try:
            os.write(fd, str(oom).encode())
        finally:
            os.close(fd)
    except OSError:
        pass
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(stdin_fd if stdin_fd is not None else null, 0)
    os.dup2(stdout_fd if stdout_fd is not None else null, 1)
    os.dup2(null, 2)
    keep = sorted(set(keep) | {0, 1, 2})
    last = 3
    for fd in keep:
        if fd >= last:
            os.closerange(last, fd)
            last = fd + 1
    os.closerange(last, 1 << 16)
    for sig in (signal.SIGPIPE, signal.SIGXFSZ):
        signal.signal(sig, signal.SIG_DFL)
    set_limits(cpu_s, memory_mb, nproc, CFG.get("fsize_mb", 16))
    become(uid)


def fork_sample(keep, cpu_s, body, *args, stdin_fd=None, stdout_fd=None):
    """Fork a sample process (S1, S, or S for one APPS case or probe run): `enter_child` under
    the sample's uid with `cpu_s` CPU seconds, its work directory, then `body(*args)`; the
    child never returns. Returns the child's pid (in the server)."""
    pid = os.fork()
    if pid == 0:
        try:
            enter_child(keep, CFG["uid"], cpu_s, CFG["memory_mb"], CFG["max_procs"],
                        stdin_fd=stdin_fd, stdout_fd=stdout_fd)
            workdir(CFG["uid"])
            body(*args)
        except BaseException:  # noqa: BLE001
            pass
        os._exit(1)
    return pid


def workdir(uid):
    """Enter the sample's work directory, made (mode 755: the server can see, not touch, what
    is left in it) the first time. After the first sample it is there (`reap` empties it and
    leaves it), so this is one chdir: each call of os here costs a new process about 0.1 ms
    in page faults."""
    path = os.path.join(CFG.get("tmp", "/tmp"), f"w{uid}")
    try:
        os.chdir(path)
    except OSError:
        try:
            os.mkdir(path)
        except FileExistsError:
            pass
        os.chmod(path, 0o755)
        os.chdir(path)
    if HOME[:1] != [path]:  # set once in the server (see sample_environment)
        sample_environment(path)


#: the HOME that `sample_environment` set last (read without touching os.environ)
HOME = []


def sample_environment(path):
    """The environment of every sample process (inherited from the server across fork)."""
    HOME[:] = [path]
    os.environ.clear()
    os.environ.update({"HOME": path, "TMPDIR": path, "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8",
                       "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"})


#: pids of this sandbox's own processes (the init, the server, the numpy zygote), seen in
#: /proc when no sample or judge process is left; filled by `loop.main` and the zygote
OWN_PIDS = set()


def _only_own_pids():
    """True when /proc lists no pid but ours: nothing to kill, no status file to read (the
    pid namespace shows only this sandbox's processes)."""
    try:
        names = os.listdir("/proc")
    except OSError:
        return False
    me = os.getpid()
    return all(not n.isdigit() or int(n) == me or int(n) in OWN_PIDS for n in names)


def procs_of(uids):
    """Live (non-zombie) pids, other than this one, whose real or effective uid is in `uids`.

    Reads /proc/<pid>/status: the owner of /proc/<pid> is root for a process that changed
    its uid (it is not dumpable), so the directory's owner cannot be trusted for this."""
    out = []
    me = os.getpid()
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == me:
            continue
        try:
            with open(f"/proc/{name}/status", "rb") as f:
                text = f.read()
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        state = uid_line = None
        for line in text.split(b"\n"):
            if line.startswith(b"State:"):
                state = line.split()[1:2]
            elif line.startswith(b"Uid:"):
                uid_line = line.split()[1:3]
                break
        if not uid_line or state in ([b"Z"], [b"X"]):
            continue
        if int(uid_line[0]) in uids or int(uid_line[1]) in uids:
            out.append(int(name))
    return out


def leftovers(uid):
    roots = [CFG.get("tmp", "/tmp"), "/dev/shm"]
    found = []
    for root in roots:
        try:
            for entry in os.scandir(root):
                try:
                    st = entry.stat(follow_symlinks=False)
                except FileNotFoundError:
                    continue
                if st.st_uid == uid and not (entry.name == f"w{uid}" and _is_empty(entry.path)):
                    found.append(entry.path)
        except OSError:
            pass
    return found


def _is_empty(path):
    try:
        with os.scandir(path) as it:
            return next(it, None) is None
    except OSError:
        return False


def _rmtree_as_owner(path):
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    import stat as _stat

    if _stat.S_ISDIR(st.st_mode):
        try:
            os.chmod(path, 0o700)
        except OSError:
            pass
        try:
            names = os.listdir(path)
        except OSError:
            names = []
        for n in names:
            _rmtree_as_owner(os.path.join(path, n))
        try:
            os.rmdir(path)
        except OSError:
            pass
    else:
        try:
            os.unlink(path)
        except OSError:
            pass


def reap(uid):
    """Kill every process of `uid` and remove the files it left; returns survivors (should be 0)."""
    if not CFG.get("isolate"):
        return 0
    procs = [] if OWN_PIDS and _only_own_pids() else procs_of({uid})
    files = leftovers(uid)
    if not procs and not files:
        return 0
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
            for _ in range(1000):
                try:
                    os.kill(-1, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                if not procs_of({uid}):
                    break
                time.sleep(0.001)
            for path in leftovers(uid):
                if path.endswith(f"/w{uid}"):
                    for n in os.listdir(path):
                        _rmtree_as_owner(os.path.join(path, n))
                else:
                    _rmtree_as_owner(path)
        except BaseException:
            code = 1
        os._exit(code)
    os.waitpid(pid, 0)
    return len(procs_of({uid}))


def kill_group(pid):
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        os.kill(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def wait_exit(pid):
    try:
        _, status = os.waitpid(pid, 0)
        return status
    except ChildProcessError:
        return None


def wait_cpu(pid):
    """(wait status, CPU seconds the process used)."""
    try:
        _, status, usage = os.wait4(pid, 0)
        return status, usage.ru_utime + usage.ru_stime
    except ChildProcessError:
        return None, 0.0


def describe(status):
    if status is None:
        return "unknown"
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        try:
            return f"killed by {signal.Signals(sig).name}"
        except ValueError:
            return f"killed by signal {sig}"
    return f"exited with code {os.WEXITSTATUS(status)}"


def first_line(exc):
    msg = str(exc).strip().splitlines()
    text = f"{type(exc).__name__}: {msg[0]}" if msg and msg[0] else type(exc).__name__
    return text[:300]


def no_int_digit_limit():
    """Lift Python's int-to-str digit limit in a sample or judge process, so that big-int
    programs and tests do not raise ValueError on str() / int() of long numbers."""
    try:
        sys.set_int_max_str_digits(0)
    except AttributeError:
        pass
