"""The StarCoderBase 1B/3B/7B section of docs/REPRODUCTION.md: the paper's question on one family.

Role in the pipeline: a reader of the `configs/reproduce-astraios.yaml` run directory (import
reports, curves, verdicts), called by `pipeline.reproduce.document`. It runs nothing except
`header_effect`, which re-executes in the sandbox the few failing samples whose error is a
module that the bigcode harness imports in front of every program and this pipeline does not,
to size that difference from the authors' evaluation.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Optional

import numpy as np
import pandas as pd

from pipeline.report.format import fmt_point, point

MODELS = ("starcoderbase-1b", "starcoderbase-3b", "starcoderbase-7b")
#: The authors' published pass@1 (%) of these generations, with its source; None: not found in
#: the stored public material searched (the Astraios paper's indexed pages, its repository README
#: and outputs/, the bigcode/astraios-*-fft model cards, bigcode/evaluation).
PUBLISHED_PASS1: dict[str, Optional[float]] = {m: None for m in MODELS}
KS = tuple(range(1, 11))
#: bigcode-evaluation-harness `humanevalpack.py` IMPORT_HELPER["python"]: put in front of every
#: program by its Python evaluation (the Astraios evaluation ran that harness); the pipeline runs
#: HumanEval's prompt + completion + test without it.
HARNESS_HEADER = ("import math\nimport re\nimport sys\nimport copy\nimport datetime\n"
                  "import itertools\nimport collections\nimport heapq\nimport statistics\n"
                  "import functools\nimport hashlib\nimport numpy\nimport numpy as np\n"
                  "import string\nfrom typing import *\nfrom collections import *\n")
_HEADER_NAMES = ("math", "re", "sys", "copy", "datetime", "itertools", "collections", "heapq",
                 "statistics", "functools", "hashlib", "numpy", "np", "string")
COMMAND = ("A=../shared/data/generations/astraios/generations-humanevalsynthesizepython-starcoderbase\n"
           "for s in 1b 3b 7b; do\n"
           "  .venv/bin/python -m pipeline import-samples configs/reproduce-astraios.yaml "
           "$A-$s-fft.json.gz --model starcoderbase-$s\n"
           "done\n"
           ".venv/bin/python -m pipeline run configs/reproduce-astraios.yaml --in-process")


def header_effect(run_dir: Path, samples: pd.DataFrame) -> dict[str, Any]:
    """Failing samples whose error is an undefined name the harness header imports, re-run with
    the header in front of the prompt: how many would pass there, per model."""
    import schemas
    from pipeline.run import storage
    from sandbox.config import SandboxConfig
    from sandbox.executor import execute

    names = samples.verdict_detail.str.extract(r"NameError: name '(\w+)' is not defined")[0]
    hit = samples[(samples.status != "pass") & names.isin(_HEADER_NAMES)]
    out = {"candidates": {m: int((hit.model == m).sum()) for m in MODELS}, "passes": {}}
    if hit.empty:
        return {**out, "passes": {m: 0 for m in MODELS}, "per_task": {}}
    problems = storage.read_dataset(str(run_dir / "problems"), "problems").to_pandas()
    problems = problems[problems.task_id.isin(hit.task_id)].copy()
    problems["prompt"] = HARNESS_HEADER + problems.prompt
    cols = list(schemas.SAMPLES.names)
    verdicts = execute(schemas.from_pandas(problems, "problems"),
                       schemas.from_pandas(hit[cols].reset_index(drop=True), "samples"),
                       SandboxConfig(workers=2)).to_pandas()
    passed = verdicts[verdicts.status == "pass"]
    out["passes"] = {m: int((passed.model == m).sum()) for m in MODELS}
    out["per_task"] = {m: passed[passed.model == m].task_id.value_counts().to_dict() for m in MODELS}
    return out


def pass1_with(samples: pd.DataFrame, extra: dict[str, dict[str, int]]) -> dict[str, float]:
    """pass@1 (%) of each model if `extra[model][task]` more samples of a task passed."""
    out = {}
    for m in MODELS:
        s = samples[samples.model == m]
        per_task = s.groupby("task_id").agg(n=("passed", "size"), c=("passed", "sum"))
        c = per_task.c.to_numpy() + np.array([extra.get(m, {}).get(t, 0) for t in per_task.index])
        out[m] = float(100 * np.mean(c / per_task.n.to_numpy()))
    return out


def result(run_dir: Path) -> Optional[dict[str, Any]]:
    """Everything the section shows, from the run directory; None if the run is not there."""
    from pipeline import results
    from pipeline.reduce.run_data import RunData
    from pipeline.report import markdown
    from pipeline.report.execution import execution_stats

    run_dir = Path(run_dir)
    if not (run_dir / "curves.parquet").exists():
        return None
    r = results.load(str(run_dir))
    curves, samples = r.curves, r.samples
    imports = {}
    for m in MODELS:
        path = run_dir / "imports" / f"{m}-humaneval.json"
        imports[m] = json.loads(path.read_text()) if path.exists() else None
    effect = header_effect(run_dir, samples)
    costs = RunData.load(str(run_dir)).costs
    stats = execution_stats(run_dir)
    return {
        "temperatures": sorted(float(t) for t in samples.temperature.unique()),
        "tflops": {m: costs[m].flops() / 1e12 for m in MODELS if m in costs and costs[m].flops()},
        "run_dir": str(run_dir),
        "imports": imports,
        "pass": {m: {k: point(curves, m, None, "pass@k", k) for k in KS} for m in MODELS},
        "pass_n": {m: point(curves, m, None, "pass@k", stats["n_per_task"]) for m in MODELS},
        "budgets": markdown.budget_table(curves, "humaneval", "pass_flops"),
        "crossovers": markdown.crossover_table(curves, "humaneval", "pass_flops"),
        "distinct": {m: float(samples[samples.model == m].groupby("task_id").completion.nunique().mean())
                     for m in MODELS},
        "header": effect,
        "pass1_with_header": pass1_with(samples, effect.get("per_task", {})),
        **stats,
    }


def _paper_pass1_ratio() -> float:
    """Code Llama 70B / 7B HumanEval pass@1 in the paper's Table 2 (paper mode's data)."""
    from pipeline.reduce import paper

    t = paper.load_pass_table()
    t = t[(t.benchmark == "humaneval") & (t.k == 1)].set_index("model").value
    return float(t["codellama-70b"] / t["codellama-7b"])


def _paper_headline():
    """Paper mode's HumanEval FLOPs comparison of Code Llama 7B against 70B (a `Crossover`)."""
    from pipeline.reduce import paper

    return paper.crossover("humaneval", "codellama-7b", "codellama-70b", "flops")


