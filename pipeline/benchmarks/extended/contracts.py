"""EvalPlus's per-task data for HumanEval: input contract, reference, base inputs, tolerance.

Role: the seeds and oracles of `pipeline.benchmarks.extended.generate`. The staged file
(`HumanEvalPlus-base-contracts.jsonl`, evalplus/evalplus at d739608, see
../shared/data/SOURCES.md) has one line per task in task order and no task ids: line i is
`HumanEval/<i-1>`. A file holding a subset of the tasks (the committed test fixture) gives each
line a `task_id` field instead.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from pipeline.benchmarks.base import DataError, read_jsonl, require

ENV = "BUDGET_REALLOC_EVALPLUS_CONTRACTS"
DEFAULT = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "evalplus" / \
    "HumanEvalPlus-base-contracts.jsonl"


@dataclass(frozen=True)
class Contract:
    """One task's EvalPlus data."""

    task_id: str
    contract: str  # lines asserting the preconditions, placed after the docstring
    reference: str  # EvalPlus's reference body (a completion of the HumanEval prompt)
    base_inputs: list  # HumanEval's own test inputs, each a list of arguments
    atol: float  # absolute tolerance for float outputs (0: EvalPlus's default 1e-6 applies)


def default_path() -> Path:
    """$BUDGET_REALLOC_EVALPLUS_CONTRACTS, else ../shared/data/evalplus/... beside the repo."""
    return Path(os.environ.get(ENV) or DEFAULT).resolve()


def load(path: str | Path | None = None) -> tuple[dict[str, Contract], str]:
    """(task_id -> Contract, sha256 of the file) from the staged jsonl."""
    path = Path(path) if path else default_path()
    if not path.exists():
        raise DataError(f"{path}: EvalPlus contracts file not found; set {ENV} or pass its path "
                        "(../shared/data/evalplus/HumanEvalPlus-base-contracts.jsonl)")
    out = {}
    for i, (lineno, rec) in enumerate(read_jsonl(path)):
        require(rec, {"contract": str, "reference": str, "base_input": list,
                      "atol": (int, float)}, f"{path}:{lineno}")
        task = rec.get("task_id") or f"HumanEval/{i}"  # a subset (test fixture) names its tasks
        out[task] = Contract(task, rec["contract"], rec["reference"], rec["base_input"],
                             float(rec["atol"]))
    return out, hashlib.sha256(path.read_bytes()).hexdigest()
