"""Paper mode: the paper's own pass@k tables -> budget-normalised curves and crossovers.

Role in the pipeline: a check of the reducer's budget logic against the published numbers, with
no run at all. `pipeline/reduce/data/paper_pass_at_k.csv` holds Hassid et al. 2024's Appendix B tables
(pass@k at selected k per model and benchmark) and `paper_table1.csv` its Table 1 costs. The
paper computed its curves from every k; only selected k are published, so pass@k between them
is interpolated linearly in log k ("loglinear", the default), or bounded by the nearest
published k below ("lower") or above ("upper"): pass@k is non-decreasing in k, so those are
true bounds. A "certain" win of the smaller model is one where its lower bound beats the larger
model's upper bound.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Optional

import numpy as np
import pandas as pd
import pyarrow as pa

import schemas
from pipeline.reduce import metrics

DATA = Path(__file__).resolve().parent / "data"
PASS_TABLE = DATA / "paper_pass_at_k.csv"
COST_TABLE = DATA / "paper_table1.csv"



def n_problems(table: str) -> int:
    """Problems behind one of the paper's tables ("humaneval", "apps-interview", ...; Sec. 3.1)."""
    from pipeline import benchmarks

    for b in benchmarks.REGISTRY.values():
        if table in b.paper_tables():
            return b.paper_tables()[table]
    return 0

Method = Literal["loglinear", "lower", "upper"]
Budget = Literal["flops", "time"]


class PaperError(ValueError):
    """Unknown benchmark/model, or a data file that does not have the expected columns."""


def load_pass_table(path: str | Path = PASS_TABLE) -> pd.DataFrame:
    """benchmark, model, k, value (a fraction) from the committed appendix tables."""
    df = pd.read_csv(path, comment="#")
    need = {"benchmark", "model", "k", "pass_at_k_pct"}
    if not need <= set(df.columns):
        raise PaperError(f"{path}: expected columns {sorted(need)}, got {list(df.columns)}")
    df["value"] = df["pass_at_k_pct"] / 100.0
    return df[["benchmark", "model", "k", "value"]].sort_values(["benchmark", "model", "k"])


def load_costs(path: str | Path = COST_TABLE) -> pd.DataFrame:
    """model, tflops, wall_seconds (the paper's Table 1)."""
    df = pd.read_csv(path, comment="#")
    if not {"model", "tflops", "wall_seconds"} <= set(df.columns):
        raise PaperError(f"{path}: expected columns model, tflops, wall_seconds")
    return df


def interpolate(k_known, v_known, ks, method: Method = "loglinear") -> np.ndarray:
    """pass@k at `ks` from values at published `k_known` (sorted); NaN beyond the last one."""
    k_known = np.asarray(k_known, dtype=np.float64)
    v_known = np.asarray(v_known, dtype=np.float64)
    ks = np.asarray(ks, dtype=np.float64)
    if k_known.size == 0 or np.any(np.diff(k_known) <= 0):
        raise PaperError("published k values must be non-empty and strictly increasing")
    inside = (ks >= k_known[0]) & (ks <= k_known[-1])
    if method == "loglinear":
        out = np.interp(np.log(ks), np.log(k_known), v_known)
    elif method == "lower":
        out = v_known[np.clip(np.searchsorted(k_known, ks, side="right") - 1, 0, None)]
    elif method == "upper":
        out = v_known[np.clip(np.searchsorted(k_known, ks, side="left"), None, k_known.size - 1)]
    else:
        raise PaperError(f"unknown interpolation {method!r}; use loglinear, lower or upper")
    return np.where(inside, out, np.nan)


def _table_for(benchmark: str, pass_table: Optional[pd.DataFrame]) -> pd.DataFrame:
    table = load_pass_table() if pass_table is None else pass_table
    mine = table[table["benchmark"] == benchmark]
    if mine.empty:
        raise PaperError(
            f"no paper tables for benchmark {benchmark!r}; known: "
            f"{', '.join(sorted(table['benchmark'].unique()))}"
        )
    return mine


