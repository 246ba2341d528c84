"""Probe throughput: the probe stage's sandbox path vs one sandboxed process per probe.

Role: a speed measurement (not a test). It takes real CodeGen-16B HumanEval samples and the
model's own generated tests (shared/data/generations, see shared/data/SOURCES.md), builds each
problem's probe sets as the probe stage does (`pipeline.run.actors.probe_sets`: the prompt's
examples and CodeT's generated asserts), and runs the same (sample, probe) checks in the same
run with

1. the stage's path: `Executor.probe`, one probe job per (sample, probe set): the program
   loaded once, every probe in order in that process (dedup off: every sample runs);
2. the baseline: one probe job per (sample, probe), i.e. a fresh sandboxed process (and a
   fresh load of the program) for every check, as a harness that runs each test in its own
   process does. The baseline stays inside the sandbox too: model samples are untrusted and
   never run in a plain subprocess here.
3. optionally (--dedup) the stage's path with dedup on, as the stage runs;
4. optionally (--baseline-rev REV) the stage as it runs (dedup on) with the fork-server code
   (`sandbox/inside/`) of git revision REV, then with this checkout's, in the same run: the
   speed-up of the probe stage since REV, and a check that both give the same outcome on
   every (sample, probe) check (timeouts included).

It prints the load average before and after, (samples x probes)/s of each, and their ratio,
and checks that both paths give the same outcomes (timeouts aside).

    .venv/bin/python bench/probe_throughput.py [--per-task 2] [--workers 2] [--dedup]
        [--baseline-rev REV [--stage-only]]

Writes its result as its row of docs/benchmarks.md (bench/record.py); --no-record or
BUDGET_REALLOC_BENCH_NO_RECORD=1 leaves the page alone.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager, nullcontext
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.record import add_no_record, command_line, record  # noqa: E402
from pipeline.benchmarks import humaneval  # noqa: E402
from pipeline.run.actors import probe_sets  # noqa: E402
from pipeline.sources.generated_tests import read_generated_tests  # noqa: E402
from pipeline.run.importers import samples_table  # noqa: E402
from pipeline.sources.generations import read_generations  # noqa: E402
from sandbox.config import SandboxConfig  # noqa: E402
from sandbox.executor import Executor  # noqa: E402
from sandbox.harness import prepare_probes  # noqa: E402

DATA = Path(os.environ.get("BUDGET_REALLOC_SHARED_DATA", REPO.parent / "shared" / "data"))
GEN = DATA / "generations"
CODE = GEN / "codet_HumanEval_codegen16B_temp0.8_topp0.95_num100_max300_code_solution.jsonl"
TESTS = GEN / "codet_HumanEval_codegen16B_temp0.8_topp0.95_num100_max300_test_case.jsonl"


def load(per_task: int, tasks: int):
    problems = humaneval.load(DATA / "humaneval" / "HumanEval.jsonl.gz")
    rows = {r["task_id"]: r for r in problems.to_pylist()}
    gens = read_generations(CODE, problems, fmt="codet")
    keep = list(rows)[:tasks]
    completions = {t: gens.completions[t][:per_task] for t in keep if t in gens.completions}
    samples = samples_table(completions, run_id="bench", model="codegen16b",
                            benchmark="humaneval", temperature=0.8, seed=0)
    generated = {("humaneval", t): list(g.tests)
                 for t, g in read_generated_tests(TESTS, rows).items()}
    sets = probe_sets(problems, {"prompt_examples": True}, generated)
    return problems, samples, sets


def per_probe_baseline(ex: Executor, problems, samples, sets, timeout: float):
    index = {r["task_id"]: r for r in problems.to_pylist()}
    jobs, checks = {}, {}
    for i, r in enumerate(samples.to_pylist()):
        for name, probes in sets[("humaneval", r["task_id"])].items():
            for j, p in enumerate(probes):
                prep = prepare_probes(index[r["task_id"]], r["completion"], name, [p],
                                      ex.config, timeout)
                key = f"{prep.key}\x00{i}\x00{j}"
                jobs[key] = prep.job
                checks[key] = (r["task_id"], r["sample_idx"], name, j)
    t0 = time.perf_counter()
    results = ex._run_all(jobs, progress=False)
    return results, time.perf_counter() - t0, len(jobs), checks


def agreement(table, results, checks) -> tuple[int, int]:
    """(checks with the same outcome on both paths, checks compared), timeouts on either aside."""
    stage = {}
    for r in table.select(["task_id", "sample_idx", "probe_set", "outcomes"]).to_pylist():
        for j, o in enumerate(r["outcomes"]):
            stage[(r["task_id"], r["sample_idx"], r["probe_set"], j)] = o
    same = compared = 0
    for key, res in results.items():
        a, b = stage.get(checks[key]), res["outcomes"][0]
        if a is None or "timeout" in (a, b):
            continue
        compared += 1
        same += a == b
    return same, compared


def plain_and_baseline(args, cfg, problems, samples, sets, checks) -> str:
    """Runs 1 and 2: the stage path with dedup off, then the per-check baseline; the headline."""
    with Executor(SandboxConfig(dedup=False, **cfg)) as ex:
        t0 = time.perf_counter()
        table = ex.probe(problems, samples, sets, probe_timeout_s=args.probe_timeout)
        stage_s = time.perf_counter() - t0
        print(f"stage path (program once, probes in its process): {stage_s:.1f} s, "
              f"{checks / stage_s:.0f} checks/s, {samples.num_rows / stage_s:.1f} samples/s")
        outcomes = [o for row in table.column("outcomes").to_pylist() for o in row]
        print("outcomes: " + ", ".join(f"{k} {v}" for k, v in sorted(_kinds(outcomes).items())))
        headline = f"stage path {checks / stage_s:.0f} checks/s (dedup off)"
        if not args.no_baseline:
            results, base_s, n_jobs, keys = per_probe_baseline(ex, problems, samples, sets,
                                                               args.probe_timeout)
            print(f"baseline (one sandboxed process per check): {base_s:.1f} s, "
                  f"{n_jobs / base_s:.0f} checks/s")
            print(f"ratio stage / baseline (checks/s): {base_s / stage_s:.2f}x")
            base_out = [r["outcomes"][0] for r in results.values()]
            print("baseline outcomes: " + ", ".join(f"{k} {v}" for k, v in
                                                    sorted(_kinds(base_out).items())))
            same, compared = agreement(table, results, keys)
            print(f"agreement stage / baseline: {same}/{compared} checks (timeouts aside)")
            headline = (f"{base_s / stage_s:.2f}x ({checks / stage_s:.0f} vs {n_jobs / base_s:.0f} "
                        f"checks/s, {checks} checks); agreement {same}/{compared} checks "
                        f"(timeouts aside)")
    return headline


@contextmanager
def inside_of(rev: str):
    """The fork-server bundle made from `sandbox/inside/` at git revision `rev` while inside."""
    import sandbox.backends.base as base

    names = subprocess.run(["git", "-C", str(REPO), "ls-tree", "--name-only", f"{rev}:sandbox/inside"],
                           capture_output=True, text=True)
    if names.returncode != 0:
        raise SystemExit(f"--baseline-rev {rev}: no sandbox/inside/ there ({names.stderr.strip()})")
    with tempfile.TemporaryDirectory() as tmp:
        for name in names.stdout.split():
            if name.endswith(".py"):
                src = subprocess.run(["git", "-C", str(REPO), "show", f"{rev}:sandbox/inside/{name}"],
                                     capture_output=True, text=True, check=True).stdout
                Path(tmp, name).write_text(src)
        saved, base.INSIDE = base.INSIDE, Path(tmp)
        try:
            yield
        finally:
            base.INSIDE = saved


def against_revision(args, cfg, problems, samples, sets, checks) -> str:
    """Run 4: the stage (dedup on) with REV's fork-server, then with this one; same outcomes?"""
    tables, seconds = {}, {}
    for label in (args.baseline_rev, "this checkout"):
        with (inside_of(label) if label != "this checkout" else nullcontext()):
            with Executor(SandboxConfig(dedup=True, **cfg)) as ex:
                t0 = time.perf_counter()
                tables[label] = ex.probe(problems, samples, sets, probe_timeout_s=args.probe_timeout)
                seconds[label] = time.perf_counter() - t0
        print(f"stage, dedup on, fork-server of {label}: {seconds[label]:.1f} s, "
              f"{checks / seconds[label]:.0f} checks/s")
    key = ["task_id", "sample_idx", "probe_set"]
    old, new = (tables[k].sort_by([(c, "ascending") for c in key]) for k in tables)
    a, b = old.column("outcomes").to_pylist(), new.column("outcomes").to_pylist()
    same = sum(x == y for row_a, row_b in zip(a, b) for x, y in zip(row_a, row_b))
    total = sum(len(r) for r in a)
    differ = [(r["task_id"], r["sample_idx"], r["probe_set"], j, x, y)
              for r, row_a, row_b in zip(old.select(key).to_pylist(), a, b)
              for j, (x, y) in enumerate(zip(row_a, row_b)) if x != y]
    ratio = seconds[args.baseline_rev] / seconds["this checkout"]
    ran = [o for row, hit in zip(b, new.column("cached").to_pylist()) if not hit for o in row]
    timeouts = ran.count("timeout")
    floor = timeouts * args.probe_timeout / args.workers
    print(f"ratio this checkout / {args.baseline_rev}: {ratio:.2f}x; same outcome on "
          f"{same}/{total} checks")
    print(f"{timeouts} probes that ran timed out: at {args.probe_timeout:g} CPU s each, at least "
          f"{floor:.1f} s of the stage on {args.workers} workers (a floor no speed-up removes)")
    for d in differ[:10]:
        print(f"  differs: {d[0]} sample {d[1]} {d[2]} probe {d[3]}: {d[4]!r} -> {d[5]!r}")
    return (f"stage (dedup on) {ratio:.2f}x the fork-server of {args.baseline_rev} "
            f"({seconds[args.baseline_rev]:.1f} s -> {seconds['this checkout']:.1f} s); same outcome "
            f"on {same}/{total} checks; {timeouts} probe timeouts, a floor of {floor:.1f} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--per-task", type=int, default=2, help="samples per HumanEval task (max 100)")
    ap.add_argument("--tasks", type=int, default=164, help="first N HumanEval tasks")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--probe-timeout", type=float, default=0.1, help="CPU s per probe (CodeT: 0.1)")
    ap.add_argument("--dedup", action="store_true", help="also time the stage with dedup on")
    ap.add_argument("--no-baseline", action="store_true", help="skip the per-probe baseline")
    ap.add_argument("--stage-only", action="store_true",
                    help="only the stage as it runs (dedup on): for the full 164 x 100 timing")
    ap.add_argument("--baseline-rev", default="",
                    help="also time the stage (dedup on) with sandbox/inside/ of this git revision "
                    "and compare every outcome (run 4); with --stage-only, only run 4")
    add_no_record(ap)
    args = ap.parse_args()
    problems, samples, sets = load(args.per_task, args.tasks)
    checks = sum(len(p) for r in samples.to_pylist()
                 for p in sets[("humaneval", r["task_id"])].values())
    before = os.getloadavg()
    print(f"{samples.num_rows} CodeGen-16B samples ({args.per_task} per task, {args.tasks} tasks), "
          f"{checks} (sample, probe) checks, {args.workers} workers, {os.cpu_count()} cores, "
          f"probe limit {args.probe_timeout} CPU s")
    print("load average before: " + " ".join(f"{x:.2f}" for x in before))
    cfg = dict(workers=args.workers, timeout_s=5.0)
    headline = []
    if args.stage_only:
        args.dedup, args.no_baseline = not args.baseline_rev, True
    else:
        headline.append(plain_and_baseline(args, cfg, problems, samples, sets, checks))
    if args.baseline_rev:
        headline.append(against_revision(args, cfg, problems, samples, sets, checks))
    if args.dedup:
        with Executor(SandboxConfig(dedup=True, **cfg)) as ex:
            t0 = time.perf_counter()
            ex.probe(problems, samples, sets, probe_timeout_s=args.probe_timeout)
            s = time.perf_counter() - t0
            print(f"stage path, dedup on: {s:.1f} s ({ex.stats.executed} of "
                  f"{ex.stats.executed + ex.stats.dedup_hits} (sample, set) jobs ran), "
                  f"{checks / s:.0f} checks/s")
            headline.append(f"stage path, dedup on: {checks / s:.0f} checks/s ({s:.1f} s)")
    after = os.getloadavg()
    print("load average after: " + " ".join(f"{x:.2f}" for x in after))
    record("probe_throughput", command_line("probe_throughput"),
           f"{samples.num_rows} samples, {checks} checks: " + "; ".join(headline), before, after,
           no_record=args.no_record)


def _kinds(outcomes):
    out: dict[str, int] = {}
    for o in outcomes:
        k = o if not o.startswith(("v:", "raise:")) else o.split(":", 1)[0]
        out[k] = out.get(k, 0) + 1
    return out


if __name__ == "__main__":
    main()
