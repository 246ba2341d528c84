"""Sections 1 and 2 of docs/REPRODUCTION.md as sentences decided by the numbers given: the
CodeGen-16B run against its published figures, and paper mode's crossovers.

Role in the pipeline: pure wording for `pipeline.reproduce.document` (numbers in, a sentence
out). Every sentence that states a finding states the comparison or threshold that decides
it, with the values.
"""

from __future__ import annotations

#: ../shared/data/SOURCES.md: CodeT prompt + truncated completion + test + check, n = 100.
SOURCES_FIGURES = {1: 22.1, 10: 50.4}
#: CodeGen paper (Nijkamp et al. 2022, Tab. 1), CodeGen-Mono-16.1B on HumanEval: original
#: prompts (with the docstring examples), n = 200 per problem, the best of T in {0.2, 0.6, 0.8}
#: for each k.
CODEGEN_PAPER = {1: 29.28, 10: 49.86, 100: 75.00}
#: the agreement asked of the CodeT-prompt run with SOURCES_FIGURES, in points of pass@k
SOURCES_BAR = 0.5
#: paper mode's pairs: each smaller Code Llama against the 70B model
PAPER_SMALL = ("codellama-7b", "codellama-13b")
PAPER_LARGE = "codellama-70b"
#: paper mode's budgets, as the report names them
BUDGETS = {"flops": "FLOPs", "time": "wall time"}
#: `where_above`'s answers, as the report words them
WHERE = {"every": "at every shared budget", "some": "at some shared budgets only",
         "no": "at no shared budget"}

def paper_crossovers() -> list:
    """Paper mode's `Crossover` of each smaller Code Llama against 70B, for every benchmark and
    budget (FLOPs, wall time)."""
    from pipeline.reduce import paper

    return [paper.crossover(bench, small, PAPER_LARGE, budget) for bench in paper.benchmarks()
            for budget in ("flops", "time") for small in PAPER_SMALL]


def where_above(c) -> str:
    """At how many of its shared budgets a `Crossover`'s smaller model is above the larger:
    "every", "some" or "no" (its crossover is the first shared budget only when it never loses)."""
    if c.crossover is not None and c.crossover == c.shared_range[0]:
        return "every"
    return "some" if c.win_ranges else "no"


def paper_result(crossovers: list) -> list[str]:
    """Paper mode: a Markdown table of where Code Llama 7B (and 13B) beat 70B per benchmark,
    then what the table shows, pair by pair."""
    lines = ["| benchmark | budget | smaller vs 70B | shared budgets | smaller model wins at | "
             "crossover budget (wins at every larger budget) |", "|---|---|---|---|---|---|"]
    for c in crossovers:
        lo, hi = c.shared_range
        wins = ", ".join(f"{a:.4g}-{b:.4g}" for a, b in c.win_ranges) or "none"
        cross = "none" if c.crossover is None else f"{c.crossover:.4g}"
        lines.append(f"| {c.benchmark} | {c.budget} | {_size(c.small)} vs {_size(c.large)} | "
                     f"{lo:.4g}-{hi:.4g} | {wins} | {cross} |")
    return lines + ["", paper_summary(crossovers)]


def _size(model: str) -> str:
    return model.split("-")[-1]


def paper_summary(crossovers: list) -> str:
    """The cost of one 70B sample in 7B samples per budget, and the pairs grouped by where the
    smaller model is above 70B (`where_above`)."""
    ratios = {c.budget: c.cost_ratio for c in crossovers if c.small == PAPER_SMALL[0]}
    groups: dict[str, list[str]] = {where: [] for where in WHERE}
    for c in crossovers:
        groups[where_above(c)].append(f"{c.benchmark} {c.budget} {_size(c.small)}")
    found = "; ".join(f"{WHERE[where]} for {', '.join(pairs)}"
                      for where, pairs in groups.items() if pairs)
    return ("Budgets are in units of the cheapest model's cost per sample (7B), so one 70B "
            "sample costs " + " or ".join(f"{r:.2f} ({BUDGETS[b]})" for b, r in ratios.items())
            + f". The smaller model is above 70B {found}. The published k are sparse, so between "
            "them these curves are interpolations (`pipeline.reduce.paper` also gives the "
            "certain bounds).")


