"""Section 7 of docs/REPRODUCTION.md: the runs judged by HumanEval's tests and by a stronger verifier.

Role: a reader of the humaneval+ runs of `make reproduce-plus` (configs/reproduce-codegen16b-
plus.yaml, configs/reproduce-astraios-plus.yaml), each reduced under both verifiers
(`reduce --verifier plus` writes RUN_DIR/plus/). `result` gathers the numbers (the extended
suite's size and generation time, pass@k under both verifiers with CIs, false-positive rates by
model and difficulty, the pass_flops crossovers under both, the extension's sandbox time);
`section` writes the Markdown, each sentence chosen by comparing those numbers.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any, Optional

import pandas as pd

from pipeline.report.format import fmt_point, point

BENCH = "humaneval+"
COMMANDS = """```bash
CODET=../shared/data/generations/codet_HumanEval_codegen16B_temp0.8_topp0.95_num100_max300_code_solution.jsonl
.venv/bin/python -m pipeline run configs/reproduce-codegen16b-plus.yaml --from-samples $CODET --prompts file --in-process --no-progress
.venv/bin/python -m pipeline reduce runs/reproduce-codegen16b-plus --full-k --verifier plus
A=../shared/data/generations/astraios/generations-humanevalsynthesizepython-starcoderbase
for s in 1b 3b 7b; do
  .venv/bin/python -m pipeline import-samples configs/reproduce-astraios-plus.yaml $A-$s-fft.json.gz --model starcoderbase-$s
done
.venv/bin/python -m pipeline run configs/reproduce-astraios-plus.yaml --in-process --no-progress
.venv/bin/python -m pipeline reduce runs/reproduce-astraios-plus --full-k --verifier plus
.venv/bin/python -m pipeline advise runs/reproduce-astraios-plus --unit flops --n-boot 1000 --verifier plus
.venv/bin/python -m pipeline.reproduce.document --section verifiers --out docs/REPRODUCTION.md
```"""


def _csv(run_dir: Path, rel: str) -> pd.DataFrame:
    path = Path(run_dir) / rel
    if not path.exists() or not path.read_text().strip():  # one model: no pairs, empty table
        return pd.DataFrame()
    return pd.read_csv(path)


def result(run_dir: str | Path, ks=(1, 10, 100)) -> Optional[dict[str, Any]]:
    """The numbers of one humaneval+ run reduced under both verifiers; None if it is missing."""
    from pipeline import results
    from pipeline.run import storage

    run_dir = Path(run_dir)
    if not (run_dir / "plus" / "curves.parquet").exists():
        return None
    r = results.load(str(run_dir))
    plus = storage.read_table(str(run_dir / "plus" / "curves.parquet"), "curves").to_pandas()
    models = sorted(r.samples["model"].unique())
    kmax = int(r.curves[r.curves.metric == "pass@k"]["k"].max())
    ks = sorted({k for k in ks if k <= kmax} | {kmax})
    s = r.samples
    base_run = s[~s["cached"]]
    ext_run = s[s["plus_exec_ms"].fillna(0) > 0]
    suite = json.loads((run_dir / "extended_tests" / f"{BENCH}.json").read_text())
    sizes = [len(t["inputs"]) for t in suite["tasks"].values()]
    return {
        "run_dir": str(run_dir), "models": models, "ks": ks,
        "pass": {m: {k: (point(r.curves, m, BENCH, "pass@k", k),
                         point(plus, m, BENCH, "pass@k", k)) for k in ks} for m in models},
        "fp": _csv(run_dir, "plus/tables/false_positives.csv"),
        "crossovers": _csv(run_dir, f"plus/tables/crossovers_verifiers_{BENCH}.csv"),
        "suite": {"min": min(sizes), "median": statistics.median(sizes), "max": max(sizes),
                  "total": sum(sizes), "tasks": len(sizes), "digest": suite["digest"],
                  "generator": suite["generator"], "seconds": suite["seconds"],
                  "dropped": {k: sum(t["counts"].get(k, 0) for t in suite["tasks"].values())
                              for k in ("contract", "disagree", "error", "render")}},
        "cost": {"samples": len(s), "base_runs": len(base_run),
                 "base_ms": float(base_run["exec_ms"].sum()), "ext_runs": len(ext_run),
                 "ext_ms": float(ext_run["plus_exec_ms"].sum()),
                 "base_passes": int(s["passed"].sum())},
    }


def _fp_cell(row) -> str:
    if pd.isna(row["false_positive_rate"]):
        return "n/a"
    return (f"{100 * row['false_positive_rate']:.1f} [{100 * row['false_positive_rate_ci_low']:.1f}, "
            f"{100 * row['false_positive_rate_ci_high']:.1f}] ({int(row['base_passes'] - row['plus_passes'])}"
            f"/{int(row['base_passes'])})")


def _pass_table(res: dict) -> list[str]:
    lines = ["| model | " + " | ".join(f"pass@{k} base | pass@{k} base+extended"
                                        for k in res["ks"]) + " |",
             "|---|" + "---|---|" * len(res["ks"])]
    for m in res["models"]:
        cells = []
        for k in res["ks"]:
            b, p = res["pass"][m][k]
            cells += [fmt_point(b), fmt_point(p)]
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    return lines


def _fp_table(results_: list[dict]) -> list[str]:
    lines = ["| model | all | easy | medium | hard |", "|---|---|---|---|---|"]
    for res in results_:
        fp = res["fp"]
        for m in res["models"]:
            g = fp[fp["model"] == m].set_index("difficulty")
            lines.append(f"| {m} | " + " | ".join(_fp_cell(g.loc[d]) for d in
                                                   ("all", "easy", "medium", "hard")) + " |")
    return lines


def _drops(res: dict) -> list[str]:
    """Sentences on how far pass@k falls, decided by the numbers."""
    out = []
    for k in res["ks"]:
        drops = {m: res["pass"][m][k][0]["value"] - res["pass"][m][k][1]["value"]
                 for m in res["models"]}
        where = ", ".join(f"{m} {d:.1f}" for m, d in drops.items())
        kind = ("lower for every model" if all(d > 0 for d in drops.values())
                else "not lower for every model")
        out.append(f"pass@{k} on base + extended tests is {kind} (points lost: {where}).")
    return out


def _fp_sentences(res: dict) -> list[str]:
    fp = res["fp"]
    allrows = fp[fp["difficulty"] == "all"].set_index("model").loc[res["models"]]
    rates = allrows["false_positive_rate"]
    out = []
    if len(rates) > 1:
        ordered = list(rates.sort_values(ascending=False).index)
        by_size = list(rates.index)  # config order is the size order for these runs
        mono_down = all(rates.iloc[i] > rates.iloc[i + 1] for i in range(len(rates) - 1))
        mono_up = all(rates.iloc[i] < rates.iloc[i + 1] for i in range(len(rates) - 1))
        trend = ("falls at every step from the smallest to the largest model" if mono_down else
                 "rises at every step from the smallest to the largest model" if mono_up else
                 "neither falls nor rises at every step with model size")
        out.append(f"False-positive rate, highest first: {', '.join(ordered)}; it {trend}"
                   + f" ({', '.join(f'{m} {100 * rates[m]:.1f} %' for m in by_size)}).")
        lo, hi = allrows.iloc[0], allrows.iloc[-1]
        overlap = not (lo["false_positive_rate_ci_low"] > hi["false_positive_rate_ci_high"]
                       or hi["false_positive_rate_ci_low"] > lo["false_positive_rate_ci_high"])
        out.append(f"The 95 % CIs of {by_size[0]} and {by_size[-1]} "
                   + ("overlap: these runs do not separate their rates."
                      if overlap else "do not overlap."))
    for m in res["models"]:
        g = fp[(fp["model"] == m) & (fp["difficulty"] != "all")].dropna(
            subset=["false_positive_rate"]).set_index("difficulty")
        if len(g) < 2:
            continue
        r = g["false_positive_rate"]
        hi, lo = g.loc[r.idxmax()], g.loc[r.idxmin()]
        overlap = hi["false_positive_rate_ci_low"] <= lo["false_positive_rate_ci_high"]
        out.append(f"{m}: the rate is highest on the {r.idxmax()} third of the problems "
                   f"({100 * r.max():.1f} %) and lowest on the {r.idxmin()} third "
                   f"({100 * r.min():.1f} %)" + ("; their CIs overlap." if overlap else
                                                  "; their CIs do not overlap."))
    return out


def claim(runs: list[dict], star: Optional[dict]) -> list[str]:
    """What the numbers say about the paper's claim (every clause compares numbers)."""
    pairs = [(r["pass"][m][k][0], r["pass"][m][k][1]) for r in runs for m in r["models"]
             for k in r["ks"]]
    drop = max(b["value"] - p["value"] for b, p in pairs)
    inside = all(p["value"] >= b["lo"] for b, p in pairs)
    fp = pd.concat([r["fp"][r["fp"]["difficulty"] == "all"] for r in runs])
    worst = fp.loc[fp["false_positive_rate"].idxmax()]
    out = [f"**Reading.** On these generations the extended tests lower pass@k by at most "
           f"{drop:.1f} points, "
           + ("every base + extended value inside the 95 % CI of its base value"
              if inside else "some base + extended values below the 95 % CI of their base value")
           + f"; the highest false-positive rate is {worst['model']}'s, "
           f"{100 * worst['false_positive_rate']:.1f} %."]
    if star is not None and not star["crossovers"].empty:
        c = star["crossovers"][star["crossovers"]["metric"] == "pass_flops"]
        never = (c["smaller_wins_fraction_base"] == 0).all() and (
            c["smaller_wins_fraction_plus"] == 0).all()
        same = ((c["smaller_wins_fraction_base"] == 0) == (c["smaller_wins_fraction_plus"] == 0)
                ).all()
        if never:
            out.append("For StarCoderBase 1B / 3B / 7B the cheaper model is above at no shared "
                       "FLOPs budget under either verifier: here, spending the budget on more "
                       "samples of a smaller model does not pay with HumanEval's tests, and the "
                       "stronger verifier does not change that.")
        elif same:
            out.append("For StarCoderBase, where the cheaper model wins under the base tests it "
                       "also wins under base + extended tests, and nowhere else.")
        else:
            out.append("For StarCoderBase the stronger verifier changes where the cheaper model "
                       "wins (table above).")
        rates = star["fp"][star["fp"]["difficulty"] == "all"].set_index("model")[
            "false_positive_rate"].loc[star["models"]]
        if not all(rates.iloc[i] > rates.iloc[i + 1] for i in range(len(rates) - 1)):
            small, large = star["models"][0], star["models"][-1]
            less = all(star["pass"][small][k][0]["value"] - star["pass"][small][k][1]["value"]
                       <= star["pass"][large][k][0]["value"] - star["pass"][large][k][1]["value"]
                       for k in star["ks"])
            out.append("These runs do not show the smaller models' passes being more often false "
                       "positives (the direction Stroebl et al. 2024 report for weaker models)"
                       + (f"; at every k shown, {small} loses no more pass@k points to the "
                          f"extension than {large}." if less else "."))
    return out


