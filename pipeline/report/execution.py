"""What a run's execute stage did: verdict statuses, sandbox errors, dedup, time, limits.

Role in the pipeline: read from a run directory (its verdicts, manifest and frozen sandbox
settings) for the reports that describe a run's execution (`pipeline.reproduce`).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any


def execution_stats(run_dir: Path) -> dict[str, Any]:
    """Verdict statuses, sandbox errors, dedup hit rate, execute-stage time and the programs'
    wall time of a run, with the sandbox settings of its frozen config (limit, workers).

    A verdict's `exec_ms` is its program's wall time; a deduplicated sample (`cached`: its
    verdict fanned out from an identical program) was not run and has `exec_ms` 0, so the mean
    is over the executed samples only."""
    from pipeline.run import storage
    from pipeline.run.rundir import RunDir
    from sandbox.config import SandboxConfig

    rd = RunDir(str(run_dir))
    v = rd.read_stage("execute").to_pandas()
    manifest = storage.read_table(rd.manifest_path, "manifest").to_pandas()
    ex = manifest[manifest.stage == "execute"]
    errors = v[v.status == "error"]
    executed = v[~v.cached]
    sandbox = SandboxConfig(**rd.load_config().sandbox)
    return {
        "samples": len(v),
        "tasks": int(v.task_id.nunique()),
        "n_per_task": int(v.groupby(["model", "task_id"]).size().min()) if len(v) else 0,
        "statuses": dict(Counter(v.status)),
        "sandbox_errors": len(errors),
        "sandbox_error_details": errors.detail.head(5).tolist(),
        "timeouts_by_task": v[v.status == "timeout"].task_id.value_counts().head(3).to_dict(),
        "time_limit": time_limit(sandbox),
        "workers": sandbox.workers,
        "dedup_hit_rate": float(v.cached.mean()) if len(v) else 0.0,
        "programs_run": len(executed),
        "execute_seconds": float(ex.seconds.sum()),
        "program_wall_seconds": float(executed.exec_ms.sum() / 1000.0),
        "wall_seconds_per_executed_sample": (float(executed.exec_ms.mean() / 1000.0)
                                             if len(executed) else 0.0),
    }


def time_limit(sandbox) -> str:
    """The limit behind a `timeout` verdict, as the run's `sandbox` settings set it."""
    if sandbox.time_limit_factor > 0:
        return (f"CPU limit per problem max({sandbox.time_limit_floor_s:g} s, "
                f"{sandbox.time_limit_factor:g} x its reference solution's CPU time), at most "
                f"{sandbox.timeout_s:g} s")
    return f"{sandbox.timeout_s:g} s CPU limit per sample"
