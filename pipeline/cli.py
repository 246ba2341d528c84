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


@app.command()
def plan(
    config: Path = typer.Argument(..., help="run config (YAML)"),
    nodes: int = typer.Option(1, help="GPU nodes"),
    gpus_per_node: int = typer.Option(8, help="GPUs per node"),
    gpu: str = typer.Option("a100", help="GPU type with published throughput: a100 | h100"),
    sandbox_nodes: int = typer.Option(1, help="CPU nodes running the sandbox"),
    sandbox_cores: int = typer.Option(96, help="cores per sandbox node"),
    sandbox_rate: float = typer.Option(
        107.5, help="sandbox program runs per core-second (measured: 215/s on 2 cores)"
    ),
    scaling: str = typer.Option("flops", help="scale the 7B throughput by: flops | paper-walltime"),
    params: list[str] = typer.Option([], help="MODEL=BILLIONS, for a model whose size is not in its name"),
) -> None:
    """Print samples, tokens, expected GPU-hours and sandbox CPU-hours of CONFIG on a cluster."""
    from pipeline import config as config_mod
    from pipeline import plan as plan_mod

    overrides = {}
    for item in params:
        name, _, value = item.partition("=")
        try:
            overrides[name] = float(value)
        except ValueError:
            _fail(f"--params takes MODEL=BILLIONS, got {item!r}")
    try:
        run_config = config_mod.load(config)
        cluster = plan_mod.Cluster(
            nodes=nodes, gpus_per_node=gpus_per_node, gpu=gpu.lower(), sandbox_nodes=sandbox_nodes,
            sandbox_cores_per_node=sandbox_cores, sandbox_runs_per_core_s=sandbox_rate,
            scaling=scaling, params_b=overrides,
        )
        typer.echo(plan_mod.render(plan_mod.plan(run_config, cluster)))
    except (config_mod.ConfigError, plan_mod.PlanError) as exc:
        _fail(str(exc))
