"""The budget advisor's section of docs/REPRODUCTION.md: advice tables and frontier figures of
the reproduction runs, a Monte-Carlo check of the exact formulas on their real counts, and the
advisor on paper mode's tables against paper mode's own crossovers.

Role in the pipeline: called by `pipeline.reproduce.document` (which owns the document); reads
run directories through `pipeline.reduce.advise_run` and degrades to a "not run yet" line when a
run is missing.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from pipeline.reduce import advise as adv
from pipeline.reduce import counts as counts_mod
from pipeline.reduce import strategies as st
from pipeline.reduce.simulate import simulate
from pipeline.reduce import advise_run
from pipeline.report import advice
from pipeline.reduce.run_data import RunData

#: Trials per configuration of the Monte-Carlo check (per problem).
TRIALS = 2000


def mc_check(n_c: dict[str, tuple[np.ndarray, np.ndarray]], costs: dict[str, float],
             trials: int = TRIALS, seed: int = 0) -> list[dict]:
    """Exact value (and expected cost) of a few configurations of every strategy on real
    counts, next to a simulation that draws subsets of the samples. `n_c`: model -> (n, c)."""
    rng = np.random.default_rng(seed)
    names = sorted(n_c)
    fails = {m: st.fail_curve(*n_c[m]) for m in names}
    P = n_c[names[0]][0].size
    rows = []

    def add(family, models, ks, exact_pass, exact_cost):
        sim = simulate(family, [n_c[m] for m in models], ks, trials, rng,
                       costs=[costs[m] for m in models])
        se = np.sqrt(max(exact_pass * (1 - exact_pass), 1e-6) / (trials * P))
        rows.append({"strategy": st.label(family, models, ks)[1], "exact": exact_pass,
                     "simulated": sim["pass"], "cost_exact": exact_cost,
                     "cost_simulated": sim["cost"], "z": (sim["pass"] - exact_pass) / se})

    for m in names:
        f, c = fails[m], costs[m]
        K = f.shape[1] - 1
        for k in sorted({1, min(10, K), K}):
            add("single", (m,), [k], 1 - f[:, k].mean(), k * c)
        k = min(10, K)
        add("early_stop", (m,), [k], 1 - f[:, k].mean(), c * f[:, :k].mean(axis=0).sum())
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            ka, kb = min(5, fails[a].shape[1] - 1), min(3, fails[b].shape[1] - 1)
            both = 1 - (fails[a][:, ka] * fails[b][:, kb]).mean()
            add("mix", (a, b), [ka, kb], both, ka * costs[a] + kb * costs[b])
            add("cascade", (a, b), [ka, kb], both,
                ka * costs[a] + kb * costs[b] * fails[a][:, ka].mean())
    return rows


def _mc_lines(rows: list[dict], trials: int) -> list[str]:
    out = [f"| configuration | exact pass (%) | simulated (%) | z | exact cost | simulated cost |",
           "|---|---|---|---|---|---|"]
    for r in rows:
        out.append(f"| {r['strategy']} | {100 * r['exact']:.3f} | {100 * r['simulated']:.3f} | "
                   f"{r['z']:+.2f} | {r['cost_exact']:.4g} | {r['cost_simulated']:.4g} |")
    worst = max(abs(r["z"]) for r in rows)
    out += ["", f"{trials} simulated trials per problem and configuration; z = (simulated - "
            f"exact) / its standard error; largest |z| here: {worst:.2f}."]
    return out


def run_part(label: str, run_dir: Path, unit: str, figures: Path, command: str) -> list[str]:
    """One run's advice: the Markdown tables, the figures (copied to `figures`), the MC check."""
    out = [f"### {label}", "", "```bash", command, "```", ""]
    if not (run_dir / "verdicts").exists():
        return out + [f"Not run yet (`{run_dir}` has no verdicts): run `make reproduce`.", ""]
    result = advise_run.advise_run(run_dir, unit=unit, n_boot=1000)
    written = advice.write(result, run_dir)
    out += advice.markdown(result, n=10).replace("### ", "#### ").splitlines()
    figures.mkdir(parents=True, exist_ok=True)
    for p in map(Path, written):
        if p.suffix == ".png":
            dst = figures / f"advice_{run_dir.name}_{p.stem.removeprefix('frontier-')}.png"
            shutil.copyfile(p, dst)
            out += [f"![{p.stem}](figures/{dst.name})", ""]
    frame, _ = RunData.load(str(run_dir)).joined()
    for bench in sorted(frame["benchmark"].unique()):
        _, facts = counts_mod.model_data(frame, bench)
        n_c = dict(facts["counts"])
        note = ""
        if len(n_c) == 1:  # one model: its counts again as a second pool, for mixes/cascades
            (m, pair), = n_c.items()
            n_c[f"{m}-pool2"] = pair
            note = (f"; `{m}-pool2` is the same counts drawn as a second, independent pool, so "
                    "that the mix and cascade formulas are checked too")
        out += [f"Monte-Carlo check of the exact formulas on these real counts ({bench}, "
                f"{facts['problems']} problems; cost 1 per sample{note}):", ""]
        out += _mc_lines(mc_check(n_c, {m: 1.0 for m in n_c}), TRIALS) + [""]
    return out


