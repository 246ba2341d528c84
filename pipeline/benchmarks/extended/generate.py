"""Generate, hash and cache the extended test suite of HumanEval (EvalPlus-style).

Role: `pipeline.benchmarks.humaneval_plus` asks `suite(...)` for the extended inputs of its
problems. For each task a confined child (`pipeline.benchmarks.extended.child`: rlimits on CPU and memory,
PYTHONHASHSEED=0, a CPU-time limit per input) mutates HumanEval's base inputs with EvalPlus's
`TypedMutGen`, keeps inputs where EvalPlus's contract holds and HumanEval's canonical solution
agrees with EvalPlus's reference, and returns at most `cap` of them with the reference's
outputs. The same seed gives the same suite: a fixed number of attempts per task (no
wall-clock stop), a per-task seed derived from the run's, and a fixed hash seed in the child.

The suite is cached on disk by its parameters (`$BUDGET_REALLOC_CACHE` or
~/.cache/budget-realloc, subdirectory plus/) and identified by `digest`, a sha256 of the
generator's parameters and version and of every input and output; the run directory keeps its
own copy (`humaneval_plus.run_files`).
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from pipeline.benchmarks.base import DataError
from pipeline.benchmarks.extended import child
from pipeline.benchmarks.extended.contracts import Contract

#: 50 extended inputs per task: about 5x HumanEval's own (1,577 inputs, 9.6 per task), which is
#: enough to catch most wrong passes while keeping the extension's sandbox time per passing
#: sample within a few times the base tests' (docs/REPRODUCTION.md measures it).
CAP = 50
ATTEMPTS = 2000  # mutation attempts per task before it settles for fewer than CAP inputs
CPU_S = 0.5  # CPU seconds the contract/reference/canonical may take on one input
TASK_CPU_S = 120  # RLIMIT_CPU of one task's child
TASK_WALL_S = 600
TASK_MEMORY = 4 << 30


@dataclass(frozen=True)
class TaskTests:
    """One task's extended tests: argument tuples and expected outputs as Python source."""

    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    atol: float  # the tolerance the check applies to floats (EvalPlus's; 1e-6 by default)
    counts: dict = field(default_factory=dict)  # attempts, and inputs dropped by reason


