"""The advisor on a run directory or on paper mode's published tables: prices, then advice.

Role in the pipeline: the numbers behind `budget-realloc advise` (`pipeline.jobs.advise` runs
it, `pipeline.report.advice` writes what it returns). It reads a run's samples, verdicts and
scores as the reducer reads them (`pipeline.reduce.run_data.RunData`), prices one sample of each
model in the chosen unit, and calls `pipeline.reduce.advise` (pure) per benchmark and setting
(with tests; without tests: rankers and greedy).

Units: `flops` (FLOPs of one forward pass over 128 tokens per sample, the paper's proxy, from
the config's `models[].cost`), `gpu-seconds` (measured or given seconds per sample x GPUs per
replica) and `dollars` (GPU-seconds x the GPU's price per hour / 3600, from a prices file;
optionally plus the sandbox's CPU time per executed sample x a price per CPU-hour, with tests).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Optional

import numpy as np
import pandas as pd

from pipeline.reduce import advise as adv
from pipeline.reduce import counts, held

UNITS = ("flops", "gpu-seconds", "dollars")
#: Paper mode's Table 1 -> cost per sample: TFLOPs -> FLOPs; wall seconds for ~1k samples on a
#: node of 8 GPUs -> GPU-seconds per sample.
PAPER_SCALE = {"flops": 1e12, "time": 8.0 / 1000.0}


class PriceError(ValueError):
    """A prices file that cannot be read, or a model without a price."""


@dataclass
class Advice:
    """The advisor's output for one source (a run directory or paper mode)."""

    table: pd.DataFrame  # schemas.ADVICE
    curves: pd.DataFrame  # schemas.ADVICE_CURVES
    crossovers: pd.DataFrame
    notes: list[str]


