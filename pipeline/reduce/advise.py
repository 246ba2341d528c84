"""The budget advisor: for each budget, the best strategy, its uncertainty, the runner-up and the
crossovers, from per-problem counts.

Role in the pipeline: pure (arrays in, DataFrames out). `pipeline.reduce.advise_run` feeds it a run
directory, imported counts or paper mode's tables and writes the outputs; the strategies' exact
formulas are in `pipeline.reduce.strategies`.

Two settings. With tests (pass@k, hidden tests pick a passing sample): single models, mixes of
two (or more) models, cascades cheaper -> dearer, early stopping. Without tests: the best-ranked
of k samples of each model (rank-score@k) and each model's greedy sample.

Uncertainty: each strategy's configuration (its k's) is the one that is best on all problems at
that budget; a seeded bootstrap over problems (one set of resampling weights for every strategy
of a benchmark) gives the percentile CI of the best one's pass rate, and `p_best`, the share of
resamples in which the best strategy (family and models, at its configuration) beats every
other strategy's best configuration (a rival more than 8 standard errors below it is counted
as losing everywhere without being resampled). Expected costs (cascades, early stopping) are
estimated on all problems and held fixed in the resamples.

Ties: pass rates (and costs) within a relative 1e-9 of each other are equal (`tie_tol`), never
told apart by float rounding. Of equal pass rates the strategy that spends less is best
(early stopping over k samples drawn in full), in the resamples too; equal rates at equal cost
are a tie: the table's `tie` says the runner-up ties with the best (margin 0), and in a resample
where the best ties with t others it gets 1 / (t + 1) of the win.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations
from typing import Mapping, Optional, Sequence

import numpy as np
import pandas as pd

from pipeline.reduce import metrics
from pipeline.reduce import strategies as st

#: Columns of the advice table (schemas.ADVICE) and of the strategy curves (schemas.ADVICE_CURVES).
ADVICE_COLUMNS = ["benchmark", "setting", "unit", "budget", "x", "best", "best_config", "value",
                  "ci_low", "ci_high", "p_best", "spent", "capped", "runner_up",
                  "runner_up_config", "runner_up_value", "margin", "tie", "n_problems",
                  "cost_source"]
CURVE_COLUMNS = ["benchmark", "setting", "unit", "budget", "x", "strategy", "config", "value",
                 "spent", "capped"]
#: Pass rates (and costs) within this relative distance of each other are equal: a tie, never
#: decided by the last bits of float rounding, which differ between CPUs and BLAS kernels.
TIE_RTOL = 1e-9
#: ... and within this absolute distance (pass rates near 0).
TIE_ATOL = 1e-12
#: A rival this many standard errors below the best loses in every resample (not resampled).
RIVAL_SE = 8.0
#: Budget chunk of the bootstrap comparison ([strategies, resamples, chunk] at a time).
BOOT_CHUNK = 512


class AdviceError(ValueError):
    """Inputs the advisor cannot use (no common problems, a model without a cost, ...)."""


@dataclass
class ModelData:
    """One model on one benchmark, problems aligned with the other models of the benchmark.

    `fail`: fail curve [P, K + 1] (`strategies.fail_curve`); `ranked`: ranker -> rank-score@k per
    problem [P, K_r]; `ranker_samples`: ranker -> extra samples of the model it spends per
    ranked sample (generated tests; 0 if absent); `greedy`: pass of the greedy sample per
    problem [P]. A curve without per-problem data (paper mode) is one row: mixes and cascades
    then cannot be computed.
    """

    model: str
    fail: np.ndarray
    ranked: dict[str, np.ndarray] = field(default_factory=dict)
    greedy: Optional[np.ndarray] = None
    per_problem: bool = True
    ranker_samples: dict[str, float] = field(default_factory=dict)

    @classmethod
    def from_counts(cls, model, n, c, **kw) -> "ModelData":
        return cls(model, st.fail_curve(n, c), **kw)

    @classmethod
    def from_curve(cls, model, pass_at_k) -> "ModelData":
        """A mean pass@k curve (k = 1..K) only: singles and early stopping stay exact."""
        curve = np.asarray(pass_at_k, dtype=np.float64)
        keep = ~np.isnan(curve)
        if not keep.any() or not keep[: keep.sum()].all():
            raise AdviceError(f"{model}: pass@k curve must be defined from k = 1 on")
        return cls(model, np.r_[1.0, 1.0 - curve[keep]][None, :], per_problem=False)


def cost_per_sample(models: Sequence[str], benchmark: str,
                    costs: Mapping[tuple[str, str], Optional[float]]) -> dict[str, float]:
    """What one sample of each model costs on `benchmark`, read from a per-(model, benchmark)
    mapping (the one place the advisor reads costs); a model without one is an error."""
    out = {}
    for m in models:
        v = costs.get((m, benchmark))
        if v is None or not np.isfinite(v) or v <= 0:
            raise AdviceError(f"no positive cost per sample for model {m!r} on {benchmark!r}; "
                              "give one (run config `models[].cost`, or --prices for dollars)")
        out[m] = float(v)
    return out


@dataclass
class _Candidates:
    """Strategy choices of one setting and the fail curves each one's success is built from."""

    choices: list[st.Choice] = field(default_factory=list)
    fails: list[list[np.ndarray]] = field(default_factory=list)

    def add(self, choice: st.Choice, fails: list[np.ndarray]) -> None:
        self.choices.append(choice)
        self.fails.append(fails)


