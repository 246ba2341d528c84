"""Resume's scan of a large run: footer-only probes vs reading and validating every shard.

At resume the driver must learn which of thousands of shard files are complete. This times
`storage.probe` (Parquet footer only) against `storage.read_table` (full read + validation) on
the same files, in the same run, and prints both and the ratio.

    .venv/bin/python bench/resume_scan.py [--shards 300] [--rows 2000]

Writes its result as its row of docs/benchmarks.md (bench/record.py); --no-record or
BUDGET_REALLOC_BENCH_NO_RECORD=1 leaves the page alone.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import schemas  # noqa: E402
from bench.record import add_no_record, command_line, record  # noqa: E402
from pipeline.run import storage  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--shards", type=int, default=300)
    parser.add_argument("--rows", type=int, default=2000)
    add_no_record(parser)
    args = parser.parse_args()
    load_before = os.getloadavg()
    completion = "    return sorted(set(numbers))[:k]  # a typical short completion\n" * 3
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for s in range(args.shards):
            rows = [{"run_id": "r", "model": "m", "benchmark": "humaneval", "task_id": f"HumanEval/{s}",
                     "sample_idx": i, "seed": 1, "temperature": 0.8, "completion": completion,
                     "n_tokens": 40, "finish_reason": "stop", "gen_seconds": 0.5} for i in range(args.rows)]
            path = Path(tmp) / f"shard-{s:05d}.parquet"
            storage.write_table(schemas.from_rows(rows, "samples"), path, "samples")
            paths.append(path)

        t0 = time.perf_counter()
        full = sum(storage.read_table(p, "samples").num_rows for p in paths)
        t_full = time.perf_counter() - t0
        t0 = time.perf_counter()
        probed = sum(storage.probe(p, "samples") for p in paths)
        t_probe = time.perf_counter() - t0
    assert full == probed == args.shards * args.rows
    print(f"{args.shards} shards x {args.rows} rows")
    print(f"full read + validate: {t_full:.3f} s")
    print(f"footer probe:         {t_probe:.3f} s")
    print(f"speed-up: {t_full / t_probe:.1f}x")
    record("resume_scan", command_line("resume_scan"),
           f"{t_full / t_probe:.1f}x ({args.shards} shards x {args.rows} rows: full read + validate "
           f"{t_full:.3f} s, footer probe {t_probe:.3f} s); row counts agree: {full} = {probed}",
           load_before, os.getloadavg(), no_record=args.no_record)


if __name__ == "__main__":
    main()
