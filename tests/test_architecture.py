"""The architecture holds: imports go one way, each package says its job, modules stay small.

`pipeline` uses `sandbox`, `workers` and `schemas`; `sandbox` and `workers` use `schemas` only,
never `pipeline` nor each other (the import-linter contract in pyproject.toml).
"""

from __future__ import annotations

import importlib
import pkgutil
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("pipeline", "sandbox", "workers", "schemas")
LINT = Path(sys.executable).with_name("lint-imports")


def _lint(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(LINT), "--no-cache"], cwd=root, capture_output=True, text=True,
                          timeout=300, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(root)})


def test_the_import_contracts_are_kept():
    done = _lint(REPO)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 kept, 0 broken" in done.stdout


@pytest.mark.parametrize("module, forbidden, message", [
    ("sandbox/executor.py", "import pipeline.run.storage", "sandbox is not allowed to import pipeline"),
    ("workers/generate.py", "import sandbox.harness", "workers is not allowed to import sandbox"),
    ("schemas/validate.py", "import workers.engine", "schemas is not allowed to import workers"),
    # the inner contract (floors inside pipeline), an import inside a function included
    ("pipeline/run/storage.py", "def _added():\n    from pipeline.jobs import evaluate",
     "pipeline.run is not allowed to import pipeline.jobs"),
    ("pipeline/reduce/curves.py", "from pipeline.report import plots",
     "pipeline.reduce is not allowed to import pipeline.report"),
])
def test_a_forbidden_import_breaks_the_contract(tmp_path, module, forbidden, message):
    for name in PACKAGES:
        shutil.copytree(REPO / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    target = tmp_path / module
    target.write_text(target.read_text() + f"\n{forbidden}  # added by the test\n")
    done = _lint(tmp_path)
    assert done.returncode != 0
    assert "1 kept, 1 broken" in done.stdout
    assert message in " ".join(done.stdout.split())


def _modules():
    for name in PACKAGES:
        pkg = importlib.import_module(name)
        yield pkg
        for info in pkgutil.walk_packages(pkg.__path__, f"{name}."):
            if not info.name.endswith("__main__"):
                yield importlib.import_module(info.name)


def test_every_package_and_module_says_its_role_in_a_docstring():
    missing = [m.__name__ for m in _modules() if not (m.__doc__ or "").strip()]
    assert missing == []


def test_no_module_exceeds_about_500_lines():
    long = {}
    for m in _modules():
        n = len(Path(m.__file__).read_text().splitlines())
        if n > 520:
            long[m.__name__] = n
    assert long == {}
