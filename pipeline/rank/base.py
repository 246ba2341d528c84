"""The ranker interface: what a ranker reads, what it gives back, and what it costs.

Role in the pipeline: between the run's tables and the reducer. A ranker gives every sampled
completion of a problem a score (`Ranker.higher_is_better` says which way is better; ties are
allowed and the reducer averages over them, as a uniformly random tie-break would). It reads
the samples, the `scores` table (NLL) and the `probes` table (outputs on the prompt's
examples, model-written asserts), never the verdicts: ranking is what a user without the hidden
tests can do. Its own cost (`Ranker.cost`) is what the budgeted rank-score curves add to the
model's cost per sample.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Mapping, Optional

import numpy as np
import pandas as pd

import schemas

KEY = list(schemas.KEY)
#: columns of `Ranker.scores`: the key, the ranker's name, its score, and whether the sample
#: takes part in the ranking (NLL leaves out samples that hit the token limit, as the paper)
SCORE_COLUMNS = KEY + ["ranker", "score", "usable"]
#: columns of `Ranker.cost`, per sampled completion: seconds of sandbox execution, and extra
#: generated samples of the same model (for model-written tests) in units of one code sample
COST_COLUMNS = ["model", "benchmark", "ranker", "exec_seconds", "model_samples"]


class RankError(ValueError):
    """A ranker's inputs do not cover the samples it must rank (the message names them)."""


@dataclass(frozen=True)
class RankInputs:
    """Everything a ranker may read, as pandas frames of the run's tables.

    `samples`: the sampled (temperature > 0) completions to rank, KEY columns at least.
    `scores` / `probes`: rows of those tables (None: the stage did not run).
    `test_weights`: (benchmark, task_id) -> how many test samples wrote each generated test,
    in the probe set's order (CodeT's test-case frequency; missing: 1 each).
    `test_samples`: (benchmark, task_id) -> test samples generated for the problem (their cost).
    """

    samples: pd.DataFrame
    scores: Optional[pd.DataFrame] = None
    probes: Optional[pd.DataFrame] = None
    test_weights: Mapping[tuple[str, str], tuple[int, ...]] = field(default_factory=dict)
    test_samples: Mapping[tuple[str, str], int] = field(default_factory=dict)

    def probe_set(self, name: str) -> Optional[pd.DataFrame]:
        """The samples with their `outcomes` and `matches` on probe set `name` (NaN where a
        sample's problem has no probe of that set); None if no sample has a row of it.

        A problem with rows for some of its samples but not others is a probe stage that did
        not finish: RankError naming the problem."""
        if self.probes is None or self.probes.empty:
            return None
        mine = self.probes[self.probes["probe_set"] == name]
        if mine.empty:
            return None
        cols = KEY + ["outcomes", "matches", "exec_ms"]
        out = self.samples[KEY].merge(mine[cols], on=KEY, how="left")
        have = out["outcomes"].notna()
        partial = out.assign(_have=have).groupby(["model", "benchmark", "task_id"])["_have"].agg(
            lambda h: 0 < h.sum() < h.size)
        if partial.any():
            model, bench, task = partial[partial].index[0]
            raise RankError(f"probe set {name!r} covers only some samples of {task} "
                            f"(model={model} benchmark={bench}); finish the probe stage "
                            "(`budget-realloc resume RUN_DIR`) before reducing")
        return out


class Ranker:
    """One way to order a problem's samples without its hidden tests (subclass per ranker).

    `name` is the `ranker` value of its curves; `needs` the table it reads ("scores" or a
    probe set name). `scores` returns SCORE_COLUMNS for every sample it can rank (all of
    `inputs.samples`, or none if `applies` is False); `cost` returns COST_COLUMNS rows."""

    name: ClassVar[str]
    higher_is_better: ClassVar[bool]
    needs: ClassVar[str]

    def applies(self, inputs: RankInputs) -> bool:
        return inputs.probe_set(self.needs) is not None

    def scores(self, inputs: RankInputs) -> pd.DataFrame:
        raise NotImplementedError

    def cost(self, inputs: RankInputs) -> pd.DataFrame:
        """Sandbox seconds per sample of the probe set this ranker reads (identical programs
        run once, so their fan-out costs nothing), and no extra generated samples."""
        probed = inputs.probe_set(self.needs)
        return exec_cost(probed, self.name).assign(model_samples=0.0)[COST_COLUMNS]


def frame(samples: pd.DataFrame, name: str, score, usable=True) -> pd.DataFrame:
    """A `Ranker.scores` frame for `samples` (aligned rows)."""
    out = samples[KEY].copy()
    out["ranker"] = name
    out["score"] = np.asarray(score, dtype=np.float64)
    out["usable"] = np.broadcast_to(np.asarray(usable, dtype=bool), len(out)).copy()
    return out[SCORE_COLUMNS]


def exec_cost(probed: pd.DataFrame, name: str) -> pd.DataFrame:
    """Mean sandbox seconds per sample (samples without a probe row count as 0 s)."""
    secs = probed.assign(exec_seconds=probed["exec_ms"].fillna(0.0) / 1000.0)
    out = secs.groupby(["model", "benchmark"], sort=True)["exec_seconds"].mean().reset_index()
    out["ranker"] = name
    return out


def group_sizes(probed: pd.DataFrame, labels) -> np.ndarray:
    """For each sample, how many samples of its (model, benchmark, problem) share its label."""
    lab = pd.Series(labels, index=probed.index, name="_label")
    keys = [probed["model"], probed["benchmark"], probed["task_id"], lab]
    return lab.groupby(keys, sort=False).transform("size").to_numpy(dtype=np.float64)


def outcome_label(outcomes) -> str:
    """One hashable label for a sample's outcomes on a probe set (NaN: no probe)."""
    if not isinstance(outcomes, (list, tuple, np.ndarray)):
        return ""
    return "\x1f".join(str(o) for o in outcomes)
