"""Inside `pipeline` imports go one way, counted with the imports inside functions; no cycles.

The floors are the inner import-linter contract in pyproject.toml (one definition, read here):
`cli | reproduce > jobs > report | results | capacity > reduce > rank > run > sources > config >
benchmarks`. import-linter checks them too; these tests walk every module's syntax tree, so a
lazy import (`from pipeline.jobs import evaluate` inside a function) is caught the same way,
and look for import cycles among all of the project's modules.
"""

from __future__ import annotations

import ast
import shutil
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("pipeline", "sandbox", "workers", "schemas")


def _floors(root: Path) -> list[list[str]]:
    """The inner contract's layers, top first; each a list of independent siblings."""
    config = tomllib.loads((root / "pyproject.toml").read_text())
    contract, = [c for c in config["tool"]["importlinter"]["contracts"]
                 if c["name"].startswith("inside pipeline")]
    return [[name.strip() for name in layer.split("|")] for layer in contract["layers"]]


def _modules(root: Path) -> dict[str, Path]:
    out = {}
    for package in PACKAGES:
        for path in (root / package).rglob("*.py"):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join(parts)] = path
    return out


def _imports(root: Path) -> dict[str, set[tuple[str, int]]]:
    """module -> {(imported project module, line)}, from every import statement anywhere in it
    (top level, functions, classes); `from a import b` counts as a.b when b is a module."""
    modules = _modules(root)

    def resolve(name: str) -> str:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name

    out: dict[str, set[tuple[str, int]]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        found = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(parts + ([node.module] if node.module else []))
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base
                           for a in node.names]
            else:
                continue
            for target in targets:
                if target.split(".")[0] in PACKAGES and resolve(target) not in ("", name):
                    found.add((resolve(target), node.lineno))
        out[name] = found
    return out


def _floor_of(module: str, floors: list[list[str]]) -> tuple[int, str] | None:
    for level, siblings in enumerate(floors):
        for sibling in siblings:
            if module == sibling or module.startswith(sibling + "."):
                return level, sibling
    if module == "pipeline.__main__":
        return _floor_of("pipeline.cli", floors)
    return None


def _back_imports(root: Path) -> list[str]:
    floors = _floors(root)
    wrong = []
    for module, imported in _imports(root).items():
        mine = _floor_of(module, floors)
        if mine is None:
            continue
        for target, line in sorted(imported):
            theirs = _floor_of(target, floors)
            if theirs is None or theirs[1] == mine[1]:
                continue
            if theirs[0] <= mine[0]:  # a floor above, or an independent sibling
                wrong.append(f"{module}:{line} imports {target}")
    return wrong


def _cycles(root: Path) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    graph = {m: {t for t, _ in found} for m, found in _imports(root).items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for v in graph:
        if v not in index:
            visit(v)
    return out


def _copy(tmp_path: Path) -> Path:
    for name in PACKAGES:
        shutil.copytree(REPO / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_every_pipeline_module_sits_on_a_floor_of_the_inner_contract():
    floors = _floors(REPO)
    loose = [m for m in _modules(REPO) if m.startswith("pipeline.")
             and _floor_of(m, floors) is None]
    assert loose == []


def test_no_pipeline_module_imports_a_floor_above_it_even_inside_a_function():
    assert _back_imports(REPO) == []


def test_the_project_has_no_import_cycle():
    assert _cycles(REPO) == []


@pytest.mark.parametrize("module, back_import", [
    ("pipeline/run/storage.py", "from pipeline.jobs import evaluate"),
    ("pipeline/reduce/curves.py", "from pipeline.report import plots"),
    ("pipeline/config.py", "from pipeline.run import storage"),
])
def test_a_lazy_back_import_is_found(tmp_path, module, back_import):
    root = _copy(tmp_path)
    target = root / module
    target.write_text(target.read_text() + f"\n\ndef _added_by_the_test():\n    {back_import}\n")
    wrong = _back_imports(root)
    assert len(wrong) == 1
    assert wrong[0].startswith(module[:-3].replace("/", ".")) and back_import.split()[1] in wrong[0]


def test_a_cycle_between_two_modules_of_one_package_is_found(tmp_path):
    root = _copy(tmp_path)
    storage = root / "pipeline/run/storage.py"
    storage.write_text(storage.read_text() + "\n\ndef _added():\n    from pipeline.run import rundir\n")
    assert ["pipeline.run.rundir", "pipeline.run.storage"] in _cycles(root)
