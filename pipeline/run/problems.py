"""Which problems a run holds: a benchmark's table narrowed by the config's subset, kept once.

Role in the pipeline: the first step of a run and of an import. `select` applies a benchmark
spec's `subset` (task ids, then a limit) to a problems table; `prepare_problems` builds each
benchmark's table once and keeps it in RUN_DIR/problems/, so a resumed run and an import see
exactly the problems the run started with (and, for humaneval+, the extended-test suite they
were made from, in RUN_DIR/extended_tests/).
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from pipeline.benchmarks import get as get_benchmark
from pipeline.config import BenchmarkSpec, ConfigError, RunConfig
from pipeline.run import storage
from pipeline.run.rundir import RunDir


def select(table: pa.Table, spec: BenchmarkSpec) -> pa.Table:
    """The rows of `table` that `spec.subset` names (its task ids, then its first `limit`)."""
    subset = spec.subset
    if subset.task_ids:
        known = set(table.column("task_id").to_pylist())
        unknown = [t for t in subset.task_ids if t not in known]
        if unknown:
            raise ConfigError(
                f"benchmarks.{spec.name}.subset.task_ids: unknown task id(s) {unknown[:5]} "
                f"(ids look like {table.column('task_id')[0].as_py()!r})"
            )
        table = table.filter(pc.is_in(table.column("task_id"), value_set=pa.array(subset.task_ids)))
    if subset.limit:
        table = table.slice(0, subset.limit)
    return table


def prepare_problems(config: RunConfig, rundir: RunDir) -> dict[str, pa.Table]:
    """The problems table of each benchmark, built once and kept in the run directory."""
    out = {}
    for spec in config.benchmarks:
        path = rundir.problems_path(spec.name)
        if storage.exists(path):
            out[spec.name] = storage.read_table(path, "problems")
            continue
        table = select(get_benchmark(spec.name).load_for(spec), spec)
        keep(rundir, spec.name, table)
        out[spec.name] = table
    return out


def keep(rundir: RunDir, name: str, table: pa.Table) -> None:
    """Write benchmark `name`'s problems into the run directory, with the files its benchmark
    keeps beside them (`Benchmark.run_files`: humaneval+'s generated suite, its hash and the
    generator's version) under RUN_DIR/extended_tests/."""
    storage.write_table(table, rundir.problems_path(name), "problems")
    extra = get_benchmark(name).run_files
    for fname, text in (extra(table) if extra else {}).items():
        storage.write_text(rundir.uri(f"extended_tests/{fname}"), text)
