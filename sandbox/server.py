"""The fork-server that runs inside each sandbox: stdlib only, no project imports.

Role in the pipeline: `sandbox.forkserver` starts one of these per worker inside bwrap or a docker
container (`python3 -I -S`, the source sent over stdin) and sends it one job per unique
program. The server copies each job's tests (message B) from its stdin into a sealed memfd
without parsing them (`_take_tests`), then forks, for HumanEval/MBPP jobs:

* S1, the sample's *own run* (`run_own_process_first`, unless `own_process_first` is off):
  own session, own uid (`uid`), rlimits, cwd in a private work dir, a seccomp filter that
  refuses the kernel stores that outlive a process; it runs program + tests in one namespace
  as the reference harnesses do and reports five small numbers. Its `fail` is final. A
  claimed `pass` is only taken as a reason to judge: every process of `uid` is killed and
  its files removed, then
* S, the *sample* process (same uid, a fresh fork that never saw the tests): it loads the
  program and then only answers calls (function harnesses) or runs the program on one test
  input (APPS);
* J, the *judge* process, under another uid (`uid + 1`): it reads the tests from the memfd,
  evaluates the asserts with stubs that call into S over a pipe, and compares values rebuilt
  from S's tagged answers with its own types only (`encode` / `decode`: a subclass of a
  builtin crosses as the builtin value its slots hold, numpy values from their bytes and
  dtype, anything else as an opaque handle that makes the verdict `unjudgeable` when a test
  looks into it). S cannot reach J (other uid: no signals, no ptrace, no /proc/J/fd) and J
  reports to the server on a pipe S never had, so printing a marker, exiting early, walking
  stack frames or returning objects whose methods lie cannot fake a pass: a verdict is `pass`
  only when J saw every test pass.

Limits (`_Watch`): CPU seconds of the sample process (RLIMIT_CPU as a backstop), *blocked*
seconds (neither S nor J on a CPU or waiting for one, from /proc/PID/task/*/schedstat) and a
wall-clock backstop. After each job every process of both uids is killed (`kill(-1)` from a
helper that takes the uid; inside the sandbox's pid namespace that reaches exactly this
worker's processes) and the files they left are removed.

Protocol on stdin/stdout: each message is a 4-byte big-endian length and a JSON body (`frame`,
which the host side imports from this file so that both ends frame alike). The first
message is the server config; then each job is message A (program, kind, limits; read by the
server) immediately followed by message B (the tests; copied into the memfd, read only by S1
and J). The server answers each job with one message:
{"status", "passed", "total", "detail", "exec_ms", "cpu_s"}.
"""

import builtins
import fcntl
import gc
import json
import os
import resource
import select
import signal
import struct
import sys
import time

PRELOAD = (
    "re", "math", "collections", "itertools", "functools", "heapq", "bisect", "string",
    "typing", "random", "hashlib", "statistics", "fractions", "decimal", "copy", "operator",
    "ctypes",
    "datetime", "array", "cmath", "numbers", "textwrap", "unicodedata", "io", "traceback",
)
MAX_MSG = 64 << 20          # largest message accepted from anyone
MAX_STDOUT = 16 << 20       # APPS stdout cap per test
MAX_ITEMS = 1_000_000       # iterator results are materialised up to this many items
HEADER = struct.Struct(">I")  # every message: 4-byte big-endian length, then JSON


# --------------------------------------------------------------------------- messages

class Gone(Exception):
    """The other end closed its pipe (the sample died or exited)."""


def read_exact(fd, n):
    chunks, got = [], 0
    while got < n:
        b = os.read(fd, min(n - got, 1 << 20))
        if not b:
            raise Gone()
        chunks.append(b)
        got += len(b)
    return b"".join(chunks)


def read_msg(fd):
    (n,) = HEADER.unpack(read_exact(fd, 4))
    if n > MAX_MSG:
        raise ValueError(f"message of {n} bytes is over the {MAX_MSG} byte limit")
    return json.loads(read_exact(fd, n))


def frame(obj):
    """One message as bytes (the host side, `sandbox.forkserver`, uses this too)."""
    body = json.dumps(obj, separators=(",", ":")).encode()
    return HEADER.pack(len(body)) + body


def write_msg(fd, obj):
    data = frame(obj)
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


# --------------------------------------------------------------------------- values
# A value crosses from S to J as tagged JSON and is rebuilt in J from plain data, so J only
# ever compares objects of its own making: nothing S sends can carry a method into J. On S's
# side the encoder reads what a value *is* through the slots of the builtin type it is built
# on (`int.__int__(x)`, `list.__iter__(x)`, `dict.items(x)`, ...), never through the value's
# own (overridable) methods: an instance of a subclass of a builtin crosses as that builtin's
# value (a namedtuple as a tuple, an IntEnum as an int; an int subclass whose __eq__ always
# says True as the plain int it holds), numpy scalars and arrays cross as raw bytes with their
# dtype and are rebuilt as the same numpy objects in J. A value of any other type stays in S:
# J gets an `Opaque` handle that it may pass back to S as an argument, but any question about
# its content (==, bool, str, len, ...) raises `Unjudgeable`, and the verdict says so
# (status `unjudgeable`), since only the sample's own methods could answer it.

import binascii as _binascii  # noqa: E402
import collections as _collections  # noqa: E402
import decimal as _decimal  # noqa: E402
import fractions as _fractions  # noqa: E402
import re as _re  # noqa: E402

_Counter, _OrderedDict = _collections.Counter, _collections.OrderedDict
_defaultdict, _deque = _collections.defaultdict, _collections.deque
_Fraction, _Decimal = _fractions.Fraction, _decimal.Decimal
_mro = type.__dict__["__mro__"].__get__
_real = complex.__dict__["real"].__get__
_imag = complex.__dict__["imag"].__get__
_range_start = range.__dict__["start"].__get__
_range_stop = range.__dict__["stop"].__get__
_range_step = range.__dict__["step"].__get__
_frac_num = _Fraction.__dict__["_numerator"].__get__
_frac_den = _Fraction.__dict__["_denominator"].__get__
_KEYS, _VALUES, _ITEMS = type({}.keys()), type({}.values()), type({}.items())
_ITER_TYPES = tuple(
    type(x)
    for x in (
        iter([]), iter(()), iter(""), iter({}), iter(set()), iter(range(0)),
        map(int, []), filter(None, []), zip(), enumerate([]), reversed([]),
        (i for i in ()), iter(b""), iter(bytearray()), reversed(range(0)),
        iter({}.values()), iter({}.items()), reversed({}),
    )
)
_NP_DTYPE = _re.compile(r"[<>|=][biufcUS][0-9]{1,9}|\|O")


class Uncrossable(TypeError):
    """A value that cannot be rebuilt outside the sample (cyclic, too deep, too long, ...)."""


class Unjudgeable(BaseException):
    """J needed the content of a value that stayed in S. A BaseException, so that a test's
    own `except Exception` cannot turn it into a pass."""


