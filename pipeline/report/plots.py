"""The paper's figures from the `curves` table (matplotlib, Agg backend), PNG and SVG.

Role in the pipeline: called by `pipeline.report.outputs` (RUN_DIR/figures/; also paper mode).
Per benchmark: pass@k vs k, pass_flops vs normalised FLOPs, pass_time vs normalised time (one
line per model, bootstrap CI bands, greedy pass@1 as a star), rank-score@k vs k per ranker
next to the model's pass@k (oracle ranking) and random ranking (= pass@1 at every k), and
rank-score under a FLOPs and a wall-time budget per ranker (the paper's wall-time ranking figure).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

from pipeline.report.markdown import as_frame  # noqa: E402

XLABELS = {
    "pass@k": "k (samples)",
    "pass_flops": "budget (normalised FLOPs: samples of the cheapest model)",
    "pass_time": "budget (normalised wall time: samples of the fastest model)",
    "rank_score_flops": "budget (normalised FLOPs: samples of the cheapest model)",
    "rank_score_time": "budget (normalised wall time: samples of the fastest model)",
}
YLABELS = {"pass@k": "pass@k (%)", "pass_flops": "pass_flops@f (%)", "pass_time": "pass_time@t (%)",
           "rank_score_flops": "rank-score under a FLOPs budget (%)",
           "rank_score_time": "rank-score under a wall-time budget (%)"}


def _model_colors(models) -> dict[str, tuple]:
    cmap = plt.get_cmap("tab10")
    return {m: cmap(i % 10) for i, m in enumerate(sorted(models))}


def _band(ax, x, g, color, step: bool) -> None:
    if g["ci_low"].notna().any():
        kw = {"step": "post"} if step else {}
        ax.fill_between(x, 100 * g["ci_low"], 100 * g["ci_high"], color=color, alpha=0.18,
                        linewidth=0, **kw)


def _plain_ticks(ax) -> None:
    """Log-scale x ticks as plain numbers (1, 2, 10, 1000), not 2x10^0."""
    from matplotlib.ticker import FuncFormatter, LogLocator

    plain = FuncFormatter(lambda v, _: f"{v:g}")
    ax.xaxis.set_major_formatter(plain)
    if ax.xaxis.get_scale() == "log" and getattr(ax.xaxis.get_transform(), "base", 10) == 10:
        ax.xaxis.set_minor_locator(LogLocator(base=10, subs=(2.0, 5.0)))
        ax.xaxis.set_minor_formatter(plain)


def _save(fig, stem: Path) -> list[Path]:
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = [stem.with_suffix(".png"), stem.with_suffix(".svg")]
    fig.savefig(paths[0], dpi=130, bbox_inches="tight")
    fig.savefig(paths[1], bbox_inches="tight")
    plt.close(fig)
    return paths


def plot_metric(curves, benchmark: str, metric: str, stem: str | Path) -> list[Path]:
    """pass@k, pass_flops or pass_time vs its x (log scale) for every model of a benchmark."""
    df = as_frame(curves)
    df = df[df["benchmark"] == benchmark]
    lines = df[df["metric"] == metric]
    if lines.empty:
        return []
    colors = _model_colors(df["model"].unique())
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    step = metric != "pass@k"
    for model, g in lines.groupby("model", sort=True):
        g = g.sort_values("x")
        x = g["x"].to_numpy()
        if step:
            ax.step(x, 100 * g["value"], where="post", color=colors[model], label=model, lw=1.6)
        else:
            sparse = len(g) < 30  # e.g. paper mode's published k: show the points
            ax.plot(x, 100 * g["value"], color=colors[model], label=model, lw=1.6,
                    marker="o" if sparse else None, ms=3.5)
        _band(ax, x, g, colors[model], step)
        greedy = df[(df["model"] == model) & (df["metric"] == "greedy_pass@1")]
        if len(greedy):
            gx = 1.0 if metric == "pass@k" else float(g["x"].iloc[0] / g["k"].iloc[0])
            ax.plot([gx], [100 * greedy["value"].iloc[0]], marker="*", ms=12, ls="none",
                    color=colors[model], markeredgecolor="black", markeredgewidth=0.6)
    ax.set_xscale("log", base=2 if step else 10)
    _plain_ticks(ax)
    ax.set_xlabel(XLABELS[metric])
    ax.set_ylabel(YLABELS[metric])
    ax.set_title(f"{benchmark}: {YLABELS[metric].split(' (')[0]}"
                 + ("  (★ greedy)" if (df["metric"] == "greedy_pass@1").any() else ""))
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    return _save(fig, Path(stem))


def plot_rank_score(curves, benchmark: str, stem: str | Path) -> list[Path]:
    """rank-score@k vs k for each (model, ranker), with the model's pass@k and random ranking;
    a ranker that reads the benchmark's hidden tests is labelled an upper bound."""
    from pipeline import rank

    df = as_frame(curves)
    df = df[df["benchmark"] == benchmark]
    rs = df[df["metric"] == "rank_score"]
    if rs.empty:
        return []
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    colors = _model_colors(df["model"].unique())
    styles = ["-", "-.", (0, (6, 1.5)), (0, (3, 1, 1, 1, 1, 1))]
    rankers = sorted(rs["ranker"].unique())
    kmax = rs["k"].max()
    one_model = rs["model"].nunique() == 1
    # one model: a colour per ranker (several rankers overlap); several: a colour per model
    cmap = plt.get_cmap("tab10")  # colour 0 stays the model's (its pass@k lines)
    ranker_colors = {r: cmap((i + 1) % 10) for i, r in enumerate(rankers)}
    for (model, ranker), g in rs.groupby(["model", "ranker"], sort=True):
        g = g.sort_values("k")
        color = ranker_colors[ranker] if one_model else colors[model]
        ax.plot(g["k"], 100 * g["value"], color=color, lw=1.8,
                ls=styles[rankers.index(ranker) % len(styles)],
                label=f"{model} ranked by {rank.label(ranker, benchmark)}")
        _band(ax, g["k"].to_numpy(), g, color, False)
    for model in sorted(rs["model"].unique()):
        pk = df[(df["model"] == model) & (df["metric"] == "pass@k") & (df["k"] <= kmax)]
        pk = pk.sort_values("k")
        if len(pk):
            ax.plot(pk["k"], 100 * pk["value"], color=colors[model], ls="--", lw=1.0,
                    label=f"{model} pass@k (oracle ranking)")
            p1 = 100 * pk["value"].iloc[0]
            ax.plot([1, kmax], [p1, p1], color=colors[model], ls=":", lw=1.2,
                    label=f"{model} random ranking (= pass@1)")
    ax.set_xscale("log")
    _plain_ticks(ax)
    ax.set_xlabel("k (samples)")
    ax.set_ylabel("rank-score@k (%)")
    ax.set_title(f"{benchmark}: rank-score@k, the best-ranked of k samples (ties averaged)",
                 fontsize=10)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(loc="best", fontsize=7)
    return _save(fig, Path(stem))


def draw_all(curves, out_dir: str | Path) -> list[Path]:
    """Every figure for every benchmark in `curves`, PNG and SVG; returns the paths written."""
    df = as_frame(curves)
    out_dir = Path(out_dir)
    paths: list[Path] = []
    for bench in sorted(df["benchmark"].unique()):
        for metric in ("pass@k", "pass_flops", "pass_time"):
            name = metric.replace("@", "_at_")
            paths += plot_metric(df, bench, metric, out_dir / f"{bench}_{name}")
        paths += plot_rank_score(df, bench, out_dir / f"{bench}_rank_score")
        for metric in ("rank_score_flops", "rank_score_time"):
            mine = df[(df["benchmark"] == bench) & (df["metric"] == metric)]
            rankers = sorted(mine["ranker"].dropna().unique())
            for ranker in rankers:
                # one figure per ranker: the model's pass@k budget curve is not drawn here
                sub = mine[mine["ranker"] == ranker]
                stem = f"{bench}_{metric}" + (f"_{ranker}" if len(rankers) > 1 else "")
                paths += plot_metric(sub, bench, metric, out_dir / stem)
    return paths


__all__ = ["draw_all", "plot_metric", "plot_rank_score"]
