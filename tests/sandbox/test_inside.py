"""The fork-server's package `sandbox.inside`: stdlib only, small modules, shipped as a bundle.

The server runs inside the sandbox under `python3 -I -S` with nothing installed: the host sends
the package's module sources (`server_bundle`) and BOOT imports them from memory. These tests
pin what makes that work: no module imports anything outside the standard library and the
package itself, the bundle boots in a bare interpreter with tracebacks that name the module
files, and the host side loads only the framing it needs.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from sandbox.backends.base import Backend, server_bundle
from sandbox.config import SandboxConfig
from sandbox.inside.wire import HEADER, MAX_MSG, frame

REPO = Path(__file__).resolve().parents[2]
INSIDE = REPO / "sandbox" / "inside"
MODULES = sorted(INSIDE.glob("*.py"))
PYTHON = SandboxConfig().python
#: imports outside the standard library, allowed only where an ImportError is caught
OPTIONAL = {"numpy"}


def _imports(tree):
    """(top-level module name or None for a relative import, guarded by `except ImportError`)."""
    guarded = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Try) and any(
                isinstance(h.type, ast.Name) and h.type.id == "ImportError" for h in node.handlers):
            for stmt in node.body:
                guarded.update(id(n) for n in ast.walk(stmt))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, id(node) in guarded
        elif isinstance(node, ast.ImportFrom):
            yield (None if node.level else node.module), id(node) in guarded
        elif isinstance(node, ast.Call) and getattr(node.func, "id", None) == "__import__" \
                and node.args and isinstance(node.args[0], ast.Constant):
            yield node.args[0].value, id(node) in guarded


def test_the_package_has_the_modules_the_server_is_made_of():
    assert {p.stem for p in MODULES} == {
        "__init__", "wire", "values", "confine", "seccomp", "sample", "own_run", "judge",
        "watch", "jobs", "probes", "loop"}


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.stem)
def test_every_module_imports_only_the_standard_library_and_the_package_itself(path):
    tree = ast.parse(path.read_text())
    outside = []
    for name, guarded in _imports(tree):
        if name is None or name == "sandbox.inside" or name.startswith("sandbox.inside."):
            continue
        top = name.split(".")[0]
        if top in sys.stdlib_module_names or (guarded and top in OPTIONAL):
            continue
        outside.append(name)
    assert outside == []


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.stem)
def test_every_module_says_its_role_and_stays_under_450_lines(path):
    tree = ast.parse(path.read_text())
    assert (ast.get_docstring(tree) or "").strip()
    assert len(path.read_text().splitlines()) <= 450


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.stem)
def test_shared_state_is_changed_in_place_never_rebound(path):
    """CFG, the seccomp call, OWN_CPU and the zygote live in one module each; nothing
    rebinds a module global from a function (no `global`) or from another module."""
    tree = ast.parse(path.read_text())
    assert not [n for n in ast.walk(tree) if isinstance(n, (ast.Global, ast.Nonlocal))]
    stores = [n for n in ast.walk(tree) if isinstance(n, (ast.Assign, ast.AugAssign))]
    targets = [t for n in stores for t in (n.targets if isinstance(n, ast.Assign) else [n.target])]
    imported = {a.asname or a.name for n in ast.walk(tree)
                if isinstance(n, ast.ImportFrom) and n.level for a in n.names}
    assert not [ast.unparse(t) for t in targets
                if isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name)
                and t.value.id in imported]


def test_the_host_side_loads_only_the_framing_of_the_server():
    code = ("import sys, sandbox.forkserver; "
            "print(sorted(m for m in sys.modules if m.startswith('sandbox.inside')))")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[0] == "['sandbox.inside', 'sandbox.inside.wire']"


def test_the_bundle_holds_every_module_under_its_package_name():
    head, body = server_bundle().split(b"\n", 1)
    assert int(head) == len(body)
    sources = json.loads(body)
    assert set(sources) == {"sandbox", "sandbox.inside"} | {
        f"sandbox.inside.{p.stem}" for p in MODULES if p.stem != "__init__"}
    assert sources["sandbox.inside.wire"] == (INSIDE / "wire.py").read_text()


def _read(stream):
    (n,) = HEADER.unpack(stream.read(HEADER.size))
    return json.loads(stream.read(n))


@pytest.mark.skipif(not Path(PYTHON).exists(), reason=f"{PYTHON} is not installed")
def test_the_bundle_boots_in_a_bare_interpreter_and_tracebacks_name_the_module_files(tmp_path):
    """BOOT as every backend starts it (`Backend.python_argv`) but with no sandbox, so no
    samples: only the config, a ping and a message over the size limit, which ends the server
    with a traceback."""
    proc = subprocess.Popen(Backend().python_argv(PYTHON), cwd=tmp_path,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        proc.stdin.write(server_bundle() + frame({"isolate": False, "tmp": str(tmp_path)}))
        proc.stdin.flush()
        ready = _read(proc.stdout)
        assert ready["ready"] is True and ready["isolate"] is False
        proc.stdin.write(frame({"kind": "ping"}))
        proc.stdin.flush()
        pong = _read(proc.stdout)
        assert pong["pong"] is True and pong["numpy"] is False
        proc.stdin.write(HEADER.pack(MAX_MSG + 1))
        proc.stdin.close()
        assert proc.wait(timeout=60) == 1
        err = proc.stderr.read().decode()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert 'File "sandbox/inside/loop.py"' in err and ", in main" in err
    assert 'File "sandbox/inside/wire.py"' in err and ", in read_msg" in err
    assert f"ValueError: message of {MAX_MSG + 1} bytes is over the {MAX_MSG} byte limit" in err
