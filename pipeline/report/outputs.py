"""Writes a reduced run: curves.parquet, Markdown/CSV tables and PNG/SVG figures.

Role in the pipeline: the one writer of curves and their tables and figures, for every caller:
`run` and `resume` (after their stages), `reduce`, and paper mode (`pipeline.jobs`). It takes
what `pipeline.reduce.curves.reduce_run` (or paper mode) computed and writes through the
storage layer, so a run directory on object storage gets the same files as a local one.
"""

from __future__ import annotations

from typing import Optional

import pandas as pd
import pyarrow as pa

from pipeline.reduce.curves import Reduced
from pipeline.report import markdown, plots
from pipeline.run import storage

STATUSES_TITLE = ("samples per verdict status (unjudgeable: the answer could not be compared "
                  "outside the sample)")


def write_curves(root: str, curves: pa.Table, *, statuses: Optional[pd.DataFrame] = None,
                 costs: Optional[pd.DataFrame] = None, name: str = "curves.parquet") -> None:
    """ROOT/NAME (the curves), ROOT/tables/ (pass@k, budget and crossover tables; with
    `statuses`, verdict_statuses.{md,csv}; with `costs`, costs_<benchmark>.{md,csv}) and
    ROOT/figures/."""
    storage.write_table(curves, storage.join(root, name), "curves")
    with storage.local_dir(storage.join(root, "tables")) as tables:
        markdown.write_tables(curves, tables)
        if statuses is not None:
            statuses.to_csv(tables / "verdict_statuses.csv", index=False)
            (tables / "verdict_statuses.md").write_text(markdown.to_markdown(statuses, STATUSES_TITLE))
        for bench, frame in (costs.groupby("benchmark", sort=True) if costs is not None else ()):
            frame = frame.drop(columns="benchmark")
            frame.to_csv(tables / f"costs_{bench}.csv", index=False)
            (tables / f"costs_{bench}.md").write_text(markdown.to_markdown(
                frame, f"{bench}: cost per sample of each budget curve, and its source"))
    with storage.local_dir(storage.join(root, "figures")) as figures:
        plots.draw_all(curves, figures)


def write_reduced(reduced: Reduced) -> None:
    """A reduced run's outputs into its own directory (see `write_curves`)."""
    write_curves(reduced.root, reduced.curves, statuses=reduced.statuses, costs=reduced.costs)
