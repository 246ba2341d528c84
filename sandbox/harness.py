"""Per-benchmark harnesses: turn a problem row and a completion into a sandbox job.

Role in the pipeline: `sandbox.executor` calls `prepare(problem, completion)` for every sample;
the result's `key` is the dedup key (identical programs of one problem run once) and its `job`
goes to a worker. The program that runs is:

* function (HumanEval): prompt + completion; the judge runs the problem's `check` on a stub
  of `entry_point` (helpers the test needs, e.g. `poly`, come from the prompt, run by the judge).
* assert (MBPP): completion + test_setup; the judge runs each assert on stubs of the
  program's functions (so each assert is counted).
* stdin (APPS): the completion wrapped as the APPS reference `testing_util` does (imports kept
  at top level, the rest indented into `def code():`), after its import header; run once per
  test case with the input on stdin.
* call (APPS): header + completion; `Solution().<fn_name>` when the code has `class Solution`,
  else the module's `<fn_name>`; called once per test case.

Completions are cut with the problem's stop sequences (`truncate`, here, used by the
benchmarks and importers too) before anything else.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass

from sandbox.config import SandboxConfig
from sandbox.forkserver import Job

KINDS = ("function", "assert", "stdin", "call")

#: The import header of the APPS reference harness (numpy only where it is installed).
APPS_HEADER = (
    "import sys\nimport time\nimport itertools\n"
    "from itertools import accumulate, product, permutations, combinations\n"
    "import collections\n"
    "from collections import Counter, OrderedDict, deque, defaultdict, ChainMap\n"
    "from functools import lru_cache\nimport math\n"
    "from math import sqrt, sin, cos, tan, ceil, fabs, floor, gcd, exp, log, log2\n"
    "import fractions\nfrom typing import List, Tuple\n"
    "try:\n    import numpy as np\nexcept ImportError:\n    pass\n"
    "import random\nimport heapq\nfrom heapq import *\n"
)


class HarnessError(ValueError):
    """A problem row cannot be judged (unknown io_kind, malformed tests); names the task."""


@dataclass(frozen=True)
class Prepared:
    key: str  # dedup key: benchmark, task and a hash of the normalised program
    job: Job


_WHILE = re.compile(r"^[ \t]*while\b", re.MULTILINE)
#: packages that take a good part of a second to import, in any harness
_SLOW_IMPORTS = re.compile(r"^[ \t]*(?:import|from)[ \t]+(?:pandas|matplotlib|scipy|sklearn)\b",
                           re.MULTILINE)


def may_run_long(code: str) -> bool:
    """Whether a completion may take far longer than most: it has a `while` loop (the loop
    no iterable bounds: both samples of the 656 in bench/sandbox_throughput.py that run to
    their limit have one, as do 21 others) or imports pandas, matplotlib, scipy or sklearn.
    Only a scheduling hint: such jobs start first, so that a batch does not end waiting for
    one that started last."""
    return bool(_WHILE.search(code) or _SLOW_IMPORTS.search(code))


def normalise(code: str) -> str:
    """Whitespace normalisation for dedup: unify line ends, drop trailing spaces and blank
    lines at the end. Indentation (meaningful in Python) is kept."""
    lines = code.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "\n".join(line.rstrip() for line in lines).rstrip("\n") + "\n"


def truncate(completion: str, stop: list[str] | tuple[str, ...]) -> str:
    """Cut `completion` at the earliest occurrence of any stop sequence (idempotent)."""
    cut = len(completion)
    for s in stop:
        if s:
            i = completion.find(s)
            if i != -1 and i < cut:
                cut = i
    return completion[:cut]


def wrap_stdin(code: str) -> str:
    """The APPS reference wrapping of a standard-input program into `def code():`."""
    out = []
    for x in code.split("\n"):
        if not x.startswith("from ") and not x.startswith("import "):
            out.append("\t" + x + "\n")
        else:
            out.append(x + "\n")
    wrapped = ""
    started = False
    for line in out:
        if line.startswith("\t") and not started:
            wrapped += "stdin = sys.stdin\nstdout = sys.stdout\n"
            wrapped += "def code():\n"
            wrapped += line
            started = True
        elif started and (line.startswith("from ") or line.startswith("import ")):
            wrapped += "\t" + line
        else:
            wrapped += line
    return wrapped


def _apps_tests(problem: dict) -> dict:
    try:
        io = json.loads(problem["tests"])
        inputs, outputs = io["inputs"], io["outputs"]
    except (ValueError, KeyError, TypeError):
        raise HarnessError(
            f"{problem['task_id']}: tests must be the APPS input_output JSON with 'inputs' and "
            "'outputs'; rebuild the problems table with pipeline.benchmarks.apps.load"
        ) from None
    if len(inputs) != len(outputs):
        raise HarnessError(f"{problem['task_id']}: {len(inputs)} inputs but {len(outputs)} outputs")
    return io


def prepare(problem: dict, completion: str, config: SandboxConfig,
            timeout_s: float | None = None) -> Prepared:
    """The dedup key and the job for one completion of `problem` (a `problems` row).
    `timeout_s`: this problem's CPU limit where calibrated (default: config.timeout_s); the
    wall-clock and blocked-time limits scale with it."""
    kind = problem.get("io_kind")
    if kind not in KINDS:
        raise HarnessError(
            f"{problem.get('task_id')}: io_kind {kind!r} is not one of {KINDS}"
        )
    code = normalise(truncate(completion, list(problem.get("stop") or [])))
    digest = hashlib.sha256(code.encode()).hexdigest()
    key = f"{problem['benchmark']}\x00{problem['task_id']}\x00{digest}"
    timeout = timeout_s or config.timeout_s
    wall = timeout * config.wall_timeout_factor
    blocked = timeout * config.blocked_timeout_factor
    if kind == "function":
        head = {"kind": kind, "program": problem["prompt"] + code, "timeout_s": timeout,
                "wall_s": wall, "blocked_s": blocked}
        tests = {"prompt": problem["prompt"], "test": problem["tests"],
                 "entry_point": problem["entry_point"]}
        budget = wall
    elif kind == "assert":
        setup = problem.get("test_setup") or ""
        program = code + ("\n" + setup.replace("\r\n", "\n") + "\n" if setup.strip() else "")
        asserts = [t for t in problem["tests"].replace("\r\n", "\n").split("\n") if t.strip()]
        head = {"kind": kind, "program": program, "timeout_s": timeout, "wall_s": wall,
                "blocked_s": blocked, "module_name": "__main__"}
        tests = {"asserts": asserts}
        budget = wall
    else:
        io = _apps_tests(problem)
        per = config.apps_test_timeout_s
        if kind == "stdin":
            program = APPS_HEADER + wrap_stdin(code)
        else:
            program = APPS_HEADER + code
        head = {"kind": kind, "program": program, "inputs": io["inputs"],
                "entry": problem.get("entry_point") or io.get("fn_name"),
                "solution_text": code, "timeout_s": timeout, "test_timeout_s": per,
                "test_wall_s": per * config.wall_timeout_factor,
                "test_blocked_s": per * config.blocked_timeout_factor}
        tests = {"outputs": io["outputs"]}
        budget = per * config.wall_timeout_factor * len(io["inputs"]) + max(10.0, timeout)
    if kind == "function" and not problem.get("entry_point"):
        raise HarnessError(f"{problem['task_id']}: a function problem needs entry_point")
    return Prepared(key=key, job=Job(head=head, tests=tests, budget_s=budget + 5,
                                     may_run_long=may_run_long(code)))


def prepare_probes(problem: dict, completion: str, probe_set: str, probes: list[dict],
                   config: SandboxConfig, probe_timeout_s: float) -> Prepared:
    """The dedup key and the probe job for one completion of `problem`: the program as the
    execute stage builds it (prompt + completion for HumanEval, completion + setup for MBPP),
    with no hidden tests, then `probes` (dicts with kind "expr" | "assert", code, expected;
    see `pipeline.benchmarks.probes`) run in order with `probe_timeout_s` CPU seconds each.
    The key is the execute stage's key plus the probe set. APPS probes (stdin / call) are not
    run yet: they raise HarnessError."""
    kind = problem.get("io_kind")
    if kind == "stdin":
        return _prepare_stdin_probes(problem, completion, probe_set, probes, config,
                                     probe_timeout_s)
    if kind not in ("function", "assert"):
        raise HarnessError(
            f"{problem.get('task_id')}: probes run on function, assert and stdin problems; "
            f"io_kind {kind!r} (APPS call-based) is not supported by the probe job yet"
        )
    bad = [p for p in probes if p.get("kind") not in ("expr", "assert")]
    if bad:
        raise HarnessError(f"{problem.get('task_id')}: probe kind {bad[0].get('kind')!r} "
                           "is not one of 'expr', 'assert'")
    base = prepare(problem, completion, config)
    timeout = config.timeout_s
    head = {"kind": "probe", "program": base.job.head["program"],
            "module_name": base.job.head.get("module_name"),
            "probes": [{"kind": p["kind"], "code": p["code"], "expected": p.get("expected")}
                       for p in probes],
            "timeout_s": timeout, "wall_s": timeout * config.wall_timeout_factor,
            "blocked_s": timeout * config.blocked_timeout_factor,
            "probe_timeout_s": probe_timeout_s,
            "probe_wall_s": probe_timeout_s * config.wall_timeout_factor,
            "probe_blocked_s": probe_timeout_s * config.blocked_timeout_factor}
    budget = head["wall_s"] + len(probes) * (head["probe_wall_s"] + head["wall_s"])
    return Prepared(key=f"{base.key}\x00{probe_set}", job=Job(
        head=head, tests={}, budget_s=budget + 5, may_run_long=base.job.may_run_long))


def _prepare_stdin_probes(problem, completion, probe_set, probes, config, probe_timeout_s):
    """An APPS standard-input program on the statement's sample inputs (probe kind "stdin":
    `code` is the input text, `expected` the shown output): a fresh sandboxed process per
    input, as the execute stage runs its tests, with `probe_timeout_s` CPU seconds each."""
    bad = [p for p in probes if p.get("kind") != "stdin"]
    if bad:
        raise HarnessError(f"{problem.get('task_id')}: a stdin problem takes probes of kind "
                           f"'stdin', not {bad[0].get('kind')!r}")
    base = prepare(problem, completion, config)  # the execute stage's program and key
    head = {"kind": "probe_stdin", "program": base.job.head["program"],
            "probes": [{"kind": "stdin", "code": p["code"], "expected": p.get("expected")}
                       for p in probes],
            "probe_timeout_s": probe_timeout_s,
            "probe_wall_s": probe_timeout_s * config.wall_timeout_factor,
            "probe_blocked_s": probe_timeout_s * config.blocked_timeout_factor}
    budget = len(probes) * head["probe_wall_s"] + 5.0
    return Prepared(key=f"{base.key}\x00{probe_set}", job=Job(
        head=head, tests={}, budget_s=budget + 5, may_run_long=base.job.may_run_long))
