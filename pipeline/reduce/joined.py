"""The verdict join of a run and its error policy: one row per sample with its pass.

Role in the pipeline: the first step of every reader of a run's results (the reducer's curves,
the advisor's counts, the rankers' join): samples joined with verdicts on the sample key, every
sample needing exactly one verdict. Sandbox `error` verdicts (the sandbox could not judge) are
never counted as failures: `join` refuses them, or with `exclude_errors=True` leaves those
samples out and says how many (a `SandboxErrorsExcluded` warning); `resume` re-executes their
shards. Pure: tables in, a frame out.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pyarrow as pa

import schemas

KEY = list(schemas.KEY)


class JoinError(ValueError):
    """Samples and verdicts that do not fit (the message names the first bad row and the fix)."""


class SandboxErrorsExcluded(UserWarning):
    """Samples with an `error` verdict were left out (`exclude_errors=True`)."""


def join(samples: pa.Table, verdicts: pa.Table, *, exclude_errors: bool = False
         ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(joined, excluded): one row per sample with KEY, temperature, status, passed (0/1),
    exec_ms (wall ms its program ran; 0 where `cached`), cached and task_code (an int per
    task id, for fast grouping); and the KEY rows of the samples left out for an `error`
    verdict (empty unless `exclude_errors`)."""
    s = samples.select(KEY + ["temperature"]).to_pandas()
    v = verdicts.select(KEY + ["status", "exec_ms", "cached"]).to_pandas()
    merged = s.merge(v, on=KEY, how="outer", indicator=True)
    for side, what, fix in (
        ("left_only", "samples have no verdict", "run or resume the execute stage first"),
        ("right_only", "verdicts have no sample", "the verdicts belong to another run?"),
    ):
        bad = merged[merged["_merge"] == side]
        if len(bad):
            first = bad.iloc[0]
            raise JoinError(
                f"{len(bad)} {what} (first: model={first['model']} benchmark={first['benchmark']} "
                f"task_id={first['task_id']} sample_idx={first['sample_idx']}); {fix}")
    merged = merged.drop(columns="_merge")
    merged["passed"] = (merged["status"] == "pass").astype(np.float64)
    merged["task_code"] = pd.factorize(merged["task_id"], sort=True)[0]
    return _handle_errors(merged, exclude_errors)


def _handle_errors(joined: pd.DataFrame, exclude: bool) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Refuse `error` verdicts, or drop them (with a warning saying how many) if `exclude`."""
    bad = joined["status"] == "error"
    if not bad.any():
        return joined, joined.iloc[:0][KEY]
    counts = joined[bad].groupby(["model", "benchmark"]).size()
    where = ", ".join(f"{m}/{b}: {n}" for (m, b), n in counts.items())
    if not exclude:
        first = joined[bad].iloc[0]
        raise JoinError(
            f"{int(bad.sum())} samples have a sandbox `error` verdict (the sandbox could not "
            f"judge them; {where}; first: model={first['model']} task_id={first['task_id']} "
            f"sample_idx={first['sample_idx']}); they are not failures: `budget-realloc resume "
            "RUN_DIR` re-executes their shards, or leave them out with --exclude-errors "
            "(reduce: {exclude_errors: true})")
    warnings.warn(SandboxErrorsExcluded(
        f"excluded {int(bad.sum())} samples with a sandbox error verdict ({where})"), stacklevel=3)
    return joined[~bad].reset_index(drop=True), joined.loc[bad, KEY]


def exec_wall_seconds(joined: pd.DataFrame) -> float:
    """Mean wall seconds a sample's program ran in the sandbox, over the samples actually
    executed (a `cached` verdict was fanned out from an identical program: not executed);
    NaN if none was."""
    ran = joined[~joined["cached"].astype(bool)]
    return float(ran["exec_ms"].mean() / 1000.0) if len(ran) else float("nan")
