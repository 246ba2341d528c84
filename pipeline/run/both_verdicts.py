"""Both verdicts of every sample: on the base tests, and on the base tests plus the extension.

Role in the pipeline: the execute stage's actor calls `execute_both` instead of
`Executor.execute`. Samples whose problem carries `plus_tests` (humaneval+) and whose base
verdict is `pass` run a second ordinary `function` job on the same warm workers: the program
is the same (prompt + completion), the test code is the extension's `check`. The second job's
problem is the base row under the benchmark name `<benchmark>:plus`, so the executor's dedup
cache and its CPU-limit calibration (`time_limit_factor`: the reference solution is timed on
the extension itself) keep the two test sets apart. Nothing inside the sandbox changes.

`plus_status` is the extension's status where the base verdict passed, else the base status
(a sample that fails the base tests fails base + extended); `plus_detail` says which; both are
null for problems without extended tests.
"""

from __future__ import annotations

from dataclasses import replace

import pyarrow as pa
import pyarrow.compute as pc

import schemas

SUFFIX = ":plus"


def _plus_problems(problems: pa.Table) -> pa.Table | None:
    if "plus_tests" not in problems.column_names:
        return None
    rows = [dict(r, benchmark=r["benchmark"] + SUFFIX, tests=r["plus_tests"], plus_tests=None)
            for r in problems.to_pylist() if r.get("plus_tests")]
    return schemas.from_rows(rows, "problems") if rows else None


def execute_both(executor, problems: pa.Table, samples: pa.Table) -> pa.Table:
    """The verdicts table of `samples` (`executor.execute`'s), with `plus_status`,
    `plus_detail` and `plus_exec_ms` filled for samples of problems with extended tests.
    `executor.stats` afterwards covers both passes."""
    verdicts = executor.execute(problems, samples)
    plus = _plus_problems(problems)
    if plus is None or verdicts.num_rows == 0:
        return verdicts
    base_stats = executor.stats
    has_plus = {(r["benchmark"][: -len(SUFFIX)], r["task_id"])
                for r in plus.select(["benchmark", "task_id"]).to_pylist()}
    rows = verdicts.to_pylist()
    run = [i for i, v in enumerate(rows)
           if v["status"] == "pass" and (v["benchmark"], v["task_id"]) in has_plus]
    second = {}
    if run:
        picked = samples.take(pa.array(run, pa.int64()))
        picked = picked.set_column(picked.schema.get_field_index("benchmark"), "benchmark",
                                   pc.binary_join_element_wise(picked.column("benchmark"),
                                                               SUFFIX, ""))
        out = executor.execute(plus, picked.cast(samples.schema))
        second = dict(zip(run, out.to_pylist()))
        s = executor.stats
        executor.stats = replace(base_stats, executed=base_stats.executed + s.executed,
                                 seconds=base_stats.seconds + s.seconds,
                                 tests_run=base_stats.tests_run + s.tests_run)
    for i, v in enumerate(rows):
        if (v["benchmark"], v["task_id"]) not in has_plus:
            continue
        if i in second:
            p = second[i]
            v.update(plus_status=p["status"], plus_detail=p["detail"],
                     plus_exec_ms=p["exec_ms"])
        else:
            v.update(plus_status=v["status"], plus_exec_ms=0.0,
                     plus_detail=f"extension not run: base verdict {v['status']}")
    return schemas.from_rows(rows, "verdicts")
