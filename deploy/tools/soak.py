"""Soak: 100,000 samples through the execute stage in one run, watched for drift and leaks.

Role: a measurement (docs/reliability.md quotes its output). The CodeGen-16B HumanEval
generations (16,400 samples) are imported as several models into one run directory, the same
file each time (by default 8 models x the first 125 tasks x 100 samples: 100,000 samples),
with the sandbox's dedup off, so every sample runs: bwrap, 2 workers, as in
`configs/reproduce-codegen16b.yaml`. The run is `pipeline run --in-process` (the driver and
its sandbox workers in one process tree, no Ray). Every --every seconds it records the verdict
rows landed, the driver's resident memory and open file descriptors, and the resident memory of
each sandbox worker (the fork-server processes inside bwrap). At the end it prints throughput
per minute, memory over time, and what is left: processes of the run's session, and new
entries in /tmp and /dev/shm.

    .venv/bin/python deploy/tools/soak.py --out /tmp/soak [--copies 8] [--tasks 125] [--every 10]
        [--time-limit-factor 0] [--trace-memory]

With the default limits (5 CPU s per sample) the CodeGen-16B samples that loop take most of the
stage's time: each of the 0.3 % that time out holds a worker for 5 s. `--time-limit-factor 4`
calibrates the limits as `bench/sandbox_throughput.py` does (1 s floor). `--trace-memory` runs
the driver with tracemalloc and logs, every minute, the Python allocations that grew most since
the first minute, pyarrow's pool and the C heap (RUN/../memory.log): for finding what grows.

Run it on an otherwise quiet machine (e.g. `/work/tools/measure i28 ...`); every process it
starts ends by itself (the run is bounded by --limit-s).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
from bench import proctree  # noqa: E402

DATA = Path(os.environ.get("BUDGET_REALLOC_SHARED_DATA", REPO.parent / "shared" / "data"))
GENERATIONS = DATA / "generations" / (
    "codet_HumanEval_codegen16B_temp0.8_topp0.95_num100_max300_code_solution.jsonl")


def proc_tree() -> dict[int, tuple[int, str]]:
    """pid -> (ppid, command line) for every process."""
    return {pid: (ppid, proctree.cmdline(pid)) for pid, ppid in proctree.ppids().items()}


def under(root: int, tree) -> list[int]:
    return proctree.descendants(root, {pid: ppid for pid, (ppid, _) in tree.items()})


def rss_mib(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def fds(pid: int) -> int | None:
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return None


def session_procs(sid: int) -> list[str]:
    left = []
    for pid, (_, cmd) in proc_tree().items():
        try:
            if os.getsid(pid) == sid:
                left.append(f"{pid} {cmd[:80]}")
        except OSError:
            pass
    return left


def tmp_entries() -> set[str]:
    out = set()
    for d in ("/tmp", "/dev/shm", os.environ.get("TMPDIR", "/tmp")):
        try:
            out |= {os.path.join(d, n) for n in os.listdir(d)}
        except OSError:
            pass
    return out


def rows_landed(run: Path) -> int:
    import pyarrow.parquet as pq

    total = 0
    for f in (run / "verdicts").rglob("*.parquet") if (run / "verdicts").exists() else []:
        try:
            total += pq.ParquetFile(f).metadata.num_rows
        except Exception:  # noqa: BLE001  (a file being renamed into place)
            pass
    return total


#: Loaded into the driver by `--trace-memory` (as sitecustomize.py): a daemon thread that
#: writes, every minute, what grew since the first minute.
TRACER = r"""
import ctypes, gc, os, sys, threading, time, tracemalloc

