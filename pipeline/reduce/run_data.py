"""The one reader of a run directory's results: config, tables, generated tests and costs.

Role in the pipeline: `reduce`, `advise`, `results.load` and the report get at a run only
through `RunData.load` (a local path or a filesystem URI such as s3://...): the frozen config
(read once, `RunDir.load_config`), the samples, verdicts, scores and probes tables, the run's
own copy of its generated tests (`pipeline.run.generated_tests.freeze`) and the model costs of
the config. The verdict join and its error policy are `RunData.joined`, the rankers
`RunData.ranked`: every reader shares them, so two readers cannot read a run differently.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import pandas as pd
import pyarrow as pa

from pipeline.reduce import joined as joined_mod
from pipeline.reduce import ranked as ranked_mod
from pipeline.reduce.cost import ModelCost
from pipeline.reduce.verifiers import VerifierError, as_verifier


class RunDataError(ValueError):
    """A run directory that cannot be read for results (the message names it and the fix)."""


@dataclass
class RunData:
    """A run directory's results, read once."""

    root: str
    config: Optional[object]  # pipeline.config.RunConfig; None without config.yaml
    samples: pa.Table
    verdicts: pa.Table
    scores: pa.Table
    probes: pa.Table
    problems: pa.Table
    tests: dict = field(default_factory=dict)  # (benchmark, task_id) -> GeneratedTests
    verifier: str = "base"  # whose verdict `verdicts.status` is (pipeline.reduce.verifiers)

    @classmethod
    def load(cls, run_dir: str, *, need_results: bool = True,
             verifier: str = "base") -> "RunData":
        """Read `run_dir`; RunDataError if it is missing, holds a config or test copy that
        cannot be read, or (with `need_results`) has no samples or no verdicts. `verifier`
        "plus": `verdicts.status` is the verdict on base + extended tests
        (`pipeline.reduce.verifiers.as_verifier`), so every reading uses it."""
        from pipeline.benchmarks.base import DataError
        from pipeline.config import ConfigError
        from pipeline.run import storage
        from pipeline.run.generated_tests import run_tests
        from pipeline.run.rundir import RunDir

        rundir = RunDir(run_dir)
        if not storage.exists(rundir.root):
            raise RunDataError(f"{run_dir}: no such run directory")
        try:
            config = (rundir.load_config(counts_only=True)
                      if storage.exists(rundir.config_path) else None)
            tests = run_tests(rundir.root)
        except (ConfigError, DataError) as exc:
            raise RunDataError(str(exc)) from None
        data = cls(rundir.root, config, rundir.read_stage("generate"),
                   rundir.read_stage("execute"), rundir.read_stage("score"),
                   rundir.read_stage("probe"),
                   storage.read_dataset(rundir.uri("problems"), "problems"), tests)
        if need_results and data.samples.num_rows == 0:
            raise RunDataError(f"{run_dir}: no samples under {rundir.uri('samples')}")
        if need_results and data.verdicts.num_rows == 0:
            raise RunDataError(f"{run_dir}: no verdicts yet; run or resume the execute stage "
                               "first")
        try:
            data.verdicts = as_verifier(data.verdicts, verifier)
        except VerifierError as exc:
            raise RunDataError(f"{run_dir}: {exc}") from None
        data.verifier = verifier
        return data

    # -- what the config says ---------------------------------------------------------------
    @property
    def costs(self) -> dict[str, ModelCost]:
        """model -> ModelCost from the config's `models[].cost` (models without one: none)."""
        out = {}
        for m in (self.config.models if self.config is not None else []):
            if m.cost:
                try:
                    out[m.name] = ModelCost(**{"name": m.name, **m.cost})
                except ValueError as exc:
                    raise RunDataError(f"{self.root}/config.yaml: models.{m.name}.cost: "
                                       f"{exc}") from None
        return out

    def gpus_per_replica(self, model: str) -> Optional[float]:
        """The config's `num_gpus` of `model` (None if the config does not name it)."""
        for m in (self.config.models if self.config is not None else []):
            if m.name == model:
                return float(m.num_gpus) if m.num_gpus else None
        return None

    @property
    def test_pools(self) -> dict:
        """(benchmark, task_id) -> TestPool of the run's generated tests."""
        from pipeline.rank.base import TestPool

        return {key: TestPool.of(t) for key, t in self.tests.items()}

    # -- shared readings ----------------------------------------------------------------------
    def joined(self, *, exclude_errors: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
        """`pipeline.reduce.joined.join` of this run (refuses `error` verdicts unless
        `exclude_errors`)."""
        return joined_mod.join(self.samples, self.verdicts, exclude_errors=exclude_errors)

    def ranked(self, joined: pd.DataFrame, excluded: pd.DataFrame) -> ranked_mod.Ranked:
        """Every ranker this run's tables allow (`pipeline.reduce.ranked.rank`)."""
        return ranked_mod.rank(joined, excluded, self.scores if self.scores.num_rows else None,
                               self.probes if self.probes.num_rows else None, self.test_pools)
