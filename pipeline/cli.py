"""The `budget-realloc` command line: thin wrappers over the pipeline's functions.

Errors in user input (bad data, bad config, missing files) print one clear line and exit 2;
anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from pipeline.benchmarks import DataError
from pipeline.reduce.held import N_SUBSETS

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
    from pipeline import benchmarks
    from pipeline.run import storage

    try:
        table = benchmarks.get(benchmark).load(data)
    except DataError as exc:
        _fail(str(exc))
    storage.write_table(table, out, "problems")
    typer.echo(f"wrote {table.num_rows} {benchmark} problems to {out}")


#: `reduce --verifier` and `advise --verifier` (pipeline.reduce.verifiers)
VERIFIER = typer.Option("base", help="base: HumanEval's own tests decide a pass; plus: base + "
                        "extended tests (a run of humaneval+); outputs go to RUN_DIR/plus/")

#: `reduce --rank-subsets` and `advise --rank-subsets` (pipeline.reduce.held.N_SUBSETS)
RANK_SUBSETS = typer.Option(
    N_SUBSETS, help="random k-subsets per problem and k for rankers whose scores depend on the samples "
    "held (output/dual agreement) where enumerating the subsets is not tractable")


@app.command()
def reduce(
    run_dir: str = typer.Argument(..., help="run directory (samples/, verdicts/, scores/)"),
    n_boot: int = typer.Option(1000, help="bootstrap resamples over problems (0: no CIs)"),
    ci: float = typer.Option(0.95, help="confidence level of the intervals"),
    seed: int = typer.Option(0, help="seed of the bootstrap"),
    full_k: bool = typer.Option(False, "--full-k", help="curves for k up to n (default: up to "
                                "n/2, as the paper reports; the tail near k = n is noisy)"),
    exclude_errors: bool = typer.Option(
        False, "--exclude-errors", help="leave samples with a sandbox `error` verdict out of the "
        "curves (default: refuse them; `resume` re-executes them)"),
    rank_subsets: int = RANK_SUBSETS,
    verifier: str = VERIFIER,
) -> None:
    """Reduce a run: curves.parquet, Markdown/CSV tables and PNG/SVG figures (with
    --verifier plus: under RUN_DIR/plus/, with both verifiers compared in plus/tables/)."""
    import warnings

    from pipeline.jobs.reduce import reduce as reduce_job
    from pipeline.run import storage
    from pipeline.reduce.cost import CostError
    from pipeline.reduce.curves import ReduceError
    from pipeline.reduce.joined import SandboxErrorsExcluded

    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", SandboxErrorsExcluded)
            reduced = reduce_job(run_dir, ci=ci, n_boot=n_boot, seed=seed,
                                k_range="full" if full_k else "half",
                                exclude_errors=exclude_errors, rank_subsets=rank_subsets,
                                verifier=verifier)
    except (ReduceError, CostError, storage.StorageError) as exc:
        _fail(str(exc))
    run_dir = reduced.root  # RUN_DIR, or RUN_DIR/plus for --verifier plus
    for w in caught:
        if issubclass(w.category, SandboxErrorsExcluded):
            typer.echo(str(w.message))
    curves = reduced.curves
    metrics_seen = sorted(set(curves.column("metric").to_pylist()))
    typer.echo(f"wrote {curves.num_rows} curve points ({', '.join(metrics_seen)}) to "
               f"{storage.join(run_dir, 'curves.parquet')}")
    typer.echo(f"tables:  {storage.join(run_dir, 'tables')}/")
    unjudged = int(reduced.statuses["unjudgeable"].sum()) if len(reduced.statuses) else 0
    if unjudged:
        typer.echo(f"note: {unjudged} sample(s) are `unjudgeable` (their answer could not be "
                   "compared outside the sample; counted as not passing); see "
                   "tables/verdict_statuses.md")
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
    from pipeline.jobs.reduce import paper as paper_job
    from pipeline.reduce.paper import PaperError

    try:
        for line in paper_job(benchmark, small, large, budget, out):
            typer.echo(line)
    except PaperError as exc:
        _fail(str(exc))
    if out is not None:
        typer.echo(f"wrote curves-<benchmark>.parquet, tables/ and figures/ under {out}")


@app.command()
def advise(
    run_dir: Optional[str] = typer.Argument(None, help="run directory (or imported counts); "
                                            "omit with --paper"),
    unit: str = typer.Option("flops", help="flops | gpu-seconds | dollars"),
    budget: list[float] = typer.Option([], help="only these budgets per problem, in the unit "
                                       "(default: every budget at which a model's sample count "
                                       "steps up)"),
    prices: Optional[Path] = typer.Option(None, help="prices file (YAML): gpu_price_per_hour, "
                                          "default_gpu, cpu_price_per_hour, models.NAME.gpu / "
                                          "gpus_per_replica"),
    n_boot: int = typer.Option(200, help="bootstrap resamples over problems (0: no CIs)"),
    seed: int = typer.Option(0, help="seed of the bootstrap"),
    mixes: bool = typer.Option(True, help="mixes of two models"),
    cascades: bool = typer.Option(True, help="cascades, cheaper model first"),
    early_stopping: bool = typer.Option(True, help="early stopping at the first pass"),
    mix_size: int = typer.Option(2, help="also mixes of up to this many models (k on a "
                                 "log-spaced grid beyond two)"),
    paper: Optional[str] = typer.Option(None, help="advise on paper mode's tables of this "
                                        "benchmark instead of a run (single models)"),
    paper_budget: str = typer.Option("flops", help="with --paper: flops | time"),
    out: Optional[Path] = typer.Option(None, help="with --paper: write the outputs here"),
    exclude_errors: bool = typer.Option(
        False, "--exclude-errors", help="leave samples with a sandbox `error` verdict out, as "
        "`reduce --exclude-errors` does (default: refuse them; `resume` re-executes them)"),
    rank_subsets: int = RANK_SUBSETS,
    verifier: str = VERIFIER,
) -> None:
    """The best strategy per budget: single models, mixes, cascades, early stopping; ranked
    choice vs greedy without tests. Writes RUN_DIR/advice.parquet and RUN_DIR/advice/."""
    import warnings

    from pipeline.jobs.advise import advise as advise_job
    from pipeline.jobs.advise import advise_paper
    from pipeline.reduce.advise import AdviceError
    from pipeline.reduce.advise_run import PriceError
    from pipeline.reduce.joined import SandboxErrorsExcluded
    from pipeline.reduce.cost import CostError
    from pipeline.reduce.paper import PaperError
    from pipeline.reduce.verifiers import output_root
    from pipeline.report import advice as advice_mod
    from pipeline.run import storage

    try:
        if paper is not None:
            result, files = advise_paper(paper, paper_budget, out)
            target = None if out is None else str(out)
        else:
            if run_dir is None:
                _fail("give RUN_DIR, or --paper BENCHMARK")
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", SandboxErrorsExcluded)
                result, files = advise_job(
                    run_dir, prices=prices, unit=unit,
                    budgets=budget or None, n_boot=n_boot, seed=seed, mixes=mixes,
                    cascades=cascades, early_stopping=early_stopping, mix_size=mix_size,
                    exclude_errors=exclude_errors, rank_subsets=rank_subsets,
                    verifier=verifier)
            for w in caught:
                if issubclass(w.category, SandboxErrorsExcluded):
                    typer.echo(str(w.message))
            target = output_root(run_dir, verifier)
        if result.table.empty:
            _fail("nothing to advise on: " + "; ".join(result.notes or ["no strategy is defined"]))
        typer.echo(advice_mod.markdown(result))
        if files:
            typer.echo(f"wrote {storage.join(target, 'advice.parquet')} and {len(files)} files "
                       f"under {storage.join(target, 'advice')}/")
    except (AdviceError, CostError, PaperError, PriceError, storage.StorageError) as exc:
        _fail(str(exc))


@app.command("import-counts")
def import_counts(
    file: Path = typer.Argument(..., help="per-problem counts: CSV/JSON/JSON lines with model, "
                                "benchmark, task_id, n, c; or evalplus's eval_results.json"),
    out: Path = typer.Option(..., help="run directory to create"),
    fmt: str = typer.Option("auto", "--format", help="auto | csv | json | jsonl | evalplus"),
    model: Optional[str] = typer.Option(None, help="evalplus: the model's name"),
    benchmark: Optional[str] = typer.Option(None, help="evalplus: the benchmark, any name "
                                            "(default: the task ids' prefix, HumanEval/0 -> "
                                            "humaneval)"),
    plus: bool = typer.Option(False, help="evalplus: pass = base and plus tests pass"),
    flops_per_pass: list[str] = typer.Option([], help="MODEL=FLOPS per forward pass"),
    cost_config: list[str] = typer.Option([], help="MODEL=PRESET or config.json (calflops)"),
    seconds_per_sample: list[str] = typer.Option([], help="MODEL=SECONDS per sample"),
) -> None:
    """Per-problem pass counts of any benchmark (registered or not: no problems table is
    needed) -> a run directory that `advise` and `reduce` read."""
    from pipeline import config as config_mod
    from pipeline.run import counts_import

    costs: dict[str, dict] = {}
    for field, items, cast in (("flops_per_pass", flops_per_pass, float),
                               ("config", cost_config, str),
                               ("seconds_per_sample", seconds_per_sample, float)):
        for item in items:
            name, sep, value = item.partition("=")
            try:
                costs.setdefault(name, {})[field] = cast(value)
                if not sep:
                    raise ValueError
            except ValueError:
                _fail(f"--{field.replace('_', '-')} takes MODEL=VALUE, got {item!r}")
    try:
        counts = counts_import.read_counts(file, fmt, model=model, benchmark=benchmark, plus=plus)
        summary = counts_import.write_run(counts, out, costs=costs)
    except (counts_import.CountsError, config_mod.ConfigError) as exc:
        _fail(str(exc))
    typer.echo(f"imported {summary['rows']} problem rows ({summary['samples']:,} samples) of "
               f"{', '.join(summary['models'])} on {', '.join(summary['benchmarks'])} into "
               f"{summary['run_dir']}")
    typer.echo(f"next: budget-realloc advise {out}   (or: budget-realloc reduce {out})")


def main() -> None:
    app()


def _report(outcome) -> None:
    from pipeline.run.rundir import RunDir

    root = RunDir(outcome.run_dir).root
    done = ", ".join(f"{stage} {n}" for stage, n in outcome.done.items())
    typer.echo(f"shards done: {done}")
    if outcome.failed:
        typer.secho(f"{len(outcome.failed)} shard(s) failed:", fg=typer.colors.RED, err=True)
        for e in outcome.failed[:10]:
            typer.echo(f"  {e.stage} {e.shard} after {e.attempts} attempt(s): {e.error}", err=True)
        typer.echo(f"fix the cause, then: budget-realloc resume {root}", err=True)
        raise typer.Exit(code=1)
    if outcome.not_reduced:
        typer.secho(f"not reduced: {outcome.not_reduced}", fg=typer.colors.RED, err=True)
        raise typer.Exit(code=1)
    if outcome.reduced:
        _print_summary(root)


def _print_summary(root: str) -> None:
    from pipeline import results

    r = results.load(root)
    curves = r.curves
    styles = _prompt_styles(root)
    typer.echo(f"results: {root}")
    for (model, bench), group in curves[curves.metric == "pass@k"].groupby(["model", "benchmark"]):
        points = group.set_index("k")["value"]
        ks = sorted({k for k in (1, 10, 100) if k in points.index} | {int(points.index.max())})
        shown = ", ".join(f"pass@{k}={points[k]:.3f}" for k in ks)
        style = f" ({styles[model]} prompt style)" if model in styles else ""
        typer.echo(f"  {model} {bench}{style}: {shown}")
    typer.echo(f"  tables:  {root}/tables/")
    typer.echo(f"  figures: {root}/figures/")
    typer.echo(f"  query:   python -c \"from pipeline import results; r = results.load('{root}')\"")


def _prompt_styles(root: str) -> dict[str, str]:
    """Prompt style of each generated (not imported) model of the run's frozen config."""
    from pipeline import config as config_mod
    from pipeline.run.rundir import RunDir

    try:
        cfg = config_mod.load(RunDir(root).config_path)
    except (config_mod.ConfigError, OSError):
        return {}
    return {m.name: m.prompt_style for m in cfg.models if not m.imported}


