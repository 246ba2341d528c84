"""The query API: a run's tables as pandas DataFrames, straight from its Parquet files.

```python
from pipeline import results
r = results.load("runs/default")
r.samples.groupby("task_id").passed.mean()                       # pass rate per problem
r.samples[r.samples.passed].nlargest(5, "n_tokens")[["task_id", "completion"]]  # longest passing
r.curves.query("metric == 'pass@k'").pivot(index="k", columns="model", values="value")  # pass@k
r.advice.query("setting == 'tests'")[["budget", "best", "best_config", "value", "p_best"]]  # advise
```
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

import schemas
from pipeline.run import storage
from pipeline.run.rundir import RunDir


@dataclass
class Results:
    """A run's tables. `samples` is samples joined with verdicts and scores on the sample key."""

    run_dir: str
    problems: pd.DataFrame
    samples: pd.DataFrame
    curves: pd.DataFrame
    manifest: pd.DataFrame
    #: the advisor's table (`budget-realloc advise`); empty until advise has run
    advice: pd.DataFrame
    #: the probe stage's table (outcomes per sample and probe set); empty without `probes`
    probes: pd.DataFrame


def load(run_dir: str) -> Results:
    """Read a run directory; a corrupt file raises StorageError naming it."""
    rundir = RunDir(run_dir)
    if not storage.exists(rundir.config_path):
        raise storage.StorageError(f"{run_dir}: not a run directory (no config.yaml)")
    problems = storage.read_dataset(rundir.uri("problems"), "problems").to_pandas()
    samples = rundir.read_stage("generate").to_pandas()
    verdicts = rundir.read_stage("execute").to_pandas()
    scores = rundir.read_stage("score").to_pandas()
    key = list(schemas.KEY)
    joined = samples.merge(
        verdicts.rename(columns={"detail": "verdict_detail"}), on=key, how="left"
    ).merge(
        scores.rename(columns={"n_tokens": "scored_tokens"}), on=key, how="left"
    )
    joined["passed"] = joined["status"].eq("pass")
    curves_path = rundir.uri("curves.parquet")
    curves = (
        storage.read_table(curves_path, "curves").to_pandas()
        if storage.exists(curves_path)
        else schemas.empty("curves").to_pandas()
    )
    manifest = (
        storage.read_table(rundir.manifest_path, "manifest").to_pandas()
        if storage.exists(rundir.manifest_path)
        else schemas.empty("manifest").to_pandas()
    )
    advice_path = rundir.uri("advice.parquet")
    advice = (
        storage.read_table(advice_path, "advice").to_pandas()
        if storage.exists(advice_path)
        else schemas.empty("advice").to_pandas()
    )
    probes = rundir.read_stage("probe").to_pandas()
    return Results(rundir.root, problems, joined, curves, manifest, advice, probes)