def default_budgets(models: Sequence[ModelData], costs: Mapping[str, float]) -> np.ndarray:
    """Every budget at which some single model's sample count steps up (as the curves table)."""
    cheapest = min(costs[m.model] for m in models)
    grid = metrics.budget_grid([costs[m.model] / cheapest for m in models],
                               [m.fail.shape[1] - 1 for m in models]) * cheapest
    return grid[np.r_[True, np.diff(grid) > grid[1:] * 1e-12]]  # float noise of the rescaling


def tests_candidates(models: Sequence[ModelData], costs: Mapping[str, float], budgets, *,
                     mixes: bool = True, cascades: bool = True, early_stopping: bool = True,
                     mix_size: int = 2, mix_ks: int = 24) -> _Candidates:
    """Strategies that use the tests: singles, early stopping, mixes, cascades (cheap first).

    Mixes of more than two models (`mix_size` > 2) take k from `mix_ks` log-spaced values per
    model (exact at those k)."""
    out = _Candidates()
    for m in models:
        out.add(st.single(m.model, m.fail, costs[m.model], budgets), [m.fail])
    if early_stopping:
        for m in models:
            out.add(st.early_stop(m.model, m.fail, costs[m.model], budgets), [m.fail])
    pairs = [(a, b) for i, a in enumerate(models) for b in models[i + 1:]]
    if (mixes or cascades) and pairs and not all(m.per_problem for m in models):
        raise AdviceError("mixes and cascades need per-problem counts; paper mode's curves have "
                          "none (use --no-mixes --no-cascades)")
    tables = {}  # one matrix product per pair, shared by its mix and its cascade
    for a, b in pairs:
        if costs[a.model] > costs[b.model]:
            a, b = b, a
        tables[(a.model, b.model)] = (a, b, st.pass_table(a.fail, b.fail))
    if mixes:
        for a, b, table in tables.values():
            out.add(st.mix((a.model, b.model), (a.fail, b.fail),
                           (costs[a.model], costs[b.model]), budgets, table), [a.fail, b.fail])
        for size in range(3, mix_size + 1):
            for group in combinations(models, size):
                ks = [np.r_[0, np.unique(np.geomspace(1, g.fail.shape[1] - 1, mix_ks).round()
                                         .astype(int))] for g in group]
                out.add(st.mix_grid([g.model for g in group], [g.fail for g in group],
                                    [costs[g.model] for g in group], budgets, ks),
                        [g.fail for g in group])
    if cascades:  # the cheaper model first
        for s, big, table in tables.values():
            out.add(st.cascade((s.model, big.model), (s.fail, big.fail),
                               (costs[s.model], costs[big.model]), budgets, table),
                    [s.fail, big.fail])
    return out


def no_tests_candidates(models: Sequence[ModelData], costs: Mapping[str, float],
                        budgets) -> _Candidates:
    """Strategies without tests: the best-ranked of k samples per (model, ranker), each sample
    also paying what its ranker generates (`ModelData.ranker_samples`); greedy."""
    out = _Candidates()
    for m in models:
        for ranker, per_problem in sorted(m.ranked.items()):
            fail = np.c_[np.ones(per_problem.shape[0]), 1.0 - per_problem]
            cost = costs[m.model] * (1.0 + m.ranker_samples.get(ranker, 0.0))
            ch = st.ranked(m.model, per_problem, cost, budgets)
            if len(m.ranked) > 1:
                ch = st.Choice("ranked", (f"{m.model} [{ranker}]",), ch.ks, ch.value, ch.spent,
                               ch.capped)
            out.add(ch, [fail])
        if m.greedy is not None:
            fail = np.c_[np.ones(m.greedy.size), 1.0 - m.greedy]
            out.add(st.greedy(m.model, float(m.greedy.mean()), costs[m.model], budgets), [fail])
    return out