def _costs_for(budget: Budget, costs: Optional[pd.DataFrame]) -> dict[str, float]:
    costs = load_costs() if costs is None else costs
    column = {"flops": "tflops", "time": "wall_seconds"}.get(budget)
    if column is None:
        raise PaperError(f"unknown budget {budget!r}; use flops or time")
    return dict(zip(costs["model"], costs[column].astype(float)))


def pass_curves(benchmark: str, method: Method = "loglinear",
                pass_table: Optional[pd.DataFrame] = None) -> dict[str, np.ndarray]:
    """model -> pass@k for k = 1..(largest published k) (fractions, interpolated)."""
    out = {}
    for model, g in _table_for(benchmark, pass_table).groupby("model", sort=True):
        ks = np.arange(1, int(g["k"].max()) + 1)
        out[model] = interpolate(g["k"], g["value"], ks, method)
    return out


def budget_curves(benchmark: str, budget: Budget = "flops", method: Method = "loglinear",
                  pass_table: Optional[pd.DataFrame] = None,
                  costs: Optional[pd.DataFrame] = None) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """(shared budget grid, model -> pass at each budget) for the models that have a cost.

    Budgets are in units of the cheapest model's cost per sample (Table 1 normalisation).
    """
    curves = pass_curves(benchmark, method, pass_table)
    raw = _costs_for(budget, costs)
    models = [m for m in curves if m in raw]
    if not models:
        raise PaperError(f"no model of {benchmark} has a {budget} cost in Table 1")
    norm = {m: raw[m] / min(raw[m2] for m2 in models) for m in models}
    grid = metrics.budget_grid([norm[m] for m in models], [curves[m].size for m in models])
    return grid, {m: metrics.pass_at_budget(curves[m], norm[m], grid) for m in models}


@dataclass
class Crossover:
    """Where the smaller (cheaper) model beats the larger one at equal budget."""

    benchmark: str
    budget: str
    small: str
    large: str
    cost_ratio: float
    #: smallest budget from which the small model is above at every shared budget (or None)
    crossover: Optional[float]
    #: (first, last) budget of each run of shared budgets where the small model is above
    win_ranges: list[tuple[float, float]] = field(default_factory=list)
    shared_range: tuple[float, float] = (np.nan, np.nan)
    #: budgets where even the bounds agree: small's lower bound > large's upper bound
    certain_from: Optional[float] = None
    certain_budgets: list[float] = field(default_factory=list)
    n_shared: int = 0

    def describe(self) -> str:
        lo, hi = self.shared_range
        unit = "normalised FLOPs" if self.budget == "flops" else "normalised wall time"
        head = (f"{self.benchmark}, {self.budget} budget: {self.small} vs {self.large} "
                f"(cost ratio {self.cost_ratio:.2f}); both defined for budgets {lo:.4g}-{hi:.4g} "
                f"({unit}; pass@k interpolated in log k between the published k)")
        if self.crossover is None:
            win = f"{self.small} is NOT above {self.large} at the largest shared budget"
        else:
            win = (f"{self.small} is above {self.large} at every budget from {self.crossover:.4g} "
                   f"to {hi:.4g} (crossover budget {self.crossover:.4g})")
        ranges = ", ".join(f"{a:.4g}-{b:.4g}" for a, b in self.win_ranges) or "none"
        n_shared = self.n_shared
        certain = (f"certain from the published k alone (lower bound above upper bound, no "
                   f"interpolation) at {len(self.certain_budgets)} of {n_shared} shared budgets"
                   + ("" if self.certain_from is None
                      else f", and at every budget from {self.certain_from:.4g}"))
        return f"{head}\n  {win}\n  {self.small} wins at budgets: {ranges}\n  {certain}"


