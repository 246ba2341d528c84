"""The advisor's outputs: advice.parquet, advice_curves.parquet, Markdown, CSV, JSON, frontier figures.

Role in the pipeline: writes what `pipeline.reduce.advise_run` computed (`budget-realloc
advise`, through `pipeline.jobs.advise`):

    RUN_DIR/advice.parquet          schemas.ADVICE: best strategy per (benchmark, setting, budget)
    RUN_DIR/advice_curves.parquet   schemas.ADVICE_CURVES: every strategy's curve
    RUN_DIR/advice/advice.md|csv|json, RUN_DIR/advice/frontier-<benchmark>-<setting>.png|svg
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

import schemas
from pipeline.reduce import advise as adv
from pipeline.reduce.advise_run import Advice
from pipeline.report.format import pct

#: Budgets shown in the Markdown table (all of them are in the CSV/Parquet); crossovers are added.
SHOWN = 14


# -- outputs ---------------------------------------------------------------------------------------
def write(advice: Advice, run_dir: str | Path) -> list[str]:
    """advice.parquet, advice_curves.parquet and RUN_DIR/advice/* (a local path or a URI, through
    the storage layer); returns the files written."""
    from pipeline.run import storage

    root = str(run_dir)
    storage.write_table(schemas.from_pandas(advice.table, "advice"),
                        storage.join(root, "advice.parquet"), "advice")
    storage.write_table(schemas.from_pandas(advice.curves, "advice_curves"),
                        storage.join(root, "advice_curves.parquet"), "advice_curves")
    with storage.local_dir(storage.join(root, "advice")) as out:
        files = [out / "advice.md", out / "advice.csv", out / "advice.json"]
        files[0].write_text(markdown(advice))
        advice.table.to_csv(files[1], index=False)
        files[2].write_text(json.dumps(to_json(advice), indent=1))
        for (bench, setting), _ in advice.table.groupby(["benchmark", "setting"], sort=True):
            files += draw_frontier(advice, bench, setting, out / f"frontier-{bench}-{setting}")
    return [storage.join(root, "advice", f.name) for f in files]


def to_json(advice: Advice) -> dict:
    def records(df):
        return json.loads(df.to_json(orient="records"))

    return {"advice": records(advice.table), "crossovers": records(advice.crossovers),
            "notes": advice.notes}


def _is_tie(row) -> bool:
    """The row's runner-up ties with its best (an advice table written before `tie`: no)."""
    tie = row.get("tie")
    return tie is not None and not pd.isna(tie) and bool(tie)


def _margin(row) -> str:
    """The margin in points; an equal pass rate says why the best is best (it spends less)."""
    m = row["margin"]
    if m is None or pd.isna(m) or _is_tie(row):
        return pct(m, "-")
    if abs(m) <= adv.tie_tol(row["value"]):
        return "0 (same pass rate, spends less)"
    return pct(m, "-")


def _name(v) -> str:
    return v if isinstance(v, str) and v else "-"


def shown_rows(table: pd.DataFrame, crossovers: pd.DataFrame, n: int = SHOWN) -> pd.DataFrame:
    """About `n` budgets spread evenly in log budget, plus the first `n` crossover budgets."""
    if len(table) <= n:
        return table
    b = table["budget"].to_numpy()
    targets = np.geomspace(b.min(), b.max(), n)
    idx = set(np.searchsorted(b, targets).clip(0, len(b) - 1).tolist())
    idx |= set(np.flatnonzero(np.isin(b, crossovers["budget"].to_numpy()[:n])).tolist())
    return table.iloc[sorted(idx)]


def markdown(advice: Advice, n: int = SHOWN) -> str:
    """The advice as Markdown: per (benchmark, setting), a table of budgets and the crossovers."""
    lines = []
    for (bench, setting), g in advice.table.groupby(["benchmark", "setting"], sort=True):
        g = g.sort_values("budget")
        cross = advice.crossovers[(advice.crossovers.benchmark == bench)
                                  & (advice.crossovers.setting == setting)]
        unit = g["unit"].iloc[0]
        lines += [f"### {bench}, {'with' if setting == 'tests' else 'without'} tests ({unit})",
                  "", f"Costs: {g['cost_source'].iloc[0]}. Budget per problem in {unit}; x: in "
                  "samples of the cheapest model. Pass rates in %, 95 % bootstrap CI over "
                  "problems; P(best): share of bootstrap resamples in which the best strategy "
                  "wins, a tie counting as a shared win; (tie): the runner-up has the same pass "
                  "rate at the same cost; (all measured samples): the budget buys more than the "
                  "counts cover, so the pass rate is a lower bound.", "",
                  f"| budget ({unit}) | x | best | configuration | pass | CI | P(best) | "
                  "runner-up | margin |", "|---|---|---|---|---|---|---|---|---|"]
        for _, r in shown_rows(g, cross, n).iterrows():
            ci = "-" if pd.isna(r["ci_low"]) else f"{pct(r['ci_low'], '-')}-{pct(r['ci_high'], '-')}"
            pb = "-" if pd.isna(r["p_best"]) else f"{r['p_best']:.2f}"
            config = r["best_config"] + (" (all measured samples)" if r["capped"] else "")
            lines.append(f"| {r['budget']:.4g} | {r['x']:.4g} | {r['best']} | {config} "
                         f"| {pct(r['value'], '-')} | {ci} | {pb} | {_name(r['runner_up'])}"
                         f"{' (tie)' if _is_tie(r) else ''} | "
                         f"{_margin(r)} |")
        more = f"; and {len(cross) - n} more (advice.json)" if len(cross) > n else ""
        lines += ["", "Crossovers (the best strategy changes at this budget): "
                  + ("; ".join(f"{c['x']:.4g} x ({c['budget']:.4g} {unit}): {c['from']} -> "
                               f"{c['to']}" for _, c in cross.head(n).iterrows()) or "none")
                  + more, ""]
    lines += [f"- {note}" for note in advice.notes] + ([""] if advice.notes else [])
    return "\n".join(lines) + "\n"


def draw_frontier(advice: Advice, bench: str, setting: str, stem: Path) -> list[Path]:
    """Every strategy's curve (thin) and the best one (thick), pass rate vs budget (log x)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    c = advice.curves[(advice.curves.benchmark == bench) & (advice.curves.setting == setting)]
    t = advice.table[(advice.table.benchmark == bench) & (advice.table.setting == setting)]
    fig, ax = plt.subplots(figsize=(8, 5))
    for name, g in c.groupby("strategy", sort=True):
        ax.plot(g["x"], 100 * g["value"], lw=1, alpha=0.8, label=name, drawstyle="steps-post")
    ax.plot(t["x"], 100 * t["value"], color="black", lw=2.5, alpha=0.5, label="best (frontier)",
            drawstyle="steps-post")
    if t["ci_low"].notna().any():
        ax.fill_between(t["x"], 100 * t["ci_low"], 100 * t["ci_high"], color="grey", alpha=0.2,
                        step="post", label="95 % CI of the best")
    ax.set_xscale("log")
    ax.set_xlabel(f"budget per problem, in samples of the cheapest model ({t['unit'].iloc[0]})")
    ax.set_ylabel("pass rate (%)")
    ax.set_title(f"{bench}: {'with' if setting == 'tests' else 'without'} tests")
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    paths = [stem.with_suffix(".png"), stem.with_suffix(".svg")]
    for p in paths:
        fig.savefig(p, dpi=110)
    plt.close(fig)
    return paths
