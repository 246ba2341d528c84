"""Section 6 of docs/REPRODUCTION.md: choosing without the hidden tests, ranker by ranker.

Role in the pipeline: a reader of two finished runs, the CodeGen-16B run with the probe stage
(`configs/reproduce-codegen16b-probes.yaml`: prompt examples and CodeT's generated tests) and
the SmolLM2 run (prompt examples, NLL), plus CodeT's two files for the authors' own method
(`pipeline.reproduce.codet_method`). It runs nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import pandas as pd

from pipeline.rank import reads_hidden_tests
from pipeline.report.format import fmt_point as _fmt, point as _value

#: rankers in the order the tables show them; NLL rankers are named after their scoring model
EXECUTION_RANKERS = ("output_agreement", "output_agreement+nll", "prompt_examples",
                     "dual_agreement")
LABELS = {"output_agreement": "output agreement (cluster size; MBR-exec)",
          "output_agreement+nll": "output agreement, NLL tie-break",
          "prompt_examples": "prompt-example filter",
          "dual_agreement": "dual agreement with generated tests (CodeT)"}
#: the agreement asked of the pipeline's dual-agreement pick with the authors' method, points
AUTHORS_BAR = 1.0


#: the k of the CodeGen-16B table (and n, the samples per problem)
CODEGEN_KS = (2, 5, 10)


def ranker_costs(run_dir: str) -> pd.DataFrame:
    """Each execution ranker's cost per sample in a run (`pipeline.rank` costs, read as the
    reducer reads the run)."""
    from pipeline.reduce.run_data import RunData

    run = RunData.load(run_dir)
    costs = run.ranked(*run.joined()).costs
    return costs[costs["ranker"].isin([n for n in EXECUTION_RANKERS
                                       if n != "output_agreement+nll"])]


def rank_subsets(run_dir: str) -> int:
    """Random k-subsets per (problem, k) the run's reduce used (config `reduce.rank_subsets`,
    else the reducer's default)."""
    from pipeline.reduce import held
    from pipeline.run.rundir import RunDir

    return int(RunDir(str(run_dir)).load_config().reduce.get("rank_subsets", held.N_SUBSETS))


def fmt_held(p) -> str:
    """A rank-score point with its method: exact, or ± its Monte Carlo standard error."""
    if p is None:
        return "n/a"
    return _fmt(p) + (" exact" if p.get("se") is None else f" ± {p['se']:.2f} MC")


def codegen_rankers(run_dir: str, codet_file: Path, test_file: Path,
                    model: str = "codegen-16b") -> dict[str, Any]:
    """The CodeGen-16B figures: random (pass@1), each ranker's pick of 1 of n, oracle (pass@n),
    and the authors' method on the same execution results."""
    from pipeline import results
    from pipeline.reproduce import codet_method

    r = results.load(run_dir)
    curves = r.curves
    n = int(r.samples[r.samples.temperature > 0].groupby("task_id").size().min())
    rankers = [x for x in EXECUTION_RANKERS
               if not curves[(curves.metric == "rank_score") & (curves.ranker == x)].empty]
    problems = {row["task_id"]: row for row in r.problems.to_dict("records")}
    verdicts = r.samples[["task_id", "sample_idx", "status"]]
    authors = codet_method.top1(codet_file, test_file, problems,
                                r.samples[["task_id", "sample_idx"]], verdicts, r.probes)
    return {
        "run_dir": run_dir, "n": n, "problems": int(r.samples.task_id.nunique()),
        "pass1": _value(curves, model, "humaneval", "pass@k", 1),
        "oracle": _value(curves, model, "humaneval", "pass@k", n),
        "pick": {x: {k: _value(curves, model, "humaneval", "rank_score", k, x)
                     for k in (*CODEGEN_KS, n)} for x in rankers},
        "pass": {k: _value(curves, model, "humaneval", "pass@k", k) for k in (*CODEGEN_KS, n)},
        "subsets": rank_subsets(run_dir),
        "authors": authors,
        "costs": ranker_costs(run_dir),
        "probe_rows": {s: int((r.probes.probe_set == s).sum())
                       for s in sorted(r.probes.probe_set.unique())},
    }


def smollm2_rankers(run_dir: str, model: str = "smollm2-135m") -> dict[str, Any]:
    """Per benchmark: pass@1, pass@n and each ranker's pick of 1 of n (NLL too), and the
    rank-score under a wall-time budget with each ranker's cost included."""
    from pipeline import results

    r = results.load(run_dir)
    curves = r.curves
    out = {"run_dir": run_dir, "benchmarks": {}, "costs": ranker_costs(run_dir)}
    for bench in sorted(curves.benchmark.unique()):
        rs = curves[(curves.benchmark == bench) & (curves.metric == "rank_score")]
        if rs.empty:
            continue
        n = int(rs.k.max())
        rankers = [x for x in [model, *EXECUTION_RANKERS] if x in set(rs.ranker)]
        timed = curves[(curves.benchmark == bench) & (curves.metric == "rank_score_time")]
        out["benchmarks"][bench] = {
            "n": n, "pass1": _value(curves, model, bench, "pass@k", 1),
            "oracle": _value(curves, model, bench, "pass@k", n),
            "pick": {x: _value(curves, model, bench, "rank_score", n, x) for x in rankers},
            "budget": {x: timed[timed.ranker == x].sort_values("x")[["x", "k", "value"]]
                       for x in rankers},
        }
    return out