def _crossover_sentences(res: dict) -> list[str]:
    c = res["crossovers"]
    if c.empty:
        return []
    c = c[c["metric"] == "pass_flops"]
    out, changed = [], 0
    for _, row in c.iterrows():
        b, p = row["smaller_wins_fraction_base"], row["smaller_wins_fraction_plus"]
        fb, fp_ = row["smaller_wins_from_budget_base"], row["smaller_wins_from_budget_plus"]
        same = (b == 0) == (p == 0) and pd.isna(fb) == pd.isna(fp_)
        changed += not same
        out.append(f"{row['smaller']} vs {row['larger']}: the cheaper model is above at "
                   f"{100 * b:.0f} % of the shared budgets on the base tests and {100 * p:.0f} % "
                   f"on base + extended"
                   + ("" if pd.isna(fb) and pd.isna(fp_) else
                      f" (stays above from budget {fb if not pd.isna(fb) else 'none'} / "
                      f"{fp_ if not pd.isna(fp_) else 'none'})") + ".")
    out.append("Under pass_flops, which model to run at each budget "
               + ("is the same under both verifiers for every pair."
                  if not changed else f"changes for {changed} pair(s) with the verifier."))
    return out


def _cost_line(res: dict, measured: Optional[dict]) -> list[str]:
    c = res["cost"]
    per_ext = c["ext_ms"] / c["ext_runs"] if c["ext_runs"] else 0.0
    per_base = c["base_ms"] / c["base_runs"] if c["base_runs"] else 0.0
    line = (f"Sandbox time in this run ({res['run_dir']}): base tests {c['base_runs']:,} programs "
            f"run, {c['base_ms'] / 1000:.1f} s in all ({per_base:.1f} ms each); extension "
            f"{c['ext_runs']:,} programs run (the distinct base passes), "
            f"{c['ext_ms'] / 1000:.1f} s in all ({per_ext:.1f} ms each): the extension adds "
            f"{100 * c['ext_ms'] / c['base_ms']:.0f} % to the program time.")
    return [line]