def pair_reading(cross: pd.DataFrame) -> str:
    """Where the cheaper model of each pair is above, from the crossover table's
    `smaller_wins_fraction` (the share of shared budgets where it is above)."""
    share = cross.smaller_wins_fraction.fillna(0)
    if (share == 0).all():
        return ("The cheaper model is above at none of the shared budgets, for every pair "
                "(`smaller_wins_fraction` 0)")
    wins = [f"{r.smaller} above {r.larger} at {100 * f:.1f} % of their shared budgets"
            for r, f in zip(cross.itertuples(), share) if f > 0]
    return "The cheaper model is above at some budgets: " + "; ".join(wins)


def equal_budget_reading(res: dict) -> str:
    """The smallest and the largest model at the budget of all the smallest model's samples:
    the samples each buys there, their pass@k, and which is higher."""
    from pipeline.reduce import metrics

    small, large = MODELS[0], MODELS[-1]
    n = res["n_per_task"]
    k = int(metrics.samples_for_budget([float(n)], res["tflops"][large] / res["tflops"][small])[0])
    p_small, p_large = res["pass_n"][small], res["pass"][large].get(k)
    head = f"At a budget of {n} ({_size(small)}: {n} samples; {_size(large)}: {k})"
    if p_small is None or p_large is None:
        return head + ", one of the two pass@k is not in the run"
    tied = math.isclose(p_small["value"], p_large["value"], rel_tol=1e-9, abs_tol=1e-9)
    higher = ("equal" if tied else
              f"{_size(small) if p_small['value'] > p_large['value'] else _size(large)} higher")
    return (f"{head}, pass@{n} of {_size(small)} {fmt_point(p_small)} % against pass@{k} of "
            f"{_size(large)} {fmt_point(p_large)} %: {higher}")


