"""Formatting helpers shared by every writer: a curve point with its interval, percentages.

Role in the pipeline: the one place where a `curves` row becomes text, for the run's Markdown
tables (`markdown`), the advisor's (`advice`) and the reproduction report
(`pipeline.reproduce`). Values are rates in [0, 1] in the curves; text shows percentages with
one decimal.
"""

from __future__ import annotations

from typing import Optional

import pandas as pd


def pct(v, missing: str = "") -> str:
    """A rate as a percentage with one decimal; `missing` for None or NaN."""
    return missing if v is None or pd.isna(v) else f"{100 * v:.1f}"


def point(curves: pd.DataFrame, model: str, bench: Optional[str], metric: str, k: int,
          ranker: Optional[str] = None) -> Optional[dict]:
    """The curve point (model, benchmark (any when None), metric, k[, ranker]) in percent:
    {"value", "lo", "hi", "se"} (lo/hi: its CI, se: its Monte Carlo standard error, None when
    the curve has none), or None when the curves hold no such point."""
    c = curves[(curves.model == model) & (curves.metric == metric) & (curves.k == k)]
    if bench is not None:
        c = c[c.benchmark == bench]
    if ranker is not None:
        c = c[c.ranker == ranker]
    if c.empty:
        return None
    row = c.iloc[0]
    se = row.get("mc_se")
    return {"value": 100 * row.value,
            "lo": None if pd.isna(row.ci_low) else 100 * row.ci_low,
            "hi": None if pd.isna(row.ci_high) else 100 * row.ci_high,
            "se": None if se is None or pd.isna(se) else 100 * float(se)}


def fmt_point(p: Optional[dict]) -> str:
    """"12.3 [10.1, 14.6]" (value and CI, in percent), "12.3" without a CI, "n/a" for None."""
    if p is None:
        return "n/a"
    if p["lo"] is None:
        return f"{p['value']:.1f}"
    return f"{p['value']:.1f} [{p['lo']:.1f}, {p['hi']:.1f}]"
