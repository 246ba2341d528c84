"""The sandbox stage: samples + problems in, one verdict per sample out.

Role in the pipeline: the run's execute actor (`pipeline.run.actors.ExecuteActor`) keeps an
`Executor` with warm fork-servers across shards; `execute(problems, samples, config)` is the
one-off form:

    with Executor(SandboxConfig()) as ex:
        verdicts = ex.execute(problems, samples)
        ex.stats  # samples, unique programs, dedup hit rate, seconds

Every completion is cut with its problem's stop sequences, normalised, and grouped: identical
programs of the same problem run once (also across calls on the same Executor) and the verdict
is fanned out (`cached=True`, `exec_ms=0` on the copies). Statuses: `pass`; `fail` (a test
failed, the program did not load, or it died); `timeout` (CPU, blocked-time or wall-clock
limit: the detail says which); `unjudgeable` (no test failed, but the sample answered with a
value only its own methods could compare: not a pass); `error` only when the sandbox itself
could not judge the program (the detail starts with "sandbox:"): retry those. With
`time_limit_factor` set, each problem's CPU limit is calibrated once from its reference
solution (`Executor._calibrate`), on the first sample of the problem that runs past the
floor (below it, the limit cannot change a verdict), and a timeout's detail names the limit
that applied.
"""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import asdict, dataclass, replace
from typing import Any

import pyarrow as pa

import schemas
from sandbox.config import SandboxConfig
from sandbox.harness import HarnessError, prepare, prepare_probes
from sandbox import backends
from sandbox.forkserver import ForkServer

__all__ = ["ExecutionStats", "Executor", "execute", "HarnessError"]


@dataclass
class ExecutionStats:
    """What one `execute` call did."""

    samples: int = 0
    unique_programs: int = 0  # distinct (problem, normalised program) in this call
    executed: int = 0  # programs actually run (unique minus those cached from earlier calls)
    dedup_hits: int = 0  # samples whose verdict was copied instead of run
    seconds: float = 0.0
    tests_run: int = 0  # test cases judged by the programs that ran

    @property
    def dedup_hit_rate(self) -> float:
        return self.dedup_hits / self.samples if self.samples else 0.0

    @property
    def samples_per_s(self) -> float:
        return self.samples / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict[str, float]:
        out: dict[str, Any] = asdict(self)
        out["dedup_hit_rate"] = self.dedup_hit_rate
        out["samples_per_s"] = self.samples_per_s
        return out


def _problem_index(problems: pa.Table) -> dict[tuple[str, str], dict]:
    problems = schemas.validate(problems, "problems", where="problems given to the sandbox")
    return {(r["benchmark"], r["task_id"]): r for r in problems.to_pylist()}


