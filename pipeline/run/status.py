"""`budget-realloc status`: per-stage progress of a run and its failures, from the files."""

from __future__ import annotations

from dataclasses import dataclass, field

from pipeline.run import stages, storage
from pipeline.run.rundir import Entry, RunDir
from pipeline.run.shards import plan


@dataclass
class Status:
    run_dir: str
    counts: dict[str, dict[str, int]] = field(default_factory=dict)  # stage -> state -> shards
    rows: dict[str, int] = field(default_factory=dict)  # stage -> rows done
    failed: list[Entry] = field(default_factory=list)
    reduced: bool = False
    sandbox_errors: int = 0  # `error` verdicts in done shards: `resume` re-executes them


def status(run_dir: str) -> Status:
    """Count shard states from the files and the manifest; writes nothing.

    A benchmark whose problems table is not built yet has no shards to count.
    """
    rundir = RunDir(run_dir)
    config = rundir.load_config(counts_only=True)  # reads imported counts of any benchmark too
    task_ids = {}
    for spec in config.benchmarks:
        path = rundir.problems_path(spec.name)
        if storage.exists(path):
            task_ids[spec.name] = storage.read_table(path, "problems").column("task_id").to_pylist()
    shards = plan(config.model_copy(update={
        "benchmarks": [b for b in config.benchmarks if b.name in task_ids]}), task_ids)
    manifest = rundir.read_manifest()
    out = Status(rundir.root)
    for stage in stages.names_for(config):
        counts = {"done": 0, "running": 0, "pending": 0, "failed": 0}
        rows = 0
        for shard in shards:
            entry = manifest.get((stage, shard.name))
            n = rundir.output_rows(stage, shard)
            if n is not None:
                counts["done"] += 1
                rows += n
                out.sandbox_errors += rundir.sandbox_errors(stage, shard)
            elif entry is not None and entry.state == "failed":
                counts["failed"] += 1
                out.failed.append(entry)
            elif entry is not None and entry.state == "running":
                counts["running"] += 1
            else:
                counts["pending"] += 1
        out.counts[stage], out.rows[stage] = counts, rows
    out.reduced = storage.exists(rundir.uri("curves.parquet"))
    return out
