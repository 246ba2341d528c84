"""The `budget-realloc` command line: thin wrappers over the pipeline's functions.

Errors in user input (bad data, bad config, missing files) print one clear line and exit 2;
anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from pipeline.benchmarks import DataError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Code-generation evaluation under a fixed compute budget (Hassid et al. 2024).",
)


@app.callback()
def _root() -> None:
    """Code-generation evaluation under a fixed compute budget (Hassid et al. 2024)."""


def _fail(message: str) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code=2)


@app.command()
def problems(
    benchmark: str = typer.Option(..., help="humaneval | mbpp | apps"),
    out: Path = typer.Option(..., help="Parquet file to write"),
    data: Optional[str] = typer.Option(
        None, help="local data file or directory (default: the package's / dataset's copy)"
    ),
) -> None:
    """Build the `problems` table (prompts, tests, stop sequences) for one benchmark."""
    from pipeline import benchmarks, storage

    try:
        table = benchmarks.get(benchmark).load(data)
    except DataError as exc:
        _fail(str(exc))
    storage.write_table(table, out, "problems")
    typer.echo(f"wrote {table.num_rows} {benchmark} problems to {out}")


@app.command()
def reduce(
    run_dir: str = typer.Argument(..., help="run directory (samples/, verdicts/, scores/)"),
    n_boot: int = typer.Option(1000, help="bootstrap resamples over problems (0: no CIs)"),
    ci: float = typer.Option(0.95, help="confidence level of the intervals"),
    seed: int = typer.Option(0, help="seed of the bootstrap"),
) -> None:
    """Reduce a run: curves.parquet, Markdown/CSV tables and PNG/SVG figures."""
    from pipeline import storage
    from pipeline.cost import CostError
    from pipeline.reduce import ReduceError, reduce_run

    try:
        curves = reduce_run(run_dir, ci=ci, n_boot=n_boot, seed=seed)
    except (ReduceError, CostError, storage.StorageError) as exc:
        _fail(str(exc))
    metrics_seen = sorted(set(curves.column("metric").to_pylist()))
    typer.echo(f"wrote {curves.num_rows} curve points ({', '.join(metrics_seen)}) to "
               f"{storage.join(run_dir, 'curves.parquet')}")
    typer.echo(f"tables:  {storage.join(run_dir, 'tables')}/")
    typer.echo(f"figures: {storage.join(run_dir, 'figures')}/")


@app.command()
def paper(
    benchmark: list[str] = typer.Option(
        [], help="benchmark(s) of the paper's tables (default: all): humaneval, mbpp, "
        "apps-introductory, apps-interview, apps-competition"),
    budget: str = typer.Option("flops", help="flops | time"),
    small: str = typer.Option("codellama-7b", help="the smaller model"),
    large: str = typer.Option("codellama-70b", help="the larger model"),
    out: Optional[Path] = typer.Option(None, help="also write curves, tables and figures here"),
) -> None:
    """Paper mode: the paper's pass@k tables under a fixed budget; where the smaller model wins."""
    from pipeline import paper as paper_mode
    from pipeline import plots, storage, tables

    try:
        names = benchmark or paper_mode.benchmarks()
        for name in names:
            typer.echo(paper_mode.crossover(name, small, large, budget).describe())
            if out is not None:
                curves = paper_mode.paper_curves_table(name)
                storage.write_table(curves, out / f"curves-{name}.parquet", "curves")
                tables.write_tables(curves, out / "tables")
                plots.draw_all(curves, out / "figures")
    except paper_mode.PaperError as exc:
        _fail(str(exc))
    if out is not None:
        typer.echo(f"wrote curves-<benchmark>.parquet, tables/ and figures/ under {out}")


def main() -> None:
    app()
