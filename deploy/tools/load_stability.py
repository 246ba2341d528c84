"""Load stability of verdicts: the 16,400 CodeGen-16B samples judged idle, with the CPUs
oversubscribed, and under memory pressure; the verdicts compared.

Role: a measurement (docs/reliability.md quotes its output). `run` imports the CodeT
CodeGen-16B generations into a fresh run directory with `configs/reproduce-codegen16b.yaml`
(the `reproduce` target's first run: bwrap, 2 sandbox workers, dedup on; only the output
directory and the reduce's bootstrap count differ) and runs it in process, while a bounded
load runs beside it:

- `idle`: nothing;
- `cpu2x` / `cpu4x`: 2x / 4x as many busy-loop processes as cores (`timeout` bounds each);
- `mem`: one process holding most of the available memory (all of it but --mem-spare-gib,
  at most --mem-gib), touched page by page, bounded by `timeout`.

The load starts before the run and is killed (by pid) when the run ends. `compare A B ...`
reads the verdicts of run directories and prints, for each against the first, how many
verdicts changed per status and each changed sample with both details.

    .venv/bin/python deploy/tools/load_stability.py run --condition cpu4x --out /tmp/load
    .venv/bin/python deploy/tools/load_stability.py compare /tmp/load/idle /tmp/load/cpu2x ...

Run each `run` on an otherwise quiet machine (e.g. `/work/tools/measure i28 ...`); it prints
the 1-minute load average before, during (at the end) and after.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
DATA = Path(os.environ.get("BUDGET_REALLOC_SHARED_DATA", REPO.parent / "shared" / "data"))
GENERATIONS = DATA / "generations" / (
    "codet_HumanEval_codegen16B_temp0.8_topp0.95_num100_max300_code_solution.jsonl")
CONFIG = REPO / "configs" / "reproduce-codegen16b.yaml"
BOUND_S = 900  # every load process ends by itself after this long


def load1() -> float:
    return os.getloadavg()[0]


def available_gib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) / (1 << 20)
    raise RuntimeError("no MemAvailable in /proc/meminfo")


def start_load(condition: str, mem_gib: float, spare_gib: float) -> tuple[list[subprocess.Popen], str]:
    cores = os.cpu_count() or 1
    if condition == "idle":
        return [], "none"
    if condition in ("cpu2x", "cpu4x"):
        n = cores * int(condition[3])
        procs = [subprocess.Popen(["timeout", str(BOUND_S), sys.executable, "-c", "while True: pass"])
                 for _ in range(n)]
        return procs, f"{n} busy loops on {cores} cores"
    if condition == "mem":
        gib = max(1.0, min(mem_gib, available_gib() - spare_gib))
        code = ("import sys, time\nn = int(float(sys.argv[1]) * (1 << 30))\nb = bytearray(n)\n"
                "for i in range(0, n, 4096):\n    b[i] = 1\nprint('held', flush=True)\n"
                "time.sleep(10**6)\n")
        proc = subprocess.Popen(["timeout", str(BOUND_S), sys.executable, "-c", code, str(gib)],
                                stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None and proc.stdout.readline().strip() == "held", "hog failed"
        return [proc], f"{gib:.1f} GiB held (available after: {available_gib():.1f} GiB)"
    raise SystemExit(f"unknown condition {condition!r}")


def stop_load(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)  # timeout passes it on to its child
    for p in procs:
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def run(args) -> None:
    out = Path(args.out) / args.condition
    if out.exists():
        raise SystemExit(f"{out} exists: give another --out or remove it")
    out.mkdir(parents=True)
    cfg = yaml.safe_load(CONFIG.read_text())
    cfg["output_dir"] = str(out / "run")
    cfg["reduce"] = {**cfg.get("reduce", {}), "n_boot": 100}
    (out / "config.yaml").write_text(yaml.safe_dump(cfg))
    before = load1()
    procs, what = start_load(args.condition, args.mem_gib, args.mem_spare_gib)
    time.sleep(5 if procs else 0)  # let the load settle
    started = time.monotonic()
    try:
        r = subprocess.run(
            [sys.executable, "-m", "pipeline", "run", str(out / "config.yaml"), "--from-samples",
             str(GENERATIONS), "--prompts", "file", "--in-process", "--no-progress"],
            cwd=REPO, capture_output=True, text=True, timeout=BOUND_S)
        during = load1()
    finally:
        stop_load(procs)
    seconds = time.monotonic() - started
    print(f"condition {args.condition}: load {what}; run {seconds:.0f} s, exit {r.returncode}; "
          f"1-min load average before {before:.2f}, at the end {during:.2f}, after {load1():.2f}")
    if r.returncode:
        print(r.stdout[-2000:], r.stderr[-2000:])
        raise SystemExit(1)


def verdicts(root: str):
    import pandas as pd

    files = sorted(Path(root, "run", "verdicts").rglob("*.parquet"))
    if not files:
        raise SystemExit(f"{root}: no verdicts (run it first)")
    table = pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
    return table.set_index(["task_id", "sample_idx"]).sort_index()


def compare(args) -> int:
    base = verdicts(args.dirs[0])
    print(f"{args.dirs[0]}: {len(base)} verdicts: "
          + ", ".join(f"{k} {v}" for k, v in base.status.value_counts().sort_index().items()))
    changed_any = 0
    for other_dir in args.dirs[1:]:
        other = verdicts(other_dir)
        assert other.index.equals(base.index), f"{other_dir}: not the same samples"
        changed = base.status != other.status
        changed_any += int(changed.sum())
        by = (base[changed].status + " -> " + other[changed].status).value_counts()
        print(f"{other_dir}: {int(changed.sum())} of {len(base)} verdicts changed"
              + "".join(f"; {k}: {v}" for k, v in by.items()))
        for key in base.index[changed]:
            print(f"  {key[0]} #{key[1]}: {base.status[key]} ({base.detail[key][:80]!r}) -> "
                  f"{other.status[key]} ({other.detail[key][:80]!r})")
    return 1 if changed_any else 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--condition", required=True, choices=["idle", "cpu2x", "cpu4x", "mem"])
    r.add_argument("--out", required=True, help="base directory; the run goes to OUT/CONDITION")
    r.add_argument("--mem-gib", type=float, default=18.0, help="mem: at most this many GiB")
    r.add_argument("--mem-spare-gib", type=float, default=2.0,
                   help="mem: leave this much of the available memory free")
    c = sub.add_parser("compare")
    c.add_argument("dirs", nargs="+", help="OUT/CONDITION directories; the first is the baseline")
    args = ap.parse_args()
    if args.cmd == "run":
        run(args)
        return 0
    return compare(args)


if __name__ == "__main__":
    sys.exit(main())