def _run_and_report(start) -> None:
    from pipeline import config as config_mod
    from pipeline.run import storage

    try:
        outcome = start()
    except (config_mod.ConfigError, DataError, storage.StorageError) as exc:
        _fail(str(exc))
    _report(outcome)


@app.command()
def run(
    config: Path = typer.Argument(..., help="run config (YAML)"),
    progress: bool = typer.Option(True, help="progress bars"),
    from_samples: Optional[Path] = typer.Option(
        None, help="first import this generation file for the config's imported model "
        "(as `import-samples CONFIG FILE`), then run"),
    model: Optional[str] = typer.Option(None, help="with --from-samples: the imported model"),
    benchmark: Optional[str] = typer.Option(None, help="with --from-samples: the benchmark"),
    prompts: str = typer.Option("benchmark", help="with --from-samples: benchmark | file"),
    in_process: bool = typer.Option(False, "--in-process", help="run every actor in this process, without Ray"),
) -> None:
    """Run a config end to end: generate, execute, score, reduce (continues a matching run dir)."""
    from pipeline import config as config_mod
    from pipeline.jobs import evaluate

    def start():
        cfg = config_mod.load(config)
        if from_samples is not None:
            _import(cfg, from_samples, model, benchmark, "auto", prompts, False)
        return evaluate.run(cfg, progress=progress, in_process=in_process)

    _run_and_report(start)


