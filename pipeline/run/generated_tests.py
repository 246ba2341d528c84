"""A run's own copy of its model-written tests: frozen at the start, read by probe, reduce, advise.

Role in the pipeline: a run is self-contained. At its start (`freeze`) each configured
generated-test file is read once (`pipeline.sources.generated_tests`), mapped to the run's
tasks, and written with the source file's SHA-256 into
RUN_DIR/inputs/generated_tests/<benchmark>.json; the probe stage, `reduce` and `advise` read
that copy (`load_frozen`, `run_tests`), from any working directory and from object storage, and
an edited or deleted source file changes nothing of a started run.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

from pipeline.benchmarks.base import DataError
from pipeline.run import storage
from pipeline.sources.generated_tests import GeneratedTests, for_benchmarks, sha256

__all__ = ["GeneratedTests", "freeze", "frozen_path", "load_frozen", "run_tests"]


def frozen_path(run_root: str, benchmark: str) -> str:
    """Where a run keeps its copy of `benchmark`'s generated tests."""
    return storage.join(run_root, f"inputs/generated_tests/{benchmark}.json")


def freeze(run_root: str, probes: dict, benchmarks: list[dict]) -> dict[str, str]:
    """Copy each configured generated-test file into the run directory (mapped to tasks, with
    the source's SHA-256), once: a copy already there is kept (the run's probes were made from
    it; a source edited since only earns a warning). Returns benchmark -> the copy's URI."""
    files = (probes or {}).get("generated_tests") or {}
    limit = int((probes or {}).get("max_tests_per_sample", 5))
    out = {}
    for name, path in files.items():
        target = frozen_path(run_root, name)
        out[name] = target
        if storage.exists(target):
            kept = json.loads(storage.read_text(target))
            if Path(path).exists() and sha256(path) != kept["sha256"]:
                warnings.warn(f"{path} changed since this run copied it ({target}); the run "
                              "keeps using its copy", stacklevel=2)
            continue
        tests = for_benchmarks({name: path}, benchmarks, limit)
        storage.write_text(target, json.dumps({
            "benchmark": name, "source": str(path), "sha256": sha256(path),
            "max_tests_per_sample": limit,
            "tasks": {tid: {"tests": list(t.tests), "written": [list(w) for w in t.written]}
                      for (_, tid), t in sorted(tests.items())}}, indent=0))
    return out


def load_frozen(uri: str) -> dict[str, GeneratedTests]:
    """task_id -> GeneratedTests from a run's copy (`freeze`)."""
    try:
        data = json.loads(storage.read_text(uri))
        out = {}
        for tid, t in data["tasks"].items():
            out[tid] = GeneratedTests(tid, tuple(t["tests"]),
                                      tuple(tuple(int(i) for i in w) for w in t["written"]))
        return out
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DataError(f"{uri}: not a readable copy of generated tests ({exc}); delete it "
                        "and run `budget-realloc resume RUN_DIR` from where the source file "
                        "is to copy it again") from None


def run_tests(run_root: str) -> dict[tuple[str, str], GeneratedTests]:
    """(benchmark, task_id) -> GeneratedTests of every copy a run directory holds."""
    folder = storage.join(run_root, "inputs/generated_tests")
    out = {}
    for uri in storage.list_files(folder, suffix=".json"):
        bench = uri.rsplit("/", 1)[-1][: -len(".json")]
        out.update({(bench, tid): t for tid, t in load_frozen(uri).items()})
    return out
