"""The `Benchmark` description every benchmark module provides, and the loaders' shared pieces.

A benchmark is one `Benchmark` value: its name, problem count, loader (-> the `problems` table,
prompts and stop sequences built), prompt builder, stop sequences, the paper's sampling
settings, named splits, and the figures the capacity planner uses. Nothing else in the project
keys behaviour on a benchmark's name: it asks the registry (`pipeline.benchmarks.get`).
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

import pyarrow as pa


class DataError(ValueError):
    """Benchmark data is missing or malformed; the message names the file and the row."""


@dataclass(frozen=True)
class Sampling:
    """The paper's generation settings for one benchmark."""

    max_new_tokens: int
    temperature: float
    top_p: float = 0.95


@dataclass(frozen=True)
class Figure:
    """A number the capacity planner uses, with where it comes from."""

    value: float
    source: str


@dataclass(frozen=True)
class PlannerFigures:
    """Mean prompt and completion lengths (Llama-2 tokens) and sandbox program runs per sample."""

    prompt_tokens: Figure
    completion_tokens: Figure
    runs_per_sample: Figure


@dataclass(frozen=True)
class Benchmark:
    """Everything the pipeline needs to know about one benchmark."""

    name: str
    #: problems in the full test set (the sum of `splits` when there are splits)
    n_problems: int
    sampling: Sampling
    stop: tuple[str, ...]
    #: load(path=None, **options) -> the `problems` table
    load: Callable[..., pa.Table]
    build_prompt: Callable[..., str]
    planner: PlannerFigures
    #: named subsets and their sizes (APPS difficulties); a run config picks them as
    #: `difficulties`, and the paper reports each as "<name>-<split>"
    splits: dict[str, int] = field(default_factory=dict)
    #: run_files(problems table) -> {file name: text} a run directory keeps beside the table
    #: (RUN_DIR/extended_tests/; humaneval+ keeps its generated suite there); None: nothing
    run_files: Optional[Callable[[pa.Table], dict[str, str]]] = None

    def load_for(self, spec) -> pa.Table:
        """The problems table a run config's benchmark spec asks for (data path, splits)."""
        if self.splits and spec.difficulties:
            return self.load(spec.data, difficulties=tuple(spec.difficulties))
        return self.load(spec.data)

    def problem_count(self, spec) -> int:
        """Problems a spec runs: its subset, else its splits, else the full test set."""
        total = self.n_problems
        if self.splits and spec.difficulties:
            unknown = sorted(set(spec.difficulties) - set(self.splits))
            if unknown:
                raise DataError(f"unknown {self.name} splits {unknown}; choose from {list(self.splits)}")
            total = sum(self.splits[s] for s in spec.difficulties)
        if spec.subset.task_ids is not None:
            return len(spec.subset.task_ids)
        if spec.subset.limit is not None:
            return min(spec.subset.limit, total)
        return total

    def paper_tables(self) -> dict[str, int]:
        """The paper's table names for this benchmark and their problem counts."""
        if self.splits:
            return {f"{self.name}-{s}": n for s, n in self.splits.items()}
        return {self.name: self.n_problems}


def read_jsonl(path: str | Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (line number, record) from a .jsonl or .jsonl.gz file, naming bad lines."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: file not found")
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8") as handle:
            for lineno, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise DataError(f"{path}:{lineno}: not valid JSON ({exc.msg})") from None
                if not isinstance(record, dict):
                    raise DataError(f"{path}:{lineno}: expected a JSON object, got {type(record).__name__}")
                yield lineno, record
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot be read ({exc})") from None


def require(record: dict[str, Any], fields: dict[str, type | tuple[type, ...]], where: str) -> None:
    """Check that `record` has each field with the given type, naming the first bad one."""
    for field, kind in fields.items():
        if field not in record:
            raise DataError(f"{where}: missing field {field!r}")
        if not isinstance(record[field], kind):
            raise DataError(
                f"{where}: field {field!r} should be {getattr(kind, '__name__', kind)}, "
                f"got {type(record[field]).__name__}"
            )