@app.command()
def resume(
    run_dir: str = typer.Argument(..., help="run directory"),
    progress: bool = typer.Option(True, help="progress bars"),
    in_process: bool = typer.Option(False, "--in-process", help="run every actor in this process, without Ray"),
) -> None:
    """Continue a run: only missing or failed shards run again; finished work is kept."""
    from pipeline.jobs import evaluate

    _run_and_report(lambda: evaluate.resume(run_dir, progress=progress, in_process=in_process))


@app.command()
def status(run_dir: str = typer.Argument(..., help="run directory")) -> None:
    """Per-stage progress of a run and its failures with their errors."""
    from pipeline import config as config_mod
    from pipeline.run import status as status_mod
    from pipeline.run import storage

    try:
        st = status_mod.status(run_dir)
    except (config_mod.ConfigError, DataError, storage.StorageError) as exc:
        _fail(str(exc))
    typer.echo(f"run: {st.run_dir}")
    for stage, counts in st.counts.items():
        total = sum(counts.values())
        extra = "".join(f", {counts[s]} {s}" for s in ("running", "pending", "failed") if counts[s])
        typer.echo(f"  {stage:<9} {counts['done']}/{total} shards done ({st.rows[stage]} rows){extra}")
    typer.echo(f"  reduce    {'done' if st.reduced else 'not yet'}")
    if st.sandbox_errors:
        typer.echo(f"  sandbox errors: {st.sandbox_errors} verdicts not judged (`resume` "
                   "re-executes their shards)")
    for e in st.failed:
        typer.echo(f"  failed: {e.stage} {e.shard} ({e.attempts} attempts): {e.error}")


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
    from pipeline import capacity as plan_mod

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


