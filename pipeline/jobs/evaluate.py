"""`budget-realloc run` and `resume`: a run's stages, then its reduce and outputs.

Role in the pipeline: the whole job behind the two commands. It checks the config's cost
sections (the reducer's, so before any actor starts), runs the stages
(`pipeline.run.orchestrator`: generate -> execute, score, probe; finished shards are kept),
and when no shard failed reduces the run and writes curves.parquet, tables/ and figures/
(`pipeline.jobs.reduce`). A run whose tables the reducer refuses (e.g. sandbox `error`
verdicts) keeps every shard, and `Outcome.not_reduced` says why and what to do.
"""

from __future__ import annotations

from pipeline.config import ConfigError, RunConfig
from pipeline.jobs.reduce import reduce
from pipeline.reduce.cost import ModelCost
from pipeline.reduce.curves import ReduceError
from pipeline.run import orchestrator
from pipeline.run.faults import crash_point
from pipeline.run.orchestrator import Outcome
from pipeline.run.rundir import RunDir


def check_costs(config: RunConfig) -> None:
    """Each model's `cost` section is a valid `ModelCost`, and an imported model (whose samples
    carry no generation time) gives a time cost per sample."""
    for m in config.models:
        orchestrator.validated(f"models.{m.name}.cost", ModelCost, m.cost)
    for m in config.models:
        if m.imported and not m.cost.get("seconds_per_sample"):
            raise ConfigError(
                f"models.{m.name}.cost.seconds_per_sample: model {m.name} is imported, so its "
                "samples carry no generation time; give a time cost per sample (only ratios "
                "between models matter)")


def run(config: RunConfig, *, progress: bool = True, in_process: bool = False) -> Outcome:
    """Start (or continue, if its directory holds the same config) the run described by
    `config`, then reduce it. `in_process=True` runs every actor in this process (no Ray)."""
    check_costs(config)
    outcome = orchestrator.run(config, progress=progress, in_process=in_process)
    return _reduced(outcome, config)


def resume(run_dir: str, *, progress: bool = True, in_process: bool = False) -> Outcome:
    """Continue a run from its directory (only missing or failed shards run), then reduce it."""
    config = RunDir(run_dir).load_config()
    check_costs(config)
    outcome = orchestrator.resume(run_dir, progress=progress, in_process=in_process)
    return _reduced(outcome, config)


def _reduced(outcome: Outcome, config: RunConfig) -> Outcome:
    if outcome.failed:
        return outcome
    crash_point("reduce")
    try:
        reduce(outcome.run_dir, **config.reduce)
        outcome.reduced = True
    except ReduceError as exc:  # every shard is kept; the message says what to do
        outcome.not_reduced = str(exc)
    return outcome