def headline_reading(cross: pd.DataFrame, paper_c) -> str:
    """This run's smallest-vs-largest pair against paper mode's HumanEval FLOPs pair (7B vs
    70B): where each smaller model is above, and whether the two answers are the same."""
    from pipeline.reproduce.findings import WHERE, where_above

    row = cross[(cross.smaller == MODELS[0]) & (cross.larger == MODELS[-1])]
    share = float(row.smaller_wins_fraction.fillna(0).iloc[0])
    here = "every" if share == 1 else "some" if share > 0 else "no"
    there = where_above(paper_c)
    same = "the same answer" if here == there else "not the same answer"
    return (f"Paper mode (section 2) on HumanEval under FLOPs: Code Llama 7B is above 70B "
            f"{WHERE[there]}; here {MODELS[0]} is above {MODELS[-1]} {WHERE[here]} "
            f"(`smaller_wins_fraction` {share:.2f}): {same}")


def _size(model: str) -> str:
    return model.split("-")[-1]


def _import_rows(imports: dict) -> list[str]:
    rows = ["| model | records | samples read | imported | prompt stripped | without the prompt "
            "| skipped |", "|---|---|---|---|---|---|---|"]
    for m, rep in imports.items():
        if rep is None:
            rows.append(f"| {m} | not imported | | | | | |")
            continue
        rows.append(f"| {m} | {rep['lines']} | {rep['samples_read']:,} | {rep['imported']:,} | "
                    f"{rep['prompt_stripped']:,} | {len(rep.get('without_prompt', []))} | "
                    f"{len(rep['skipped'])} |")
    return rows


def section(res: Optional[dict], paper_p1: dict[str, Optional[float]]) -> list[str]:
    """The Markdown lines of the section (a clear placeholder when the run is missing)."""
    from pipeline.report import markdown

    out = [
        "## 4. One family at three sizes: StarCoderBase 1B / 3B / 7B (Astraios FFT), imported",
        "",
        "The paper's question on real generations of three sizes of one model family: at equal "
        "compute, do many samples of the 1B model beat few samples of the 7B one? Data: "
        "`../shared/data/generations/astraios/` (bigcode-project/astraios, 164 HumanEval problems "
        "x 20 samples per model; StarCoderBase-1B/3B/7B instruction-tuned by full fine-tuning "
        "on CommitPackFT + OASST; bigcode harness `humanevalsynthesize-python`, OctoCoder prompt, "
        "T = 0.2, top-p 0.95; see `../shared/data/SOURCES.md`). Each sample is a whole program, "
        "the HumanEval prompt followed by the model's body; the importer removes the prompt.",
        "",
        "```bash",
        COMMAND,
        "```",
        "",
    ]
    if res is None:
        return out + ["Not run yet: run the commands above, then `make reproduce-doc`.", ""]
    out += ["Import (`RUN_DIR/imports/*.json`):", ""]
    out += _import_rows(res["imports"])
    out += ["", _execution(res), "",
            f"pass@k (%, unbiased estimator from n = {res['n_per_task']}, 95 % bootstrap CI over "
            f"the {res['tasks']} problems):", "",
            "| k | " + " | ".join(MODELS) + " |", "|---|" + "---|" * len(MODELS)]
    for k in KS:
        out.append(f"| {k} | " + " | ".join(fmt_point(res["pass"][m][k]) for m in MODELS) + " |")
    out.append(f"| {res['n_per_task']} | " + " | ".join(fmt_point(res["pass_n"][m]) for m in MODELS)
               + " |")
    out += ["", _authors_and_header(res, paper_p1), "", _flops_intro(res), ""]
    out += markdown.to_markdown(res["budgets"]).rstrip("\n").split("\n")
    out += ["", "Crossovers (pass_flops; `smaller_wins_fraction`: share of the shared budgets where the "
            "cheaper model is above; `smaller_wins_from_budget`: the budget from which it stays above):",
            ""]
    out += markdown.to_markdown(res["crossovers"]).rstrip("\n").split("\n")
    out += [
        "",
        "![pass_flops of StarCoderBase 1B/3B/7B on HumanEval](figures/astraios_humaneval_pass_flops.png)",
        "",
        "**Reading.** " + reading(res, _paper_headline(), _paper_pass1_ratio()),
        "",
        "The budget advisor's table for these three models is in section 5.",
        "",
    ]
    return out


