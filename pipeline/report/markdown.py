"""Markdown and CSV tables from the `curves` table: pass@k at k = 1, 10, 100, ... per benchmark,
pass at budgets 1, 2, 4, ... (normalised), and where a cheaper model beats a costlier one.

Role in the pipeline: called by `pipeline.report.outputs` (writes RUN_DIR/tables/ for run, resume, reduce
and paper mode). Pure functions build DataFrames; `write_tables` is the only one that writes files.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from pipeline.reduce import metrics
from pipeline.report.format import pct

BUDGET_METRICS = ("pass_flops", "pass_time")
#: rank-score under a FLOPs / wall-time budget: one table per ranker
RANK_BUDGET_METRICS = ("rank_score_flops", "rank_score_time")


def as_frame(curves) -> pd.DataFrame:
    return curves.to_pandas() if isinstance(curves, pa.Table) else curves


def pass_at_k_table(curves, benchmark: str) -> pd.DataFrame:
    """One row per model: greedy pass@1 (if any) and pass@k at k = 1, 10, 100, ... (<= max k),
    with CI columns; values are fractions. Curves given only at some k (paper mode: the
    published k) are shown at those k instead."""
    df = as_frame(curves)
    df = df[df["benchmark"] == benchmark]
    pk = df[df["metric"] == "pass@k"]
    if pk.empty:
        return pd.DataFrame()
    kmax = int(pk["k"].max())
    contiguous = all(len(g) == g["k"].max() for _, g in pk.groupby("model"))
    ks = ([10**e for e in range(int(np.log10(kmax)) + 1)] if contiguous
          else sorted(int(k) for k in pk["k"].unique()))
    rows = []
    for model, g in pk.groupby("model", sort=True):
        row = {"model": model}
        greedy = df[(df["model"] == model) & (df["metric"] == "greedy_pass@1")]
        for col, src in [("greedy@1", greedy)] + [(f"pass@{k}", g[g["k"] == k]) for k in ks]:
            r = src.iloc[0] if len(src) else None
            row[col] = r["value"] if r is not None else np.nan
            row[f"{col}_ci_low"] = r["ci_low"] if r is not None else np.nan
            row[f"{col}_ci_high"] = r["ci_high"] if r is not None else np.nan
        rows.append(row)
    out = pd.DataFrame(rows)
    if out["greedy@1"].isna().all():
        out = out.drop(columns=[c for c in out.columns if c.startswith("greedy@1")])
    return out


def _model_step(g: pd.DataFrame):
    """(cost per sample, max k, sorted x, values) of one model's budget curve."""
    g = g.sort_values("x")
    cost = float(g["x"].iloc[0] / g["k"].iloc[0])
    return cost, int(g["k"].max()), g["x"].to_numpy(), g["value"].to_numpy()


def values_at_budgets(curves, benchmark: str, metric: str, budgets) -> pd.DataFrame:
    """Each model's budget curve read at `budgets` (NaN where it buys 0 samples or too many)."""
    df = as_frame(curves)
    df = df[(df["benchmark"] == benchmark) & (df["metric"] == metric)]
    budgets = np.asarray(budgets, dtype=np.float64)
    out = pd.DataFrame({"budget": budgets})
    for model, g in df.groupby("model", sort=True):
        cost, kmax, xs, vals = _model_step(g)
        k = metrics.samples_for_budget(budgets, cost)
        idx = np.searchsorted(xs, budgets * (1 + metrics.BUDGET_RTOL), side="right") - 1
        ok = (k >= 1) & (k <= kmax) & (idx >= 0)
        out[model] = np.where(ok, vals[np.clip(idx, 0, None)], np.nan)
    return out


def budget_table(curves, benchmark: str, metric: str) -> pd.DataFrame:
    """Pass at normalised budgets 1, 2, 4, ... for every model, and the best model at each."""
    df = as_frame(curves)
    df = df[(df["benchmark"] == benchmark) & (df["metric"] == metric)]
    if df.empty:
        return pd.DataFrame()
    top = float(df["x"].max())
    budgets = 2.0 ** np.arange(0, int(np.floor(np.log2(top))) + 1)
    out = values_at_budgets(df, benchmark, metric, budgets)
    models = [c for c in out.columns if c != "budget"]
    vals = out[models].to_numpy()
    defined = ~np.isnan(vals)
    best = np.where(defined.any(axis=1), np.argmax(np.where(defined, vals, -np.inf), axis=1), -1)
    out["best"] = [models[i] if i >= 0 else "" for i in best]
    return out