def stop_list() -> str:
    """The pipeline's HumanEval stop list, compared with CodeT's `STOP_TOKEN` (`CODET_STOP`)."""
    from pipeline.benchmarks import humaneval
    from pipeline.benchmarks.probes import CODET_STOP

    if list(humaneval.STOP) == list(CODET_STOP):
        return (f"{_code(humaneval.STOP)} (the pipeline's HumanEval stop list, equal to CodeT's "
                "`STOP_TOKEN`)")
    return (f"{_code(humaneval.STOP)} (the pipeline's HumanEval stop list; CodeT's `STOP_TOKEN` "
            f"differs: {_code(CODET_STOP)})")


def _code(stops) -> str:
    """Stop sequences as one Markdown code span, newlines written `\\n`."""
    return "`" + " ".join(x.replace("\n", "\\n") for x in stops) + "`"


def sources_check(res: dict) -> str:
    """The CodeT-prompt run against SOURCES.md's figures, each difference checked against
    SOURCES_BAR."""
    parts = []
    for k, ref in SOURCES_FIGURES.items():
        d = res["pass"][k]["value"] - ref
        verdict = "within" if abs(d) <= SOURCES_BAR else "outside"
        parts.append(f"pass@{k} {d:+.2f} points ({verdict} the bar of {SOURCES_BAR} points)")
    return "Difference from SOURCES.md: " + ", ".join(parts) + "."


def paper_comparison(res: dict) -> str:
    """The CodeT-prompt run against the CodeGen paper at each k: the difference, and whether the
    paper's figure lies inside this run's 95 % CI."""
    parts = []
    for k, ref in CODEGEN_PAPER.items():
        p = res["pass"][k]
        if p is None:
            parts.append(f"pass@{k} n/a")
            continue
        if p["lo"] is None:
            where = "no CI to place it in"
        else:
            inside = "inside" if p["lo"] <= ref <= p["hi"] else "outside"
            where = f"its figure {inside} our CI [{p['lo']:.1f}, {p['hi']:.1f}]"
        parts.append(f"pass@{k} {p['value'] - ref:+.1f} points ({where})")
    return ("Against the CodeGen paper (the original prompts with their examples, n = 200 and, "
            "for each k, the best of several temperatures): " + "; ".join(parts) + ".")


def prompt_comparison(differ: dict, tasks: int) -> str:
    """How many tasks' pass counts differ between the two prompts' runs (and which)."""
    listed = f" ({differ})" if differ else ""
    return (f"{len(differ)} of {tasks} tasks have a different number of passing samples under "
            f"the two prompts{listed}.")


def execution_line(codet: dict, bench: dict) -> str:
    """The execution figures of the two CodeGen-16B runs."""
    st = codet["statuses"]
    return (
        f"Execution (CodeT-prompt run): {codet['samples']:,} samples of {codet['tasks']} tasks, "
        "verdicts " + ", ".join(f"{k} {v:,}" for k, v in sorted(st.items()))
        + f"; **{codet['sandbox_errors']} sandbox errors** (status `error`: the sandbox could not "
        "judge a program; timeouts and crashes count as the sample's own failure); timeouts "
        f"({codet['time_limit']}, from the run's config) by task, top 3: "
        f"{codet['timeouts_by_task']}, not re-run with a longer limit. Dedup hit rate "
        f"{100 * codet['dedup_hit_rate']:.1f} % ({codet['programs_run']:,} distinct programs "
        f"run); execute stage {codet['execute_seconds']:.0f} s wall with {codet['workers']} "
        f"sandbox workers; the programs' own wall time {codet['program_wall_seconds']:.0f} s, "
        f"{codet['wall_seconds_per_executed_sample']:.3f} wall seconds per executed sample. "
        f"HumanEval-prompt run: {bench['sandbox_errors']} sandbox errors, dedup hit rate "
        f"{100 * bench['dedup_hit_rate']:.1f} %, execute stage {bench['execute_seconds']:.0f} s "
        "wall.")


# -- the slice -------------------------------------------------------------------------------------