def _strategy_codes(cands: _Candidates) -> tuple[np.ndarray, list[str]]:
    """code[c, g]: which strategy (family and the models it really uses) choice c's
    configuration at budget g is, as an index into the returned names. Equal configurations of
    different choices get equal codes (a mix using one model is that model's single strategy)."""
    names: dict[str, int] = {}
    codes = np.zeros((len(cands.choices), cands.choices[0].ks.shape[0]), dtype=np.int64)
    for i, ch in enumerate(cands.choices):
        used = ch.ks > 0
        key = (used * (1 << np.arange(used.shape[1]))[None, :]).sum(axis=1)
        if ch.family == "early_stop":
            key = np.where(ch.ks[:, 0] == 1, 2, key)  # up to 1 sample = one sample
        for k in np.unique(key):
            if k == 0:
                continue
            ks = [int(k >> j & 1) for j in range(len(ch.models))]
            if ch.family == "early_stop":
                ks = [1 if k == 2 else 2]  # a k > 1 names the early-stopping strategy
            name = st.label(ch.family, ch.models, ks)[0]
            codes[i, key == k] = names.setdefault(name, len(names))
    return codes, list(names)


def tie_tol(a) -> np.ndarray:
    """How far from `a` a value may be and still equal it (TIE_RTOL, TIE_ATOL)."""
    a = np.abs(np.asarray(a, dtype=np.float64))
    return TIE_RTOL * np.where(np.isfinite(a), a, 0.0) + TIE_ATOL


def _argbest(values: np.ndarray, spent: np.ndarray) -> np.ndarray:
    """Index (along axis 0) of the highest value; among values equal to it (`tie_tol`), the
    one that spends least (costs equal within `tie_tol` are equal); then the earlier (simpler)
    strategy. Deterministic whatever the last bits of the values."""
    top = values.max(axis=0, keepdims=True)
    tied = values >= top - tie_tol(top)
    cost = np.where(tied, np.nan_to_num(spent, nan=np.inf), np.inf)
    least = cost.min(axis=0, keepdims=True)
    return np.argmax(cost <= least + tie_tol(least), axis=0)


def _same(a, b) -> np.ndarray:
    """Element-wise: `a` equals `b` within `tie_tol` (inf equals inf)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        return (a == b) | (np.abs(a - b) <= tie_tol(np.maximum(np.abs(a), np.abs(b))))


def compare(cands: _Candidates, n_boot: int = 200, seed: int = 0, ci: float = 0.95) -> dict:
    """Best and runner-up per budget, the best one's CI and p_best (see the module docstring)."""
    G = cands.choices[0].value.size
    values = np.vstack([ch.value for ch in cands.choices])  # [C, G]
    code, names = _strategy_codes(cands)
    spent = np.vstack([ch.spent for ch in cands.choices])
    v = np.where(np.isnan(values), -np.inf, values)
    best = _argbest(v, spent)
    cols = np.arange(G)
    has = np.isfinite(v[best, cols])
    best_code = code[best, cols]
    other = np.where(code != best_code[None, :], v, -np.inf)
    second = _argbest(other, spent)
    has2 = np.isfinite(other[second, cols])
    tie = has2 & _same(v[best, cols], v[second, cols]) & _same(spent[best, cols],
                                                               spent[second, cols])
    out = {"best": best, "has": has, "second": second, "has2": has2, "tie": tie,
           "strategy": np.array(names + [""], dtype=object)[np.where(v > -np.inf, code, -1)],
           "values": values, "ci_low": np.full(G, np.nan), "ci_high": np.full(G, np.nan),
           "p_best": np.full(G, np.nan)}
    P = cands.fails[0][0].shape[0]
    if n_boot and P > 1 and has.any():
        _bootstrap(cands, out, code, spent, n_boot, seed, ci)
    return out