def _runs(budgets: np.ndarray, mask: np.ndarray) -> list[tuple[float, float]]:
    if not mask.any():
        return []
    idx = np.flatnonzero(mask)
    breaks = np.flatnonzero(np.diff(idx) > 1)
    starts = np.r_[idx[0], idx[breaks + 1]]
    ends = np.r_[idx[breaks], idx[-1]]
    return [(float(budgets[a]), float(budgets[b])) for a, b in zip(starts, ends)]


def crossover(benchmark: str, small: str, large: str, budget: Budget = "flops",
              pass_table: Optional[pd.DataFrame] = None,
              costs: Optional[pd.DataFrame] = None) -> Crossover:
    """Compare two models' budget curves from the paper's tables (see the module docstring)."""
    grid, mid = budget_curves(benchmark, budget, "loglinear", pass_table, costs)
    for m in (small, large):
        if m not in mid:
            raise PaperError(f"{m!r} has no {budget} curve for {benchmark}; have {sorted(mid)}")
    _, low = budget_curves(benchmark, budget, "lower", pass_table, costs)
    _, up = budget_curves(benchmark, budget, "upper", pass_table, costs)
    res = metrics.winning_budgets(grid, mid[small], mid[large])
    sure = metrics.winning_budgets(grid, low[small], up[large])
    raw = _costs_for(budget, costs)
    both = res["both"]
    shared = (float(grid[both].min()), float(grid[both].max())) if both.any() else (np.nan, np.nan)
    return Crossover(
        benchmark=benchmark, budget=budget, small=small, large=large,
        cost_ratio=raw[large] / raw[small], crossover=res["crossover"],
        win_ranges=_runs(grid, res["small_wins"]), shared_range=shared,
        certain_from=sure["crossover"],
        certain_budgets=[float(b) for b in grid[sure["small_wins"] & both]],
        n_shared=int(both.sum()),
    )


def paper_curves_table(benchmark: str, method: Method = "loglinear",
                       pass_table: Optional[pd.DataFrame] = None,
                       costs: Optional[pd.DataFrame] = None) -> pa.Table:
    """The paper's numbers as a `curves` table (no CIs), so the reducer's tables and plots can
    draw them: pass@k at the published k only; pass_flops / pass_time on the shared budget grid,
    read from pass@k interpolated with `method` between the published k."""
    problems = n_problems(benchmark)
    cols: dict[str, list] = {name: [] for name in schemas.CURVES.names}

    def add(model, metric, x, k, v):
        keep = ~np.isnan(v)
        size = int(keep.sum())
        cols["model"] += [model] * size
        cols["benchmark"] += [benchmark] * size
        cols["metric"] += [metric] * size
        cols["x"] += list(np.asarray(x, dtype=float)[keep])
        cols["k"] += list(np.asarray(k, dtype=int)[keep])
        cols["value"] += list(v[keep])
        cols["ci_low"] += [None] * size
        cols["ci_high"] += [None] * size
        cols["n_problems"] += [problems] * size
        cols["ranker"] += [None] * size
        cols["mc_se"] += [None] * size  # published values: no Monte Carlo

    for model, g in _table_for(benchmark, pass_table).groupby("model", sort=True):
        add(model, "pass@k", g["k"], g["k"], g["value"].to_numpy())  # published k only
    for budget, metric in (("flops", "pass_flops"), ("time", "pass_time")):
        try:
            grid, vals = budget_curves(benchmark, budget, method, pass_table, costs)
        except PaperError:
            continue
        raw = _costs_for(budget, costs)
        cheapest = min(raw[m] for m in vals)
        for model, v in vals.items():
            add(model, metric, grid, metrics.samples_for_budget(grid, raw[model] / cheapest), v)
    return schemas.conform(pa.Table.from_pydict(cols, schema=schemas.CURVES), "curves")


def benchmarks(pass_table: Optional[pd.DataFrame] = None) -> list[str]:
    table = load_pass_table() if pass_table is None else pass_table
    return sorted(table["benchmark"].unique())