def _execution(res: dict) -> str:
    """The run's verdicts, dedup and execute-stage time."""
    return (
        f"Execution: {res['samples']:,} samples, verdicts "
        + ", ".join(f"{k} {v:,}" for k, v in sorted(res["statuses"].items()))
        + f"; {res['sandbox_errors']} sandbox errors; timeouts under the run's "
        f"{res['time_limit']}; "
        f"dedup hit rate {100 * res['dedup_hit_rate']:.1f} % ({res['programs_run']:,} distinct "
        "programs run; mean distinct samples per problem "
        + ", ".join(f"{_size(m)} {v:.1f}" for m, v in res["distinct"].items())
        + f" of {res['n_per_task']}); execute stage {res['execute_seconds']:.0f} s wall with "
        f"{res['workers']} sandbox workers, {res['wall_seconds_per_executed_sample']:.3f} wall "
        "seconds per executed sample.")


def _authors_and_header(res: dict, paper_p1: dict[str, Optional[float]]) -> str:
    """The authors' pass@1 where one is recorded, how the evaluations differ, and the
    harness-header re-run's effect on pass@1."""
    h = res["header"]
    theirs = "; ".join(f"{m}: ours {res['pass'][m][1]['value']:.1f}, theirs {v}, difference "
                       f"{res['pass'][m][1]['value'] - v:+.1f} points"
                       for m, v in paper_p1.items() if v is not None)
    delta = {m: v - res["pass"][m][1]["value"] for m, v in res["pass1_with_header"].items()}
    return (
        "Against the authors' own figures: "
        + (theirs or "no published pass@1 of these generations is recorded "
           "(`astraios.PUBLISHED_PASS1`)")
        + ". Where our evaluation differs from theirs: the harness runs each program after its "
        "own import header (`math`, `re`, `hashlib`, `itertools`, `numpy`, `from typing import "
        "*`, ...) and HumanEvalPack's copy of the tests; the pipeline runs HumanEval's prompt + "
        "body + OpenAI's tests, in a sandbox with CPU-time limits. Failing samples whose error is "
        "a module of that header: " + ", ".join(f"{_size(m)} {c}" for m, c in h["candidates"].items())
        + "; re-run with the header, " + ", ".join(f"{_size(m)} {c}" for m, c in h["passes"].items())
        + " pass, which would give pass@1 "
        + ", ".join(f"{_size(m)} {v:.1f}" for m, v in res["pass1_with_header"].items())
        + " % (" + ", ".join(f"{_size(m)} {d:+.1f}" for m, d in delta.items()) + " points).")


def _flops_intro(res: dict) -> str:
    """The FLOPs budget axis: each model's FLOPs per sample and their ratios."""
    t = res["tflops"]
    return (
        "pass_flops: each model's pass@k on one budget axis, the budget in units of one 1B "
        "sample's FLOPs (calflops on the published GPTBigCode configs, presets "
        "`starcoderbase-1b/3b/7b`: " + " / ".join(f"{v:.3f}" for v in t.values())
        + " TFLOPs per 128-token forward pass, ratios "
        + " : ".join(f"{v / t[MODELS[0]]:.2f}" for v in t.values()) + "). Best model per budget:")


def reading(res: dict, paper_c, paper_ratio: float) -> str:
    """What the budget comparison shows, each clause computed: the pairs' crossovers, the
    smallest and the largest model at equal budget, paper mode's answer to the same question,
    and the two setups side by side."""
    small, large = MODELS[0], MODELS[-1]
    ratio = res["pass"][large][1]["value"] / res["pass"][small][1]["value"]
    cost = res["tflops"][large] / res["tflops"][small]
    return (
        pair_reading(res["crossovers"]) + ". " + equal_budget_reading(res) + ". "
        + headline_reading(res["crossovers"], paper_c) + ". "
        f"Ratio of pass@1, {_size(large)} over {_size(small)} here: {ratio:.2f}, at a FLOPs cost "
        f"ratio of {cost:.2f}; Code Llama 70B over 7B in the paper's Table 2: {paper_ratio:.2f}, "
        f"at a FLOPs cost ratio of {paper_c.cost_ratio:.2f}. The setups differ: here T = "
        + ", ".join(f"{t:g}" for t in res["temperatures"]) + ", "
        f"n = {res['n_per_task']} per problem, instruction-tuned models with a chat-style prompt; "
        "the paper samples base models at T = 0.8 on HumanEval.")
