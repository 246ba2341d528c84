"""Runs a config's stages: build problems, then stream shards generate -> (execute, score, probe).

Role in the pipeline: the driver. It plans the shards (`pipeline.run.shards`), walks the stage
table (`pipeline.run.stages`), starts actors (`pipeline.run.actors`) through the scheduler
(`pipeline.run.scheduler`: Ray, or this process) and records every shard in the manifest
(`pipeline.run.rundir`). Execution and scoring of a shard start as soon as its samples file
lands, while generation goes on elsewhere. Work already on disk is never redone: each stage's shard is done when its file
exists and reads back valid. A failed call is retried (a dead actor is replaced) up to
`ray.max_retries` times; then the shard is marked failed with its error and the run goes on.
A call that runs longer than `ray.hang_timeout_s` (counted from when its actor, once started,
got to it) is hung: the actor is killed and replaced, and the shard retried or failed with that reason.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from pipeline.config import ConfigError, RunConfig
from pipeline.run import actors, stages
from pipeline.run.faults import crash_point
from pipeline.run.problems import prepare_problems
from pipeline.run.rundir import Entry, RunDir
from pipeline.run.scheduler import ActorDied, CallFailed, InProcessScheduler, RayScheduler
from pipeline.run.shards import Shard, plan

MANIFEST_EVERY_S = 2.0
#: how long calls wait on an actor that is not up while one of its pool is up and idle before
#: they are moved (`Runner._unstick`): an engine that is about to finish loading is not killed
UNSTICK_AFTER_S = 20.0


@dataclass
class Outcome:
    """What a run or resume achieved."""

    run_dir: str
    done: dict[str, int] = field(default_factory=dict)  # stage -> shards done
    failed: list[Entry] = field(default_factory=list)
    reduced: bool = False  # set by `pipeline.jobs.evaluate`, which reduces a finished run
    not_reduced: str = ""  # why reduce refused the run (e.g. sandbox error verdicts)


def validated(where: str, model, data: dict) -> None:
    """`data` as pydantic `model`, or a ConfigError naming each bad field under `where`."""
    from pydantic import ValidationError

    try:
        model(**data)
    except ValidationError as exc:
        details = "; ".join(
            f"{where}.{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise ConfigError(f"invalid run config: {details}") from None


def preflight(config: RunConfig) -> None:
    """Check what the driver can check before any actor starts: engine and sandbox sections,
    model paths. (The cost sections are the reducer's: `pipeline.jobs.evaluate` checks them.)"""
    from sandbox.config import SandboxConfig
    from workers.engine import EngineConfig

    for m in config.models:
        validated(f"models.{m.name}.engine", EngineConfig, m.engine)
    if config.ranker:
        validated("ranker.engine", EngineConfig, config.ranker.engine)
    validated("sandbox", SandboxConfig, config.sandbox)
    _check_model_paths(config)


def _check_model_paths(config: RunConfig) -> None:
    specs = [(f"models.{m.name}.path", m.path) for m in config.models if not m.imported]
    if config.ranker:
        specs.append(("ranker.path", config.ranker.path))
    for where, path in specs:
        looks_local = path.startswith(("/", "./", "../", "~"))
        if looks_local and not Path(path).expanduser().is_dir():
            raise ConfigError(
                f"{where}: model directory {path!r} not found; give an existing directory with a "
                "config.json, 'smollm2-135m', 'tiny-llama', or a Hugging Face id"
            )


# -- actors --------------------------------------------------------------------------------------
class _Pool:
    """Actors of one kind, used round-robin while all are up; a dead one is replaced."""

    def __init__(self, scheduler, spec: actors.ActorSpec):
        self.scheduler = scheduler
        self.spec = spec
        self.actors = [scheduler.start(spec) for _ in range(spec.replicas)]
        self.i = 0

    def next(self, queued: dict[int, list]):
        """The actor for the next call. While some of the pool's actors are up and others are
        not (a replacement waiting for room on the cluster, one still loading), the least
        busy of those up (`queued`: id(actor) -> its calls in flight): a call queued on an
        actor that never gets a place would never run."""
        up = [a for a in self.actors if self.scheduler.is_ready(a)]
        if up and len(up) < len(self.actors):
            return min(up, key=lambda a: len(queued.get(id(a), ())))
        actor = self.actors[self.i % len(self.actors)]
        self.i += 1
        return actor

    def replace(self, dead) -> None:
        for i, actor in enumerate(self.actors):
            if actor is dead:
                self.scheduler.stop(actor)
                self.actors[i] = self.scheduler.start(self.spec)


_EXC_LINE = re.compile(r"^\s*([A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt)):\s*(.*)$")


def _error_text(exc: BaseException) -> str:
    """One line for the manifest: the innermost exception's type, message and detail."""
    cause = getattr(exc, "cause", None) or exc
    text = str(cause)
    lines = [ln.rstrip() for ln in text.splitlines() if ln.strip()]
    # inside a remote traceback, the last "SomethingError: message" line is the real cause
    hits = [i for i, ln in enumerate(lines) if _EXC_LINE.match(ln)]
    if hits:
        i = hits[-1]
        head = lines[i].strip()
        detail = [ln.strip() for ln in lines[i + 1 : i + 3] if "errors.pydantic.dev" not in ln]
    else:
        head = f"{type(cause).__name__}: {lines[0].strip() if lines else ''}"
        detail = [ln.strip() for ln in lines[1:3] if "errors.pydantic.dev" not in ln]
    return " | ".join([head, *detail])[:500]


# -- the run ---------------------------------------------------------------------------------------
class Runner:
    """One pass over the run's shards; call `run()` once."""

    def __init__(self, config: RunConfig, rundir: RunDir, *, progress: bool = True,
                 in_process: bool = False):
        self.config = config
        self.rundir = rundir
        self.progress = progress
        self.in_process = in_process
        self.stages = stages.names_for(config)
        self.problems: dict[str, pa.Table] = {}
        self.shards: list[Shard] = []
        self._by_name: dict[str, Shard] = {}
        self.entries: dict[tuple[str, str], Entry] = {}
        self.pools: dict[tuple[str, str | None], _Pool] = {}  # (actor kind, model) -> pool
        self.scheduler = None
        self.host = actors.colocated_ranker(config)
        self.inflight: dict[Any, tuple[str, Shard, Any, float]] = {}
        self.queues: dict[int, list] = {}  # id(actor) -> its calls in flight, oldest first
        self.began: dict[int, float] = {}  # id(actor) -> when its oldest call began running
        self.hung: set = set()  # calls cancelled as hung
        self.killed: set[int] = set()  # id() of actors killed for a hang, or to move calls
        self.stuck_since: dict[tuple[str, str | None], float] = {}  # pool -> see `_unstick`
        self._last_manifest = 0.0

    # bookkeeping
    def _save_manifest(self, force: bool = False) -> None:
        if force or time.monotonic() - self._last_manifest > MANIFEST_EVERY_S:
            self.rundir.write_manifest(self.entries)
            self._last_manifest = time.monotonic()

    def _todo(self, stage: str, shard: Shard) -> bool:
        return self.entries[(stage, shard.name)].state != "done"

    def _shard_problems(self, shard: Shard) -> pa.Table:
        table = self.problems[shard.benchmark]
        return table.filter(pc.is_in(table.column("task_id"), value_set=pa.array(shard.task_ids)))

    # actors
    def _pool_key(self, stage: str, shard: Shard) -> tuple[str, str | None]:
        """(actor kind, model) of the pool that runs a stage's shard: generate actors per
        model, which also score when the ranker is one of them (`colocated_ranker`)."""
        kind = stages.get(stage).actor
        if kind == "generate":
            return kind, shard.model
        if kind == "score" and self.host is not None:
            return "generate", self.host
        return kind, None

    def _pool(self, kind: str, model: str | None = None) -> _Pool:
        key = (kind, model)
        if key not in self.pools:
            self.pools[key] = _Pool(self.scheduler, actors.actor_spec(kind, self.config, model,
                                                                       run_root=self.rundir.root))
        return self.pools[key]

    def _submit(self, stage: str, shard: Shard) -> None:
        entry = self.entries[(stage, shard.name)]
        entry.state, entry.attempts = "running", entry.attempts + 1
        out = self.rundir.shard_path(stage, shard)
        problems = self._shard_problems(shard)
        samples = self.rundir.shard_path("generate", shard)
        kind, model = self._pool_key(stage, shard)
        actor = self._pool(kind, model).next(self.queues)
        priority = self.stages.index(stage)
        if stage == "generate":
            ref = self.scheduler.call(actor, "run", shard, problems, out, priority=priority)
        elif kind == "generate":  # a score shard on the generator that is also the ranker
            ref = self.scheduler.call(actor, "score", self.config.ranker.name, shard, problems,
                                      samples, out, priority=priority)
        else:
            ref = self.scheduler.call(actor, "run", shard, problems, samples, out, priority=priority)
        self.inflight[ref] = (stage, shard, actor, time.monotonic())
        queue = self.queues.setdefault(id(actor), [])
        if not queue:
            self.began[id(actor)] = time.monotonic()
        queue.append(ref)

    def _dequeue(self, ref, actor) -> None:
        """An actor runs its calls one at a time, in order: the next one begins now."""
        queue = self.queues.get(id(actor), [])
        if ref in queue:
            queue.remove(ref)
        self.began[id(actor)] = time.monotonic()

    def _cancel_hung(self) -> None:
        """Kill every actor whose current call has run past `ray.hang_timeout_s`; its calls then
        fail as ActorDied and are retried (the hung one with the hang as its error)."""
        limit = self.config.ray.hang_timeout_s
        if limit is None or self.in_process:
            return
        now = time.monotonic()
        for key, queue in list(self.queues.items()):
            if queue and not self.scheduler.is_ready(self.inflight[queue[0]][2]):
                self.began[key] = now  # still starting (engine load): not running a call yet
                continue
            if queue and queue[0] not in self.hung and now - self.began[key] > limit:
                self.hung.add(queue[0])
                self.killed.add(key)
                self.scheduler.kill(self.inflight[queue[0]][2])

    def _unstick(self) -> None:
        """Calls queued on an actor that is not up (a replacement or one of more actors than
        the cluster could place, waiting for room; or one still loading) while an actor of
        the same pool has been up with nothing to do for UNSTICK_AFTER_S: the actor that is
        not up is killed, so that its calls fail as ActorDied and go to one that is up
        (`_Pool.next`), without counting as the shards' failures. Otherwise a cluster that
        lost a node waits for room that may never come. In process every actor is up, so
        this never kills."""
        now = time.monotonic()
        for key, pool in self.pools.items():
            stuck = [a for a in pool.actors if self.queues.get(id(a))
                     and id(a) not in self.killed and not self.scheduler.is_ready(a)]
            if not stuck or not any(self.scheduler.is_ready(a) and not self.queues.get(id(a))
                                    for a in pool.actors):
                self.stuck_since.pop(key, None)
                continue
            if now - self.stuck_since.setdefault(key, now) < UNSTICK_AFTER_S:
                continue
            for actor in stuck:
                self.killed.add(id(actor))
                self.scheduler.kill(actor)
            del self.stuck_since[key]

    def _downstream(self, shard: Shard) -> None:
        for stage in self.stages[1:]:
            if self._todo(stage, shard):
                self._submit(stage, shard)

    def _on_result(self, ref, bars) -> None:
        stage, shard, actor, started = self.inflight.pop(ref)
        self._dequeue(ref, actor)
        entry = self.entries[(stage, shard.name)]
        try:
            info = self.scheduler.result(ref)
        except (ActorDied, CallFailed) as exc:
            entry.error = _error_text(exc.error)
            if ref in self.hung:
                self.hung.discard(ref)
                entry.error = (f"hung: no result within ray.hang_timeout_s = "
                               f"{self.config.ray.hang_timeout_s:g} s; actor killed and replaced")
            elif id(actor) in self.killed:
                entry.attempts -= 1  # queued behind a hung call: not this shard's failure
            entry.seconds = time.monotonic() - started
            if isinstance(exc, ActorDied):
                for pool in self.pools.values():
                    pool.replace(actor)
                if self._landed(stage, shard, entry, bars):
                    return  # died (or its node did) after the shard's file landed: not redone
            if entry.attempts <= self.config.ray.max_retries:
                self._submit(stage, shard)
            else:
                entry.state = "failed"
                bars.fail(stage)
            return
        entry.state, entry.rows, entry.seconds, entry.error = "done", info["rows"], info["seconds"], ""
        bars.advance(stage, info["rows"])
        crash_point(f"after-{stage}")
        if stage == self.stages[0]:
            self._downstream(shard)

    def _retire_finished_pools(self) -> None:
        """Stop the actors of every pool that has no work left, to give their CPUs, GPUs and
        sandbox slots back to the cluster: once every generate shard has ended (so no new
        downstream shard can come), a pool none of whose shards is waiting or running.
        Without this a finished stage's actors held their places to the end of the run, and a
        cluster that had lost a node could not place the replacement actors that the
        remaining shards were queued on (docs/reliability.md)."""
        first = self.stages[0]
        needed = set()
        for (stage, name), e in self.entries.items():
            if e.state in ("done", "failed"):
                continue
            if stage == first:
                return
            if self.entries[(first, name)].state == "done":  # else it never runs
                needed.add(self._pool_key(stage, self._by_name[name]))
        for key in [k for k in self.pools if k not in needed]:
            if any(self.queues.get(id(a)) for a in self.pools[key].actors):
                continue
            for actor in self.pools.pop(key).actors:
                self.scheduler.stop(actor)

    def _landed(self, stage: str, shard: Shard, entry: Entry, bars) -> bool:
        """After an actor died: if the shard's output file is complete (written atomically by
        this call before the actor or its node went), mark the shard done instead of writing it
        a second time. Only shards not done are ever submitted, so the file is this call's."""
        rows = self.rundir.output_rows(stage, shard)
        if rows is None or self.rundir.sandbox_errors(stage, shard):
            return False
        entry.state, entry.rows, entry.error = "done", rows, ""
        bars.advance(stage, rows)
        if stage == self.stages[0]:
            self._downstream(shard)
        return True

    def _check_imported(self) -> None:
        """An imported model is never generated: each of its shards must hold imported samples."""
        for m in self.config.models:
            missing = [sh for sh in self.shards if sh.model == m.name and self._todo("generate", sh)]
            if m.imported and any(sh.kind == "greedy" for sh in missing):
                raise ConfigError(
                    f"model {m.name} is imported (path: imported): generation files hold sampled "
                    f"completions only, so it has no greedy samples; set greedy: false for "
                    f"benchmark {next(sh.benchmark for sh in missing if sh.kind == 'greedy')}")
            if m.imported and missing:
                raise ConfigError(
                    f"model {m.name} is imported (path: imported) but {len(missing)} of its shards "
                    f"have no imported samples (first: {missing[0].name}, expected at "
                    f"{self.rundir.shard_path('generate', missing[0])}); import them with "
                    f"`budget-realloc import-samples CONFIG FILE --model {m.name} --benchmark "
                    f"{missing[0].benchmark}`, or drop the tasks without samples from the subset")

    def _start_scheduler(self):
        if self.in_process:
            return InProcessScheduler()
        cfg = self.config
        needed = sum(m.num_cpus * m.replicas for m in cfg.models) + cfg.sandbox_actors + (
            cfg.ranker.num_cpus if cfg.ranker else 0)
        return RayScheduler(cfg.ray.address, cfg.ray.num_cpus, needed)

    def run(self) -> Outcome:
        cfg = self.config
        preflight(cfg)
        self.rundir.freeze_config(cfg)
        self.problems = prepare_problems(cfg, self.rundir)
        if "probe" in self.stages:
            from pipeline.run.generated_tests import freeze

            freeze(self.rundir.root, cfg.probes.model_dump(),
                   [b.model_dump() for b in cfg.benchmarks])
        task_ids = {b: t.column("task_id").to_pylist() for b, t in self.problems.items()}
        self.shards = plan(cfg, task_ids)
        self._by_name = {sh.name: sh for sh in self.shards}
        self.entries = self.rundir.reconcile(self.shards, self.stages)
        self._save_manifest(force=True)
        self._check_imported()

        pending = {s: [sh for sh in self.shards if self._todo(s, sh)] for s in self.stages}
        if any(pending.values()):
            self.scheduler = self._start_scheduler()
        try:
            with _Bars(self.progress, self.shards, self.entries, self.stages) as bars:
                for shard in pending[self.stages[0]]:
                    self._submit(self.stages[0], shard)
                for shard in self.shards:
                    if not self._todo(self.stages[0], shard):
                        self._downstream(shard)
                while self.inflight:
                    for ref in self.scheduler.wait(list(self.inflight), timeout=5.0):
                        self._on_result(ref, bars)
                        self._retire_finished_pools()
                    self._cancel_hung()
                    self._unstick()
                    self._save_manifest()
                self._save_manifest(force=True)
        finally:
            if self.scheduler is not None:
                for pool in self.pools.values():
                    for actor in pool.actors:
                        self.scheduler.stop(actor)
                self.pools.clear()
                self.scheduler.shutdown()

        outcome = Outcome(self.rundir.root)
        for (stage, _), e in self.entries.items():
            if e.state == "done":
                outcome.done[stage] = outcome.done.get(stage, 0) + 1
            elif e.state == "failed":
                outcome.failed.append(e)
        return outcome


class _Bars:
    """Progress bars per stage (shards and rows), drawn with rich; silent when disabled."""

    def __init__(self, enabled: bool, shards: list[Shard], entries, stages):
        self.enabled = enabled
        self.progress = None
        self.tasks: dict[str, Any] = {}
        self.rows: dict[str, int] = {s: 0 for s in stages}
        self.failed: dict[str, int] = {s: 0 for s in stages}
        self.totals = {s: len(shards) for s in stages}
        self.start = {s: sum(entries[(s, sh.name)].state == "done" for sh in shards) for s in stages}

    def __enter__(self):
        if self.enabled:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self.progress = Progress(
                TextColumn("{task.description:<9}"), BarColumn(), MofNCompleteColumn(),
                TextColumn("shards {task.fields[info]}"), TimeElapsedColumn(),
            )
            self.progress.start()
            for stage, total in self.totals.items():
                self.tasks[stage] = self.progress.add_task(
                    stage, total=total, completed=self.start[stage], info="")
        return self

    def advance(self, stage: str, rows: int) -> None:
        self.rows[stage] += rows
        self._update(stage, 1)

    def fail(self, stage: str) -> None:
        self.failed[stage] += 1
        self._update(stage, 0)

    def _update(self, stage: str, step: int) -> None:
        if self.progress is not None:
            info = f"· {self.rows[stage]} rows" + (f" · {self.failed[stage]} failed" if self.failed[stage] else "")
            self.progress.update(self.tasks[stage], advance=step, info=info)

    def __exit__(self, *exc) -> None:
        if self.progress is not None:
            self.progress.stop()


def run(config: RunConfig, *, progress: bool = True, in_process: bool = False) -> Outcome:
    """Start (or continue, if its directory holds the same config) the run described by `config`.

    `in_process=True` runs every actor in this process instead of on Ray (same files)."""
    return Runner(config, RunDir(config.output_dir), progress=progress, in_process=in_process).run()


def resume(run_dir: str, *, progress: bool = True, in_process: bool = False) -> Outcome:
    """Continue a run from its directory: only missing or failed shards are run again."""
    rundir = RunDir(run_dir)
    return Runner(rundir.load_config(), rundir, progress=progress, in_process=in_process).run()
