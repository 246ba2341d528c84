"""Shared pieces of the benchmark loaders: errors, sampling settings, jsonl reading, truncation."""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator


class DataError(ValueError):
    """Benchmark data is missing or malformed; the message names the file and the row."""


@dataclass(frozen=True)
class Sampling:
    """The paper's generation settings for one benchmark."""

    max_new_tokens: int
    temperature: float
    top_p: float = 0.95


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


def truncate(completion: str, stop: list[str] | tuple[str, ...]) -> str:
    """Cut `completion` at the earliest occurrence of any stop sequence (idempotent)."""
    cut = len(completion)
    for s in stop:
        if s:
            i = completion.find(s)
            if i != -1 and i < cut:
                cut = i
    return completion[:cut]
