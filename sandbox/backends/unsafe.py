"""unsafe backend: the fork-server as a plain host process, no namespaces, no uid change.

Only for debugging on a machine you do not care about; selected by
`SandboxConfig(unsafe_no_sandbox=True)`, never by name. Samples work in a fresh host temporary
directory, removed when the worker stops.
"""

from __future__ import annotations

import shutil
import tempfile

from sandbox.backends.base import Backend, Launch


class UnsafeBackend(Backend):
    name = "unsafe"

    def launch(self, config, tag: str) -> Launch:
        tmp = tempfile.mkdtemp(prefix="budget-realloc-unsafe-")
        return Launch(self.python_argv(config.python), tmp=tmp, isolate=False,
                      cleanup=lambda: shutil.rmtree(tmp, ignore_errors=True))
