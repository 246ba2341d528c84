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
        out[task_id] = GeneratedTests(task_id, tests, tuple(freq[t] for t in tests))
    return out