def _trace(path, every):
    tracemalloc.start(8)
    time.sleep(every)
    first = tracemalloc.take_snapshot()
    libc = ctypes.CDLL("libc.so.6")
    while True:
        time.sleep(every)
        snap = tracemalloc.take_snapshot()
        pa = sys.modules.get("pyarrow")
        with open(path, "a") as f:
            cur, peak = tracemalloc.get_traced_memory()
            f.write(f"--- pid {os.getpid()} t={time.monotonic():.0f} traced {cur / 2**20:.1f} MiB "
                    f"(peak {peak / 2**20:.1f}), gc objects {len(gc.get_objects())}, "
                    f"pyarrow pool {pa.total_allocated_bytes() / 2**20 if pa else 0:.1f} MiB "
                    f"({pa.default_memory_pool().backend_name if pa else '-'})\n")
            for st in snap.compare_to(first, "traceback")[:6]:
                f.write(f"{st.size_diff / 2**20:+.2f} MiB {st.count_diff:+d} blocks\n")
                f.write("".join("    " + line + "\n" for line in st.traceback.format()[-8:]))
            m = libc.mallinfo2  # C heap: arena + mmapped bytes, in use vs free
            m.restype = type("MI", (ctypes.Structure,), {"_fields_": [
                (n, ctypes.c_size_t) for n in ("arena", "ordblks", "smblks", "hblks", "hblkhd",
                                                "usmblks", "fsmblks", "uordblks", "fordblks",
                                                "keepcost")]})
            mi = m()
            f.write(f"C heap: arena {mi.arena / 2**20:.1f} MiB, mmapped {mi.hblkhd / 2**20:.1f}, "
                    f"in use {mi.uordblks / 2**20:.1f}, free {mi.fordblks / 2**20:.1f}\n")

if os.environ.get("SOAK_MEMORY_LOG"):  # only the driver: the sandbox starts with env -i
    threading.Thread(target=_trace, args=(os.environ["SOAK_MEMORY_LOG"], 60.0),
                     daemon=True).start()
