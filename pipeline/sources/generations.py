"""Reading generation files made elsewhere: completions jsonl, CodeT, bigcode-evaluation-harness.

Three formats (`detect_format` tells them apart by their first record):
- `completions`: jsonl of `{task_id, completion}` rows (human-eval / evalplus style; evalplus'
  `solution` holding prompt + completion is accepted too). A task's samples get sample_idx
  0, 1, ... in order of appearance, or the row's own `sample_idx` / `completion_id` when given.
- `codet`: jsonl of `{task_id | prompt, samples: [...]}` (microsoft/CodeT). A line without a
  task_id is mapped to its task by the name of the last `def` in its prompt, then by the
  longest common prefix with the benchmark's prompts (CodeT's prompts differ from HumanEval's).
- `bigcode`: the bigcode-evaluation-harness JSON list of lists (`--save_generations`): element i
  holds the samples of the i-th problem of the benchmark (the full benchmark, before any subset).

Any of them may be gzip-compressed (`.json.gz`, `.jsonl.gz`; told by the gzip magic bytes).
Whole-program samples (bigcode, evalplus `solution`: the prompt followed by the model's body)
have the problem's prompt removed, since the executor runs prompt + completion; one that does
not start with its prompt is kept whole (a HumanEval-style prompt ends with its docstring, so
prompt + a whole program redefining the function still runs the program's version), and is
counted and named in the report (`without_prompt`, "TASK_ID#SAMPLE"). Bad input never vanishes: with
`on_error="error"` (the default) the first bad line raises `ImportFileError` naming it
(`FILE:LINE: reason`); with `on_error="skip"` it is left out and counted in the report by
reason, with its line.
`pipeline.run.importers.import_to_run` writes what these readers return into a run.

Role in the pipeline: the data layer under `pipeline.run` (it knows benchmarks' problems, not
runs): `read_generations` -> `Generations` (completions by task, the file's prompts, an
`ImportReport`); `match_prompt` also maps CodeT's generated-test prompts to their tasks.
"""

from __future__ import annotations

import gzip
import io
import json
import re
import warnings
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Iterator, Optional

import pyarrow as pa

from pipeline.benchmarks import DataError
from pipeline.sources.report import ImportReport, Skipped

__all__ = ["FORMATS", "IMPORTED_FINISH", "Generations", "ImportFileError", "ImportReport",
           "ImportWarning", "Skipped", "detect_format", "match_prompt", "open_text",
           "read_generations"]

FORMATS = ("completions", "codet", "bigcode")
#: finish_reason of imported samples: the files do not say whether a sample hit the token limit.
IMPORTED_FINISH = "imported"
_DEF = re.compile(r"^\s*def\s+([A-Za-z_]\w*)\s*\(", re.M)


class ImportFileError(DataError):
    """A generation file is malformed; the message names the file and the offending line."""


class ImportWarning(UserWarning):
    """Something was skipped or looks wrong in a generation file (also counted in the report)."""


@dataclass
class Generations:
    """Samples read from a file, by task (in file order), with the file's prompts (CodeT)."""

    completions: dict[str, list[str]]
    prompts: dict[str, str]
    report: ImportReport


# -- reading ---------------------------------------------------------------------------------------
class _Reader:
    """Shared bookkeeping: raise or record each bad item, by policy."""

    def __init__(self, path: Path, fmt: str, benchmark: str, on_error: str):
        if on_error not in ("error", "skip"):
            raise ValueError(f"on_error must be 'error' or 'skip', got {on_error!r}")
        self.path = path
        self.on_error = on_error
        self.report = ImportReport(str(path), fmt, benchmark)
        self.unit = "element" if fmt == "bigcode" else "line"

    def bad(self, line: int, reason: str, detail: str = "") -> None:
        where = f"{self.path}: element {line}" if self.unit == "element" else f"{self.path}:{line}"
        message = f"{where}: {reason}" + (f" ({detail})" if detail else "")
        if self.on_error == "error":
            raise ImportFileError(message + "; fix the line or import with on_error='skip' "
                                  "(CLI: --skip-bad) to leave it out and count it")
        self.report.skipped.append(Skipped(line, reason, detail))
        warnings.warn(message + "; skipped", ImportWarning, stacklevel=3)


def open_text(path: Path) -> IO[str]:
    """`path` opened as UTF-8 text, decompressed on the fly when it is gzip (by magic bytes)."""
    with path.open("rb") as raw:
        magic = raw.read(2)
    if magic == b"\x1f\x8b":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8")
    return path.open(encoding="utf-8")


