"""Benchmark registry: one module per benchmark (HumanEval, MBPP, APPS), looked up by name.

Each module exposes `NAME`, `SAMPLING` (the paper's sampling settings), `load(path)` returning
the `problems` table with prompts and stop sequences already built, and the prompt builder.
"""

from __future__ import annotations

from types import ModuleType

from pipeline.benchmarks import apps, humaneval, mbpp
from pipeline.benchmarks.common import DataError, Sampling

REGISTRY: dict[str, ModuleType] = {m.NAME: m for m in (humaneval, mbpp, apps)}


def get(name: str) -> ModuleType:
    """The benchmark module called `name`; a clear error lists the known ones."""
    try:
        return REGISTRY[name.lower()]
    except KeyError:
        raise DataError(
            f"unknown benchmark {name!r}; choose one of: {', '.join(REGISTRY)}"
        ) from None


__all__ = ["REGISTRY", "DataError", "Sampling", "get"]
