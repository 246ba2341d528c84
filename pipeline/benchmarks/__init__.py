"""Benchmarks: datasets and prompts, one module per benchmark, looked up by name in `REGISTRY`.

Role in the pipeline: the first stage's input. Each module (humaneval, mbpp, apps) defines a
`BENCHMARK` (`pipeline.benchmarks.base.Benchmark`): name, problem count, loader returning the
`problems` table with prompts and stop sequences built, prompt builder, the paper's sampling
settings, splits, and the capacity planner's figures. Adding a benchmark is a module with a
`BENCHMARK` plus one line in `REGISTRY` (or `register(...)`, as the tests do). The program a
completion becomes is decided by the problem row's `io_kind` in `sandbox.harness`, never here.
"""

from __future__ import annotations

from pipeline.benchmarks import apps, humaneval, humaneval_plus, mbpp
from pipeline.benchmarks.base import Benchmark, DataError, Sampling

REGISTRY: dict[str, Benchmark] = {b.name: b for b in (
    humaneval.BENCHMARK, humaneval_plus.BENCHMARK, mbpp.BENCHMARK, apps.BENCHMARK)}


def register(benchmark: Benchmark) -> Benchmark:
    """Add (or replace) a benchmark under its name; returns it."""
    REGISTRY[benchmark.name] = benchmark
    return benchmark


def get(name: str) -> Benchmark:
    """The benchmark called `name`; a clear error lists the known ones."""
    try:
        return REGISTRY[name.lower()]
    except KeyError:
        raise DataError(
            f"unknown benchmark {name!r}; choose one of: {', '.join(REGISTRY)}"
        ) from None


__all__ = ["Benchmark", "REGISTRY", "DataError", "Sampling", "get", "register"]