def run_limits(run_dir: str) -> dict[str, float]:
    """CPU seconds a run's config gives each hidden-test run (`sandbox.timeout_s`) and each
    probe (`probes.test_timeout_s`)."""
    from pipeline.config import ProbeSpec
    from pipeline.run.rundir import RunDir
    from sandbox.config import SandboxConfig

    cfg = RunDir(str(run_dir)).load_config()
    return {"hidden": SandboxConfig(**cfg.sandbox).timeout_s,
            "probe": (cfg.probes or ProbeSpec()).test_timeout_s}


def authors_comparison(authors: dict, ours: dict, limits: dict[str, float]) -> str:
    """The authors' method against the pipeline's dual-agreement pick: both figures, their
    difference checked against AUTHORS_BAR, and the limits each ran under."""
    diff = abs(ours["value"] - authors["top1"])
    verdict = "within" if diff <= AUTHORS_BAR else "outside"
    return (
        "The authors' method on the same two files (`pipeline.reproduce.codet_method`: "
        "CodeT's `solution_extract`, the first 5 asserts of each test sample counted per "
        "distinct string, its agreement and top-1 evaluation, step by step) gives "
        f"**{authors['top1']:.2f} %** against the pipeline's dual-agreement pick of "
        f"**{ours['value']:.2f} %**: a difference of {diff:.2f} points, {verdict} the bar of "
        f"{AUTHORS_BAR:g} point. Both read the same execution (the probe stage's outcomes, the "
        "execute stage's verdicts), so what this checks is the scoring: CodeT's string-level "
        "counting and merging of equal scores against the ranker's per-sample groups and "
        "tie-averaged rank-score. CodeT's own harness was not run (it executes samples without "
        "a sandbox); CodeT itself ran both in its own harness, with a 0.1 s wall limit per test "
        "and for the hidden tests, where this run's config gives the hidden tests "
        f"{limits['hidden']:g} s and each probe {limits['probe']:g} s CPU, so a slow correct "
        "sample can be a failure in CodeT's own figure and a pass here. Random pick by the same "
        f"method: {authors['random']:.2f} %.")


def ci_overlap(picks: dict[str, Optional[dict]]) -> str:
    """Whether the 95 % CIs of the picks that have one share a point (for intervals, the same
    as every pair overlapping): the highest lower bound against the lowest upper bound."""
    cis = {x: p for x, p in picks.items() if p is not None and p["lo"] is not None}
    if len(cis) < 2:
        return f"fewer than two rankers have a CI at this k ({len(cis)})"
    top = max(cis, key=lambda x: cis[x]["lo"])
    low = min(cis, key=lambda x: cis[x]["hi"])
    lo, hi = cis[top]["lo"], cis[low]["hi"]
    if lo <= hi:
        return (f"the 95 % CIs of the {len(cis)} rankers that have one overlap (highest lower "
                f"bound {lo:.1f} <= lowest upper bound {hi:.1f})")
    return (f"the 95 % CIs of the {len(cis)} rankers that have one do not all overlap ({top}'s "
            f"lower bound {lo:.1f} > {low}'s upper bound {hi:.1f})")