class Ref:
    """A name in S's globals that J may pass back as an argument (MBPP setup objects)."""

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return f"<sample object {self.name}>"


class Opaque:
    """J's stand-in for a value of S that cannot cross: it can go back to S as an argument,
    be tested with `is`, and nothing else."""

    __slots__ = ("handle", "what")

    def __init__(self, handle, what):
        self.handle = handle
        self.what = what

    def _ask(self, *args, **kwargs):
        raise Unjudgeable(f"the sample returned an object of type {self.what}, which only the sample's "
                          "own methods could compare")

    def __repr__(self):
        return f"<sample's {self.what} object>"


for _name in (
    "eq ne lt le gt ge hash bool len iter contains getitem setitem delitem getattr str format "
    "int float complex index round abs neg pos invert add radd sub rsub mul rmul truediv "
    "rtruediv floordiv rfloordiv mod rmod pow rpow and rand or ror xor rxor lshift rlshift "
    "rshift rrshift matmul rmatmul divmod rdivmod call reversed enter exit bytes"
).split():
    setattr(Opaque, f"__{_name}__", Opaque._ask)
del _name


def _base_of(t):
    """The builtin (or stdlib) type whose layout a value of type `t` has, or None."""
    for b in _mro(t):
        if b in _ENCODERS:
            return b
    return None


def _numpy_value(x, np, handles):
    if isinstance(x, np.ndarray):
        arr = np.ndarray.view(x, np.ndarray)
        dt = arr.dtype
        shape = [int(n) for n in arr.shape]
        if dt.kind in "biufcUS" and _NP_DTYPE.fullmatch(dt.str):
            raw = np.ndarray.tobytes(arr, order="C")
            return {"~": "A", "t": dt.str, "s": shape, "v": _binascii.b2a_base64(raw).decode()}
        if dt.kind == "O":
            flat = np.ndarray.reshape(arr, -1)
            return {"~": "A", "t": "|O", "s": shape,
                    "o": [encode(flat[i], handles) for i in range(len(flat))]}
        return None
    if isinstance(x, np.generic):
        arr = np.array(x)  # reads the scalar's value from its C struct, no Python methods
        dt = arr.dtype
        if dt.kind in "biufcUS" and _NP_DTYPE.fullmatch(dt.str):
            raw = np.ndarray.tobytes(arr)
            return {"~": "N", "t": dt.str, "v": _binascii.b2a_base64(raw).decode()}
    return None


def _float(v):
    return v if v == v and v not in (float("inf"), float("-inf")) else {"~": "F", "v": repr(v)}


def _pairs(items, handles):
    return [[encode(k, handles), encode(v, handles)] for k, v in items]


def _list(items, handles):
    return [encode(i, handles) for i in items]


def _materialise(x, handles):
    items = []
    for i in x:
        items.append(encode(i, handles))
        if len(items) > MAX_ITEMS:
            raise Uncrossable("iterator result longer than 1,000,000 items")
    return items


_ENCODERS = {
    bool: lambda x, h: x is True,
    int: lambda x, h: int.__int__(x),
    float: lambda x, h: _float(float.__float__(x)),
    str: lambda x, h: str.__str__(x),
    complex: lambda x, h: {"~": "c", "v": [repr(_real(x)), repr(_imag(x))]},
    list: lambda x, h: _list(list.__iter__(x), h),
    tuple: lambda x, h: {"~": "t", "v": _list(tuple.__iter__(x), h)},
    dict: lambda x, h: {"~": "d", "v": _pairs(dict.items(x), h)},
    _Counter: lambda x, h: {"~": "C", "v": _pairs(dict.items(x), h)},
    _defaultdict: lambda x, h: {"~": "D", "v": _pairs(dict.items(x), h)},
    _OrderedDict: lambda x, h: {"~": "O", "v": _pairs(_OrderedDict.items(x), h)},
    set: lambda x, h: {"~": "s", "v": _list(set.__iter__(x), h)},
    frozenset: lambda x, h: {"~": "f", "v": _list(frozenset.__iter__(x), h)},
    bytes: lambda x, h: {"~": "b", "v": bytes.__getitem__(x, slice(None)).decode("latin-1")},
    bytearray: lambda x, h: {"~": "B",
                             "v": bytes(bytearray.__getitem__(x, slice(None))).decode("latin-1")},
    range: lambda x, h: {"~": "r", "v": [_range_start(x), _range_stop(x), _range_step(x)]},
    _deque: lambda x, h: {"~": "q", "v": _list(_deque.__iter__(x), h)},
    _Fraction: lambda x, h: {"~": "Q", "v": f"{int.__int__(_frac_num(x))}/{int.__int__(_frac_den(x))}"},
    _Decimal: lambda x, h: {"~": "M", "v": _Decimal.__str__(x)},
    _KEYS: lambda x, h: {"~": "K", "v": _materialise(x, h)},
    _ITEMS: lambda x, h: {"~": "I", "v": _materialise(x, h)},
    _VALUES: lambda x, h: {"~": "i", "v": _materialise(x, h)},
    Ref: lambda x, h: {"~": "R", "v": x.name},
}


def encode(x, handles=None):
    """`x` as tagged JSON data. `handles` (S's side of a call job) keeps values that cannot
    cross and sends a handle instead; without it such a value raises Uncrossable."""
    if x is None:
        return None
    t = type(x)
    if t is str or t is int or t is bool:  # the common case first
        return x
    np = sys.modules.get("numpy")
    if np is not None and isinstance(x, (np.ndarray, np.generic)):
        try:
            out = _numpy_value(x, np, handles)
        except (Uncrossable, RecursionError):
            raise
        except Exception:  # noqa: BLE001 - a numpy object the encoder does not know
            out = None
        if out is not None:
            return out
    elif t is Opaque:
        return {"~": "H", "v": x.handle}
    base = _base_of(t)
    if base is not None:
        return _ENCODERS[base](x, handles)
    if t in _ITER_TYPES:
        return {"~": "i", "v": _materialise(x, handles)}
    if handles is not None:
        n = len(handles)
        handles[n] = x
        return {"~": "H", "v": n, "w": t.__name__[:60]}
    raise Uncrossable(f"a {t.__name__} object cannot be compared outside the sample")


def _numpy_for_judge():
    try:
        import numpy
    except ImportError:
        raise Unjudgeable("the sample returned a numpy value and the judge has no numpy") from None
    return numpy


def _shape(s):
    if type(s) is not list or not all(type(n) is int and 0 <= n < 1 << 40 for n in s):
        raise ValueError("bad array shape")
    return tuple(s)


