"""The work each Ray actor does for one shard: generate, execute or score, then write the file.

Each class holds a warm resource (a vLLM engine, sandbox workers) across shards and writes its
output atomically, so the driver only moves shard descriptions and row counts. They are plain
classes; `pipeline.orchestrate` turns them into Ray actors.
"""

from __future__ import annotations

import time
from typing import Any

import pyarrow as pa

from pipeline import storage
from pipeline.faults import actor_crash
from pipeline.shards import GREEDY_IDX, Shard


def _timed_write(table: pa.Table, out: str, name: str, started: float) -> dict[str, Any]:
    storage.write_table(table, out, name)
    return {"rows": table.num_rows, "seconds": time.monotonic() - started}


class GenerateWorker:
    """Holds one generator model's vLLM engine; turns a shard of problems into a samples file."""

    def __init__(self, run_id: str, model: dict[str, Any]):
        from workers.engine import EngineConfig
        from workers.generate import Generator
        from workers.models import resolve_model

        self.run_id = run_id
        engine = EngineConfig(**model.get("engine", {}))
        self.generator = Generator(resolve_model(model["path"]), engine, model_name=model["name"])

    def run(self, shard: Shard, problems: pa.Table, out: str) -> dict[str, Any]:
        actor_crash("generate")
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


class ExecuteWorker:
    """Holds warm sandbox workers; runs a samples file against the tests into a verdicts file."""

    def __init__(self, sandbox: dict[str, Any]):
        from sandbox.config import SandboxConfig
        from sandbox.executor import Executor

        self.executor = Executor(SandboxConfig(**sandbox))
        self.executor.__enter__()

    def run(self, shard: Shard, problems: pa.Table, samples_uri: str, out: str) -> dict[str, Any]:
        actor_crash("execute")
        started = time.monotonic()
        samples = storage.read_table(samples_uri, "samples")
        verdicts = self.executor.execute(problems, samples)
        return _timed_write(verdicts, out, "verdicts", started)

    def close(self) -> None:
        self.executor.__exit__(None, None, None)


class ScoreWorker:
    """Holds the ranker's vLLM engine; scores a samples file's completions into a scores file."""

    def __init__(self, ranker: dict[str, Any]):
        from workers.engine import EngineConfig
        from workers.models import resolve_model
        from workers.score import Scorer

        engine = EngineConfig(**ranker.get("engine", {}))
        self.scorer = Scorer(resolve_model(ranker["path"]), engine, ranker_name=ranker["name"])

    def run(self, shard: Shard, problems: pa.Table, samples_uri: str, out: str) -> dict[str, Any]:
        return _score(self.scorer, shard, problems, samples_uri, out)
