"""`budget-realloc reduce` and `paper`: numbers from `pipeline.reduce`, files from `pipeline.report`.

Role in the pipeline: the last step of `run`/`resume` (`pipeline.jobs.evaluate`) and the
`reduce` and `paper` commands. `reduce` reduces a run directory (`reduce_run`, which writes
nothing) and writes its curves, tables and figures (`write_reduced`); `paper` replays the
paper's published tables and writes the same kinds of outputs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from pipeline.reduce import paper as paper_mode
from pipeline.reduce.curves import Reduced, reduce_run
from pipeline.report.outputs import write_curves, write_reduced


def reduce(run_dir: str, **options) -> Reduced:
    """Reduce `run_dir` (options: `pipeline.reduce.curves.reduce_run`'s), write RUN_DIR/
    curves.parquet, tables/ and figures/, and return what was written (`Reduced`). With
    `verifier="plus"` they go to RUN_DIR/plus/, with the comparison of both verifiers
    (`pipeline.report.verifiers`) in RUN_DIR/plus/tables/."""
    reduced = reduce_run(run_dir, **options)
    write_reduced(reduced)
    if options.get("verifier", "base") == "plus":
        base = reduce_run(run_dir, **dict(options, verifier="base"))
        write_comparison(run_dir, base, reduced, n_boot=options.get("n_boot", 1000),
                         seed=options.get("seed", 0), ci=options.get("ci", 0.95))
    return reduced


def write_comparison(run_dir: str, base: Reduced, plus: Reduced, *, n_boot: int = 1000,
                     seed: int = 0, ci: float = 0.95) -> list[str]:
    """RUN_DIR/plus/tables/: pass@k and crossovers under both verifiers, false positives."""
    from pipeline.reduce.run_data import RunData
    from pipeline.reduce.verifiers import false_positives
    from pipeline.report import verifiers as report

    fp = false_positives(RunData.load(run_dir).verdicts, n_boot=n_boot, seed=seed, ci=ci)
    return report.write(plus.root, report.compare(base.curves, plus.curves, fp))


def paper(benchmarks: list[str], small: str, large: str, budget: str = "flops",
          out: Optional[Path] = None) -> list[str]:
    """Paper mode: where `small` beats `large` under a `budget` ("flops" | "time") budget on
    each benchmark (all of the paper's when none is named), as sentences; with `out`, also
    OUT/curves-<benchmark>.parquet, OUT/tables/ and OUT/figures/."""
    lines = []
    for name in benchmarks or paper_mode.benchmarks():
        lines.append(paper_mode.crossover(name, small, large, budget).describe())
        if out is not None:
            write_curves(str(out), paper_mode.paper_curves_table(name), name=f"curves-{name}.parquet")
    return lines
