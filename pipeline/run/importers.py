"""Importing existing generations into a run: a generation file -> the run's `samples` shards.

Role in the pipeline: `import_to_run` reads a file with `pipeline.sources.generations`
(formats: completions jsonl, CodeT, bigcode-evaluation-harness; bad lines raise or are skipped
and counted) and writes the samples into the shards that `pipeline.run.shards.plan` gives the
config's imported model (`path: imported`), so `run CONFIG` then executes, scores and reduces
them like generated samples. Writes RUN_DIR/imports/MODEL-BENCHMARK.json (the import report).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Optional

import pyarrow as pa

import schemas
from pipeline.benchmarks import get as get_benchmark
from pipeline.config import ConfigError, RunConfig
from pipeline.run import storage
from pipeline.sources.generations import (IMPORTED_FINISH, ImportFileError, ImportReport,
                                          ImportWarning, read_generations)

__all__ = ["import_to_run", "samples_table"]


# -- into a run ------------------------------------------------------------------------------------
def samples_table(completions: dict[str, list[str]], *, run_id: str, model: str, benchmark: str,
                  temperature: float, seed: int) -> pa.Table:
    """A `samples` table: sample_idx 0..n-1 per task in the given order; no token counts."""
    rows = [
        {"run_id": run_id, "model": model, "benchmark": benchmark, "task_id": tid,
         "sample_idx": i, "seed": seed, "temperature": temperature, "completion": text,
         "n_tokens": 0, "finish_reason": IMPORTED_FINISH, "gen_seconds": 0.0}
        for tid, texts in completions.items() for i, text in enumerate(texts)
    ]
    return schemas.from_rows(rows, "samples") if rows else schemas.empty("samples")


def _with_prompts(table: pa.Table, prompts: dict[str, str], path: str) -> pa.Table:
    ids = table.column("task_id").to_pylist()
    missing = [t for t in ids if t not in prompts]
    if missing:
        raise ImportFileError(
            f"{path}: prompts='file' needs the file's prompt for every run task; "
            f"{len(missing)} have none (first: {missing[0]})")
    idx = table.schema.get_field_index("prompt")
    return table.set_column(idx, table.schema.field(idx), pa.array([prompts[t] for t in ids]))


def import_to_run(config: RunConfig, path: str | Path, *, model: Optional[str] = None,
                  benchmark: Optional[str] = None, fmt: str = "auto", prompts: str = "benchmark",
                  on_error: str = "error") -> ImportReport:
    """Write a generation file into the samples shards of `config`'s imported model.

    `prompts="benchmark"` keeps the benchmark's prompts (the executor runs benchmark prompt +
    completion); `prompts="file"` stores the file's own prompts (CodeT) in the run's problems
    table, so each program is run as the generator saw it. Writes RUN_DIR/imports/M-B.json.
    """
    from pipeline.run.problems import keep, select
    from pipeline.run.rundir import RunDir
    from pipeline.run.shards import plan

    spec_m = _pick([m for m in config.models if m.imported], model, "model",
                   "an imported model (path: imported)")
    spec_b = _pick(config.benchmarks, benchmark, "benchmark", "a benchmark")
    if prompts not in ("benchmark", "file"):
        raise ConfigError(f"prompts must be 'benchmark' or 'file', got {prompts!r}")
    full = get_benchmark(spec_b.name).load(spec_b.data)
    gens = read_generations(path, full, fmt=fmt, on_error=on_error)
    report = gens.report
    table = select(full, spec_b)
    if prompts == "file":
        table = _with_prompts(table, gens.prompts, str(path))
    run_ids = table.column("task_id").to_pylist()
    n = spec_b.n_for(spec_m.name)
    kept: dict[str, list[str]] = {}
    in_run = set(run_ids)
    for tid, texts in gens.completions.items():
        if tid not in in_run:
            report.outside_subset += len(texts)
            continue
        kept[tid] = texts[:n]
        report.beyond_n += max(0, len(texts) - n)
        if len(texts) < n:
            report.short_tasks[tid] = len(texts)
    report.per_task = {t: len(kept[t]) for t in run_ids if t in kept and kept[t]}
    report.missing_tasks = [t for t in run_ids if not kept.get(t)]
    for what, count in (("tasks with fewer than n samples", len(report.short_tasks)),
                        ("run tasks without samples", len(report.missing_tasks))):
        if count:
            warnings.warn(f"{path}: {count} {what}; see the import report", ImportWarning,
                          stacklevel=2)

    rundir = RunDir(config.output_dir)
    rundir.freeze_config(config)
    ppath = rundir.problems_path(spec_b.name)
    if storage.exists(ppath):
        existing = storage.read_table(ppath, "problems")
        if not existing.equals(table):
            raise ConfigError(
                f"{ppath} already holds other problems (prompts={prompts!r} differs from an "
                "earlier import or run?); use another output_dir")
    else:
        keep(rundir, spec_b.name, table)

    temperature = _temperature(spec_b)
    for shard in plan(config, {spec_b.name: run_ids} | {
            b.name: [] for b in config.benchmarks if b.name != spec_b.name}):
        if shard.model != spec_m.name or shard.benchmark != spec_b.name or shard.kind != "sampled":
            continue
        part = {t: kept[t] for t in shard.task_ids if kept.get(t)}
        if not part:
            continue
        samples = samples_table(part, run_id=config.run_id, model=spec_m.name,
                                benchmark=spec_b.name, temperature=temperature, seed=shard.seed)
        out = rundir.shard_path("generate", shard)
        if storage.exists(out):
            old = storage.read_table(out, "samples")
            if old.equals(samples):
                continue
            raise ConfigError(f"{out} already holds other samples; import into a new output_dir")
        storage.write_table(samples, out, "samples")
    _write_report(rundir.uri(f"imports/{spec_m.name}-{spec_b.name}.json"), report)
    return report


def _pick(items, name: Optional[str], what: str, kind: str):
    names = [i.name for i in items]
    if name is None:
        if len(items) == 1:
            return items[0]
        raise ConfigError(f"the config has {len(items)} candidates for {what} ({names or 'none'}); "
                          f"name {kind} with --{what}")
    for item in items:
        if item.name == name.lower() or item.name == name:
            return item
    raise ConfigError(f"{what} {name!r} is not {kind} of the config (candidates: {names})")


def _temperature(spec) -> float:
    from pipeline.run.shards import sampling_of

    return float(sampling_of(spec)[0])


def _write_report(uri: str, report: ImportReport) -> None:
    fs, path = storage.resolve(uri)
    fs.create_dir(path.rsplit("/", 1)[0], recursive=True)
    with fs.open_output_stream(path) as f:
        f.write(json.dumps(report.as_dict(), indent=1).encode())

