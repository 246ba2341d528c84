"""The query API: a run's tables as pandas DataFrames, straight from its Parquet files.

```python
from pipeline import results
r = results.load("runs/default")
r.samples.groupby("task_id").passed.mean()                       # pass rate per problem
r.samples[r.samples.passed].nlargest(5, "n_tokens")[["task_id", "completion"]]  # longest passing
r.curves.query("metric == 'pass@k'").pivot(index="k", columns="model", values="value")  # pass@k
r.advice.query("setting == 'tests'")[["budget", "best", "best_config", "value", "p_best"]]  # advise
r.samples.query("passed and passed_plus == False")  # humaneval+: base passes the extension fails
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
    """A run's tables. `samples` is samples joined with verdicts and scores on the sample key;
    `passed` is the verdict on the base tests, `passed_plus` (with `plus_status`,
    `plus_detail`) the one on base + extended tests, null for problems without extended tests."""

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
    """Read a run directory (through `pipeline.reduce.run_data.RunData`, as `reduce` and
    `advise` do); a corrupt file raises StorageError naming it."""
    from pipeline.reduce.run_data import RunData, RunDataError

    rundir = RunDir(run_dir)
    if not storage.exists(rundir.config_path):
        raise storage.StorageError(f"{run_dir}: not a run directory (no config.yaml)")
    try:
        run = RunData.load(run_dir, need_results=False)
    except RunDataError as exc:
        raise storage.StorageError(str(exc)) from None
    key = list(schemas.KEY)
    joined = run.samples.to_pandas().merge(
        run.verdicts.to_pandas().rename(columns={"detail": "verdict_detail"}), on=key, how="left"
    ).merge(
        run.scores.to_pandas().rename(columns={"n_tokens": "scored_tokens"}), on=key, how="left"
    )
    joined["passed"] = joined["status"].eq("pass")
    # the verdict on base + extended tests (humaneval+): null where the problem has none
    joined["passed_plus"] = joined["plus_status"].eq("pass").where(joined["plus_status"].notna())

    def table(rel: str, name: str) -> pd.DataFrame:
        path = rundir.uri(rel)
        return (storage.read_table(path, name) if storage.exists(path)
                else schemas.empty(name)).to_pandas()

    return Results(run.root, run.problems.to_pandas(), joined, table("curves.parquet", "curves"),
                   table("manifest.parquet", "manifest"), table("advice.parquet", "advice"),
                   run.probes.to_pandas())
