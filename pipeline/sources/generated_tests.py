"""Read a model-written test file (CodeT's released test cases) into each problem's tests.

Role in the pipeline: the reader behind the `generated_tests` probe set of the `probe` stage
(`pipeline.run.generated_tests` freezes what it returns into a run). Each line of the file is
CodeT's `{"prompt", "samples"}`; the line's task is found like the code-solution importer finds
it (`pipeline.sources.generations.match_prompt`), each sample's asserts are kept as CodeT's
postprocessing keeps them (`pipeline.benchmarks.probes.codet_test_cases`, following
microsoft/CodeT CodeT/src/postprocess.py), the first `limit` per sample (CodeT's agreement.py,
`cases_per_sample[:limit]`, 5 in its runs), counted per problem. Nothing read here is
executed: asserts are only compiled to check that they parse.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from pipeline.benchmarks import get
from pipeline.benchmarks.base import DataError, read_jsonl
from pipeline.benchmarks.probes import codet_test_cases
from pipeline.config import BenchmarkSpec
from pipeline.sources.generations import match_prompt


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