def crossover_table(curves, benchmark: str, metric: str) -> pd.DataFrame:
    """For every pair (cheaper, costlier) of models: the budgets where the cheaper one wins."""
    df = as_frame(curves)
    df = df[(df["benchmark"] == benchmark) & (df["metric"] == metric)]
    steps = {m: _model_step(g) for m, g in df.groupby("model", sort=True)}
    rows = []
    by_cost = sorted(steps, key=lambda m: steps[m][0])
    for i, small in enumerate(by_cost):
        for large in by_cost[i + 1 :]:
            grid = np.union1d(steps[small][2], steps[large][2])
            vals = values_at_budgets(df, benchmark, metric, grid)
            res = metrics.winning_budgets(grid, vals[small].to_numpy(), vals[large].to_numpy())
            shared = int(res["both"].sum())
            rows.append({
                "metric": metric,
                "smaller": small,
                "larger": large,
                "cost_ratio": steps[large][0] / steps[small][0],
                "shared_budgets": shared,
                "smaller_wins_fraction": (res["small_wins"].sum() / shared) if shared else np.nan,
                "smaller_wins_from_budget": res["crossover"],
                "budget_range": (f"{grid[res['both']].min():.4g}-{grid[res['both']].max():.4g}"
                                 if shared else ""),
            })
    return pd.DataFrame(rows)


def to_markdown(frame: pd.DataFrame, title: str = "") -> str:
    """A GitHub-flavoured Markdown table; pass values shown in % with their CI."""
    if frame.empty:
        return f"## {title}\n\n(no data)\n" if title else "(no data)\n"
    cols = [c for c in frame.columns if not c.endswith(("_ci_low", "_ci_high"))]
    lines = [f"## {title}", ""] if title else []
    lines.append("| " + " | ".join(cols) + " |")
    lines.append("|" + "|".join("---" for _ in cols) + "|")
    for _, row in frame.iterrows():
        cells = []
        for c in cols:
            v = row[c]
            if f"{c}_ci_low" in frame.columns and isinstance(v, float) and not np.isnan(v):
                lo, hi = row[f"{c}_ci_low"], row[f"{c}_ci_high"]
                ci = f" [{pct(lo)}, {pct(hi)}]" if not pd.isna(lo) else ""
                cells.append(f"{pct(v)}{ci}")
            elif isinstance(v, float):
                cells.append("" if np.isnan(v) else (f"{v:.4g}" if c in _RAW else pct(v)))
            else:
                cells.append("" if v is None else str(v))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


_RAW = {"budget", "cost_ratio", "smaller_wins_from_budget", "cost_per_sample", "normalised"}


def write_tables(curves, out_dir: str | Path) -> list[Path]:
    """Write pass@k, budget and crossover tables per benchmark as .md and .csv; return paths."""
    from pipeline import rank

    df = as_frame(curves)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []

    def emit(frame: pd.DataFrame, stem: str, title: str) -> None:
        if frame.empty:
            return
        csv, md = out_dir / f"{stem}.csv", out_dir / f"{stem}.md"
        frame.to_csv(csv, index=False)
        md.write_text(to_markdown(frame, title))
        written.extend([csv, md])

    for bench in sorted(df["benchmark"].unique()):
        has_ci = df.loc[df["benchmark"] == bench, "ci_low"].notna().any()
        emit(pass_at_k_table(df, bench), f"pass_at_k_{bench}",
             f"{bench}: pass@k (%)" + (" [bootstrap CI]" if has_ci else ""))
        cross = []
        for metric in BUDGET_METRICS:
            emit(budget_table(df, bench, metric), f"{metric}_{bench}",
                 f"{bench}: {metric} (%) at normalised budgets")
            cross.append(crossover_table(df, bench, metric))
        for metric in RANK_BUDGET_METRICS:
            mine = df[(df["benchmark"] == bench) & (df["metric"] == metric)]
            rankers = sorted(mine["ranker"].dropna().unique())
            for ranker in rankers:
                sub = mine[mine["ranker"] == ranker]
                stem = f"{metric}_{bench}" + (f"_{ranker}" if len(rankers) > 1 else "")
                emit(budget_table(sub, bench, metric), stem,
                     f"{bench}: {metric} (%) ranked by {rank.label(ranker, bench)}, at "
                     "normalised budgets")
                cross.append(crossover_table(sub, bench, metric).assign(ranker=ranker))
        cross = [c for c in cross if not c.empty]
        if cross:
            emit(pd.concat(cross, ignore_index=True), f"crossovers_{bench}",
                 f"{bench}: where the cheaper model wins (budgets in units of the cheapest model)")
    return written
