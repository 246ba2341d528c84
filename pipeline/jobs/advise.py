"""`budget-realloc advise`: the advisor's numbers (`pipeline.reduce.advise_run`), then its files.

Role in the pipeline: the advise command's orchestration. `advise` prices and advises on a run
directory and writes RUN_DIR/advice.parquet, advice_curves.parquet and advice/ (through
`pipeline.report.advice.write`); `advise_paper` does the same on paper mode's tables, writing
only where asked.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from pipeline.reduce.advise_run import Advice, advise_run, load_prices, paper_advice
from pipeline.report.advice import write


def advise(run_dir: str, *, prices: Optional[Path] = None, write_outputs: bool = True,
           **options) -> tuple[Advice, list[str]]:
    """The advice on `run_dir` (options: `advise_run`'s; `prices`: a prices file; `verifier`
    "plus": on base + extended tests, written to RUN_DIR/plus/) and the files written into it
    (none when `write_outputs` is off or there is nothing to advise on)."""
    result = advise_run(run_dir, prices=load_prices(prices), **options)
    from pipeline.reduce.verifiers import output_root

    target = output_root(run_dir, options.get("verifier", "base"))
    files = write(result, target) if write_outputs and not result.table.empty else []
    return result, files


def advise_paper(benchmark: str, budget: str = "flops",
                 out: Optional[Path] = None) -> tuple[Advice, list[str]]:
    """The advice on paper mode's tables of `benchmark`, and the files written under `out`."""
    result = paper_advice(benchmark, budget)
    files = write(result, out) if out is not None and not result.table.empty else []
    return result, files