"""


def prepare(out: Path, copies: int, tasks: int, factor: float) -> Path:
    from pipeline import config as config_mod
    from pipeline.run import importers

    models = [{"name": f"copy{i}", "path": "imported", "cost": {"seconds_per_sample": 1.0}}
              for i in range(copies)]
    bench = {"name": "humaneval", "n": 100, "temperature": 0.8, "top_p": 0.95,
             "max_new_tokens": 300, "subset": {"limit": tasks}}
    cfg = {"run_id": "soak", "output_dir": str(out / "run"), "seed": 0, "models": models,
           "benchmarks": [bench], "sandbox": {"backend": "bwrap", "workers": 2, "dedup": False,
                       "time_limit_factor": factor},
           "shard_size": 41, "reduce": {"n_boot": 20, "k_range": "full"}}
    path = out / "config.yaml"
    path.write_text(yaml.safe_dump(cfg))
    parsed = config_mod.parse(cfg)
    for m in models:
        importers.import_to_run(parsed, GENERATIONS, model=m["name"], prompts="file")
    return path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--copies", type=int, default=8, help="models importing the same file")
    ap.add_argument("--tasks", type=int, default=125, help="first N HumanEval tasks (x100 samples)")
    ap.add_argument("--every", type=float, default=10.0)
    ap.add_argument("--limit-s", type=int, default=1800)
    ap.add_argument("--time-limit-factor", type=float, default=0.0,
                    help="sandbox.time_limit_factor (0: the fixed 5 CPU s limit)")
    ap.add_argument("--trace-memory", action="store_true",
                    help="tracemalloc in the driver; OUT/memory.log")
    args = ap.parse_args()
    out = Path(args.out)
    if out.exists():
        raise SystemExit(f"{out} exists")
    out.mkdir(parents=True)
    t0 = time.monotonic()
    args.samples = args.copies * args.tasks * 100
    cfg = prepare(out, args.copies, args.tasks, args.time_limit_factor)
    env = dict(os.environ)
    if args.trace_memory:
        (out / "trace").mkdir()
        (out / "trace" / "sitecustomize.py").write_text(TRACER)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(out / "trace"),
                                                          env.get("PYTHONPATH")]))
        env["SOAK_MEMORY_LOG"] = str(out / "memory.log")
    print(f"imported {args.samples} samples in {time.monotonic() - t0:.0f} s; "
          f"1-min load average {os.getloadavg()[0]:.2f}", flush=True)

    tmp_before = tmp_entries()
    proc = subprocess.Popen(
        ["timeout", str(args.limit_s), sys.executable, "-m", "pipeline", "run", str(cfg),
         "--in-process", "--no-progress"], cwd=REPO, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, start_new_session=True)
    sid = proc.pid
    ticks = []  # (seconds, rows, driver rss, driver fds, {worker pid: rss})
    start = time.monotonic()
    while proc.poll() is None:
        time.sleep(args.every)
        tree = proc_tree()
        driver = next((p for p in under(proc.pid, tree) if " -m pipeline run" in tree[p][1]), None)
        if driver is None:
            continue
        # the fork-servers: the python whose parent is bwrap (`sandbox.backends.base`)
        workers = {p: rss_mib(p) for p in under(driver, tree)
                   if " -S -c " in tree[p][1] and "bwrap" not in tree[p][1].split(" ", 1)[0]
                   and "bwrap" in tree.get(tree[p][0], (0, ""))[1]}
        ticks.append((time.monotonic() - start, rows_landed(out / "run"), rss_mib(driver),
                      fds(driver), workers))
    output = proc.communicate()[0]
    seconds = time.monotonic() - start
    total = rows_landed(out / "run")
    time.sleep(2)
    left = session_procs(sid)
    tmp_new = sorted(tmp_entries() - tmp_before)

    print(f"run: exit {proc.returncode}, {seconds:.0f} s, {total} verdicts "
          f"({total / seconds:.0f}/s overall); 1-min load average at the end "
          f"{os.getloadavg()[0]:.2f}")
    if proc.returncode:
        print(output[-3000:])
    print("to-min  verdicts  per-s   driver-RSS-MiB  driver-fds  worker-RSS-MiB (pid:MiB)")
    last_rows, last_t, minute = 0, 0.0, 1
    for t, rows, drss, dfds, w in ticks:
        if t >= 60 * minute:
            print(f"{t / 60:6.1f}  {rows - last_rows:8d}  {(rows - last_rows) / (t - last_t):6.0f}   "
                  f"{drss or 0:14.0f}  {dfds or 0:10d}  "
                  + " ".join(f"{pid}:{r:.0f}" for pid, r in sorted(w.items()) if r is not None))
            last_rows, last_t, minute = rows, t, minute + 1
    print(f"{seconds / 60:6.1f}  {total - last_rows:8d}  {(total - last_rows) / (seconds - last_t):6.0f}"
          "   (to the end)")
    seen = {}
    for _, _, _, _, w in ticks:
        for pid, r in w.items():
            if r is not None:
                seen.setdefault(pid, []).append(r)
    for pid, series in sorted(seen.items()):
        half = len(series) // 2 or 1
        print(f"worker {pid}: RSS first {series[0]:.1f}, last {series[-1]:.1f}, max {max(series):.1f} MiB, "
              f"mean 1st half {sum(series[:half]) / half:.1f}, 2nd half "
              f"{sum(series[half:]) / max(1, len(series) - half):.1f} ({len(series)} samples)")
    drss = [x[2] for x in ticks if x[2] is not None]
    dfds = [x[3] for x in ticks if x[3] is not None]
    if drss:
        print(f"driver: RSS first {drss[0]:.0f}, last {drss[-1]:.0f}, max {max(drss):.0f} MiB; "
              f"fds first {dfds[0]}, last {dfds[-1]}, max {max(dfds)}")
    print(f"left after the run: {len(left)} processes of its session {left}; "
          f"{len(tmp_new)} new entries in /tmp and /dev/shm {tmp_new[:10]}")
    return 0 if proc.returncode == 0 and total == args.samples and not left else 1


if __name__ == "__main__":
    sys.exit(main())
