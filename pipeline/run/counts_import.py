"""`budget-realloc import-counts`: per-problem pass counts -> a run directory that `advise` and
`reduce` read, for users who have leaderboard results but no samples.

Role in the pipeline: an importer at the start of a run, like `pipeline.run.importers` for
generations; the files are read by `pipeline.sources.counts`. Inputs: rows `model, benchmark, task_id, n, c` as CSV, JSON (an array of objects)
or JSON Lines, or evalplus's `eval_results.json` (`{"eval": {task_id: [{"base_status": "pass",
"plus_status": ...}, ...]}}`, or the older `{"eval": {task_id: {"base": [[status, ...]], ...}}}`;
model and benchmark from the options). A malformed row stops the import naming FILE:LINE.

The benchmark may be any name (letters, digits, '.', '_', '-'; lower-cased), registered in
`pipeline.benchmarks` (humaneval, mbpp, apps) or not (livecodebench, an in-house set): the
advisor and the reducer need counts and costs only, never the problems table.

The run directory holds config.yaml (the models as `path: imported`, with their costs if given),
and per (model, benchmark) one samples and one verdicts shard with n rows per problem, c of them
`pass` (empty completions, temperature `temperature`, no timings): pass@k of these rows is the
pass@k of the counts, so the reducer and the advisor need nothing else. Its config is parsed
with `counts_only` (`pipeline.config.parse`): a benchmark needs a well-formed name there, not a
registered one (a run that generates still needs a registered benchmark).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Optional

import numpy as np
import pyarrow as pa

import schemas
from pipeline.run import storage
from pipeline.sources.counts import Counts, CountsError, read_counts

__all__ = ["Counts", "CountsError", "read_counts", "write_run"]


def write_run(counts: Counts, out_dir: str | Path, *, run_id: Optional[str] = None,
              costs: Optional[dict[str, dict]] = None, temperature: float = 0.8) -> dict:
    """Lay the counts out as a run directory (see the module docstring); returns a summary."""
    from pipeline import config as config_mod
    from pipeline.run.rundir import RunDir

    root = Path(out_dir)
    if (root / "samples").exists() or (root / "verdicts").exists():
        raise CountsError(f"{root}: already holds samples or verdicts; choose another output "
                          "directory or delete this one")
    models = sorted(set(counts.model))
    benches = sorted(set(counts.benchmark))
    unknown = sorted(set(costs or {}) - set(models))
    if unknown:
        raise CountsError(f"costs given for models not in the file: {unknown}; have {models}")
    cfg = config_mod.parse({
        "run_id": run_id or re.sub(r"[^A-Za-z0-9._-]", "-", root.name) or "imported-counts",
        "output_dir": str(root),
        "models": [{"name": m, "path": "imported", "cost": (costs or {}).get(m, {})}
                   for m in models],
        "benchmarks": [{"name": b, "n": max(n for n, bb in zip(counts.n, counts.benchmark)
                                             if bb == b)} for b in benches],
    }, f"{out_dir}/config.yaml", counts_only=True)
    rd = RunDir(str(root))
    rd.freeze_config(cfg)
    n = np.asarray(counts.n)
    c = np.asarray(counts.c)
    for m in models:
        for b in benches:
            rows = np.flatnonzero((np.asarray(counts.model) == m) & (np.asarray(counts.benchmark) == b))
            if not rows.size:
                continue
            reps = n[rows]
            task = np.repeat(np.asarray(counts.task_id, dtype=object)[rows], reps)
            idx = np.arange(reps.sum()) - np.repeat(np.cumsum(reps) - reps, reps)
            passed = idx < np.repeat(c[rows], reps)
            key = {"run_id": pa.array(np.full(task.size, cfg.run_id, dtype=object)),
                   "model": pa.array(np.full(task.size, m, dtype=object)),
                   "benchmark": pa.array(np.full(task.size, b, dtype=object)),
                   "task_id": pa.array(task), "sample_idx": pa.array(idx.astype(np.int32))}
            size = task.size
            samples = pa.table({**key, "seed": np.zeros(size, np.int64),
                                "temperature": np.full(size, temperature, np.float32),
                                "completion": pa.array([""] * size),
                                "n_tokens": np.zeros(size, np.int32),
                                "finish_reason": pa.array(["stop"] * size),
                                "gen_seconds": np.zeros(size)})
            verdicts = pa.table({**key, "status": pa.array(np.where(passed, "pass", "fail")),
                                 "tests_passed": passed.astype(np.int32),
                                 "tests_total": np.ones(size, np.int32),
                                 "detail": pa.array(["imported count"] * size),
                                 "exec_ms": np.zeros(size), "cached": np.zeros(size, bool)})
            for stage, table in (("samples", samples), ("verdicts", verdicts)):
                storage.write_table(schemas.conform(table, stage), storage.join(
                    rd.root, f"{stage}/model={m}/benchmark={b}/counts-00000.parquet"), stage)
    return {"run_dir": rd.root, "rows": len(counts), "models": models, "benchmarks": benches,
            "samples": int(n.sum())}
