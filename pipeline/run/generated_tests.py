"""Read a model-written test file (CodeT's released test cases) into each problem's tests.

Role in the pipeline: the `generated_tests` probe set of the `probe` stage. Each line of the
file is CodeT's `{"prompt", "samples"}`; the line's task is found like the code-solution
importer finds it (`pipeline.run.importers.match_prompt`), each sample's asserts are kept as
CodeT's postprocessing keeps them (`pipeline.benchmarks.probes.codet_test_cases`, following
microsoft/CodeT CodeT/src/postprocess.py), the first `limit` per sample (CodeT's
agreement.py, `cases_per_sample[:limit]`, 5 in its runs), counted per problem. Nothing read
here is executed: asserts are only compiled to check that they parse.

A run is self-contained: at its start (`freeze`) each configured file is read once, mapped to
the run's tasks, and written with the source file's SHA-256 into
RUN_DIR/inputs/generated_tests/<benchmark>.json; the probe stage, `reduce` and `advise` read
that copy (`load_frozen`), from any working directory and from object storage, and an edited
or deleted source file changes nothing of a started run.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from pipeline.benchmarks.base import DataError, read_jsonl
from pipeline.benchmarks.probes import codet_test_cases
from pipeline.run.importers import match_prompt


@dataclass(frozen=True)
class GeneratedTests:
    """A problem's model-written tests: distinct asserts in first-seen order, and per test
    sample the indices (into `tests`) of the asserts it contributed."""

    task_id: str
    tests: tuple[str, ...]
    written: tuple[tuple[int, ...], ...]

    @property
    def counts(self) -> tuple[int, ...]:
        """How many times each test was written (CodeT's test-case frequency)."""
        seen = Counter(i for w in self.written for i in w)
        return tuple(seen[i] for i in range(len(self.tests)))

    @property
    def samples(self) -> int:
        """Test samples the model wrote for the problem (what they cost)."""
        return len(self.written)

    def pool(self):
        """The `pipeline.rank.base.TestPool` of these tests (who wrote which)."""
        import numpy as np

        from pipeline.rank.base import TestPool

        matrix = np.zeros((self.samples, len(self.tests)), dtype=np.int64)
        for s, idx in enumerate(self.written):
            np.add.at(matrix[s], list(idx), 1)
        return TestPool(matrix)


def read_generated_tests(path: str | Path, problems: dict[str, dict],
                         limit: int = 5) -> dict[str, GeneratedTests]:
    """Parse a CodeT test-case generation file (`{"prompt", "samples"}` per line) into each
    problem's generated tests. `problems`: task_id -> problem row (needs prompt, entry_point).
    Lines map to tasks like the code-solution importer (`match_prompt`). A malformed line
    raises DataError naming the file and line."""
    if limit < 1:
        raise DataError(f"{path}: limit must be >= 1, got {limit}")
    out: dict[str, GeneratedTests] = {}
    for lineno, rec in read_jsonl(path):
        where = f"{path}:{lineno}"
        prompt, samples = rec.get("prompt"), rec.get("samples")
        if not isinstance(prompt, str):
            raise DataError(f"{where}: no string 'prompt' field; expected CodeT's "
                            "{\"prompt\": ..., \"samples\": [...]} lines")
        if not isinstance(samples, list) or not all(isinstance(s, str) for s in samples):
            raise DataError(f"{where}: 'samples' must be a list of strings")
        task_id, why = match_prompt(prompt, problems)
        if task_id is None:
            raise DataError(f"{where}: cannot tell which task this line is for: {why}")
        if task_id in out:
            raise DataError(f"{where}: a second line for {task_id}")
        entry = problems[task_id].get("entry_point") or ""
        cases = [codet_test_cases(sample, entry)[:limit] for sample in samples]
        tests = tuple(dict.fromkeys(t for case in cases for t in case))  # first-seen order
        index = {t: i for i, t in enumerate(tests)}
        out[task_id] = GeneratedTests(task_id, tests, tuple(tuple(index[t] for t in case)
                                                            for case in cases))
    return out


def for_benchmarks(files: dict[str, str], benchmarks: list[dict],
                   limit: int = 5) -> dict[tuple[str, str], GeneratedTests]:
    """(benchmark, task_id) -> GeneratedTests for a `probes.generated_tests` config section
    (benchmark name -> file), each file's lines mapped to tasks against the benchmark's full
    problem set (not one shard's, nor a run's subset). `benchmarks`: the run config's
    benchmark specs as dicts. A name that is not one of them raises DataError."""
    from pipeline.benchmarks import get
    from pipeline.config import BenchmarkSpec

    out: dict[tuple[str, str], GeneratedTests] = {}
    for name, path in (files or {}).items():
        spec = next((BenchmarkSpec(**b) for b in benchmarks if b["name"] == name), None)
        if spec is None:
            raise DataError(f"probes.generated_tests names benchmark {name!r}, which this run "
                            "does not have; use one of its benchmarks' names")
        if not Path(path).exists():
            raise DataError(f"{path}: the generated-test file of {name} is gone (run from the "
                            "directory the run started in, or give its absolute path in the "
                            "config)")
        rows = {r["task_id"]: r for r in get(name).load(spec.data).to_pylist()}
        for tid, tests in read_generated_tests(path, rows, limit=limit).items():
            out[(name, tid)] = tests
    return out


def sha256(path: str | Path) -> str:
    """The file's SHA-256, hex (read in 1 MiB blocks)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def frozen_path(run_root: str, benchmark: str) -> str:
    """Where a run keeps its copy of `benchmark`'s generated tests."""
    from pipeline.run import storage

    return storage.join(run_root, f"inputs/generated_tests/{benchmark}.json")


def freeze(run_root: str, probes: dict, benchmarks: list[dict]) -> dict[str, str]:
    """Copy each configured generated-test file into the run directory (mapped to tasks, with
    the source's SHA-256), once: a copy already there is kept (the run's probes were made from
    it; a source edited since only earns a warning). Returns benchmark -> the copy's URI."""
    from pipeline.run import storage

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
    from pipeline.run import storage

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
    from pipeline.run import storage

    folder = storage.join(run_root, "inputs/generated_tests")
    out = {}
    for uri in storage.list_files(folder, suffix=".json"):
        bench = uri.rsplit("/", 1)[-1][: -len(".json")]
        out.update({(bench, tid): t for tid, t in load_frozen(uri).items()})
    return out