def _bootstrap(cands: _Candidates, out: dict, code, spent, n_boot: int, seed: int,
               ci: float) -> None:
    """Fill out["ci_low"|"ci_high"|"p_best"]: per budget, the best configuration's resampled
    pass rates give its percentile CI; p_best is its share of the wins over the resamples: a
    resample in which another strategy beats it (a higher pass rate, or an equal one for less)
    counts 0, one in which it ties with t other strategies (equal pass rate and cost, within
    `tie_tol`) counts 1 / (t + 1). A rival more than RIVAL_SE standard errors (of its
    per-problem difference from the best) below the best is taken to lose in every resample;
    the others are resampled. Resampled rates are float64 sums of float64 terms, so equal
    rates stay equal to far inside the tolerance on every CPU."""
    P = cands.fails[0][0].shape[0]
    C, G = code.shape
    best, has = out["best"], out["has"]
    col = np.full((C, G), -1)  # column of each (strategy, budget) in `succ`
    blocks, offset = [], 0
    for i, (ch, fails) in enumerate(zip(cands.choices, cands.fails)):
        ok = np.flatnonzero(ch.ks[:, 0] >= 0)
        if not ok.size:
            continue
        _, inv = np.unique(ch.ks[ok], axis=0, return_inverse=True)
        inv = inv.ravel()
        first = ok[np.unique(inv, return_index=True)[1]]
        blocks.append(st.success(ch, fails, first))  # [P, distinct]
        col[i, ok] = offset + inv
        offset += first.size
    succ = np.hstack(blocks)  # per-problem pass of every distinct configuration
    cols = np.arange(G)
    bcol = col[best, cols]
    values = out["values"]
    rivals = (col >= 0) & (code != code[best, cols][None, :]) & has[None, :]
    ii, gg = np.nonzero(rivals.T)[::-1]  # sorted by budget
    keep = np.zeros(ii.size, dtype=bool)
    for a in range(0, ii.size, BOOT_CHUNK * 8):  # the normal screen, in chunks
        i, g = ii[a:a + BOOT_CHUNK * 8], gg[a:a + BOOT_CHUNK * 8]
        sd = (succ[:, col[i, g]] - succ[:, bcol[g]]).std(axis=0) / np.sqrt(P)
        top = values[best[g], g]
        keep[a:a + i.size] = values[i, g] - top + RIVAL_SE * sd >= -tie_tol(top)
    ii, gg = ii[keep], gg[keep]
    by_code = np.lexsort((code[ii, gg], gg))  # rivals by budget, then strategy
    ii, gg = ii[by_code], gg[by_code]
    need, where = np.unique(np.r_[bcol[has], col[ii, gg]], return_inverse=True)
    w = metrics.Bootstrap.draw(P, n_boot, seed).weights / P
    resampled = w @ succ[:, need]  # [B, configurations that matter]
    slot = np.full(offset, -1)
    slot[need] = np.arange(need.size)
    alpha = (1.0 - ci) / 2.0
    lo, hi = np.quantile(resampled[:, slot[bcol[has]]], [alpha, 1 - alpha], axis=0)
    out["ci_low"][has], out["ci_high"][has] = lo, hi
    p_best = np.where(has, 1.0, np.nan)
    bounds = np.searchsorted(gg, np.arange(0, G + BOOT_CHUNK, BOOT_CHUNK))
    for a, b in zip(bounds[:-1], bounds[1:]):  # chunks of budgets bound the memory
        if a == b:
            continue
        i, g = ii[a:b], gg[a:b]
        r, rb = resampled[:, slot[col[i, g]]], resampled[:, slot[bcol[g]]]
        equal = _same(r, rb)
        same_cost = _same(spent[i, g], spent[best[g], g])[None, :]
        cheaper = (spent[i, g] < spent[best[g], g])[None, :] & ~same_cost
        beats = (~equal & (r > rb)) | (equal & cheaper)
        tied = equal & same_cost
        starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
        lose = np.logical_or.reduceat(beats, starts, axis=1)  # [B, budgets of the chunk]
        # strategies tied with the best: count each strategy once (choices may share one)
        seg = np.flatnonzero(np.r_[True, (g[1:] != g[:-1]) | (code[i[1:], g[1:]]
                                                               != code[i[:-1], g[:-1]])])
        tied_codes = np.logical_or.reduceat(tied, seg, axis=1)
        per_budget = np.searchsorted(seg, starts)
        n_tied = np.add.reduceat(tied_codes.astype(np.int64), per_budget, axis=1)
        p_best[g[starts]] = np.where(lose, 0.0, 1.0 / (1.0 + n_tied)).mean(axis=0)
    out["p_best"] = p_best