def _decode_numpy(x, refs, handles):
    np = _numpy_for_judge()
    dtype = x["t"]
    if type(dtype) is not str or not _NP_DTYPE.fullmatch(dtype):
        raise ValueError(f"numpy dtype {dtype!r} is not accepted")
    dt = np.dtype(dtype)
    if "o" in x:
        items = [decode(i, refs, handles) for i in x["o"]]
        arr = np.empty(len(items), dtype=object)
        for i, item in enumerate(items):
            arr[i] = item
    else:
        arr = np.frombuffer(_binascii.a2b_base64(x["v"]), dtype=dt).copy()
    if x["~"] == "N":
        if arr.size != 1:
            raise ValueError("a numpy scalar of more than one item")
        return arr[0]
    shape = _shape(x["s"])
    size = 1
    for n in shape:
        size *= n
    if size != arr.size:
        raise ValueError("numpy data does not fill its shape")
    return arr.reshape(shape)


def decode(x, refs=None, handles=None):
    """Rebuild a value from `encode`'s data with J's (or S's) own types only. `refs`: S's
    globals (names J passes back); `handles`: S's kept values (handles J passes back)."""
    if type(x) is list:
        return [decode(i, refs, handles) for i in x]
    if type(x) is not dict:
        return x
    tag, v = x["~"], x.get("v")
    if tag == "t":
        return tuple(decode(i, refs, handles) for i in v)
    if tag in ("d", "C", "O", "D"):
        items = [(decode(k, refs, handles), decode(val, refs, handles)) for k, val in v]
        if tag == "D":
            return _defaultdict(None, items)
        if tag == "C":
            return _Counter(dict(items))
        return dict(items) if tag == "d" else _OrderedDict(items)
    if tag == "s":
        return {decode(i, refs, handles) for i in v}
    if tag == "f":
        return frozenset(decode(i, refs, handles) for i in v)
    if tag == "F":
        return float(v)
    if tag == "b":
        return v.encode("latin-1")
    if tag == "B":
        return bytearray(v.encode("latin-1"))
    if tag == "c":
        return complex(float(v[0]), float(v[1]))
    if tag == "r":
        return range(*v)
    if tag == "q":
        return _deque(decode(i, refs, handles) for i in v)
    if tag == "Q":
        return _Fraction(v)
    if tag == "M":
        return _Decimal(v)
    if tag == "i":
        return iter([decode(i, refs, handles) for i in v])
    if tag == "K":
        return dict.fromkeys(decode(i, refs, handles) for i in v).keys()
    if tag == "I":
        return dict(decode(i, refs, handles) for i in v).items()
    if tag in ("A", "N"):
        return _decode_numpy(x, refs, handles)
    if tag == "H":
        if handles is None:
            return Opaque(v, str(x.get("w") or "sample"))
        return handles[v]
    if tag == "R":
        if refs is None:
            return Ref(v)
        return refs[v]
    raise ValueError(f"unknown value tag {tag!r}")


# --------------------------------------------------------------------------- sandbox plumbing

CFG = {}


def _limits(cpu_s, memory_mb, nproc, fsize_mb, nofile=128):
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


def _become(uid):
    """Drop to `uid` (no groups, no capabilities). Only with isolation (root in the sandbox)."""
    if CFG.get("isolate"):
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)


def _enter_child(keep, uid, cpu_s, memory_mb, nproc, stdin_fd=None, stdout_fd=None, oom=1000):
    """Common start of S and J: own session, std fds, close the rest, limits, uid."""
    os.setsid()
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
    _limits(cpu_s, memory_mb, nproc, CFG.get("fsize_mb", 16))
    _become(uid)


def _workdir(uid):
    path = os.path.join(CFG.get("tmp", "/tmp"), f"w{uid}")
    try:
        os.mkdir(path)
    except FileExistsError:
        pass
    os.chmod(path, 0o755)  # the server can see (not touch) what is left in it
    os.chdir(path)
    if os.environ.get("HOME") != path:  # set once in the server (see _sample_environment)
        _sample_environment(path)


def _sample_environment(path):
    """The environment of every sample process (inherited from the server across fork)."""
    os.environ.clear()
    os.environ.update({"HOME": path, "TMPDIR": path, "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8",
                       "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"})


def _procs_of(uids):
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


def _leftovers(uid):
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
    procs = _procs_of({uid})
    files = _leftovers(uid)
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
                if not _procs_of({uid}):
                    break
                time.sleep(0.001)
            for path in _leftovers(uid):
                if path.endswith(f"/w{uid}"):
                    for n in os.listdir(path):
                        _rmtree_as_owner(os.path.join(path, n))
                else:
                    _rmtree_as_owner(path)
        except BaseException:
            code = 1
        os._exit(code)
    os.waitpid(pid, 0)
    return len(_procs_of({uid}))