def _jsonl(reader: _Reader) -> Iterator[tuple[int, dict]]:
    try:
        handle = open_text(reader.path)
    except OSError as exc:
        raise ImportFileError(f"{reader.path}: cannot be read ({exc})") from None
    with handle:
        for lineno, line in enumerate(_lines(reader.path, handle), start=1):
            if not line.strip():
                continue
            reader.report.lines += 1
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                reader.bad(lineno, "not valid JSON", exc.msg)
                continue
            if not isinstance(record, dict):
                reader.bad(lineno, "not a JSON object", type(record).__name__)
                continue
            yield lineno, record


def _lines(path: Path, handle: IO[str]) -> Iterator[str]:
    try:
        yield from handle
    except (OSError, EOFError, UnicodeDecodeError) as exc:  # a truncated or corrupt .gz
        raise ImportFileError(f"{path}: cannot be read ({exc})") from None


def detect_format(path: str | Path) -> str:
    """`completions`, `codet` or `bigcode`, from the file's first record."""
    path = Path(path)
    if not path.is_file():
        raise ImportFileError(f"{path}: file not found")
    with open_text(path) as handle:
        for lineno, line in enumerate(_lines(path, handle), start=1):
            text = line.strip()
            if not text:
                continue
            if text.startswith("["):
                return "bigcode"
            try:
                record = json.loads(text)
            except json.JSONDecodeError as exc:
                raise ImportFileError(f"{path}:{lineno}: not valid JSON ({exc.msg}); cannot tell "
                                      "the format, give it explicitly") from None
            if isinstance(record, dict) and "samples" in record:
                return "codet"
            if isinstance(record, dict) and ("completion" in record or "solution" in record):
                return "completions"
            raise ImportFileError(
                f"{path}:{lineno}: cannot tell the format: expected a JSON list (bigcode), or "
                "jsonl objects with 'samples' (codet) or 'completion'/'solution' (completions)")
    raise ImportFileError(f"{path}: empty file")


def _task_index(problems: pa.Table) -> dict[str, str]:
    """Accepted spellings of each task id -> the benchmark's id (case-insensitive, bare number)."""
    index: dict[str, str] = {}
    for tid in problems.column("task_id").to_pylist():
        index[tid] = tid
        index.setdefault(tid.lower(), tid)
        index.setdefault(tid.rsplit("/", 1)[-1], tid)
    return index


def _strip_prompt(reader: _Reader, problem: dict, text: str, where: Optional[str] = None) -> str:
    """`text` without its problem's prompt; `where` ("TASK#SAMPLE") marks a whole-program
    sample, which is named in the report when it does not start with the prompt."""
    prompt = problem["prompt"]
    if problem["io_kind"] == "function" and prompt and text.startswith(prompt):
        reader.report.prompt_stripped += 1
        return text[len(prompt):]
    if where is not None and problem["io_kind"] == "function" and prompt:
        reader.report.without_prompt.append(where)
    return text


def _read_completions(reader: _Reader, problems: dict[str, dict], ids: dict[str, str]):
    out: dict[str, list[str]] = {}
    seen_idx: dict[tuple[str, int], int] = {}
    for lineno, rec in _jsonl(reader):
        reader.report.samples_read += 1
        raw_id = rec.get("task_id")
        if raw_id is None:
            reader.bad(lineno, "missing task id", "no 'task_id' field")
            continue
        tid = ids.get(str(raw_id)) or ids.get(str(raw_id).lower())
        if tid is None:
            reader.bad(lineno, "unknown task", f"task_id {raw_id!r} is not a {reader.report.benchmark} task")
            continue
        key = "completion" if "completion" in rec else "solution"
        text = rec.get(key)
        if not isinstance(text, str):
            reader.bad(lineno, "non-string sample",
                       f"'{key}' is {type(text).__name__}" if key in rec else "no 'completion' field")
            continue
        idx = rec.get("sample_idx", rec.get("completion_id"))
        if idx is not None:
            if (tid, idx) in seen_idx:
                reader.bad(lineno, "duplicate row",
                           f"{tid} sample {idx} already given on line {seen_idx[(tid, idx)]}")
                continue
            seen_idx[(tid, idx)] = lineno
        whole = f"{tid}#{len(out.get(tid, []))}" if key == "solution" else None
        out.setdefault(tid, []).append(_strip_prompt(reader, problems[tid], text, whole))
    return out, {}


def _common_prefix(a: str, b: str) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


def match_prompt(prompt: str, problems: dict[str, dict]) -> tuple[Optional[str], str]:
    """The task a CodeT-style prompt belongs to: same last `def` name, longest common prefix.

    Returns (task_id, "") or (None, why not).
    """
    names = _DEF.findall(prompt)
    if not names:
        return None, "the prompt defines no function"
    name = names[-1]
    candidates = [t for t, p in problems.items()
                  if (_DEF.findall(p["prompt"]) or [None])[-1] == name]
    if not candidates:
        return None, f"no task's prompt ends with a function named {name!r}"
    scored = sorted(((_common_prefix(prompt, problems[t]["prompt"]), t) for t in candidates),
                    reverse=True)
    if len(scored) > 1 and scored[0][0] == scored[1][0]:
        return None, f"{name!r} matches {scored[0][1]} and {scored[1][1]} equally"
    return scored[0][1], ""