def section(codegen: Optional[dict], star: Optional[dict], measured: Optional[dict] = None
            ) -> list[str]:
    """The Markdown lines of section 7."""
    out = ["## 7. A stronger verifier: HumanEval+ (EvalPlus-style extended tests)", "",
           "The paper's claim rests on the unit tests being a perfect verifier. HumanEval's are "
           "thin (9.6 inputs per problem). Benchmark `humaneval+` (`pipeline.benchmarks."
           "humaneval_plus`) adds generated tests in the style of EvalPlus (Liu et al. 2023): "
           "EvalPlus's type-aware mutation (`evalplus.gen.type_mut.TypedMutGen`) of HumanEval's "
           "base inputs, an input kept only where EvalPlus's input contract holds and HumanEval's "
           "canonical solution agrees with EvalPlus's reference (the expected output) within the "
           "task's tolerance, at most 50 per problem, deterministic from a seed "
           "(`pipeline.benchmarks.extended`). Every sample gets two verdicts: `status` on the base "
           "tests and `plus_status` on base + extended (the extension runs only after a base "
           "pass). A false positive is a base pass that fails the extension; a problem's "
           "difficulty is the tertile of its base pass rate pooled over the run's models.", "",
           COMMANDS, ""]
    runs = [r for r in (codegen, star) if r is not None]
    if not runs:
        return out + ["The humaneval+ runs are not in this checkout: not reported.", ""]
    s = runs[0]["suite"]
    g = s["generator"]
    out += [f"The extended suite (`RUN_DIR/extended_tests/humaneval+.json`, sha256 "
            f"`{s['digest'][:16]}...`): {g['name']} from evalplus {g['evalplus']}, seed "
            f"{g['seed']}, {g['attempts']} mutation attempts per problem; {s['total']:,} inputs "
            f"over {s['tasks']} problems, per problem min {s['min']} / median {s['median']:g} / "
            f"max {s['max']}; generated in {s['seconds']:.1f} s on this machine (2 cores). "
            f"Dropped on the way: {s['dropped']['contract']:,} mutants breaking the contract, "
            f"{s['dropped']['disagree']} where the two references disagree, "
            f"{s['dropped']['error']} where a reference raised or ran out of its 0.5 CPU s, "
            f"{s['dropped']['render']} not renderable as source. Both references pass every "
            "generated test (tests/pipeline/run/test_both_verdicts.py, full marker).", ""]
    for title, res in (("CodeGen-16B (CodeT samples, 164 x 100, T = 0.8)", codegen),
                       ("StarCoderBase 1B / 3B / 7B (Astraios, 164 x 20 each, T = 0.2)", star)):
        if res is None:
            out += [f"### {title}", "", "Not run in this checkout.", ""]
            continue
        out += [f"### {title}", "", "pass@k (%, 95 % bootstrap CI over the problems):", ""]
        out += _pass_table(res) + [""] + _drops(res) + [""]
        out += _cost_line(res, measured) + [""]
    out += ["### False-positive rates", "",
            "Share of base passes that fail the extended tests (%, 95 % bootstrap CI over "
            "problems; in brackets: false positives / base passes):", ""]
    out += _fp_table(runs) + [""]
    for res in runs:
        out += _fp_sentences(res)
    out += [""]
    if star is not None and not star["crossovers"].empty:
        out += ["### Budget crossovers under both verifiers (StarCoderBase, pass_flops)", "",
                "![pass_flops on base + extended tests](figures/astraios_humaneval_plus_"
                "pass_flops.png)", ""]
        out += _crossover_sentences(star) + [""]
    out += claim(runs, star) + [""]
    if measured:
        out += ["### The extension's execute cost, measured idle", "", measured["text"], ""]
    return out


def measured(path: Path) -> dict:
    """The idle measurement of `pipeline.reproduce.extension_cost` as a sentence."""
    m = json.loads(Path(path).read_text())
    runs = lambda xs: ", ".join(f"{x:.1f}" for x in xs)  # noqa: E731
    text = (f"`/work/tools/measure i27 .venv/bin/python -m pipeline.reproduce.extension_cost` "
            f"(the first {m['per_problem']} CodeGen-16B samples of every problem, {m['samples']:,} "
            f"samples; {m['workers']} bwrap workers, fresh for each run; {m['repeats']} runs of "
            f"each, alternating): base tests only {m['base_ms_per_sample']:.1f} ms per sample "
            f"(runs {runs(m['base_s'])} s), both verdicts {m['both_ms_per_sample']:.1f} ms per "
            f"sample (runs {runs(m['both_s'])} s): {100 * m['extra']:+.0f} % (medians). Load "
            f"averages (1/5/15 min) before {'/'.join(f'{x:.2f}' for x in m['load_before'])}, "
            f"after {'/'.join(f'{x:.2f}' for x in m['load_after'])}.")
    return {"text": text, **m}
