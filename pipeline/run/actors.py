"""The work each Ray actor does for one shard: generate, execute, score or probe, then write it.

Each class holds a warm resource (a vLLM engine, sandbox workers) across shards and writes its
output atomically, so the driver only moves shard descriptions and row counts. They are plain
classes; `pipeline.run.orchestrator` turns them into Ray actors.
"""

from __future__ import annotations

import time
from typing import Any

import pyarrow as pa

from pipeline.run.both_verdicts import execute_both
from pipeline.run import storage
from pipeline.run.faults import actor_crash, actor_hang
from pipeline.run.scheduler import ActorSpec
from pipeline.run.shards import GREEDY_IDX, Shard


def _timed_write(table: pa.Table, out: str, name: str, started: float) -> dict[str, Any]:
    storage.write_table(table, out, name)
    return {"rows": table.num_rows, "seconds": time.monotonic() - started}


class GenerateActor:
    """Holds one generator model's vLLM engine; turns a shard of problems into a samples file."""

    def __init__(self, run_id: str, model: dict[str, Any]):
        from workers.engine import EngineConfig
        from workers.generate import Generator
        from workers.models import resolve_model

        self.run_id = run_id
        engine = EngineConfig(**model.get("engine", {}))
        self.generator = Generator(resolve_model(model["path"]), engine, model_name=model["name"],
                                   prompt_style=model.get("prompt_style", "raw"))

    def run(self, shard: Shard, problems: pa.Table, out: str) -> dict[str, Any]:
        actor_crash("generate")
        actor_hang("generate")
        started = time.monotonic()
        greedy = shard.sample_offset == GREEDY_IDX
        samples = self.generator.generate(
            problems,
            run_id=self.run_id,
            n=shard.n,
            temperature=shard.temperature,
            top_p=shard.top_p,
            max_new_tokens=shard.max_new_tokens,
            seed=shard.seed,
            sample_offset=0 if greedy else shard.sample_offset,
        )
        if greedy:  # the greedy sample is stored apart from the sampled ones, at index -1
            idx = samples.schema.get_field_index("sample_idx")
            samples = samples.set_column(
                idx, samples.schema.field(idx), pa.array([GREEDY_IDX] * samples.num_rows, pa.int32())
            )
        return _timed_write(samples, out, "samples", started)

    def score(self, ranker: str, shard: Shard, problems: pa.Table, samples_uri: str, out: str) -> dict[str, Any]:
        """Score with this actor's own engine, when the ranker is the generator model itself."""
        from workers.score import Scorer

        if getattr(self, "scorer", None) is None:
            self.scorer = Scorer.sharing(self.generator, ranker_name=ranker)
        return _score(self.scorer, shard, problems, samples_uri, out)


def _score(scorer, shard: Shard, problems: pa.Table, samples_uri: str, out: str) -> dict[str, Any]:
    started = time.monotonic()
    samples = storage.read_table(samples_uri, "samples")
    scores = scorer.score(problems, samples, max_new_tokens=shard.max_new_tokens)
    return _timed_write(scores, out, "scores", started)


class ExecuteActor:
    """Holds warm sandbox workers; runs a samples file against the tests into a verdicts file."""

    def __init__(self, sandbox: dict[str, Any]):
        from sandbox.config import SandboxConfig
        from sandbox.executor import Executor

        self.executor = Executor(SandboxConfig(**sandbox))
        self.executor.__enter__()

    def run(self, shard: Shard, problems: pa.Table, samples_uri: str, out: str) -> dict[str, Any]:
        actor_crash("execute")
        actor_hang("execute")
        started = time.monotonic()
        samples = storage.read_table(samples_uri, "samples")
        # both verdicts: base tests, and base + extended tests where the problem has them
        verdicts = execute_both(self.executor, problems, samples)
        return _timed_write(verdicts, out, "verdicts", started)

    def close(self) -> None:
        self.executor.__exit__(None, None, None)

    def stats(self) -> dict[str, Any]:
        """The last shard's execution stats (samples, unique programs, dedup hits, seconds)."""
        return self.executor.stats.as_dict()


class ScoreActor:
    """Holds the ranker's vLLM engine; scores a samples file's completions into a scores file."""

    def __init__(self, ranker: dict[str, Any]):
        from workers.engine import EngineConfig
        from workers.models import resolve_model
        from workers.score import Scorer

        engine = EngineConfig(**ranker.get("engine", {}))
        self.scorer = Scorer(resolve_model(ranker["path"]), engine, ranker_name=ranker["name"])

    def run(self, shard: Shard, problems: pa.Table, samples_uri: str, out: str) -> dict[str, Any]:
        return _score(self.scorer, shard, problems, samples_uri, out)


class ProbeActor:
    """Holds warm sandbox workers; runs each sample of a samples file on its problem's probes
    (the prompt's examples, model-written tests; never the hidden tests) into a probes file."""

    def __init__(self, sandbox: dict[str, Any], probes: dict[str, Any], benchmarks: list[dict]):
        from sandbox.config import SandboxConfig
        from sandbox.executor import Executor

        self.spec = probes
        self.generated = _generated_tests(probes)
        self.statements = (_benchmark_rows(benchmarks)
                           if probes.get("examples_from") == "benchmark" else {})
        self.executor = Executor(SandboxConfig(**sandbox))
        self.executor.__enter__()

    def run(self, shard: Shard, problems: pa.Table, samples_uri: str, out: str) -> dict[str, Any]:
        actor_crash("probe")
        actor_hang("probe")
        started = time.monotonic()
        samples = storage.read_table(samples_uri, "samples")
        sets = probe_sets(problems, self.spec, self.generated, self.statements)
        table = self.executor.probe(problems, samples, sets,
                                    probe_timeout_s=float(self.spec["test_timeout_s"]))
        return _timed_write(table, out, "probes", started)

    def close(self) -> None:
        self.executor.__exit__(None, None, None)

    def stats(self) -> dict[str, Any]:
        return self.executor.stats.as_dict()


