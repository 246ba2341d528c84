"""The execute stage's extra cost of the extended tests: base verdicts alone vs both verdicts.

Role: the measurement behind section 7 of docs/REPRODUCTION.md. It takes the first `n` CodeGen-
16B samples of every HumanEval problem (the CodeT file), and times, on fresh sandbox workers each
time (no dedup cache carried over), `Executor.execute` on the humaneval+ problems (base tests
only) and `pipeline.run.both_verdicts.execute_both` (base, then the extension after a pass),
alternating `repeats` times; it writes wall seconds per sample for each, the extra share, and
the load averages before and after, as JSON. Run it on an idle machine:

    /work/tools/measure i27 .venv/bin/python -m pipeline.reproduce.extension_cost --out docs/extended_tests_cost.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import schemas
from pipeline.benchmarks import get as get_benchmark
from pipeline.run.both_verdicts import execute_both
from pipeline.sources.generations import read_generations
from sandbox.config import SandboxConfig
from sandbox.executor import Executor

REPO = Path(__file__).resolve().parents[2]
CODET = (REPO.parent / "shared/data/generations/"
         "codet_HumanEval_codegen16B_temp0.8_topp0.95_num100_max300_code_solution.jsonl")


def samples_table(problems, path: Path, n: int):
    gens = read_generations(path, problems)
    rows = [{"run_id": "cost", "model": "codegen-16b", "benchmark": "humaneval+",
             "task_id": tid, "sample_idx": i, "seed": 0, "temperature": 0.8,
             "completion": text, "n_tokens": 0, "finish_reason": "stop", "gen_seconds": 0.0}
            for tid, texts in gens.completions.items() for i, text in enumerate(texts[:n])]
    return schemas.from_rows(rows, "samples")


def timed(fn, problems, samples, config) -> float:
    with Executor(config) as ex:
        started = time.monotonic()
        fn(ex, problems, samples)
        return time.monotonic() - started


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--codet", default=str(CODET))
    ap.add_argument("--n", type=int, default=10, help="samples per problem")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--out", default="docs/extended_tests_cost.json")
    args = ap.parse_args(argv)
    problems = get_benchmark("humaneval+").load(None)
    samples = samples_table(problems, Path(args.codet), args.n)
    config = SandboxConfig(backend="bwrap", workers=2)
    load_before = os.getloadavg()
    base, both = [], []
    for _ in range(args.repeats):
        base.append(timed(lambda ex, p, s: ex.execute(p, s), problems, samples, config))
        both.append(timed(execute_both, problems, samples, config))
    load_after = os.getloadavg()
    n = samples.num_rows
    out = {"samples": n, "per_problem": args.n, "repeats": args.repeats, "workers": 2,
           "base_s": base, "both_s": both,
           "base_ms_per_sample": 1000 * statistics.median(base) / n,
           "both_ms_per_sample": 1000 * statistics.median(both) / n,
           "extra": statistics.median(both) / statistics.median(base) - 1,
           "load_before": load_before, "load_after": load_after}
    Path(args.out).write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
