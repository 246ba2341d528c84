"""Per-problem pass counts made elsewhere: CSV, JSON, JSON Lines or EvalPlus result files.

Role in the pipeline: the reader behind `budget-realloc import-counts`
(`pipeline.run.counts_import.write_run` lays what it returns out as a run directory). Rows are
`model, benchmark, task_id, n, c` as CSV, JSON (an array of objects) or JSON Lines, or
evalplus's `eval_results.json` (`{"eval": {task_id: [{"base_status": "pass", "plus_status":
...}, ...]}}`, or the older `{"eval": {task_id: {"base": [[status, ...]], ...}}}`; model and
benchmark from the options). A malformed row stops the import naming FILE:LINE. A benchmark may
be any well-formed name (`pipeline.config.NAME`), registered or not.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from pipeline.config import NAME

FIELDS = ("model", "benchmark", "task_id", "n", "c")
#: evalplus's status of a passing solution.
EVALPLUS_PASS = "pass"


class CountsError(ValueError):
    """A counts file that cannot be imported; the message names FILE:LINE and the fix."""


@dataclass
class Counts:
    """The validated rows of a counts file, one per (model, benchmark, task_id)."""

    model: list[str]
    benchmark: list[str]
    task_id: list[str]
    n: list[int]
    c: list[int]

    def __len__(self) -> int:
        return len(self.task_id)


def _int(value: Any, what: str, where: str) -> int:
    try:
        if isinstance(value, bool):
            raise ValueError
        f = float(value)
        if f != int(f):
            raise ValueError
        return int(f)
    except (TypeError, ValueError):
        raise CountsError(f"{where}: {what} must be a whole number, got {value!r}") from None


def _name(value: str, what: str, where: str) -> str:
    """`value` if it is a valid model or benchmark name (it names files of the run directory)."""
    if not NAME.match(value):
        raise CountsError(f"{where}: {what} name {value!r} must be letters, digits, '.', '_' "
                          "or '-', starting with a letter or digit")
    return value


def _check(rows, file: Path) -> Counts:
    """rows: (line, mapping) pairs -> Counts; the first malformed row raises CountsError."""
    out = Counts([], [], [], [], [])
    seen: dict[tuple, int] = {}
    for line, row in rows:
        where = f"{file}:{line}"
        if not isinstance(row, dict):
            raise CountsError(f"{where}: expected an object with {', '.join(FIELDS)}")
        missing = [f for f in FIELDS if row.get(f) in (None, "")]
        if missing:
            raise CountsError(f"{where}: missing {', '.join(missing)} (each row needs "
                              f"{', '.join(FIELDS)})")
        model = _name(str(row["model"]), "model", where)
        bench = _name(str(row["benchmark"]), "benchmark", where).lower()
        task = str(row["task_id"])
        n, c = _int(row["n"], "n", where), _int(row["c"], "c", where)
        if n < 1 or not 0 <= c <= n:
            raise CountsError(f"{where}: need n >= 1 and 0 <= c <= n, got n={n} c={c}")
        key = (model, bench, task)
        if key in seen:
            raise CountsError(f"{where}: {model} {bench} {task} repeats line {seen[key]}")
        seen[key] = line
        for name, v in zip(FIELDS, (model, bench, task, n, c)):
            getattr(out, name).append(v)
    if not len(out):
        raise CountsError(f"{file}: no rows")
    return out


def _csv_rows(file: Path):
    with open(file, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        if reader.fieldnames is None or not set(FIELDS) <= set(reader.fieldnames):
            raise CountsError(f"{file}:1: the header must name {', '.join(FIELDS)}, got "
                              f"{reader.fieldnames}")
        for row in reader:
            yield reader.line_num, row


def _json_array_rows(file: Path, text: str):
    """Elements of a top-level JSON array with the line each one starts on."""
    dec = json.JSONDecoder()
    pos = text.index("[") + 1
    while True:
        while pos < len(text) and text[pos] in " \t\r\n,":
            pos += 1
        if pos >= len(text) or text[pos] == "]":
            return
        line = text.count("\n", 0, pos) + 1
        try:
            obj, pos = dec.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            raise CountsError(f"{file}:{line}: not valid JSON ({exc.msg})") from None
        yield line, obj


def _jsonl_rows(file: Path, text: str):
    for line, raw in enumerate(text.splitlines(), start=1):
        if raw.strip():
            try:
                yield line, json.loads(raw)
            except json.JSONDecodeError as exc:
                raise CountsError(f"{file}:{line}: not valid JSON ({exc.msg})") from None


def _benchmark_of(task_id: str, where: str) -> str:
    """The benchmark an evalplus task id names by its prefix: HumanEval/0 -> humaneval."""
    prefix, sep, _ = task_id.partition("/")
    if not sep or not prefix:
        raise CountsError(f"{where}: task id {task_id!r} has no 'Benchmark/' prefix to tell its "
                          "benchmark by; give --benchmark")
    return prefix.lower()


def _evalplus_rows(file: Path, text: str, data: dict, model: Optional[str],
                   benchmark: Optional[str], plus: bool):
    if not model:
        raise CountsError(f"{file}: an evalplus eval_results.json names no model; give --model")
    for task_id, entry in data["eval"].items():
        line = text.count("\n", 0, max(text.find(json.dumps(task_id)), 0)) + 1
        bench = benchmark or _benchmark_of(task_id, f"{file}:{line}")
        if isinstance(entry, dict):  # older layout: base/plus lists of [status, details]
            base = [r[0] if isinstance(r, list) else r for r in entry.get("base", [])]
            extra = [r[0] if isinstance(r, list) else r for r in entry.get("plus", [])]
        elif isinstance(entry, list):
            if not all(isinstance(r, dict) and "base_status" in r for r in entry):
                raise CountsError(f"{file}:{line}: eval[{task_id!r}] must be a list of results "
                                  "with a base_status")
            base = [r["base_status"] for r in entry]
            extra = [r.get("plus_status") for r in entry]
        else:
            raise CountsError(f"{file}:{line}: eval[{task_id!r}] is neither a list nor a mapping")
        if plus and len(extra) != len(base):
            raise CountsError(f"{file}:{line}: eval[{task_id!r}] has no plus results for every "
                              "solution; import without --plus")
        ok = [b == EVALPLUS_PASS and (not plus or p == EVALPLUS_PASS)
              for b, p in zip(base, extra if plus else base)]
        yield line, {"model": model, "benchmark": bench, "task_id": task_id, "n": len(base),
                     "c": sum(ok)}


def read_counts(file: str | Path, fmt: str = "auto", *, model: Optional[str] = None,
                benchmark: Optional[str] = None, plus: bool = False) -> Counts:
    """Validated per-problem counts from FILE (fmt: auto | csv | json | jsonl | evalplus).

    `model`/`benchmark` fill in what an evalplus file does not say (the benchmark defaults to
    the task ids' prefix: HumanEval/0 -> humaneval); `plus`: count a solution as passing only
    if it also passes evalplus's extra tests."""
    file = Path(file)
    if not file.exists():
        raise CountsError(f"{file}: no such file")
    if fmt == "auto":
        fmt = "csv" if file.suffix.lower() == ".csv" else "jsonl" if file.suffix == ".jsonl" \
            else "json"
    if fmt == "csv":
        return _check(_csv_rows(file), file)
    text = file.read_text(encoding="utf-8")
    if fmt == "jsonl":
        return _check(_jsonl_rows(file, text), file)
    if fmt not in ("json", "evalplus"):
        raise CountsError(f"unknown format {fmt!r}; use auto, csv, json, jsonl or evalplus")
    stripped = text.lstrip()
    if stripped.startswith("["):
        return _check(_json_array_rows(file, text), file)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CountsError(f"{file}:{exc.lineno}: not valid JSON ({exc.msg})") from None
    if isinstance(data, dict) and isinstance(data.get("eval"), dict):
        return _check(_evalplus_rows(file, text, data, model, benchmark, plus), file)
    raise CountsError(f"{file}: expected rows ({', '.join(FIELDS)}) as an array or JSON lines, "
                      "or an evalplus eval_results.json with an `eval` mapping")