def _generated_tests(probes: dict[str, Any]) -> dict[tuple[str, str], list[str]]:
    """(benchmark, task_id) -> the distinct model-written asserts, from the run directory's
    copies of the configured files (`generated_tests.freeze`; `probes["generated_tests"]`
    maps each benchmark to its copy)."""
    from pipeline.run.generated_tests import load_frozen

    return {(bench, tid): list(t.tests)
            for bench, uri in (probes.get("generated_tests") or {}).items()
            for tid, t in load_frozen(uri).items()}


def _benchmark_rows(benchmarks: list[dict]) -> dict[tuple[str, str], dict]:
    """(benchmark, task_id) -> the benchmark's own problem row (its statement as published)."""
    from pipeline.benchmarks import get
    from pipeline.config import BenchmarkSpec

    out = {}
    for b in benchmarks:
        spec = BenchmarkSpec(**b)
        for r in get(spec.name).load(spec.data).to_pylist():
            out[(spec.name, r["task_id"])] = r
    return out


def probe_sets(problems: pa.Table, spec: dict[str, Any],
               generated: dict[tuple[str, str], list[str]],
               statements: dict[tuple[str, str], dict] | None = None,
               ) -> dict[tuple[str, str], dict[str, list[dict]]]:
    """Each problem's probe sets as the sandbox takes them (plain dicts); the examples come
    from `statements[(benchmark, task_id)]` where given (`examples_from: benchmark`), else from
    the run's problem row. APPS call-based problems get none yet: the probe job runs
    function, assert and stdin programs."""
    from pipeline.benchmarks.probes import prompt_examples

    out: dict[tuple[str, str], dict[str, list[dict]]] = {}
    for p in problems.to_pylist():
        if p["io_kind"] not in ("function", "assert", "stdin"):
            continue
        key, sets = (p["benchmark"], p["task_id"]), {}
        if spec.get("prompt_examples", True):
            source = (statements or {}).get(key, p)
            sets["prompt_examples"] = [{"kind": x.kind, "code": x.code, "expected": x.expected}
                                       for x in prompt_examples(source)]
        if key in generated:
            sets["generated_tests"] = [{"kind": "assert", "code": t} for t in generated[key]]
        out[key] = sets
    return out


#: actor kind (a `Stage.actor` in `pipeline.run.stages`) -> the class that runs its shards
ACTOR_CLASSES: dict[str, type] = {"generate": GenerateActor, "execute": ExecuteActor,
                                  "score": ScoreActor, "probe": ProbeActor}


def model_env(spec) -> dict[str, str]:
    """Env vars for a model actor: the CPU build's settings when it runs without a GPU."""
    if spec.num_gpus:
        return {}
    from workers.engine import EngineConfig, cpu_env

    return cpu_env(EngineConfig(**spec.engine), threads=max(1, int(spec.num_cpus)))


def actor_spec(kind: str, config, model: str | None = None, run_root: str | None = None
               ) -> ActorSpec:
    """How to start one actor of `kind` ("generate", "execute", "score", "probe") for a run
    config.

    `model` names the generator model for kind "generate"; `run_root` the run directory, whose
    copies of the generated-test files the probe actors read (`generated_tests.freeze`). A
    ranker that is one of the generator models (same weights and engine) scores on that model's
    generate actors instead (`colocated_ranker`), so no second copy of the weights is loaded.
    """
    if kind == "generate":
        spec = next(m for m in config.models if m.name == model)
        return ActorSpec(GenerateActor, (config.run_id, spec.model_dump()), num_cpus=spec.num_cpus,
                         num_gpus=spec.num_gpus, env=model_env(spec), replicas=spec.replicas)
    if kind == "execute":
        return ActorSpec(ExecuteActor, (config.sandbox,), num_cpus=1,
                         resources=dict(config.sandbox_resources or {}),
                         replicas=config.sandbox_actors)
    if kind == "probe":
        from pipeline.run.generated_tests import frozen_path

        probes = config.probes.model_dump()
        probes["generated_tests"] = {b: frozen_path(run_root, b)
                                     for b in probes["generated_tests"]}
        return ActorSpec(ProbeActor, (config.sandbox, probes,
                                      [b.model_dump() for b in config.benchmarks]), num_cpus=1,
                         resources=dict(config.sandbox_resources or {}),
                         replicas=config.sandbox_actors)
    if kind == "score":
        spec = config.ranker
        return ActorSpec(ScoreActor, (spec.model_dump(),), num_cpus=spec.num_cpus,
                         num_gpus=spec.num_gpus, env=model_env(spec), replicas=spec.replicas)
    raise KeyError(f"unknown actor kind {kind!r}")


def colocated_ranker(config) -> str | None:
    """The generator model whose engine can also rank (same weights and engine), if any."""
    r = config.ranker
    for m in config.models:
        if r is not None and m.path == r.path and m.engine == r.engine:
            return m.name
    return None