def _kill_group(pid):
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        os.kill(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _wait(pid):
    try:
        _, status = os.waitpid(pid, 0)
        return status
    except ChildProcessError:
        return None


def _wait_cpu(pid):
    """(wait status, CPU seconds the process used)."""
    try:
        _, status, usage = os.wait4(pid, 0)
        return status, usage.ru_utime + usage.ru_stime
    except ChildProcessError:
        return None, 0.0


def _describe(status):
    if status is None:
        return "unknown"
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        try:
            return f"killed by {signal.Signals(sig).name}"
        except ValueError:
            return f"killed by signal {sig}"
    return f"exited with code {os.WEXITSTATUS(status)}"


def _first_line(exc):
    msg = str(exc).strip().splitlines()
    text = f"{type(exc).__name__}: {msg[0]}" if msg and msg[0] else type(exc).__name__
    return text[:300]


# --------------------------------------------------------------------------- S: the sample side

def _no_int_digit_limit():
    """Lift Python's int-to-str digit limit in a sample or judge process, so that big-int
    programs and tests do not raise ValueError on str() / int() of long numbers."""
    try:
        sys.set_int_max_str_digits(0)
    except AttributeError:
        pass


def _load(program, name, filename="<sample>"):
    g = {} if name is None else {"__name__": name}
    exec(compile(program, filename, "exec"), g)
    return g


def _load_sample(job):
    """S's start: the job's program loaded, with no limit on int-to-str digits."""
    _no_int_digit_limit()
    return _load(job["program"], job.get("module_name"))


def _serve_calls(job, req_r, resp_w):
    """S for function/assert jobs: load the program, say what it defines, answer calls."""
    try:
        g = _load_sample(job)
    except BaseException as exc:  # noqa: BLE001 - report anything, including SystemExit
        write_msg(resp_w, {"load_error": _first_line(exc)})
        os._exit(0)
    names = []
    for k, v in list(g.items()):
        if k.startswith("__"):
            continue
        if type(v) is type(os):
            names.append([k, "module", getattr(v, "__name__", "")])
        elif callable(v):
            names.append([k, "callable", ""])
        else:
            names.append([k, "value", ""])
    write_msg(resp_w, {"names": names})
    handles = {}  # values that cannot cross, kept for J to pass back
    while True:
        try:
            req = read_msg(req_r)
        except Gone:
            os._exit(0)
        try:
            args = decode(req["a"], g, handles)
            kwargs = decode(req["k"], g, handles)
            result = g[req["n"]](*args, **kwargs)
            try:
                out = {"v": encode(result, handles)}
                if req.get("m"):
                    out["a"] = encode(args, handles)
            except (Uncrossable, RecursionError) as exc:
                out = {"u": _first_line(exc)}
        except BaseException as exc:  # noqa: BLE001
            msg = str(exc).strip().splitlines()
            out = {"e": type(exc).__name__, "m": (msg[0] if msg else "")[:300]}
        write_msg(resp_w, out)


def _run_case(job, index, out_w):
    """S for one APPS test case: stdin programs print to out_w; call-based write the value."""
    _no_int_digit_limit()
    if job["kind"] == "stdin":
        try:
            g = _load(job["program"], "tmp_sol")
            code = g["code"]
        except BaseException as exc:  # noqa: BLE001
            os.write(2, _first_line(exc).encode())
            os._exit(3)
        try:
            code()
        except SystemExit:
            pass
        except BaseException:  # noqa: BLE001
            try:
                sys.stdout.flush()
            except BaseException:  # noqa: BLE001
                pass
            os._exit(1)
        try:
            sys.stdout.flush()
        except BaseException:  # noqa: BLE001
            os._exit(1)
        os._exit(0)
    # call-based
    try:
        g = _load(job["program"], "tmp_sol")
        if "class Solution" in job["solution_text"]:
            target = g["Solution"]()
        else:
            target = None
        method = getattr(target, job["entry"]) if target is not None else g[job["entry"]]
    except BaseException as exc:  # noqa: BLE001
        write_msg(out_w, {"load_error": _first_line(exc)})
        os._exit(0)
    inputs = job["inputs"][index]
    try:
        if isinstance(inputs[0], dict):
            inputs = [{int(k): v for k, v in inputs[0].items()}]
    except Exception:  # noqa: BLE001
        pass
    try:
        output = method(*inputs)
        try:
            msg = {"v": encode(output)}
        except (Uncrossable, RecursionError) as exc:
            msg = {"u": _first_line(exc)}
    except BaseException as exc:  # noqa: BLE001
        msg = {"e": _first_line(exc)}
    write_msg(out_w, msg)
    os._exit(0)


# S1: the sample's own run of its tests (see run_own_process_first)

CLAIM = struct.Struct(">BBBBB")  # code, tests passed, tests total, first failing test, exception
_PASS, _FAIL, _LOAD_ERROR, _NO_FILTER = 1, 2, 3, 4
_CLAIM_BUF = bytearray(CLAIM.size)
_EXC_NAMES = tuple(sorted(
    n for n, v in vars(builtins).items() if isinstance(v, type) and issubclass(v, BaseException)
))[:254]


def _exc_name(i):
    return _EXC_NAMES[i - 1] if 0 < i <= len(_EXC_NAMES) else "an exception"


def _exc_index(exc):
    """1 + index of the exception's builtin class (or first builtin base) in _EXC_NAMES."""
    for cls in type(exc).__mro__:
        if cls.__module__ == "builtins" and cls.__name__ in _EXC_NAMES:
            return _EXC_NAMES.index(cls.__name__) + 1
    return 0


def _seccomp_filter():
    """A classic-BPF seccomp program (x86_64): SysV IPC, POSIX message queues and keyrings,
    the kernel stores that outlive a process, fail with EPERM; the rest is allowed."""
    if os.uname().machine != "x86_64":
        return None
    denied = (29, 64, 68, 240, 248, 249, 250)  # shmget semget msgget mq_open add_key request_key keyctl
    ld, jeq, jge, ret = 0x20, 0x15, 0x35, 0x06
    allow, eperm = 0x7FFF0000, 0x00050000 | 1
    k = len(denied)
    prog = [(ld, 0, 0, 4), (jeq, 1, 0, 0xC000003E), (ret, 0, 0, eperm), (ld, 0, 0, 0),
            (jge, k + 1, 0, 0x40000000)]
    prog += [(jeq, k - j, 0, nr) for j, nr in enumerate(denied)]
    prog += [(ret, 0, 0, allow), (ret, 0, 0, eperm)]
    return b"".join(struct.pack("HBBI", code, jt, jf, kk) for code, jt, jf, kk in prog)


_FILTER = _seccomp_filter()


_SECCOMP = []  # (prctl, program) made once in the server, so that each fork only calls


def _prepare_seccomp():
    """Load libc and build the filter's sock_fprog in the server (each S1 saves ~1 ms)."""
    if _FILTER is None:
        return
    try:
        import ctypes

        class Prog(ctypes.Structure):
            _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

        libc = ctypes.CDLL(None, use_errno=True)
        buf = ctypes.create_string_buffer(_FILTER, len(_FILTER))
        prog = Prog(len(_FILTER) // 8, ctypes.addressof(buf))
        _SECCOMP[:] = [libc.prctl, ctypes.byref(prog), buf, prog, ctypes.c_ulong, ctypes.get_errno]
    except (ImportError, OSError, AttributeError):
        _SECCOMP[:] = []


def _deny_kernel_stores():
    if not _SECCOMP:
        raise OSError("no seccomp filter for this machine")
    prctl, prog_ref, _, _, ulong, errno = _SECCOMP
    z = ulong(0)
    if prctl(38, ulong(1), z, z, z) != 0:  # PR_SET_NO_NEW_PRIVS
        raise OSError(errno(), "PR_SET_NO_NEW_PRIVS")
    if prctl(22, ulong(2), prog_ref, z, z) != 0:  # PR_SET_SECCOMP, SECCOMP_MODE_FILTER
        raise OSError(errno(), "PR_SET_SECCOMP")


def _own_run(job, claim_w):
    """Body of S1: program + tests in one process, as the reference harness runs them."""

    def claim(code, passed=0, total=0, first=0, exc=0):
        os.write(claim_w, CLAIM.pack(code, min(passed, 255), min(total, 255), min(first, 255),
                                     min(exc, 255)))
        os._exit(0)

    try:
        _deny_kernel_stores()
    except BaseException:  # noqa: BLE001
        claim(_NO_FILTER)
    os.lseek(0, 0, os.SEEK_SET)
    tests = read_msg(0)
    _no_int_digit_limit()
    if job["kind"] == "function":
        program = (job["program"] + "\n" + tests["test"] + "\n"
                   + f"check({tests['entry_point']})\n")
        try:
            exec(compile(program, "<sample>", "exec"), {})
        except BaseException as exc:  # noqa: BLE001
            claim(_FAIL, 0, 1, 0, _exc_index(exc))
        claim(_PASS, 1, 1)
    asserts = tests["asserts"]
    g = {"__name__": "__main__"}
    try:
        exec(compile(job["program"], "<sample>", "exec"), g)
    except BaseException as exc:  # noqa: BLE001
        claim(_LOAD_ERROR, 0, len(asserts), 0, _exc_index(exc))
    passed, first, first_exc = 0, None, 0
    for i, stmt in enumerate(asserts):
        try:
            exec(compile(stmt, f"<test {i}>", "exec"), g)
            passed += 1
        except BaseException as exc:  # noqa: BLE001
            if first is None:
                first, first_exc = i, _exc_index(exc)
    if first is None:
        claim(_PASS, passed, len(asserts))
    claim(_FAIL, passed, len(asserts), first, first_exc)


# --------------------------------------------------------------------------- J: the judge side

def _exception_class(name):
    import builtins

    cls = getattr(builtins, name, None)
    if isinstance(cls, type) and issubclass(cls, Exception):
        return cls
    return type(name, (Exception,), {})


class _Stub:
    """Stands for a function of the sample inside J: each call is a round trip to S."""

    def __init__(self, name, link):
        self.__name__ = name
        self._link = link

    def __call__(self, *args, **kwargs):
        req_w, resp_r = self._link
        mutable = any(type(a) in (list, dict, set, bytearray) for a in args)
        write_msg(req_w, {"n": self.__name__, "a": encode(list(args)), "k": encode(kwargs), "m": mutable})
        try:
            resp = read_msg(resp_r)
        except Gone:
            raise SampleGone() from None
        if "u" in resp:
            raise Unjudgeable(f"the sample's answer cannot be compared outside it: {resp['u']}")
        if "e" in resp:
            raise _exception_class(str(resp["e"]))(str(resp.get("m", "")))
        if mutable and "a" in resp:
            for old, new in zip(args, decode(resp["a"])):
                if type(old) is list and type(new) is list:
                    old[:] = new
                elif type(old) is dict and type(new) is dict:
                    old.clear()
                    old.update(new)
                elif type(old) is set and type(new) is set:
                    old.clear()
                    old.update(new)
        return decode(resp["v"])


class SampleGone(Exception):
    """S exited or died while J was calling it."""


def _judge_calls(job, tests, link, report):
    """J for HumanEval (function) and MBPP (assert): run the tests against stubs."""
    resp_r = link[1]
    _no_int_digit_limit()
    try:
        hello = read_msg(resp_r)
    except Gone:
        report("G", "the sample exited before the tests ran")
        return
    if "load_error" in hello:
        report("F", hello["load_error"])
        return
    names = {n: (kind, mod) for n, kind, mod in hello["names"]}
    if job["kind"] == "function":
        ns = {"__name__": "__judge__"}
        try:
            exec(compile(tests["prompt"], "<prompt>", "exec"), ns)
        except BaseException:  # noqa: BLE001
            ns = {"__name__": "__judge__"}
        entry = tests["entry_point"]
        if names.get(entry, ("",))[0] != "callable":
            report("F", f"NameError: the program does not define {entry}()")
            return
        stub = _Stub(entry, link)
        ns[entry] = stub
        statements = [tests["test"] + f"\n\ncheck(__candidate__)\n"]
        ns["__candidate__"] = stub
    else:
        ns = {"__name__": "__main__"}
        stdlib = getattr(sys, "stdlib_module_names", frozenset())
        import importlib

        for name, (kind, mod) in names.items():
            if kind == "module":
                if mod.split(".")[0] in stdlib:
                    try:
                        ns[name] = importlib.import_module(mod)
                    except BaseException:  # noqa: BLE001
                        pass
            elif kind == "callable":
                ns[name] = _Stub(name, link)
            else:
                ns[name] = Ref(name)
        statements = tests["asserts"]
    for i, stmt in enumerate(statements):
        try:
            exec(compile(stmt, f"<test {i}>", "exec"), ns)
        except SampleGone:
            report("G", "the sample process exited or died during the tests")
            return
        except Unjudgeable as exc:
            report("U", f"{exc} (test {i + 1})")
        except BaseException as exc:  # noqa: BLE001
            report("F", f"{_first_line(exc)} (test {i + 1})")
        else:
            report("P", "")


def _apps_equal_call(output, expected):
    if isinstance(expected, dict):
        try:
            expected = [{int(k): v for k, v in expected.items()}]
        except Exception:  # noqa: BLE001
            pass
    try:
        if isinstance(expected[0], dict):
            expected = [{int(k): v for k, v in expected[0].items()}]
    except Exception:  # noqa: BLE001
        pass
    if isinstance(output, tuple):
        output = list(output)
    ok = output == expected
    if isinstance(expected, list) and expected:
        ok = ok or output == expected[0]
    try:
        if isinstance(output[0], tuple):
            ok = ok or [list(x) for x in output] == expected[0]
    except Exception:  # noqa: BLE001
        pass
    return bool(ok)


def _allclose(a, b):
    return all(abs(x - y) <= 1e-8 + 1e-5 * abs(y) for x, y in zip(a, b))


def _apps_equal_stdin(text, expected):
    """The comparison chain of the APPS reference testing_util for standard-input problems.

    `output` is the captured stdout split into lines, `gt` the expected text; each step is tried
    in the reference's order, on the progressively transformed values."""
    output = text.splitlines()
    gt = "\n".join(expected) if isinstance(expected, list) else expected
    joined = "\n".join(output)
    if joined.strip() == gt.strip():
        return True
    if "\n".join(o.strip() for o in output).strip() == gt.strip():
        return True
    if output == [gt]:
        return True
    gt = [x.strip() for x in gt.split("\n") if x]
    if output == [gt] or output == gt:
        return True
    output = [o for o in output if o]
    ok = output == [gt] or output == gt
    try:
        of = [float(e) for e in output]
        gf = [float(e) for e in gt]
        ok = ok or (len(of) == len(gf) and _allclose(of, gf))
    except (ValueError, OverflowError):
        pass
    if ok:
        return True
    gt_sets = [set(x.split()) for x in gt]
    if output == gt_sets:
        return True
    out_sets = [set(o.split()) for o in output]
    out_sets = [s_ for s_ in out_sets if s_]
    ok = set(frozenset(s_) for s_ in out_sets) == set(frozenset(s_) for s_ in gt_sets)
    try:
        ok = ok or (
            set(frozenset(round(float(t), 3) for t in s_) for s_ in out_sets)
            == set(frozenset(round(float(t), 3) for t in s_) for s_ in gt_sets)
        )
    except (ValueError, OverflowError):
        pass
    return bool(ok)


def _judge_apps(job, tests, results, report):
    outputs = tests["outputs"]
    for i, res in enumerate(results):
        if res is None:
            report("F", "")
            continue
        state, payload = res
        if state == "unjudgeable":
            report("U", payload)
            continue
        if state != "ok":
            report("F", payload)
            continue
        try:
            if job["kind"] == "stdin":
                good = _apps_equal_stdin(payload, outputs[i])
            else:
                good = _apps_equal_call(decode(payload), outputs[i])
        except Unjudgeable as exc:
            report("U", str(exc))
            continue
        except Exception as exc:  # noqa: BLE001
            report("F", _first_line(exc))
            continue
        report("P" if good else "F", "" if good else f"wrong answer on test {i + 1}")


def _judge_main(job, link, results, result_w):
    """Body of J: read the tests (message B) from stdin, judge, report lines on result_w.

    The lines are written in one go at the end (one wake-up of the server per sample); when
    the server stops S at its deadline, J's next call fails at once and J still reports."""
    lines = []

    def report(mark, detail):
        lines.append((mark + detail.replace("\n", " ")[:300] + "\n").encode())

    try:
        os.lseek(0, 0, os.SEEK_SET)
        tests = read_msg(0)
    except BaseException as exc:  # noqa: BLE001
        os.write(result_w, b"Xcould not read the tests: " + _first_line(exc).encode() + b"\n")
        os._exit(1)
    if job["kind"] == "function":
        total = 1
    elif job["kind"] == "assert":
        total = len(tests["asserts"])
    else:
        total = len(tests["outputs"])
    lines.append(b"R%d\n" % total)
    try:
        if job["kind"] in ("function", "assert"):
            _judge_calls(job, tests, link, report)
        else:
            _judge_apps(job, tests, results, report)
        lines.append(b"D\n")
    finally:
        data = memoryview(b"".join(lines))
        while data:
            data = data[os.write(result_w, data):]
    os._exit(0)


# --------------------------------------------------------------------------- the server loop

TICK_S = 0.05  # how often a running job's CPU and blocked time are looked at


def _take_tests(src=0):
    """Message B (the tests) from `src` (stdin; the numpy zygote's job pipe) into a sealed
    memfd, without passing through this process's memory where the copy-and-splice path
    allows (later samples are forked from here): J and S1 read it from the memfd, nobody can
    change it."""
    head = read_exact(src, 4)
    (n,) = HEADER.unpack(head)
    if n > MAX_MSG:
        raise ValueError(f"message of {n} bytes is over the {MAX_MSG} byte limit")
    fd = os.memfd_create("tests", os.MFD_ALLOW_SEALING)
    os.write(fd, head)
    left = n
    while left:
        try:
            got = os.splice(src, fd, left)
        except OSError:
            got = _copy_through_zeroed_buffer(src, fd, left)
        if not got:
            os.close(fd)
            raise Gone()
        left -= got
    fcntl.fcntl(fd, fcntl.F_ADD_SEALS, fcntl.F_SEAL_WRITE | fcntl.F_SEAL_SHRINK
                | fcntl.F_SEAL_GROW | fcntl.F_SEAL_SEAL)
    return fd


_BUF = bytearray(1 << 20)


def _copy_through_zeroed_buffer(src, fd, left):
    view = memoryview(_BUF)[: min(left, len(_BUF))]
    got = os.readv(src, [view])
    os.write(fd, view[:got])
    view[:got] = bytes(got)
    return got


def _task_times(pid):
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


class _Watch:
    """The limits of one running sample: wall-clock backstop, CPU seconds of the sample
    process, and *blocked* seconds: wall time in which neither the sample nor the judge was
    on a CPU or waiting for one (sleeping, waiting on a pipe, a lock, input). CPU-bound work
    on a loaded machine waits for a CPU, which is not blocked time."""

    def __init__(self, wall_s, cpu_pid, cpu_s, blocked_s, pids):
        self.t0 = time.monotonic()
        self.deadline = self.t0 + wall_s
        self.cpu_pid, self.cpu_s, self.blocked_s = cpu_pid, cpu_s, blocked_s
        self.pids = list(pids)

    def wait(self, fds):
        """The readable fds of `fds`, or the reason (a str) why a limit ended the wait."""
        while True:
            left = self.deadline - time.monotonic()
            if left <= 0:
                return f"time limit exceeded (wall clock, {self.deadline - self.t0:g} s)"
            r, _, _ = select.select(fds, [], [], min(left, TICK_S))
            if r:
                return r
            busy, cpu = 0.0, 0.0
            for pid in self.pids:
                run, queued = _task_times(pid)
                busy += run + queued
                if pid == self.cpu_pid:
                    cpu = run
            if self.cpu_s and cpu > self.cpu_s:
                return f"time limit exceeded ({self.cpu_s:g} CPU seconds)"
            blocked = time.monotonic() - self.t0 - busy
            if self.blocked_s and blocked > self.blocked_s:
                return (f"time limit exceeded (blocked for {self.blocked_s:g} s: "
                        "sleeping or waiting)")


def _fork_judge(job, link, results, uid, timeout_s, tests_fd, extra_keep=()):
    result_r, result_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            keep = [result_w, *extra_keep]
            _enter_child(keep, uid, timeout_s + 1, CFG.get("judge_memory_mb", 0),
                         0, stdin_fd=tests_fd, oom=500)
            if CFG.get("isolate"):
                os.chdir("/")
            _judge_main(job, link, results, result_w)
        except BaseException:  # noqa: BLE001
            pass
        os._exit(1)
    os.close(result_w)
    return pid, result_r


def _collect(result_r, watch):
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


def _verdict(marks, done, timed_out, s_status):
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
        why = f"{gone[0]} ({_describe(s_status)})" if s_status is not None else gone[0]
        return {"status": "fail", "passed": passed, "total": total, "detail": why}
    return {"status": "fail", "passed": passed, "total": total,
            "detail": "the judge stopped before the tests finished"}


def _limits_of(job):
    cpu_s = float(job["timeout_s"])  # CPU seconds of the sample process
    wall_s = float(job.get("wall_s") or cpu_s)  # wall-clock backstop
    blocked_s = float(job.get("blocked_s") or 0)  # blocked (sleeping, waiting) seconds
    return cpu_s, wall_s, blocked_s


def _out_of_cpu(cpu_used, cpu_s):
    """It ran out of CPU time (also when it ignored SIGXCPU until the hard limit)."""
    return cpu_used >= min(cpu_s, max(1, int(cpu_s + 0.999))) - 0.01


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
    cpu_s, wall_s, blocked_s = _limits_of(job)
    claim_r, claim_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            _enter_child([claim_w], uid, cpu_s, CFG["memory_mb"], CFG["max_procs"],
                         stdin_fd=tests_fd)
            _workdir(uid)
            _own_run(job, claim_w)
        except BaseException:  # noqa: BLE001
            pass
        os._exit(1)
    os.close(claim_w)
    watch = _Watch(wall_s, pid, cpu_s, blocked_s, [pid])
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
    _kill_group(pid)
    os.close(claim_r)
    status, cpu = _wait_cpu(pid)
    left = reap(uid)
    if not limit and (_out_of_cpu(cpu, cpu_s) or (os.WIFSIGNALED(status)
                                                  and os.WTERMSIG(status) == signal.SIGXCPU)):
        limit = f"time limit exceeded ({cpu_s:g} CPU seconds)"
    if code == _NO_FILTER:
        return None  # no seccomp here: the judge decides every sample
    out = None
    if limit:
        out = {"status": "timeout", "passed": 0, "total": total, "detail": limit}
    elif code == _PASS and not left:
        _OWN_CPU[:] = [cpu, passed, total, (time.monotonic() - watch.t0) * 1000]
        return None
    elif code == _PASS:
        out = {"status": "error", "passed": 0, "total": total,
               "detail": "sandbox: processes of the sample survived cleanup; not judged"}
    elif code == _FAIL:
        out = {"status": "fail", "passed": min(passed, total), "total": total,
               "detail": f"{_exc_name(exc)} (test {first + 1})"}
    elif code == _LOAD_ERROR:
        out = {"status": "fail", "passed": 0, "total": total,
               "detail": f"{_exc_name(exc)} while loading the program"}
    else:
        out = {"status": "fail", "passed": 0, "total": total,
               "detail": f"the sample stopped before its tests finished ({_describe(status)})"}
    out["exec_ms"] = (time.monotonic() - watch.t0) * 1000
    out["cpu_s"] = cpu
    if left:
        out["detail"] += f" [sandbox: {left} process(es) survived cleanup]"
    return out


_OWN_CPU = []  # CPU seconds of the last claimed pass's own run (program and tests)


def run_calls_job(job, tests_fd):
    uid = CFG["uid"]
    t0 = time.monotonic()
    _OWN_CPU[:] = []
    if CFG.get("own_process_first", True):
        out = run_own_process_first(job, tests_fd)
        if out is not None:
            return out
        if job.get("reference") and _OWN_CPU:
            # The host's own reference solution, sent to calibrate the time limit: trusted
            # code, so its own run's pass is the verdict and no judge is needed.
            cpu, passed, total, exec_ms = _OWN_CPU
            return {"status": "pass", "passed": passed, "total": total, "detail": "",
                    "exec_ms": exec_ms, "cpu_s": cpu}
    cpu_s, wall_s, blocked_s = _limits_of(job)
    req_r, req_w = os.pipe()
    resp_r, resp_w = os.pipe()
    s_pid = os.fork()
    if s_pid == 0:
        try:
            _enter_child([req_r, resp_w], uid, cpu_s, CFG["memory_mb"], CFG["max_procs"])
            _workdir(uid)
            _serve_calls(job, req_r, resp_w)
        except BaseException:  # noqa: BLE001
            pass
        os._exit(1)
    os.close(req_r)
    os.close(resp_w)
    j_pid, result_r = _fork_judge(job, (req_w, resp_r), None, uid + 1, wall_s, tests_fd,
                                  (req_w, resp_r))
    os.close(req_w)
    os.close(resp_r)
    watch = _Watch(wall_s, s_pid, cpu_s, blocked_s, [s_pid, j_pid])
    marks, done, timed_out = _collect(result_r, watch)
    _kill_group(s_pid)
    if not any(m[:1] == "R" for m in marks):
        # J was starved and has not yet read the tests: with S gone it will finish at once.
        more, done, _ = _collect(result_r, _Watch(30, j_pid, 0, 0, [j_pid]))
        marks += more
    os.close(result_r)
    _kill_group(j_pid)
    s_status, s_cpu = _wait_cpu(s_pid)
    _wait(j_pid)
    left = reap(uid) + reap(uid + 1)
    if not timed_out and _out_of_cpu(s_cpu, cpu_s):
        timed_out = f"time limit exceeded ({cpu_s:g} CPU seconds)"
    out = _verdict(marks, done, timed_out, s_status)
    out["exec_ms"] = (time.monotonic() - t0) * 1000
    # CPU of the program with its tests where its own run had them, else of the sample side
    out["cpu_s"] = _OWN_CPU[0] if _OWN_CPU else s_cpu
    if left:
        out["detail"] = (out["detail"] + f" [sandbox: {left} process(es) survived cleanup]").strip()
    return out


def _run_one_case(job, index):
    """Fork S for one APPS test case; returns (state, payload) with state ok|error|timeout."""
    uid = CFG["uid"]
    limit = float(job["test_timeout_s"])  # CPU seconds per test case
    wall = float(job.get("test_wall_s") or limit)
    out_r, out_w = os.pipe()
    in_fd = None
    if job["kind"] == "stdin":
        data = job["inputs"][index]
        if isinstance(data, list):
            data = "\n".join(data)
        in_fd = os.memfd_create("stdin")
        os.write(in_fd, data.encode())
        os.lseek(in_fd, 0, os.SEEK_SET)
    pid = os.fork()
    if pid == 0:
        try:
            if job["kind"] == "stdin":
                _enter_child([], uid, limit, CFG["memory_mb"], CFG["max_procs"],
                             stdin_fd=in_fd, stdout_fd=out_w)
            else:
                _enter_child([out_w], uid, limit, CFG["memory_mb"], CFG["max_procs"])
            _workdir(uid)
            _run_case(job, index, out_w)
        except BaseException:  # noqa: BLE001
            pass
        os._exit(1)
    os.close(out_w)
    if in_fd is not None:
        os.close(in_fd)
    pidfd = os.pidfd_open(pid)
    chunks, size = [], 0
    state = None
    exited = False
    watch = _Watch(wall, pid, limit, float(job.get("test_blocked_s") or 0), [pid])
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
    _kill_group(pid)
    status, cpu = _wait_cpu(pid)
    reap(uid)
    if _out_of_cpu(cpu, limit):
        state = "timeout"
    if state == "timeout":
        return ("timeout", why)
    if state == "error":
        return ("error", "output limit exceeded")
    if os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGXCPU:
        return ("timeout", "time limit exceeded")
    data = b"".join(chunks)
    if job["kind"] == "stdin":
        if os.WIFEXITED(status) and os.WEXITSTATUS(status) == 3:
            return ("load_error", "the program could not be loaded")
        if not os.WIFEXITED(status) or os.WEXITSTATUS(status) != 0:
            return ("error", f"runtime error: the program {_describe(status)}")
        return ("ok", data.decode("utf-8", errors="replace"))
    try:
        (n,) = HEADER.unpack(data[:4])
        msg = json.loads(data[4 : 4 + n])
    except Exception:  # noqa: BLE001
        return ("error", f"runtime error: the program {_describe(status)} without an answer")
    if "load_error" in msg:
        return ("load_error", str(msg["load_error"]))
    if "u" in msg:
        return ("unjudgeable", str(msg["u"]))
    if "e" in msg:
        return ("error", str(msg["e"]))
    return ("ok", msg["v"])


def run_apps_job(job, tests_fd):
    t0 = time.monotonic()
    n = len(job["inputs"])
    results = []
    timed_out = False
    for i in range(n):
        res = _run_one_case(job, i)
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
    j_pid, result_r = _fork_judge(job, None, results, uid + 1, judge_timeout, tests_fd)
    marks, done, _ = _collect(result_r, _Watch(judge_timeout, j_pid, 0, 0, [j_pid]))
    os.close(result_r)
    _kill_group(j_pid)
    _wait(j_pid)
    reap(uid + 1)
    out = _verdict(marks, done, False, None)
    if timed_out and out["status"] != "pass":
        out["status"] = "timeout"
        out["detail"] = f"time limit exceeded on test {len([r for r in results if r is not None])}"
    out["exec_ms"] = (time.monotonic() - t0) * 1000
    return out


# --------------------------------------------------------------------------- probe jobs
# A probe job (kind "probe") runs one program on the checks an execution-based ranker uses
# (`pipeline.benchmarks.probes`: the prompt's examples, model-written asserts); there are no
# hidden tests in it and no judge. S loads the program once and runs the probes in order in its
# own (sandboxed) process, reporting one small message per probe; the server watches each probe
# with its own CPU / blocked / wall limit. Outcomes: "v:<canonical value>" (the value as
# `encode` reads it through builtin slots, as canonical JSON; over PROBE_VALUE_MAX characters
# "v:sha256:<hex>"), "opaque" (a value of a non-builtin type), "raise:<builtin exception
# name>", "pass" / "fail" (assert probes), "timeout" (S is killed; a fresh S loads the program
# and goes on with the next probe), "crash" (S died: that probe and every later one). The
# value and the match with the shown output are computed inside S, so a lying sample can only
# change its own probe outcomes (its rank, never its verdict, which the execute stage's judge
# gives); the server only parses S's bounded JSON messages and keeps strings of a fixed shape.

PROBE_VALUE_MAX = 120     # longer canonical values cross as their sha256
PROBE_MSG_MAX = 4096      # largest message S may send in a probe job
_OUTCOME = _re.compile(r"v:.{0,%d}|raise:[A-Za-z_]{1,40}|pass|fail|opaque" % PROBE_VALUE_MAX,
                       _re.S)


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
    i = _exc_index(exc)
    return "raise:" + (_EXC_NAMES[i - 1] if i else "Exception")


def _serve_probes(job, start, out_w):
    """S for a probe job: load the program, then run probes start.. in order."""
    try:
        g = _load_sample(job)
    except BaseException as exc:  # noqa: BLE001
        write_msg(out_w, {"load": _raised(exc)})
        os._exit(0)
    write_msg(out_w, {"loaded": True})
    probes = job["probes"]
    for i in range(start, len(probes)):
        p = probes[i]
        write_msg(out_w, {"s": i})
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
    """S's messages on one pipe, each at most PROBE_MSG_MAX bytes, read under a _Watch."""

    def __init__(self, fd):
        self.fd, self.buf = fd, b""

    def next(self, watch):
        """The next message (a dict), "eof", "bad" (malformed or too long) or the limit's
        reason (a str from `_Watch.wait`, starting with "time")."""
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
    """Run a probe job (see the section comment); returns outcomes and matches per probe."""
    uid = CFG["uid"]
    t0 = time.monotonic()
    probes = job["probes"]
    n = len(probes)
    per = float(job["probe_timeout_s"])
    per_wall = float(job.get("probe_wall_s") or per)
    per_blocked = float(job.get("probe_blocked_s") or 0)
    cpu_s, wall_s, blocked_s = _limits_of(job)
    outcomes, matches = [], []
    cpu_used, left = 0.0, 0
    while len(outcomes) < n:
        start = len(outcomes)
        out_r, out_w = os.pipe()
        pid = os.fork()
        if pid == 0:
            try:
                _enter_child([out_w], uid, cpu_s + per * (n - start), CFG["memory_mb"],
                             CFG["max_procs"])
                _workdir(uid)
                _serve_probes(job, start, out_w)
            except BaseException:  # noqa: BLE001
                pass
            os._exit(1)
        os.close(out_w)
        frames = _Frames(out_r)
        msg = frames.next(_Watch(wall_s, pid, cpu_s, blocked_s, [pid]))
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
            i = len(outcomes)
            msg = frames.next(_Watch(per_wall, pid, 0, 0, [pid]))
            if not isinstance(msg, dict) or msg.get("s") != i:
                rest = "crash"
                break
            cpu0 = _task_times(pid)[0]
            msg = frames.next(_Watch(per_wall, pid, cpu0 + per, per_blocked, [pid]))
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
        _kill_group(pid)
        _, cpu = _wait_cpu(pid)
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
    """Run a stdin program on each probe input in a fresh S (`_run_one_case`, the execute
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
        state, payload = _run_one_case(run, i)
        shown = p.get("expected")
        if state == "ok":
            outcomes.append(_stdout_outcome(payload))
            matches.append(None if shown is None else bool(_apps_equal_stdin(payload, shown)))
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


def main():
    global CFG
    CFG = read_msg(0)
    CFG.setdefault("isolate", os.geteuid() == 0)
    # numpy (where installed) is loaded on first use (see the job loop). One BLAS thread, so
    # that no thread is lost across fork. The server's environment is the samples' own.
    if "uid" in CFG:
        _sample_environment(os.path.join(CFG.get("tmp", "/tmp"), f"w{CFG['uid']}"))
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
    _prepare_seccomp()
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
            write_msg(1, {"pong": True, "procs": len(_procs_of({CFG["uid"], CFG["uid"] + 1}))
                          if CFG.get("isolate") else 0, "numpy": "numpy" in sys.modules,
                          "numpy_zygote": _NUMPY_ZYGOTE.pid is not None})
            continue
        tests_fd = _take_tests()
        try:
            if "numpy" in job.get("program", ""):
                out = _NUMPY_ZYGOTE.run(job, tests_fd)
            else:
                out = run_job(job, tests_fd)
        finally:
            os.close(tests_fd)
        write_msg(1, out)
        del job


def run_job(job, tests_fd):
    """One job's answer, by its kind."""
    if job["kind"] in ("function", "assert"):
        return run_calls_job(job, tests_fd)
    if job["kind"] == "probe":
        return run_probe_job(job, tests_fd)
    if job["kind"] == "probe_stdin":
        return run_stdin_probe_job(job, tests_fd)
    return run_apps_job(job, tests_fd)


class _Zygote:
    """A fork of this server with numpy loaded, started on the first program that mentions
    numpy (every APPS job does, through the reference header), which runs those jobs.

    Forks cost in proportion to what the forking process has mapped: with numpy loaded a
    sample process costs about 3 ms more to fork and end (measured here: fork + exit 1.3 ms
    without it, 3.6-4.6 ms with it), which every later sample would pay if this server
    loaded it itself. The zygote is this process (same limits, same uids, one job at a time:
    this server waits for its answer), so it runs the same code on the same job; the tests
    go to it by splice, never through this process's memory."""

    def __init__(self):
        self.pid = None

    def _start(self):
        job_r, job_w = os.pipe()
        out_r, out_w = os.pipe()
        pid = os.fork()
        if pid == 0:
            try:
                os.close(job_w)
                os.close(out_r)
                null = os.open(os.devnull, os.O_RDWR)
                os.dup2(null, 0)  # the host's pipes stay this server's alone
                os.dup2(null, 1)
                os.close(null)
                try:
                    __import__("numpy")
                except ImportError:
                    pass
                gc.collect()
                gc.freeze()
                while True:
                    try:
                        job = read_msg(job_r)
                    except Gone:
                        break
                    tests_fd = _take_tests(job_r)
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
        self.pid, self.job_w, self.out_r = pid, job_w, out_r

    def run(self, job, tests_fd):
        if self.pid is None:
            self._start()
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


_NUMPY_ZYGOTE = _Zygote()


if __name__ == "__main__":
    main()