@dataclass(frozen=True)
class Suite:
    """The extended tests of a set of tasks, with what made them."""

    tasks: dict[str, TaskTests]
    generator: dict  # name, evalplus version, seed, cap, attempts, cpu_s, contracts sha256
    digest: str
    seconds: float = 0.0  # generation time (0 when read from the cache)

    def to_json(self) -> str:
        return json.dumps({"generator": self.generator, "digest": self.digest,
                           "seconds": self.seconds,
                           "tasks": {t: {"inputs": list(v.inputs), "outputs": list(v.outputs),
                                         "atol": v.atol, "counts": v.counts}
                                     for t, v in self.tasks.items()}}, indent=1, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "Suite":
        d = json.loads(text)
        tasks = {t: TaskTests(tuple(v["inputs"]), tuple(v["outputs"]), v["atol"], v["counts"])
                 for t, v in d["tasks"].items()}
        suite = cls(tasks, d["generator"], d["digest"], d.get("seconds", 0.0))
        if digest(suite.generator, tasks) != suite.digest:
            raise DataError("extended test suite: its digest does not match its content")
        return suite


def evalplus_version() -> str:
    try:
        return metadata.version("evalplus")
    except metadata.PackageNotFoundError:
        raise DataError("the extended tests need EvalPlus's generator: pip install --no-deps "
                        "evalplus==0.3.1 multipledispatch==1.0.0 (pinned in "
                        "requirements/cpu.lock)") from None


def digest(generator: dict, tasks: dict[str, TaskTests]) -> str:
    body = {"generator": generator,
            "tasks": {t: [list(v.inputs), list(v.outputs), v.atol] for t, v in tasks.items()}}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def task_seed(seed: int, task_id: str) -> int:
    return int(hashlib.sha256(f"{seed}:{task_id}".encode()).hexdigest()[:8], 16)


def _limits() -> None:  # in the child, before exec
    resource.setrlimit(resource.RLIMIT_CPU, (TASK_CPU_S, TASK_CPU_S + 5))
    resource.setrlimit(resource.RLIMIT_AS, (TASK_MEMORY, TASK_MEMORY))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def run_task(problem: dict, contract: Contract, *, seed: int, cap: int, attempts: int,
             cpu_s: float = CPU_S) -> TaskTests:
    """One task's extended tests, from a confined child process."""
    job = {"seed": task_seed(seed, problem["task_id"]), "entry_point": problem["entry_point"],
           "prompt": problem["prompt"], "contract": contract.contract,
           "reference": contract.reference, "canonical": problem["reference"],
           "base_inputs": contract.base_inputs, "atol": contract.atol or 1e-6,
           "cpu_s": cpu_s, "cap": cap, "attempts": attempts}
    # A clean environment but for the hash seed: the order of EvalPlus's ingredient sets (and
    # so the mutants) follows it. Not `-I`: it implies -E, which ignores PYTHONHASHSEED.
    env = {"PYTHONHASHSEED": "0", "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    try:
        proc = subprocess.run([sys.executable, "-s", "-P", child.__file__], input=json.dumps(job),
                              capture_output=True, text=True, timeout=TASK_WALL_S, env=env,
                              preexec_fn=_limits, cwd="/tmp")
    except subprocess.TimeoutExpired:
        raise DataError(f"{problem['task_id']}: extended-test generation ran past "
                        f"{TASK_WALL_S} s") from None
    if proc.returncode != 0:
        tail = (proc.stderr or "").strip().splitlines()[-1:] or ["no message"]
        raise DataError(f"{problem['task_id']}: extended-test generation failed "
                        f"(exit {proc.returncode}): {tail[0]}")
    out = json.loads(proc.stdout)
    return TaskTests(tuple(out["inputs"]), tuple(out["outputs"]), contract.atol or 1e-6,
                     out["counts"])


def generate(problems: list[dict], contracts: dict[str, Contract], contracts_sha256: str, *,
             seed: int = 0, cap: int = CAP, attempts: int = ATTEMPTS,
             workers: int | None = None) -> Suite:
    """The suite for `problems` (HumanEval rows: task_id, prompt, entry_point, reference)."""
    generator = {"name": "evalplus.gen.type_mut.TypedMutGen", "evalplus": evalplus_version(),
                 "seed": seed, "cap": cap, "attempts": attempts, "cpu_s": CPU_S,
                 "contracts_sha256": contracts_sha256}
    missing = [p["task_id"] for p in problems if p["task_id"] not in contracts]
    if missing:
        raise DataError(f"no EvalPlus contract for {missing[:5]}")
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=workers or os.cpu_count() or 1) as pool:
        done = list(pool.map(lambda p: run_task(p, contracts[p["task_id"]], seed=seed, cap=cap,
                                                attempts=attempts), problems))
    tasks = {p["task_id"]: t for p, t in zip(problems, done)}
    return Suite(tasks, generator, digest(generator, tasks), time.monotonic() - started)


def cache_dir() -> Path:
    root = os.environ.get("BUDGET_REALLOC_CACHE") or Path.home() / ".cache" / "budget-realloc"
    return Path(root) / "plus"


def cached(problems: list[dict], contracts: dict[str, Contract], contracts_sha256: str, *,
           seed: int = 0, cap: int = CAP, attempts: int = ATTEMPTS) -> Suite:
    """`generate`, read from the cache when the same parameters, tasks and generator version
    made it before (the cache file is rewritten atomically)."""
    params = {"seed": seed, "cap": cap, "attempts": attempts, "cpu_s": CPU_S,
              "evalplus": evalplus_version(), "contracts": contracts_sha256,
              "problems": hashlib.sha256(json.dumps(
                  [[p["task_id"], p["prompt"], p["reference"]] for p in problems]).encode()
              ).hexdigest(), "child": hashlib.sha256(Path(child.__file__).read_bytes()).hexdigest()}
    name = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:20]
    path = cache_dir() / f"{name}.json"
    if path.exists():
        try:
            return Suite.from_json(path.read_text())
        except (ValueError, KeyError, DataError):
            pass  # a damaged cache file is regenerated
    suite = generate(problems, contracts, contracts_sha256, seed=seed, cap=cap, attempts=attempts)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    tmp.write_text(suite.to_json())
    os.replace(tmp, path)
    return suite
