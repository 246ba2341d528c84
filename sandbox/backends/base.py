"""The backend interface: check that it can run here, launch worker i, clean up after it.

Every backend runs `env -i PATH=... LANG=... PYTHONHASHSEED=0 python3 -s -S -c BOOT`: an
environment of exactly those variables (so nothing else of the host's reaches the server), no
user site directory, no site.py, and one fixed hash seed, so that a program whose result
depends on the order of a set or dict of strings gets the same verdict and the same probe
outcomes on every worker and in every run (`-I` would ignore PYTHONHASHSEED). BOOT reads the
fork-server's bundle from stdin (the module sources of `sandbox.inside`, see `server_bundle`),
installs an in-memory importer for them and runs `sandbox.inside.loop.main`, so the same code
runs everywhere and an image never goes stale.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, ClassVar

#: Reads `<decimal length>\n<JSON {module name: source}>` from fd 0 with exact reads (never past
#: the bundle), puts a finder for those modules first on sys.meta_path, then runs the loop.
#: Modules are compiled under `sandbox/inside/<module>.py`, so tracebacks name their files.
BOOT = r"""
import json, os, sys
sys.path[:] = [p for p in sys.path if p]  # not the working directory (-c puts it first)
def r(n):
    b = b''
    while len(b) < n:
        c = os.read(0, n - len(b))
        if not c: raise SystemExit(2)
        b += c
    return b
h = b''
while not h.endswith(b'\n'): h += r(1)
SOURCES = json.loads(r(int(h)))
del r, h
class Bundle:
    def find_spec(name, path=None, target=None):
        if name not in SOURCES: return None
        from importlib.machinery import ModuleSpec
        pkg = any(n.startswith(name + '.') for n in SOURCES)
        file = name.replace('.', '/') + ('/__init__.py' if pkg else '.py')
        spec = ModuleSpec(name, Bundle, origin=file, is_package=pkg)
        spec.has_location = True
        return spec
    def create_module(spec): return None
    def exec_module(module):
        exec(compile(SOURCES[module.__name__], module.__file__, 'exec'), module.__dict__)
    def get_source(name): return SOURCES[name]
sys.meta_path.insert(0, Bundle)
from sandbox.inside.loop import main
main()
"""

#: the fork-server's whole environment (its samples get theirs from `confine.sample_environment`)
SERVER_ENV = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "PYTHONHASHSEED": "0"}

INSIDE = Path(__file__).resolve().parents[1] / "inside"
#: the bundle's `sandbox`: only `sandbox.inside` is sent, under its host name
PACKAGE_STUB = '"""The host package `sandbox` as the sandbox sees it: only sandbox.inside is sent."""\n'


class SandboxUnavailable(RuntimeError):
    """The chosen backend cannot run here; the message says what to install or change."""


def server_bundle() -> bytes:
    """The fork-server's modules (`sandbox/inside/*.py`, plus a `sandbox` stub) framed for BOOT."""
    sources = {"sandbox": PACKAGE_STUB}
    for path in sorted(INSIDE.glob("*.py")):
        sources["sandbox.inside" + ("" if path.stem == "__init__" else "." + path.stem)] = \
            path.read_text()
    body = json.dumps(sources, separators=(",", ":")).encode()
    return str(len(body)).encode() + b"\n" + body


def _nothing() -> None:
    return None


@dataclass
class Launch:
    """How to start one worker, and how to clean up after it."""

    argv: list[str]
    #: the scratch directory as the server inside the sandbox sees it
    tmp: str = "/tmp"
    #: whether the server must confirm it can drop samples to their own uid (root inside)
    isolate: bool = True
    cleanup: Callable[[], None] = field(default=_nothing)


class Backend:
    """One way to isolate a fork-server. Subclasses set `name` and implement `launch`."""

    name: ClassVar[str] = ""

    def check(self, config) -> None:
        """Raise `SandboxUnavailable` (saying what to do) when this backend cannot run here."""

    def launch(self, config, tag: str) -> Launch:
        """The argv (and cleanup) of one worker; `tag` is unique per worker start."""
        raise NotImplementedError

    def python_argv(self, python: str) -> list[str]:
        return ["/usr/bin/env", "-i", *(f"{k}={v}" for k, v in SERVER_ENV.items()),
                python, "-s", "-S", "-c", BOOT]
