"""The stage table: every stage of a run, the table it reads and writes, and who runs it.

Role in the pipeline: the one list of stages. The orchestrator walks it (generate first, then
each downstream stage of a shard as soon as its samples land), the run directory takes each
stage's output directory from it, `status` and the manifest count shards per stage from it, and
the capacity planner prices its actors from it. Adding a stage is one row here, one actor class
in `pipeline.run.actors` and its output schema in `schemas/`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Stage:
    """One stage: name, input table, output table (also its directory), and its actor kind."""

    name: str
    input: str
    output: str
    #: the actor kind in `pipeline.run.actors.ACTORS` that runs this stage's shards
    actor: str
    #: config section that must be set for the stage to run (None: always runs)
    needs: str | None = None


STAGES: tuple[Stage, ...] = (
    Stage("generate", input="problems", output="samples", actor="generate"),
    Stage("execute", input="samples", output="verdicts", actor="execute"),
    Stage("score", input="samples", output="scores", actor="score", needs="ranker"),
    Stage("probe", input="samples", output="probes", actor="probe", needs="probes"),
)
BY_NAME: dict[str, Stage] = {s.name: s for s in STAGES}


def get(name: str) -> Stage:
    try:
        return BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown stage {name!r}; stages: {', '.join(BY_NAME)}") from None


def stages_for(config) -> tuple[Stage, ...]:
    """The stages a run config has, in order (score only with a ranker, probe only with a
    `probes` section)."""
    return tuple(s for s in STAGES if s.needs is None or getattr(config, s.needs, None))


def names_for(config) -> tuple[str, ...]:
    return tuple(s.name for s in stages_for(config))
