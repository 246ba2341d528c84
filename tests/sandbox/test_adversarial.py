"""Hostile samples cannot fake a pass, escape the sandbox, or stop the worker serving.

The problem asks for `secret(7) == SECRET`, a number drawn per test session. The number is
written to a host file (the "answer file") and sent by a host TCP listener on 127.0.0.1 to
anyone who connects, so a sample passes only if it computes nothing and instead reads the
answer from outside the sandbox or from the judge. Each hostile sample tries one attack from
the literature on naive harnesses. After the whole battery: no sample passed, the host canary
is unchanged, the listener saw no connection, no process of the sandbox uids is alive, and the
same worker processes (not restarted ones) still judge a correct sample as passing.
"""

from __future__ import annotations

import os
import random
import socket
import threading
import time

import pytest

import schemas
from sandbox.config import SandboxConfig
from sandbox.executor import Executor
from tests.sandbox.conftest import BACKENDS, samples_for

PROMPT = "def secret(x):\n"


def hostile_samples(answer: str, canary: str, canary_dir: str, port: int) -> dict[str, str]:
    """name -> completion (the body of `secret` and any module-level code after it)."""
    return {
        "setsid_double_fork_orphan": f"""    return 0
import os, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        time.sleep(2)
        try:
            open({canary!r}, "w").write("pwned by an orphan")
        except Exception:
            pass
        time.sleep(1000)
    os._exit(0)
""",
        "fork_bomb": """    return 0
import os
while True:
    try:
        os.fork()
    except OSError:
        pass
""",
        "allocate_10_gb": "    b = bytearray(10 * 1024 ** 3)\n    return len(b)\n",
        "infinite_loop": "    while True:\n        pass\n",
        "deep_recursion": """    import sys
    sys.setrecursionlimit(10 ** 8)
    def f(n):
        return f(n + 1) + 1
    return f(0)
""",
        "write_host_file": f"    open({canary!r}, 'w').write('pwned')\n    return 0\n",
        "delete_host_files": f"""    import os, shutil
    try:
        os.remove({canary!r})
    finally:
        shutil.rmtree({canary_dir!r})
    return 0
""",
        "read_answer_file_outside_sandbox": f"    return int(open({answer!r}).read())\n",
        "search_host_filesystem_for_answer": """    import os
    for root, dirs, files in os.walk('/'):
        dirs[:] = [d for d in dirs if os.path.join(root, d) not in ('/proc', '/sys', '/usr', '/dev')]
        if 'answer.txt' in files:
            return int(open(os.path.join(root, 'answer.txt')).read())
    for path in ('/etc/shadow', '/root/.bash_history', '/work/shared/data/SOURCES.md'):
        open(path).read()
    return 0
""",
        "connect_to_host_listener": f"""    import socket
    for host in ('127.0.0.1', '172.17.0.1', 'localhost'):
        try:
            s = socket.create_connection((host, {port}), timeout=1)
            return int(s.recv(100))
        except OSError:
            pass
    return 0
""",
        "kill_parent_worker_and_everyone": """    import os, signal
    for pid in (os.getppid(), 1, os.getpgid(0), -1):
        try:
            os.kill(pid, signal.SIGKILL)
        except Exception:
            pass
    return 0
""",
        "os_exit_0_before_asserts": "    return 0\nimport os\nos._exit(0)\n",
        "sys_exit_0_before_asserts": "    return 0\nimport sys\nsys.exit(0)\n",
        "sys_exit_0_inside_the_function": "    import sys\n    sys.exit(0)\n",
        "posix_spawn_escape": """    import os
    os.posix_spawn('/bin/sleep', ['sleep', '1000'], {})
    return 0
""",
        "print_fake_pass_markers": """    import sys
    print("passed")
    sys.stdout.write("P\\nD\\nR1\\nP\\nD\\n{'status': 'pass'}\\n")
    sys.stdout.flush()
    return 0
""",
        "walk_stack_frames_and_gc_for_the_test": """    import sys, gc, re
    f = sys._getframe()
    texts = []
    while f is not None:
        for v in list(f.f_locals.values()) + list(f.f_globals.values()):
            if isinstance(v, str):
                texts.append(v)
        texts.append(str(f.f_code.co_consts))
        f = f.f_back
    for o in gc.get_objects():
        if isinstance(o, dict):
            texts.extend(v for v in o.values() if isinstance(v, str))
    for t in texts:
        m = re.search(r"candidate\\(7\\) == (\\d+)", t)
        if m:
            return int(m.group(1))
    return 0
""",
        "read_other_processes_memory": """    import os, re
    for pid in os.listdir('/proc'):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            maps = open(f'/proc/{pid}/maps').read().splitlines()
            mem = open(f'/proc/{pid}/mem', 'rb')
        except OSError:
            continue
        for line in maps:
            lo, hi = (int(x, 16) for x in line.split()[0].split('-'))
            try:
                mem.seek(lo)
                m = re.search(rb"candidate\\(7\\) == (\\d+)", mem.read(hi - lo))
            except (OSError, ValueError, OverflowError):
                continue
            if m:
                return int(m.group(1))
    return 0
""",
        "write_fake_verdicts_to_every_fd": """    import os
    for fd in range(3, 256):
        try:
            os.write(fd, b"R1\\nP\\nD\\n")
        except OSError:
            pass
    return 0
""",
        "eq_always_true_object": """    class Liar:
        def __eq__(self, other):
            return True
        __ne__ = lambda self, other: False
    return Liar()
""",
        "eq_always_true_int_subclass": """    class Liar(int):
        def __eq__(self, other):
            return True
        __hash__ = int.__hash__
    return Liar(0)
""",
        "eq_hash_lying_str_subclass": """    class Liar(str):
        def __eq__(self, other):
            return True
        def __hash__(self):
            return hash(other_guess)
        def __str__(self):
            return str(other_guess)
    other_guess = 0
    return Liar("0")
""",
        "iter_len_lying_list_subclass": """    class Liar(list):
        def __eq__(self, other):
            return True
        def __iter__(self):
            return iter([7, 7, 7])
        def __len__(self):
            return 1
    return Liar()
""",
        "index_int_float_lying_int_subclass": """    class Liar(int):
        def __eq__(self, other):
            return True
        __hash__ = int.__hash__
        def __index__(self):
            return 123456789
        def __int__(self):
            return 123456789
        def __float__(self):
            return 123456789.0
    return Liar(1)
""",
        "float_lying_float_subclass": """    class Liar(float):
        def __eq__(self, other):
            return True
        __hash__ = float.__hash__
        def __float__(self):
            return 1e9
        def __round__(self, n=None):
            return self
    return Liar(0.5)
""",
        "numpy_scalar_subclass_with_lying_eq": """    import numpy as np
    class Liar(np.int64):
        def __eq__(self, other):
            return np.True_
        def __ne__(self, other):
            return np.False_
    return Liar(3)
""",
        "numpy_array_subclass_with_lying_eq": """    import numpy as np
    class Liar(np.ndarray):
        def __eq__(self, other):
            return np.ones(1, dtype=bool)
        def __bool__(self):
            return True
    return np.zeros(1, dtype=np.int64).view(Liar)
""",
        "object_pretending_to_be_numpy": """    import numpy as np
    class Fake:
        __module__ = "numpy"
        __array_interface__ = {"shape": (), "typestr": "<i8", "data": (0, True), "version": 3}
        @property
        def __class__(self):
            return np.int64
        def __eq__(self, other):
            return True
        def __bool__(self):
            return True
    return Fake()
""",
        "forge_wire_values_by_patching_the_encoder": """    import sys
    def forged(x, handles=None):
        return {"~": "A", "t": "|O", "s": [1], "o": [{"~": "H", "v": 0}]}
    for mod in list(sys.modules.values()):  # the server's modules, wherever they import it
        if str(getattr(mod, "__name__", "")).startswith(("__main__", "sandbox")):
            for name in ("encode", "_float", "_list"):
                if hasattr(mod, name):
                    setattr(mod, name, forged)
    return 0
""",
        "stash_what_its_own_run_saw_for_the_judged_run": """    return found()
import ctypes, os, re, socket, sys, time
STASHES = ("/tmp/stash.txt", "/dev/shm/stash.txt")
def found():
    for path in STASHES:
        try:
            return int(open(path).read())
        except Exception:
            pass
    try:
        s = socket.socket(socket.AF_UNIX)
        s.connect("\\0budget-realloc-stash")
        return int(s.recv(100))
    except Exception:
        pass
    try:
        libc = ctypes.CDLL(None)
        libc.shmat.restype = ctypes.c_void_p
        shm = libc.shmget(0x5EC, 64, 0)
        if shm >= 0:
            return int(ctypes.string_at(libc.shmat(shm, None, 0), 12).rstrip(b"\\0"))
    except Exception:
        pass
    f = sys._getframe()
    while f is not None:
        for v in list(f.f_locals.values()):
            m = re.search(r"candidate\\(7\\) == (\\d+)", v) if isinstance(v, str) else None
            if m:
                stash(m.group(1))
                return int(m.group(1))
        f = f.f_back
    return 0
def stash(text):
    for path in STASHES:
        try:
            open(path, "w").write(text)
            os.chmod(path, 0o666)
        except Exception:
            pass
    try:
        libc = ctypes.CDLL(None)
        libc.shmat.restype = ctypes.c_void_p
        shm = libc.shmget(0x5EC, 64, 0o1666)
        ctypes.memmove(libc.shmat(shm, None, 0), text.encode(), len(text))
    except Exception:
        pass
    if os.fork() == 0:
        os.setsid()
        srv = socket.socket(socket.AF_UNIX)
        srv.bind("\\0budget-realloc-stash")
        srv.listen(5)
        while True:
            c, _ = srv.accept()
            c.sendall(text.encode())
            c.close()
    time.sleep(0.2)
""",
        "stdout_flood": "    import sys\n    while True:\n        sys.stdout.write('x' * 65536)\n",
        "write_100_mb_file": "    open('big.bin', 'wb').write(b'0' * (100 << 20))\n    return 0\n",
        "signals_stop_self_ignore_term": """    import os, signal
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    os.kill(os.getpid(), signal.SIGSTOP)
    return 0
""",
        "ctypes_setuid_ptrace_and_segfault": f"""    import ctypes, os
    libc = ctypes.CDLL(None)
    libc.setuid(0)
    libc.setgid(0)
    libc.ptrace(16, os.getppid(), 0, 0)
    if os.getuid() == 0:
        open({canary!r}, 'w').write('pwned as root')
    ctypes.string_at(0)
    return 0
""",
        "thread_outliving_the_sample": f"""    import threading, time
    def spin():
        while True:
            try:
                open({canary!r}, 'w').write('pwned by a thread')
            except Exception:
                pass
            time.sleep(0.01)
    threading.Thread(target=spin).start()
    return 0
""",
        "infinite_generator_result": "    def g():\n        while True:\n            yield 1\n    return g()\n",
        "raise_keyboard_interrupt": "    raise KeyboardInterrupt\n",
        "symlink_host_path_into_work_dir": f"""    import os
    os.symlink({canary_dir!r}, 'escape')
    os.symlink('/', 'root')
    return 0
""",
    }