def _read_codet(reader: _Reader, problems: dict[str, dict], ids: dict[str, str]):
    out: dict[str, list[str]] = {}
    prompts: dict[str, str] = {}
    line_of: dict[str, int] = {}
    for lineno, rec in _jsonl(reader):
        samples = rec.get("samples")
        if not isinstance(samples, list):
            reader.bad(lineno, "non-string sample", "'samples' is not a list"
                       if "samples" in rec else "no 'samples' field")
            continue
        reader.report.samples_read += len(samples)
        if rec.get("task_id") is not None:
            tid = ids.get(str(rec["task_id"])) or ids.get(str(rec["task_id"]).lower())
            if tid is None:
                reader.bad(lineno, "unknown task",
                           f"task_id {rec['task_id']!r} is not a {reader.report.benchmark} task")
                continue
        elif isinstance(rec.get("prompt"), str):
            tid, why = match_prompt(rec["prompt"], problems)
            if tid is None:
                reader.bad(lineno, "unknown task", why)
                continue
        else:
            reader.bad(lineno, "missing task id", "neither 'task_id' nor a string 'prompt'")
            continue
        if tid in line_of:
            reader.bad(lineno, "duplicate row", f"{tid} was already given on line {line_of[tid]}")
            continue
        line_of[tid] = lineno
        if isinstance(rec.get("prompt"), str):
            prompts[tid] = rec["prompt"]
        out[tid] = _string_samples(reader, lineno, problems[tid], samples, "samples", whole=False)
    return out, prompts


def _string_samples(reader: _Reader, where: int, problem: dict, samples: list, label: str,
                    whole: bool) -> list[str]:
    """The string samples of one task, prompt-stripped; each non-string one reported at `where`.
    `whole`: the samples are whole programs (a missing prompt is named in the report)."""
    kept = []
    for j, text in enumerate(samples):
        if not isinstance(text, str):
            reader.bad(where, "non-string sample", f"{label}[{j}] is {type(text).__name__}")
            continue
        name = f"{problem['task_id']}#{len(kept)}" if whole else None
        kept.append(_strip_prompt(reader, problem, text, name))
    return kept


def _read_bigcode(reader: _Reader, problems: dict[str, dict], order: list[str]):
    try:
        with open_text(reader.path) as handle:
            data = json.loads(handle.read())
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise ImportFileError(f"{reader.path}: cannot be read ({exc})") from None
    except json.JSONDecodeError as exc:
        raise ImportFileError(f"{reader.path}:{exc.lineno}: not valid JSON ({exc.msg})") from None
    if not isinstance(data, list):
        raise ImportFileError(f"{reader.path}: expected a JSON list of lists (bigcode harness), "
                              f"got {type(data).__name__}")
    out: dict[str, list[str]] = {}
    for i, samples in enumerate(data):
        element = i
        reader.report.lines += 1
        if not isinstance(samples, list):
            reader.bad(element, "non-string sample", f"{type(samples).__name__}, not a list")
            continue
        reader.report.samples_read += len(samples)
        if i >= len(order):
            reader.bad(element, "unknown task",
                       f"the benchmark has {len(order)} problems, elements 0-{len(order) - 1}")
            continue
        tid = order[i]
        out[tid] = _string_samples(reader, element, problems[tid], samples, f"[{i}]", whole=True)
    return out, {}


def read_generations(path: str | Path, problems: pa.Table, *, fmt: str = "auto",
                     on_error: str = "error") -> Generations:
    """Read a generation file against a benchmark's full `problems` table."""
    path = Path(path)
    fmt = detect_format(path) if fmt == "auto" else fmt
    if fmt not in FORMATS:
        raise ImportFileError(f"{path}: unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if not path.is_file():
        raise ImportFileError(f"{path}: file not found")
    bench = problems.column("benchmark")[0].as_py() if problems.num_rows else "?"
    reader = _Reader(path, fmt, bench, on_error)
    rows = {r["task_id"]: r for r in problems.to_pylist()}
    if fmt == "completions":
        out, prompts = _read_completions(reader, rows, _task_index(problems))
    elif fmt == "codet":
        out, prompts = _read_codet(reader, rows, _task_index(problems))
    else:
        out, prompts = _read_bigcode(reader, rows, list(rows))
    for tid, texts in out.items():
        counts = Counter(texts)
        reader.report.repeats += sum(c - 1 for c in counts.values())
    return Generations(out, prompts, reader.report)