class Executor:
    """Warm fork-server workers; `execute` turns a samples table into a verdicts table."""

    def __init__(self, config: SandboxConfig | None = None, *, cache_size: int = 1_000_000):
        self.config = config or SandboxConfig()
        self.workers: list[ForkServer] = []
        self.stats = ExecutionStats()
        self._cache: dict[str, dict] = {}
        self._cache_size = cache_size
        self._limits: dict[tuple[str, str], tuple] = {}  # calibrated (limit, note) per task

    # -- lifecycle
    def start(self) -> "Executor":
        if self.workers:
            return self
        backends.for_config(self.config).check(self.config)
        workers = [ForkServer(self.config, i) for i in range(self.config.workers)]
        errors: list[BaseException] = []

        def boot(w: ForkServer) -> None:
            try:
                w.start()
            except BaseException as exc:  # noqa: BLE001
                errors.append(exc)

        threads = [threading.Thread(target=boot, args=(w,)) for w in workers]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            for w in workers:
                w.stop()
            raise errors[0]
        self.workers = workers
        return self

    def close(self) -> None:
        workers, self.workers = self.workers, []
        for w in workers:
            w.stop()

    def __enter__(self) -> "Executor":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:  # a forgotten Executor must not leave sandboxes running
        try:
            self.close()
        except Exception:  # noqa: BLE001
            pass

    # -- work
    def execute(self, problems: pa.Table, samples: pa.Table, *, progress: bool = False) -> pa.Table:
        """One verdict row per sample row (same key, same order), as a `verdicts` table."""
        t0 = time.monotonic()
        samples = schemas.validate(samples, "samples", where="samples given to the sandbox")
        index = _problem_index(problems)
        rows = samples.select(list(schemas.KEY) + ["completion"]).to_pylist()
        missing = sorted({(r["benchmark"], r["task_id"]) for r in rows} - set(index))
        if missing:
            shown = ", ".join(f"{b}:{t}" for b, t in missing[:5])
            raise ValueError(
                f"{len(missing)} sample task(s) have no row in the problems table ({shown}"
                f"{', ...' if len(missing) > 5 else ''}); pass the problems of every benchmark "
                "in the samples"
            )
        keys: list[str] = []
        todo: dict[str, Any] = {}
        origin: dict[str, tuple] = {}  # key -> (task, completion), for a rerun past the floor
        limits, pending = self._first_limits(index, {(r["benchmark"], r["task_id"]) for r in rows})
        for i, r in enumerate(rows):
            task = (r["benchmark"], r["task_id"])
            prep = prepare(index[task], r["completion"], self.config, limits.get(task, (None,))[0])
            key = prep.key if self.config.dedup else f"{prep.key}\x00{i}"
            keys.append(key)
            if key not in self._cache and key not in todo:
                todo[key] = prep.job
                if task in pending:
                    origin[key] = (task, r["completion"])
        unique = len(set(keys))
        results = self._run_all(todo, progress=progress)
        limits.update(self._past_the_floor(index, results, origin))
        out = []
        first_seen: set[str] = set()
        for r, key in zip(rows, keys):
            if key in results and key not in first_seen:
                v, cached = results[key], False
                first_seen.add(key)
            else:
                v, cached = results.get(key) or self._cache[key], True
            note = limits.get((r["benchmark"], r["task_id"]), (None, ""))[1]
            if v["status"] == "timeout" and note and note not in v["detail"]:
                v = dict(v, detail=f"{v['detail']}; {note}")
            out.append(
                {
                    **{k: r[k] for k in schemas.KEY},
                    "status": v["status"],
                    "tests_passed": int(v["passed"]),
                    "tests_total": int(v["total"]),
                    "detail": v["detail"],
                    "exec_ms": 0.0 if cached else float(v["exec_ms"]),
                    "cached": cached,
                }
            )
        if self.config.dedup:
            for key, v in results.items():
                if v["status"] != "error" and len(self._cache) < self._cache_size:
                    self._cache[key] = v
        self.stats = ExecutionStats(
            samples=len(rows),
            unique_programs=unique,
            executed=len(todo),
            dedup_hits=len(rows) - len(todo),
            seconds=time.monotonic() - t0,
            tests_run=sum(int(v["total"]) for v in results.values()),
        )
        if not rows:
            return schemas.empty("verdicts")
        return schemas.from_rows(out, "verdicts")

    def probe(self, problems: pa.Table, samples: pa.Table,
              probe_sets: dict[tuple[str, str], dict[str, list[dict]]], *,
              probe_timeout_s: float = 0.1) -> pa.Table:
        """One `probes` row per (sample, probe set) that `probe_sets[(benchmark, task_id)]`
        gives (set name -> probe dicts: kind "expr" | "assert", code, expected), as a `probes`
        table. Runs no hidden test: the program is the execute stage's, without its tests.
        Identical programs of a problem run once per probe set and are fanned out
        (`cached=True`, `exec_ms=0`); a result the sandbox could not produce (status `error`)
        raises RuntimeError naming the sample, so that the shard is retried."""
        t0 = time.monotonic()
        samples = schemas.validate(samples, "samples", where="samples given to the sandbox")
        index = _problem_index(problems)
        rows = samples.select(list(schemas.KEY) + ["completion"]).to_pylist()
        todo: dict[str, Any] = {}
        plan: list[tuple[dict, str, str]] = []
        for i, r in enumerate(rows):
            task = (r["benchmark"], r["task_id"])
            if task not in index:
                raise ValueError(f"sample {r['task_id']} ({r['benchmark']}) has no row in the "
                                 "problems table; pass the problems of every benchmark")
            for name, probes in (probe_sets.get(task) or {}).items():
                if name not in schemas.PROBE_SETS:
                    raise ValueError(f"probe set {name!r} is not one of {schemas.PROBE_SETS}")
                if not probes:
                    continue
                prep = prepare_probes(index[task], r["completion"], name, probes, self.config,
                                      probe_timeout_s)
                key = prep.key if self.config.dedup else f"{prep.key}\x00{i}"
                plan.append((r, name, key))
                if key not in todo:
                    todo[key] = prep.job
        results = self._run_all(todo, progress=False)
        broken = [(r, k) for r, _, k in plan if results[k].get("status") != "probed"]
        if broken:
            r, k = broken[0]
            raise RuntimeError(f"{len(broken)} probe job(s) could not run, e.g. {r['task_id']} "
                               f"sample {r['sample_idx']}: {results[k].get('detail')}")
        out, first_seen = [], set()
        for r, name, key in plan:
            v = results[key]
            cached = key in first_seen
            first_seen.add(key)
            out.append({**{k: r[k] for k in schemas.KEY}, "probe_set": name,
                        "outcomes": list(v["outcomes"]), "matches": list(v["matches"]),
                        "exec_ms": 0.0 if cached else float(v["exec_ms"]), "cached": cached})
        self.stats = ExecutionStats(samples=len(rows), unique_programs=len(todo),
                                    executed=len(todo), dedup_hits=len(plan) - len(todo),
                                    seconds=time.monotonic() - t0,
                                    tests_run=sum(len(v["outcomes"]) for v in results.values()))
        if not out:
            return schemas.empty("probes")
        return schemas.from_rows(out, "probes")

    def _first_limits(self, index: dict, tasks: set) -> tuple[dict, set]:
        """(limits, pending): the (CPU limit, note) each task's samples run with first, and
        the tasks not calibrated yet. Those run at the floor, which no calibrated limit is
        below: a sample that ends within it gets the verdict it would get under any larger
        limit, so a reference solution is timed only for a task where some sample ran out
        of the floor (`_past_the_floor`), and most tasks never need their reference run."""
        cfg = self.config
        if not cfg.time_limit_factor:
            return {}, set()
        limits, pending = {}, set()
        for task in tasks:
            p = index[task]
            if task in self._limits:
                limits[task] = self._limits[task]
            elif p.get("reference") and p.get("io_kind") in ("function", "assert"):
                pending.add(task)
                limits[task] = (min(cfg.time_limit_floor_s, cfg.timeout_s), "")
            else:
                self._limits[task] = limits[task] = (None, "")
        return limits, pending

    def _past_the_floor(self, index: dict, results: dict[str, dict],
                        origin: dict[str, tuple]) -> dict[tuple[str, str], tuple]:
        """Calibrate the tasks whose samples timed out at the floor, rerun those samples
        whose calibrated limit is larger (their results replaced in `results`), and return
        the calibrated (limit, note) of those tasks."""
        out = [k for k, v in results.items() if k in origin and v["status"] == "timeout"]
        if not out:
            return {}
        cfg = self.config
        limits = self._calibrate(index, {origin[k][0] for k in out})
        floor = min(cfg.time_limit_floor_s, cfg.timeout_s)
        again = {}
        for key in out:
            task, completion = origin[key]
            limit = limits[task][0] or cfg.timeout_s
            if limit > floor:
                again[key] = prepare(index[task], completion, cfg, limit).job
        results.update(self._run_all(again, progress=False))
        return limits

    def _calibrate(self, index: dict, tasks: set) -> dict[tuple[str, str], tuple]:
        """(CPU limit, note) per task: the calibrated limit where `time_limit_factor` is set and
        the task's reference solution passes here, else (None, "") (the configured limit)."""
        cfg = self.config
        if not cfg.time_limit_factor:
            return {}
        todo, owner = {}, {}
        for task in tasks - self._limits.keys():
            p = index[task]
            if p.get("reference") and p.get("io_kind") in ("function", "assert"):
                prep = prepare(p, p["reference"], cfg)
                # `reference` is a head field only the host sets: trusted code, no judge
                todo[prep.key] = replace(prep.job, head=dict(prep.job.head, reference=True))
                owner[prep.key] = task
            else:
                self._limits[task] = (None, "")
        for key, res in self._run_all(todo, progress=False).items():
            if res["status"] != "pass" or "cpu_s" not in res:
                self._limits[owner[key]] = (None, "")
                continue
            ref = float(res["cpu_s"])
            limit = min(cfg.timeout_s, max(cfg.time_limit_floor_s, cfg.time_limit_factor * ref))
            self._limits[owner[key]] = (limit, (
                f"limit {limit:.3g} CPU s calibrated: {cfg.time_limit_factor:g} x the reference's "
                f"{ref:.3g} s, floor {cfg.time_limit_floor_s:g} s, ceiling {cfg.timeout_s:g} s"))
        return {t: self._limits[t] for t in tasks}

    def _run_all(self, jobs: dict[str, Any], *, progress: bool) -> dict[str, dict]:
        if not jobs:
            return {}
        self.start()
        q: queue.Queue = queue.Queue()
        # Longest jobs first, and of equal budgets those that may run long (`Job.may_run_long`),
        # so that the tail is short.
        for key, job in sorted(jobs.items(), key=lambda kv: (-kv[1].budget_s,
                                                             not kv[1].may_run_long)):
            q.put((key, job))
        results: dict[str, dict] = {}
        lock = threading.Lock()
        bar = None
        if progress:
            from tqdm import tqdm

            bar = tqdm(total=len(jobs), desc="sandbox", unit="prog")

        def take() -> tuple[str, Any] | None:
            try:
                return q.get_nowait()
            except queue.Empty:
                return None

        def give(key: str, res: dict) -> None:
            with lock:
                results[key] = res
                if bar is not None:
                    bar.update(1)

        def drain(w: ForkServer) -> None:
            w.run_all(take, give)

        threads = [threading.Thread(target=drain, args=(w,)) for w in self.workers]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if bar is not None:
            bar.close()
        return results


def execute(
    problems: pa.Table, samples: pa.Table, config: SandboxConfig | None = None, *, progress: bool = False
) -> pa.Table:
    """Judge every sample once with fresh workers (see `Executor` to keep them warm)."""
    with Executor(config) as ex:
        return ex.execute(problems, samples, progress=progress)

