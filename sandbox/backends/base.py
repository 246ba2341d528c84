"""The backend interface: check that it can run here, launch worker i, clean up after it.

Every backend runs `python3 -I -S -c BOOT`, where BOOT reads the fork-server's source
(`sandbox/server.py`) from stdin, so the same code runs everywhere and an image never goes stale.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, ClassVar

#: Reads `<decimal length>\n<source>` from fd 0 with exact reads (never past the source).
BOOT = (
    "import os\n"
    "def r(n):\n"
    "    b = b''\n"
    "    while len(b) < n:\n"
    "        c = os.read(0, n - len(b))\n"
    "        if not c: raise SystemExit(2)\n"
    "        b += c\n"
    "    return b\n"
    "h = b''\n"
    "while not h.endswith(b'\\n'): h += r(1)\n"
    "src = r(int(h))\n"
    "g = {'__name__': '__main__', '__file__': 'sandbox-server'}\n"
    "del r, h\n"
    "exec(compile(src, 'sandbox-server', 'exec'), g)\n"
)

SERVER_SOURCE = Path(__file__).resolve().parents[1] / "server.py"


class SandboxUnavailable(RuntimeError):
    """The chosen backend cannot run here; the message says what to install or change."""


def server_source() -> bytes:
    """The fork-server's source framed for BOOT."""
    src = SERVER_SOURCE.read_bytes()
    return str(len(src)).encode() + b"\n" + src


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
        return [python, "-I", "-S", "-c", BOOT]
