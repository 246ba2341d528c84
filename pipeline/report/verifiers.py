"""Base vs base + extended tests side by side: pass@k, budget crossovers, false positives.

Role in the pipeline: `pipeline.jobs.reduce` calls `compare` and `write` when a run is reduced
with `--verifier plus`: RUN_DIR/plus/tables/verifiers_<benchmark>.{md,csv} (pass@k at k = 1,
10, 100, ... under both verifiers, with CIs), crossovers_verifiers_<benchmark>.{md,csv} (for
every pair of models and budget metric, where the cheaper one wins under each verifier) and
false_positives.{md,csv} (`pipeline.reduce.verifiers.false_positives`).
"""

from __future__ import annotations

import pandas as pd

from pipeline.report import markdown
from pipeline.run import storage


def pass_at_k(base_curves, plus_curves, benchmark: str) -> pd.DataFrame:
    """One row per model: pass@k (k = 1, 10, 100, ...) under each verifier, with CIs."""
    b = markdown.pass_at_k_table(base_curves, benchmark)
    p = markdown.pass_at_k_table(plus_curves, benchmark)
    if b.empty or p.empty:
        return pd.DataFrame()
    b = b.rename(columns=lambda c: c if c == "model" else c.replace("pass@", "base pass@"))
    p = p.rename(columns=lambda c: c if c == "model" else c.replace("pass@", "plus pass@"))
    out = b.merge(p, on="model")
    ks = [c for c in b.columns if c.startswith("base pass@") and not c.endswith(("_low", "_high"))]
    order = ["model"]
    for c in ks:
        q = c.replace("base", "plus")
        order += [c, f"{c}_ci_low", f"{c}_ci_high", q, f"{q}_ci_low", f"{q}_ci_high"]
    return out[order]


def crossovers(base_curves, plus_curves, benchmark: str,
               metrics=("pass_flops", "pass_time")) -> pd.DataFrame:
    """Per budget metric and pair of models: the budget from which the cheaper model wins and
    the share of shared budgets it wins, under each verifier."""
    frames = []
    for metric in metrics:
        b = markdown.crossover_table(base_curves, benchmark, metric)
        p = markdown.crossover_table(plus_curves, benchmark, metric)
        if b.empty or p.empty:
            continue
        keep = ["metric", "smaller", "larger", "smaller_wins_fraction", "smaller_wins_from_budget"]
        frames.append(b[keep + ["cost_ratio"]].merge(
            p[keep], on=["metric", "smaller", "larger"], suffixes=("_base", "_plus")))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def compare(base_curves, plus_curves, fp: pd.DataFrame) -> dict[str, tuple[pd.DataFrame, str]]:
    """{file stem: (table, title)} of the comparison."""
    out = {"false_positives": (fp, "false-positive rate: share of base-test passes that fail "
                               "the extended tests (difficulty: tertile of the pooled base "
                               "pass rate)")}
    benches = sorted(set(markdown.as_frame(plus_curves)["benchmark"]))
    for bench in benches:
        out[f"verifiers_{bench}"] = (pass_at_k(base_curves, plus_curves, bench),
                                     f"{bench}: pass@k on the base tests vs base + extended")
        out[f"crossovers_verifiers_{bench}"] = (
            crossovers(base_curves, plus_curves, bench),
            f"{bench}: where the cheaper model wins, base vs base + extended tests")
    return out


def write(root: str, tables: dict[str, tuple[pd.DataFrame, str]]) -> list[str]:
    """ROOT/tables/<stem>.{md,csv}; returns the stems written."""
    with storage.local_dir(storage.join(root, "tables")) as d:
        for stem, (frame, title) in tables.items():
            frame.to_csv(d / f"{stem}.csv", index=False)
            (d / f"{stem}.md").write_text(markdown.to_markdown(frame, title))
    return list(tables)