# -- costs -----------------------------------------------------------------------------------------
def load_prices(path: str | Path | None) -> dict[str, Any]:
    """A prices file (YAML or JSON): `gpu_price_per_hour: {a100: 1.8}`, optional `default_gpu`,
    `cpu_price_per_hour`, and `models: {NAME: {gpu: a100, gpus_per_replica: 1}}`."""
    if path is None:
        return {}
    import yaml

    try:
        data = yaml.safe_load(Path(path).read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise PriceError(f"{path}: cannot read the prices file ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("gpu_price_per_hour", {}), dict):
        raise PriceError(f"{path}: expected a mapping with `gpu_price_per_hour: {{GPU: $/h}}`")
    return data


def unit_costs(unit: str, models, benchmarks, flops, secs, prices: Mapping[str, Any],
               config_gpus: Mapping[str, Optional[float]], exec_seconds=None
               ) -> tuple[dict[tuple[str, str], Optional[float]], str]:
    """(cost of one sample per (model, benchmark) in `unit`, where it comes from).

    `flops` and `secs` map (model, benchmark) to FLOPs and seconds per sample
    (pipeline.reduce.cost.curve_costs); `config_gpus` model -> the run config's GPUs per
    replica; `exec_seconds` maps (model, benchmark) to the mean wall seconds of sandbox
    execution per executed sample (priced as CPU time: the sandbox holds a CPU that long)."""
    if unit not in UNITS:
        raise PriceError(f"unknown unit {unit!r}; use one of {', '.join(UNITS)}")
    if unit == "flops":
        return ({(m, b): flops.get((m, b)) for m in models for b in benchmarks},
                "FLOPs of one forward pass over 128 tokens per sample (calflops; models[].cost)")

    def gpus(m):
        given = (prices.get("models") or {}).get(m, {}).get("gpus_per_replica")
        return float(given or config_gpus.get(m) or 1.0)

    gpu_s = {(m, b): None if secs.get((m, b)) is None else secs[(m, b)] * gpus(m)
             for m in models for b in benchmarks}
    source = ("seconds per sample (models[].cost.seconds_per_sample, else measured gen_seconds "
              "of that model's sampled samples on that benchmark) "
              "x GPUs per replica (prices file, else models[].num_gpus, else 1)")
    if unit == "gpu-seconds":
        return gpu_s, source
    table = prices.get("gpu_price_per_hour") or {}
    out = {}
    for (m, b), s in gpu_s.items():
        gpu = (prices.get("models") or {}).get(m, {}).get("gpu") or prices.get("default_gpu")
        if gpu not in table:
            raise PriceError(f"no GPU price for model {m!r}: give --prices with "
                             f"`gpu_price_per_hour` and a `gpu` for it (or `default_gpu`)")
        out[(m, b)] = None if s is None else s * float(table[gpu]) / 3600.0
    cpu = prices.get("cpu_price_per_hour")
    source = f"{source} x GPU price per hour / 3600 ({', '.join(f'{g} ${p}/h' for g, p in table.items())})"
    if cpu and exec_seconds:
        for key, v in out.items():
            if v is not None:
                wall = exec_seconds.get(key, 0.0)
                out[key] = v + (0.0 if np.isnan(wall) else wall) * float(cpu) / 3600.0
        source += (f" + sandbox wall seconds per executed sample (one CPU held) x "
                   f"${cpu}/CPU-hour")
    return out, source


# -- sources ---------------------------------------------------------------------------------------
def advise_run(run_dir: str | Path, *, unit: str = "flops", prices: Mapping[str, Any] = None,
               budgets=None, n_boot: int = 200, seed: int = 0, ci: float = 0.95,
               exclude_errors: bool = False, rank_subsets: int = held.N_SUBSETS,
               verifier: str = "base", **strategy_options) -> Advice:
    """The advice for every benchmark of a run directory, with tests and (if it has scores,
    probes or greedy samples) without. The run is read as the reducer reads it
    (`pipeline.reduce.run_data.RunData`): sandbox `error` verdicts are refused unless
    `exclude_errors`, and rank-scores are the reducer's (`rank_subsets`, `seed`); `verifier`
    "plus" reads passes on base + extended tests (`pipeline.reduce.verifiers`)."""
    from pipeline.reduce.cost import curve_costs
    from pipeline.reduce.joined import JoinError
    from pipeline.reduce.ranked import RankedError
    from pipeline.reduce.run_data import RunData, RunDataError

    try:
        run = RunData.load(str(run_dir), verifier=verifier)
        frame, excluded = run.joined(exclude_errors=exclude_errors)
        rk = run.ranked(frame, excluded)
        costs = run.costs
    except (RunDataError, JoinError, RankedError) as exc:
        raise adv.AdviceError(str(exc)) from None
    benchmarks = sorted(frame["benchmark"].unique())
    models = sorted(frame["model"].unique())
    priced = curve_costs([(m, b) for m in models for b in benchmarks], costs, run.samples)
    flops = {key: p["flops"].value for key, p in priced.items()}
    secs = {key: p["time"].value for key, p in priced.items()}
    tables, curves, notes = [], [], []
    data = {b: counts.model_data(frame, b, rk, rank_subsets=rank_subsets, seed=seed)
            for b in benchmarks}
    exec_s = {(m, b): s for b in benchmarks for m, s in data[b][1]["exec_seconds"].items()}
    gpus = {m: run.gpus_per_replica(m) for m in models}
    for b in benchmarks:
        for ranker in data[b][1]["upper_bounds"]:
            notes.append(f"{b}: {ranker} reads {b}'s hidden tests (its prompt examples are its "
                         "test asserts), so it is no strategy without tests; its rank-score "
                         "curve (curves.parquet) is an upper bound")
    for setting in ("tests", "no-tests"):
        per_mb, source = unit_costs(unit, models, benchmarks, flops, secs, prices or {},
                                    gpus, exec_s if setting == "tests" else None)
        for b in benchmarks:
            mdata, facts = data[b]
            if setting == "no-tests":
                mdata = [m for m in mdata if m.ranked or m.greedy is not None]
                if not mdata:
                    continue
            try:
                cost = adv.cost_per_sample([m.model for m in mdata], b, per_mb)
            except adv.AdviceError as exc:
                notes.append(f"{b}, {setting}: left out: {exc}")
                continue
            t, c = adv.advise(b, mdata, cost, unit=unit, cost_source=source, budgets=budgets,
                              setting=setting, n_boot=n_boot, seed=seed, ci=ci,
                              **(strategy_options if setting == "tests" else {}))
            tables.append(t)
            curves.append(c)
            if setting == "tests" and facts["dropped"]:
                notes.append(f"{b}: {facts['dropped']} problems left out (not sampled by every model)")
    return _collect(tables, curves, notes)


def paper_advice(benchmark: str, budget: str = "flops", models=None, *, shared_only=True,
                 early_stopping: bool = False) -> Advice:
    """The advisor on paper mode's published tables (single models; no per-problem data, so no
    mixes, cascades or CIs). `shared_only`: only budgets at which every model's curve is defined,
    as paper mode compares them."""
    from pipeline.reduce import paper

    curves = paper.pass_curves(benchmark)
    raw = paper._costs_for(budget, None)
    names = [m for m in (models or sorted(curves)) if m in raw]
    data = [counts.curve_data(m, curves[m]) for m in names]
    cost = {m: raw[m] * PAPER_SCALE[budget] for m in names}
    grid = adv.default_budgets(data, cost)
    if shared_only:
        top = min(cost[m] * (d.fail.shape[1] - 1) for m, d in zip(names, data))
        grid = grid[(grid >= max(cost.values()) * (1 - 1e-9)) & (grid <= top * (1 + 1e-9))]
    unit = "flops" if budget == "flops" else "gpu-seconds"
    source = ("the paper's Table 1: FLOPs per forward pass" if budget == "flops" else
              "the paper's Table 1: wall seconds for ~1k samples on 8 A100s x 8 GPUs / 1000")
    t, c = adv.advise(benchmark, data, cost, unit=unit, cost_source=source, budgets=grid,
                      n_boot=0, mixes=False, cascades=False, early_stopping=early_stopping)
    return _collect([t], [c], ["paper mode: pass@k interpolated in log k between the published k"])


def _collect(tables, curves, notes) -> Advice:
    table = (pd.concat(tables, ignore_index=True) if tables
             else pd.DataFrame(columns=adv.ADVICE_COLUMNS))
    curve = (pd.concat(curves, ignore_index=True) if curves
             else pd.DataFrame(columns=adv.CURVE_COLUMNS))
    return Advice(table, curve, adv.crossovers(table), notes)