def _import(cfg, file: Path, model, benchmark, fmt: str, prompts: str, skip_bad: bool):
    import warnings

    from pipeline.run import importers

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", importers.ImportWarning)  # the report lists them all
        report = importers.import_to_run(cfg, file, model=model, benchmark=benchmark, fmt=fmt,
                                         prompts=prompts,
                                         on_error="skip" if skip_bad else "error")
    typer.echo(report.describe())
    return report


@app.command("import-samples")
def import_samples(
    config: Path = typer.Argument(..., help="run config (YAML) with a model whose path is `imported`"),
    file: Path = typer.Argument(..., help="generation file (.gz too): completions jsonl, CodeT jsonl or "
                                "bigcode JSON list of lists"),
    model: Optional[str] = typer.Option(None, help="the imported model (default: the only one)"),
    benchmark: Optional[str] = typer.Option(None, help="benchmark (default: the only one)"),
    fmt: str = typer.Option("auto", "--format", help="auto | completions | codet | bigcode"),
    prompts: str = typer.Option(
        "benchmark", help="benchmark: run benchmark prompt + completion; file: use the file's own "
        "prompts (CodeT) in the run's problems table"),
    skip_bad: bool = typer.Option(False, help="leave malformed lines out (counted in the report) "
                                  "instead of stopping at the first"),
) -> None:
    """Write a generation file into CONFIG's run directory as samples shards; then `run CONFIG`."""
    from pipeline import config as config_mod
    from pipeline.run import storage

    try:
        cfg = config_mod.load(config)
        _import(cfg, file, model, benchmark, fmt, prompts, skip_bad)
    except (config_mod.ConfigError, DataError, storage.StorageError) as exc:
        _fail(str(exc))
    typer.echo(f"next: budget-realloc run {config}")