def section(codegen: Optional[dict], smol: Optional[dict], command: str) -> list[str]:
    out = [
        "## 6. Choosing without the hidden tests: execution-based rankers",
        "",
        "The paper ranks samples by their mean NLL. Rankers that *run* the samples without the "
        "hidden tests are what practitioners use: agreement of outputs (MBR-exec, AlphaCode's "
        "clustering), the examples the prompt shows, and agreement with model-written tests "
        "(CodeT's dual execution agreement). `pipeline.rank` has one interface for all of them; "
        "the `probe` stage runs every sample on the prompt's example inputs and on the generated "
        "asserts in the sandbox (under the run's CPU limit per probe, `probes.test_timeout_s`), "
        "and the reducer computes "
        "rank-score@k and the budgeted rank-scores for each ranker. The ranker's pick of one "
        "sample out of all n is rank-score@n; rank-score@1 is a random sample for every ranker "
        "(= pass@1), so the random-choice baseline is pass@1 and the oracle is pass@n.",
        "",
        "```bash",
        command,
        "```",
        "",
    ]
    if codegen is None:
        out += ["CodeGen-16B probe run: not run yet (the command above, then `make "
                "reproduce-doc`).", ""]
    else:
        n = codegen["n"]
        ks = (*CODEGEN_KS, n)
        out += [
            f"### CodeGen-16B on HumanEval ({codegen['problems']} x {n}), CodeT's generated tests",
            "",
            "Rank-score@k: the expected pass of the best-ranked of k samples a user holds (%, "
            "95 % bootstrap CI over problems). Output and dual agreement score a sample by the "
            "samples held with it, so their scores are computed inside each k-subset, dual "
            "agreement's from the tests written by the round(k x T / n) test samples bought "
            "with the k code samples (T: test samples per problem); `exact`: every k-subset "
            "enumerated (or the scores do not depend on the subset), `± s MC`: a seeded Monte "
            f"Carlo over {codegen['subsets']} random k-subsets per problem and k, s its "
            "standard error. k = 1 is a random sample for every ranker (= pass@1).",
            "",
            "| choice of one sample | " + " | ".join(f"k = {k}" for k in ks) + " |",
            "|---|" + "---|" * len(ks),
            "| random (pass@1) | " + " | ".join(_fmt(codegen["pass1"]) for _ in ks) + " |",
        ]
        for x, pk in codegen["pick"].items():
            out.append(f"| {LABELS[x]} | " + " | ".join(fmt_held(pk.get(k)) for k in ks) + " |")
        out += ["| oracle (pass@k: any passing sample) | "
                + " | ".join(_fmt(codegen["pass"].get(k)) for k in ks) + " |", "",
                "The samples were generated from CodeT's prompts, which have HumanEval's "
                "docstring examples removed; the prompt-example rankers run the examples of "
                "HumanEval's own statements (`probes: {examples_from: benchmark}`), which a user "
                "holding the benchmark has. Probe rows: " + ", ".join(
                    f"{k} {v:,}" for k, v in codegen["probe_rows"].items()) + ".", ""]
        a = codegen["authors"]
        ours = codegen["pick"].get("dual_agreement", {}).get(n)
        if ours is not None:
            out += [authors_comparison(a, ours, codegen["limits"]), ""]
    for label, data in (("CodeGen-16B", codegen), ("SmolLM2", smol)):
        if data is None or data["costs"].empty:
            continue
        c = data["costs"]
        out.append(f"{label}: ranker cost per sample (`pipeline.rank` costs: the mean "
                   "sandbox wall time of its probe runs per sample) — " + "; ".join(
            f"{r.ranker} on {r.benchmark}: {1000 * r.exec_seconds:.1f} ms sandbox"
            + (f" + {r.model_samples:.2f} generated test samples" if r.model_samples else "")
            for r in c.itertuples()) + ".")
        out.append("")
    if smol is not None:
        out += ["### SmolLM2-135M-Instruct (section 3's run): NLL vs execution-based rankers", "",
                "The pick of the best-ranked of k samples at the largest k the run reports "
                "(k = n/2, the reducer's default; rank-score@k, %):", "",
                "| benchmark | k | random (pass@1) | " + " | ".join(
                    ["NLL (smollm2-135m)", *[LABELS[x] for x in EXECUTION_RANKERS[:3]]])
                + " | oracle (pass@k) |",
                "|---|---|---|---|---|---|---|---|"]
        for bench, b in smol["benchmarks"].items():
            cells = [fmt_held(b["pick"].get(x))
                     + (" (upper bound)" if reads_hidden_tests(x, bench) else "")
                     for x in ["smollm2-135m", *EXECUTION_RANKERS[:3]]]
            out.append(f"| {bench} | {b['n']} | {_fmt(b['pass1'])} | " + " | ".join(cells)
                       + f" | {_fmt(b['oracle'])} |")
        out += ["", "n/a: not defined at this k: the NLL rankers leave out samples that hit "
                "the token limit, and rank-score@k is defined up to the fewest usable samples of "
                "a problem. (upper bound): the ranker reads the benchmark's hidden tests "
                "(`Ranker.reads_hidden_tests`), so it is no choice without tests there and is "
                "left out of the comparison below and of the advisor.", ""]
        shown = ["smollm2-135m", *EXECUTION_RANKERS[:3]]
        out += [f"- {bench}, k = {b['n']}: "
                + ci_overlap({x: b["pick"].get(x) for x in shown
                              if not reads_hidden_tests(x, bench)})
                + "." for bench, b in smol["benchmarks"].items()]
        out += ["", "Under a wall-time budget with each ranker's cost included (x: budget in "
                "samples' worth of the model's mean generation time; k: samples it buys once the "
                "ranker's sandbox seconds are paid; value: rank-score, %):", ""]
        for bench, b in smol["benchmarks"].items():
            for x, frame in b["budget"].items():
                if frame.empty or reads_hidden_tests(x, bench):
                    continue
                pts = "; ".join(f"x = {r.x:.3f}: k = {r.k}, {100 * r.value:.1f}"
                                for r in frame.itertuples())
                out.append(f"- {bench}, {x}: {pts}")
        out += ["", "MBPP's prompt shows its test asserts (the paper's 3-shot format), so on "
                "MBPP the prompt examples are the hidden tests: the prompt-example filter and "
                "output agreement (which clusters on their outcomes) are upper bounds there.", ""]
    return out
