"""Read a model-written test file (CodeT's released test cases) into each problem's tests.

Role in the pipeline: the `generated_tests` probe set of the `probe` stage. Each line of the
file is CodeT's `{"prompt", "samples"}`; the line's task is found like the code-solution
importer finds it (`pipeline.run.importers.match_prompt`), each sample's asserts are kept as
CodeT's postprocessing keeps them (`pipeline.benchmarks.probes.codet_test_cases`, following
microsoft/CodeT CodeT/src/postprocess.py), the first `limit` per sample (CodeT's
agreement.py, `cases_per_sample[:limit]`, 5 in its runs), counted per problem. Nothing read
here is executed: asserts are only compiled to check that they parse.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from pipeline.benchmarks.base import DataError, read_jsonl
from pipeline.benchmarks.probes import codet_test_cases
from pipeline.run.importers import match_prompt


@dataclass(frozen=True)
class GeneratedTests:
    """A problem's model-written tests: distinct asserts in first-seen order, with the number
    of test samples that wrote each (CodeT's test-case frequency)."""

    task_id: str
    tests: tuple[str, ...]
    counts: tuple[int, ...]
    samples: int = 0  # test samples the model wrote for the problem (what they cost)


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
        freq: Counter[str] = Counter()
        for sample in samples:
            freq.update(codet_test_cases(sample, entry)[:limit])
        tests = tuple(freq)  # Counter keeps first-seen order
        out[task_id] = GeneratedTests(task_id, tests, tuple(freq[t] for t in tests),
                                      len(samples))
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


def run_test_weights(run_dir: str) -> tuple[dict, dict]:
    """(test_weights, test_samples) of a run's `generated_tests` probe sets, for the
    dual-agreement ranker: (benchmark, task_id) -> the count of each test in the probe set's
    order, and -> how many test samples were written. Read from the files the frozen
    config.yaml names, mapped as the probe stage mapped them (`for_benchmarks`)."""
    import yaml

    from pipeline.run import storage

    cfg_path = storage.join(run_dir, "config.yaml")
    if not storage.exists(cfg_path):
        return {}, {}
    config = yaml.safe_load(storage.read_text(cfg_path)) or {}
    probes = config.get("probes") or {}
    tests = for_benchmarks(probes.get("generated_tests") or {}, config.get("benchmarks") or [],
                           int(probes.get("max_tests_per_sample", 5)))
    return ({k: t.counts for k, t in tests.items()}, {k: t.samples for k, t in tests.items()})