def paper_lines() -> list[str]:
    """The advisor on paper mode's tables (single models, one pair at a time) next to paper
    mode's own crossover for every benchmark, budget and pair."""
    from pipeline.reduce import paper

    out = ["| benchmark | budget | pair | paper mode crossover | advise: smaller model best "
           "from | same |", "|---|---|---|---|---|---|"]
    for bench in paper.benchmarks():
        for budget in ("flops", "time"):
            raw = paper._costs_for(budget, None)
            cheapest = min(raw[m] for m in paper.pass_curves(bench) if m in raw) * \
                advise_run.PAPER_SCALE[budget]
            for small in ("codellama-7b", "codellama-13b"):
                ref = paper.crossover(bench, small, "codellama-70b", budget).crossover
                got = adv.last_crossover_to(
                    advise_run.paper_advice(bench, budget, [small, "codellama-70b"]).table,
                    f"single {small}")
                got = None if got is None else got / cheapest
                same = (ref is None and got is None) or (
                    ref is not None and got is not None and abs(got / ref - 1) < 1e-9)
                fmt = lambda v: "none" if v is None else f"{v:.4g}"  # noqa: E731
                out.append(f"| {bench} | {budget} | {small.split('-')[-1]} vs 70b | {fmt(ref)} "
                           f"| {fmt(got)} | {'yes' if same else 'NO'} |")
    return out


def section(runs: list[tuple[str, Path, str, str]], figures: Path) -> list[str]:
    """The whole section; `runs`: (label, run dir, unit, command) per run."""
    out = [
        "## 5. What to run with a budget: `budget-realloc advise`",
        "",
        "For every budget per problem, the advisor compares single models (k samples), mixes "
        "and cascades of two models, early stopping at the first passing sample (with tests), "
        "and the best-ranked of k samples against greedy samples (without tests), each computed "
        "exactly from the per-problem counts; the tables give the best strategy, its pass rate "
        "with a 95 % bootstrap CI over problems, P(best) (the share of 1000 bootstrap resamples "
        "in which it wins), the runner-up and the margin, and the crossover budgets. The "
        "CodeGen-16B and SmolLM2 runs have one generator model each, so the comparison with "
        "tests is one model's fixed k against early stopping; the StarCoderBase run has three "
        "sizes, priced in FLOPs (calflops presets), so mixes and cascades compete too. For the "
        "first two, budgets are in seconds per problem at the config's cost per "
        "sample (CodeGen-16B: 1 s per sample, a nominal unit, the imported samples have no "
        "timings; SmolLM2: the measured `gen_seconds` on this machine's CPU, so `gpu-seconds` "
        "here are CPU seconds with 1 device per replica).",
        "",
    ]
    for label, run_dir, unit, command in runs:
        out += run_part(label, run_dir, unit, figures, command)
    out += [
        "### The advisor on the paper's tables",
        "",
        "```bash",
        ".venv/bin/python -m pipeline advise --paper humaneval   # --paper-budget time, other "
        "benchmarks",
        "```",
        "",
        "Restricted to single models and to the budgets where both models' published curves are "
        "defined (as paper mode compares them), the budget from which the smaller model is the "
        "advisor's best strategy at every larger budget, in units of the 7B model's sample cost:",
        "",
        *paper_lines(),
        "",
    ]
    return out