def advise(benchmark: str, models: Sequence[ModelData], costs: Mapping[str, float], *,
           unit: str = "flops", cost_source: str = "", budgets=None, setting: str = "tests",
           n_boot: int = 200, seed: int = 0, ci: float = 0.95, **strategy_options
           ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(advice table, strategy curves) of one benchmark in one setting ("tests" | "no-tests").

    `costs`: model -> cost of one sample in `unit` (`cost_per_sample`). `budgets`: absolute
    budgets per problem (default `default_budgets`). Rows where no strategy is defined are left
    out of the advice table.
    """
    if not models:
        raise AdviceError(f"{benchmark}: no models to compare")
    P = {m.fail.shape[0] for m in models}
    if len(P) != 1:
        raise AdviceError(f"{benchmark}: models cover different numbers of problems {sorted(P)}")
    budgets = default_budgets(models, costs) if budgets is None else np.sort(
        np.asarray(budgets, dtype=np.float64))
    if setting == "tests":
        cands = tests_candidates(models, costs, budgets, **strategy_options)
    elif setting == "no-tests":
        cands = no_tests_candidates(models, costs, budgets)
    else:
        raise AdviceError(f"unknown setting {setting!r}; use tests or no-tests")
    if not cands.choices:
        return pd.DataFrame(columns=ADVICE_COLUMNS), pd.DataFrame(columns=CURVE_COLUMNS)
    res = compare(cands, n_boot=n_boot, seed=seed, ci=ci)
    cheapest = min(costs[m.model] for m in models)
    rows = np.flatnonzero(res["has"])
    best, second = res["best"][rows], res["second"][rows]

    def config(i_choice, g):
        ch = cands.choices[i_choice]
        return st.label(ch.family, ch.models, ch.ks[g])[1]

    has2 = res["has2"][rows]
    advice = pd.DataFrame({
        "benchmark": benchmark, "setting": setting, "unit": unit, "budget": budgets[rows],
        "x": budgets[rows] / cheapest,
        "best": res["strategy"][best, rows],
        "best_config": [config(i, g) for i, g in zip(best, rows)],
        "value": res["values"][best, rows],
        "ci_low": res["ci_low"][rows], "ci_high": res["ci_high"][rows],
        "p_best": res["p_best"][rows],
        "spent": [cands.choices[i].spent[g] for i, g in zip(best, rows)],
        "capped": [bool(cands.choices[i].capped[g]) for i, g in zip(best, rows)],
        "runner_up": np.where(has2, res["strategy"][second, rows], None),
        "runner_up_config": [config(i, g) if h else None for i, g, h in zip(second, rows, has2)],
        "runner_up_value": np.where(has2, res["values"][second, rows], np.nan),
        "n_problems": int(next(iter(P))) if models[0].per_problem else 0,
        "cost_source": cost_source,
    })
    advice["margin"] = advice["value"] - advice["runner_up_value"]
    advice["tie"] = res["tie"][rows]
    advice.loc[advice["tie"], "margin"] = 0.0
    curves = []
    for i, ch in enumerate(cands.choices):
        ok = np.flatnonzero(~np.isnan(ch.value))
        if not ok.size:
            continue
        curves.append(pd.DataFrame({
            "benchmark": benchmark, "setting": setting, "unit": unit, "budget": budgets[ok],
            "x": budgets[ok] / cheapest,
            "strategy": st.label(ch.family, ch.models, np.full(len(ch.models), 2))[0],
            "config": st.configs(ch, ok),
            "value": ch.value[ok], "spent": ch.spent[ok], "capped": ch.capped[ok]}))
    frontier = pd.concat(curves, ignore_index=True) if curves else pd.DataFrame(columns=CURVE_COLUMNS)
    return advice[ADVICE_COLUMNS], frontier[CURVE_COLUMNS]


def crossovers(advice: pd.DataFrame) -> pd.DataFrame:
    """Budgets where the best strategy changes, per (benchmark, setting, unit): budget, x, from,
    to (the best strategy just below and at that budget)."""
    out = []
    for key, g in advice.sort_values("budget").groupby(["benchmark", "setting", "unit"], sort=True):
        best = g["best"].to_numpy()
        change = np.flatnonzero(best[1:] != best[:-1]) + 1
        for j in change:
            out.append({"benchmark": key[0], "setting": key[1], "unit": key[2],
                        "budget": float(g["budget"].iloc[j]), "x": float(g["x"].iloc[j]),
                        "from": best[j - 1], "to": best[j]})
    return pd.DataFrame(out, columns=["benchmark", "setting", "unit", "budget", "x", "from", "to"])


def last_crossover_to(advice: pd.DataFrame, strategy: str) -> Optional[float]:
    """The smallest budget from which `strategy` is best at every larger budget of the table
    (None if it is not best at the largest): paper mode's notion of a crossover."""
    g = advice.sort_values("budget")
    wins = (g["best"] == strategy).to_numpy()
    if not wins.size or not wins[-1]:
        return None
    losing = np.flatnonzero(~wins)
    return float(g["budget"].iloc[0 if not losing.size else losing[-1] + 1])
