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


def main() -> None:
    app()
