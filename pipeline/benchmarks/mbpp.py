"""MBPP (Austin et al. 2021): test ids 11-510, 3-shot with ids 2, 3, 4.

Prompt format of the MBPP paper, also used by Code Llama:
"You are an expert Python programmer, and here is your task: {text} Your code should pass these
tests:\n\n{tests}\n[BEGIN]\n{code}\n[DONE]". Settings from Hassid et al. 2024: max 256 new
tokens, T = 0.8, top-p 0.95. The program run by the executor is completion + setup + asserts.
"""

from __future__ import annotations

import re
from pathlib import Path

import pyarrow as pa

import schemas
from pipeline.benchmarks.base import (
    Benchmark, DataError, Figure, PlannerFigures, Sampling, read_jsonl, require)

NAME = "mbpp"
SAMPLING = Sampling(max_new_tokens=256, temperature=0.8)
STOP = ["[DONE]"]
TEST_IDS = range(11, 511)
FEWSHOT_IDS = (2, 3, 4)

_CALL = re.compile(r"assert\s+(?:not\s+)?\(?\s*(?:set\(|sorted\()?\s*([A-Za-z_]\w*)\s*\(")


def _code(rec: dict) -> str:
    return rec["code"].replace("\r\n", "\n").rstrip()


def _task_block(rec: dict) -> str:
    tests = "\n".join(rec["test_list"])
    return (
        f"You are an expert Python programmer, and here is your task: {rec['text']} "
        f"Your code should pass these tests:\n\n{tests}\n"
    )


def build_prompt(rec: dict, shots: list[dict]) -> str:
    """3-shot prompt: each shot's task, tests and code between [BEGIN] and [DONE]."""
    parts = [_task_block(s) + "[BEGIN]\n" + _code(s) + "\n[DONE]\n" for s in shots]
    return "".join(parts) + _task_block(rec) + "[BEGIN]\n"


def _entry_point(rec: dict) -> str | None:
    for test in rec["test_list"]:
        m = _CALL.search(test)
        if m:
            return m.group(1)
    return None


def _records(path: Path | None) -> list[tuple[str, dict]]:
    if path is not None:
        return [(f"{path}:{lineno}", rec) for lineno, rec in read_jsonl(path)]
    try:
        import datasets  # type: ignore[import-not-found]
    except ModuleNotFoundError:
        raise DataError(
            "MBPP data: pass --data PATH/mbpp.jsonl (the full 974-task file from "
            "google-research/mbpp), or install `datasets` to load the `mbpp` dataset"
        ) from None
    out = []
    for split in ("prompt", "test", "validation", "train"):
        for i, rec in enumerate(datasets.load_dataset("mbpp", "full", split=split)):
            out.append((f"mbpp[{split}][{i}]", dict(rec)))
    return out


def load(path: str | Path | None = None) -> pa.Table:
    """The `problems` table for the MBPP test split (ids 11-510) from the full mbpp.jsonl."""
    path = Path(path) if path else None
    by_id: dict[int, tuple[str, dict]] = {}
    for where, rec in _records(path):
        require(rec, {"task_id": int, "text": str, "code": str, "test_list": list}, where)
        if not all(isinstance(t, str) for t in rec["test_list"]):
            raise DataError(f"{where}: field 'test_list' must be a list of strings")
        if not isinstance(rec.get("test_setup_code", ""), str):
            raise DataError(f"{where}: field 'test_setup_code' should be str")
        by_id[rec["task_id"]] = (where, rec)
    missing_shots = [i for i in FEWSHOT_IDS if i not in by_id]
    if missing_shots:
        raise DataError(f"{path or 'mbpp'}: few-shot task id(s) {missing_shots} not found")
    shots = [by_id[i][1] for i in FEWSHOT_IDS]
    rows = []
    for task_id in TEST_IDS:
        if task_id not in by_id:
            continue
        _, rec = by_id[task_id]
        rows.append(
            {
                "benchmark": NAME,
                "task_id": f"MBPP/{task_id}",
                "prompt": build_prompt(rec, shots),
                "tests": "\n".join(rec["test_list"]),
                "test_setup": rec.get("test_setup_code", "") or "",
                "entry_point": _entry_point(rec),
                "io_kind": "assert",
                "difficulty": None,
                "fewshot_ids": [f"MBPP/{i}" for i in FEWSHOT_IDS],
                "stop": STOP,
                "reference": _code(rec),
                "starter_code": "",
            }
        )
    if not rows:
        raise DataError(f"{path or 'mbpp'}: no test-split problems (ids 11-510) found")
    return schemas.from_rows(rows, "problems")



BENCHMARK = Benchmark(
    name=NAME, n_problems=len(TEST_IDS), sampling=SAMPLING, stop=tuple(STOP), load=load,
    build_prompt=build_prompt,
    planner=PlannerFigures(
        prompt_tokens=Figure(780.4, "mean of the 500 MBPP 3-shot prompts"),
        completion_tokens=Figure(73.2, "mean of the 500 MBPP reference solutions (no samples reachable)"),
        runs_per_sample=Figure(1, "one test program (3 asserts) per sample"),
    ),
)