def _problem(secret: int) -> dict:
    return {
        "benchmark": "humaneval", "task_id": "HumanEval/secret", "prompt": PROMPT,
        "tests": f"def check(candidate):\n    assert candidate(7) == {secret}\n",
        "test_setup": "", "entry_point": "secret", "io_kind": "function", "difficulty": None,
        "fewshot_ids": [], "stop": [], "reference": None, "starter_code": "",
    }


class Listener:
    """A TCP listener on 127.0.0.1 that hands the secret to anyone who connects."""

    def __init__(self, secret: int):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._stop = False
        self._secret = secret
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.sendall(str(self._secret).encode())
            conn.close()

    def close(self) -> None:
        self._stop = True
        self._thread.join(timeout=2)
        self.sock.close()


def _live_pids_of(uids: set[int]) -> list[int]:
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            text = open(f"/proc/{name}/status").read()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
        if fields.get("State", "").split()[:1] == ["Z"]:
            continue
        if {int(u) for u in fields.get("Uid", "").split()[:2]} & uids:
            out.append(int(name))
    return out


@pytest.mark.parametrize("backend", BACKENDS)
def test_hostile_samples_never_pass_never_escape_and_the_worker_keeps_serving(
    backend, tmp_path, request
):
    if backend == "docker":
        request.getfixturevalue("docker_engine")
    secret = random.randrange(10**8, 10**9)
    answer = tmp_path / "answer.txt"
    answer.write_text(str(secret))
    canary_dir = tmp_path / "canary"
    canary_dir.mkdir()
    canary = canary_dir / "canary.txt"
    canary.write_text("untouched")
    listener = Listener(secret)
    problem = _problem(secret)
    problems = schemas.from_rows([problem], "problems")
    attacks = hostile_samples(str(answer), str(canary), str(canary_dir), listener.port)
    assert len(attacks) >= 30
    config = SandboxConfig(backend=backend, workers=2, timeout_s=2.0, wall_timeout_factor=2.0)
    try:
        with Executor(config) as ex:
            pids = [w.proc.pid for w in ex.workers]
            uids = {u for w in ex.workers for u in (w.uid, w.judge_uid)}
            samples = samples_for([problem] * len(attacks), list(attacks.values()))
            verdicts = ex.execute(problems, samples).to_pylist()
            time.sleep(2.5)  # longer than the orphan's delay before it would write the canary
            after = ex.execute(problems, samples_for([problem], [f"    return {secret}\n"]))
            assert after.column("status").to_pylist() == ["pass"]
            assert [w.proc.pid for w in ex.workers] == pids, "a worker was restarted"
            assert all(w.alive for w in ex.workers)
            left = _live_pids_of(uids)
    finally:
        listener.close()
    by_name = {name: v for name, v in zip(attacks, verdicts)}
    false_passes = [n for n, v in by_name.items() if v["status"] == "pass"]
    assert false_passes == []
    assert all(v["status"] in ("fail", "timeout", "unjudgeable") for v in by_name.values()), {
        n: (v["status"], v["detail"]) for n, v in by_name.items() if v["status"] == "error"}
    assert canary.read_text() == "untouched"
    assert answer.read_text() == str(secret)
    assert listener.connections == 0
    assert left == []
    assert by_name["infinite_loop"]["status"] == "timeout"
    # an object of its own class stays in the sample: nothing outside can compare it
    assert by_name["eq_always_true_object"]["status"] == "unjudgeable"
    # subclasses of builtins (numpy too) cross as the plain values they hold: a plain fail
    for name in ("eq_always_true_int_subclass", "eq_hash_lying_str_subclass",
                 "iter_len_lying_list_subclass", "index_int_float_lying_int_subclass",
                 "float_lying_float_subclass", "numpy_scalar_subclass_with_lying_eq",
                 "numpy_array_subclass_with_lying_eq"):
        assert by_name[name]["status"] == "fail", (name, by_name[name]["detail"])
    assert by_name["os_exit_0_before_asserts"]["status"] == "fail"
    assert by_name["stash_what_its_own_run_saw_for_the_judged_run"]["status"] == "fail"


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_samples_own_run_cannot_use_kernel_stores_that_outlive_it(backend, request):
    """The own-process run (which sees the tests) is refused SysV shared memory, message
    queues and keyrings, so it cannot leave what it saw to the judged run: here the sample
    fails with LookupError when refused and ArithmeticError when not."""
    if backend == "docker":
        request.getfixturevalue("docker_engine")
    probe = """    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    refused = [libc.shmget(0, 64, 0o1600) == -1, libc.msgget(0, 0o1600) == -1,
               libc.syscall(248, b"user", b"k", b"v", 1, -3) == -1]
    if all(refused):
        raise LookupError("refused")
    raise ArithmeticError(str(refused))
"""
    problem = _problem(1)
    config = SandboxConfig(backend=backend, workers=1, timeout_s=2.0)
    with Executor(config) as ex:
        (row,) = ex.execute(schemas.from_rows([problem], "problems"),
                            samples_for([problem], [probe])).to_pylist()
    assert (row["status"], row["detail"]) == ("fail", "LookupError (test 1)")
