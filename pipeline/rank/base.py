"""The ranker interface: what a ranker reads, what it gives back, and what it costs.

Role in the pipeline: between the run's tables and the reducer. A ranker gives every sampled
completion of a problem a score (`Ranker.higher_is_better` says which way is better; ties are
allowed and the reducer averages over them, as a uniformly random tie-break would). It reads
the samples, the `scores` table (NLL) and the `probes` table (outputs on the prompt's
examples, model-written asserts), never the verdicts: ranking is what a user without the hidden
tests can do. Its own cost (`Ranker.cost`) is what the budgeted rank-score curves add to the
model's cost per sample.

Set-dependent rankers (`Ranker.set_dependent`): a sample's score depends on the other samples
held (the size of its output cluster, the agreement of its group with the generated tests). A
user holding k samples computes those scores from the k samples (and from the tests that the
test samples bought with them wrote), so such a ranker also gives, per problem, a
`SubsetScorer` that scores the samples of any held subset; the reducer evaluates rank-score@k
inside k-subsets with it (`pipeline.reduce.held`). `Ranker.scores` is then the score with all
n samples held.

Hidden tests: a ranker that reads a benchmark's hidden tests (`Ranker.reads_hidden_tests`:
MBPP's prompt shows its test asserts, so its prompt examples are its hidden tests) is an upper
bound on that benchmark, never a strategy without tests.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Iterator, Mapping, Optional, Protocol

import numpy as np
import pandas as pd

import schemas
from pipeline.benchmarks.probes import EXAMPLES_ARE_HIDDEN_TESTS

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
class TestPool:
    """One problem's model-written tests and who wrote them: `written[s, t]` is how often test
    sample s wrote test t (t in the probe set's order, s = the test samples generated for the
    problem). A test's CodeT weight is the number of times it was written (`weights`)."""

    written: np.ndarray  # [test samples, tests], int
    __test__: ClassVar[bool] = False  # not a pytest test class

    @classmethod
    def from_counts(cls, counts) -> "TestPool":
        """A pool in which test t was written counts[t] times, each time by its own test sample
        (when only the counts are known)."""
        counts = np.asarray(counts, dtype=np.int64)
        rows = np.repeat(np.arange(counts.size), counts)
        written = np.zeros((rows.size, counts.size), dtype=np.int64)
        written[np.arange(rows.size), rows] = 1
        return cls(written)

    @classmethod
    def of(cls, generated) -> "TestPool":
        """The pool of a problem's `pipeline.sources.generated_tests.GeneratedTests` (its
        `tests`, and per test sample the indices of the tests it wrote)."""
        written = np.zeros((generated.samples, len(generated.tests)), dtype=np.int64)
        for s, idx in enumerate(generated.written):
            np.add.at(written[s], list(idx), 1)
        return cls(written)

    @property
    def weights(self) -> np.ndarray:
        return np.asarray(self.written, dtype=np.int64).sum(axis=0)

    @property
    def samples(self) -> int:
        return int(self.written.shape[0])


class SubsetScorer(Protocol):
    """A set-dependent ranker's scores on one problem's usable samples (in `rows` order)
    for any held subset of them."""

    def exact(self, k: int) -> bool:
        """True if the scores of a held k-subset are determined by the subset alone (no
        further random draw, e.g. of the test samples bought with it)."""

    def scores(self, held: np.ndarray, k: int, draws: Optional[np.ndarray]) -> np.ndarray:
        """Scores [R, n] of the samples of each held subset (`held`: bool [R, n], k True per
        row; entries of samples not held are ignored). `draws`: [R, aux] uniform numbers for
        the subset's other random choices (None where `exact(k)`)."""

    @property
    def aux(self) -> int:
        """How many uniform numbers per subset `scores` needs in `draws`."""


@dataclass(frozen=True)
class RankInputs:
    """Everything a ranker may read, as pandas frames of the run's tables.

    `samples`: the sampled (temperature > 0) completions to rank, KEY columns at least.
    `scores` / `probes`: rows of those tables (None: the stage did not run).
    `test_pools`: (benchmark, task_id) -> the problem's `TestPool` (which test sample wrote
    which generated test, in the probe set's order; missing: every test written once, by no
    test sample that costs anything, and always held).
    """

    samples: pd.DataFrame
    scores: Optional[pd.DataFrame] = None
    probes: Optional[pd.DataFrame] = None
    test_pools: Mapping[tuple[str, str], TestPool] = field(default_factory=dict)

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
    #: a sample's score depends on which other samples are held (see the module docstring)
    set_dependent: ClassVar[bool] = False

    def applies(self, inputs: RankInputs) -> bool:
        return inputs.probe_set(self.needs) is not None

    def reads_hidden_tests(self, benchmark: str) -> bool:
        """True if this ranker reads `benchmark`'s hidden tests (an upper bound there)."""
        return self.needs == "prompt_examples" and benchmark in EXAMPLES_ARE_HIDDEN_TESTS

    def subsets(self, inputs: RankInputs) -> Iterator[tuple[tuple[str, str, str], pd.DataFrame,
                                                            SubsetScorer]]:
        """Set-dependent rankers: per problem, ((model, benchmark, task_id), its usable
        samples' KEY rows, the SubsetScorer in those rows' order)."""
        raise NotImplementedError(f"{self.name} is not set-dependent")

    def all_held(self, inputs: RankInputs, rows: pd.DataFrame) -> pd.DataFrame:
        """`scores` of a set-dependent ranker, from its SubsetScorer (one definition of the
        score): each of `rows` (KEY columns) scored with every usable sample of its problem
        held; a sample that `subsets` leaves out is not usable."""
        parts = [held.assign(score=scorer.scores(np.ones((1, len(held)), dtype=bool),
                                                 len(held), None)[0])
                 for _, held, scorer in self.subsets(inputs) if len(held)]
        scored = pd.concat(parts) if parts else pd.DataFrame(columns=KEY + ["score"])
        out = rows[KEY].merge(scored, on=KEY, how="left")
        return frame(out, self.name, out["score"].fillna(0.0), out["score"].notna())

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


def problems(rows: pd.DataFrame) -> Iterator[tuple[tuple[str, str, str], pd.DataFrame]]:
    """((model, benchmark, task_id), that problem's rows by sample_idx), problems in order."""
    ordered = rows.sort_values(["model", "benchmark", "task_id", "sample_idx"], kind="stable")
    for key, group in ordered.groupby(["model", "benchmark", "task_id"], sort=False):
        yield tuple(str(x) for x in key), group.reset_index(drop=True)


def exec_cost(probed: pd.DataFrame, name: str) -> pd.DataFrame:
    """Mean sandbox seconds per sample (samples without a probe row count as 0 s)."""
    secs = probed.assign(exec_seconds=probed["exec_ms"].fillna(0.0) / 1000.0)
    out = secs.groupby(["model", "benchmark"], sort=True)["exec_seconds"].mean().reset_index()
    out["ranker"] = name
    return out


def outcome_label(outcomes) -> str:
    """One hashable label for a sample's outcomes on a probe set (NaN: no probe)."""
    if not isinstance(outcomes, (list, tuple, np.ndarray)):
        return ""
    return "\x1f".join(str(o) for o in outcomes)
