"""Planning a run: which shards each stage has, and where each shard's output file lives.

A generation shard is a chunk of `shard_size` problems of one (model, benchmark) and a range of
sample indices; its samples, verdicts and scores files share its name, so resume can tell what is
done by looking at files alone. Greedy samples (T = 0) get their own shards, with sample_idx -1.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from pipeline.benchmarks import get as get_benchmark
from pipeline.config import BenchmarkSpec, RunConfig

GREEDY_IDX = -1


@dataclass(frozen=True)
class Shard:
    """One unit of generation work, and the name its downstream outputs share."""

    model: str
    benchmark: str
    kind: str  # "sampled" | "greedy"
    index: int
    task_ids: tuple[str, ...]
    n: int
    sample_offset: int
    temperature: float
    top_p: float
    max_new_tokens: int
    seed: int

    @property
    def name(self) -> str:
        return f"{self.model}/{self.benchmark}/{self.kind}-{self.index:05d}"

    def path(self, stage_dir: str) -> str:
        """Output file of this shard under a stage directory (samples, verdicts, scores)."""
        return (
            f"{stage_dir}/model={self.model}/benchmark={self.benchmark}/"
            f"{self.kind}-{self.index:05d}.parquet"
        )


def shard_seed(run_seed: int, model: str, benchmark: str, kind: str) -> int:
    """A stable 63-bit seed, independent of Python's hash randomisation and of the sharding.

    The generator mixes in each problem's task_id and sample offset, so the same run seed gives
    the same text for a problem whatever shard it lands in.
    """
    text = f"{run_seed}/{model}/{benchmark}/{kind}".encode()
    return int.from_bytes(hashlib.sha256(text).digest()[:8], "big") >> 1


def sampling_of(spec: BenchmarkSpec) -> tuple[float, float, int]:
    """(temperature, top_p, max_new_tokens): the spec's values, else the paper's."""
    paper = get_benchmark(spec.name).sampling
    return (
        paper.temperature if spec.temperature is None else spec.temperature,
        paper.top_p if spec.top_p is None else spec.top_p,
        paper.max_new_tokens if spec.max_new_tokens is None else spec.max_new_tokens,
    )


def plan(config: RunConfig, task_ids: dict[str, list[str]]) -> list[Shard]:
    """All generation shards of a run, in a stable order.

    `task_ids` maps each benchmark to the ids of its (subset of) problems, in table order.
    """
    shards: list[Shard] = []
    size = config.shard_size
    for model in config.models:
        for spec in config.benchmarks:
            ids = task_ids[spec.name]
            temperature, top_p, max_new = sampling_of(spec)
            chunks = [tuple(ids[i : i + size]) for i in range(0, len(ids), size)]
            for index, chunk in enumerate(chunks):
                shards.append(
                    Shard(model.name, spec.name, "sampled", index, chunk, spec.n_for(model.name), 0,
                          temperature, top_p, max_new,
                          shard_seed(config.seed, model.name, spec.name, "sampled"))
                )
            if spec.greedy:
                for index, chunk in enumerate(chunks):
                    shards.append(
                        Shard(model.name, spec.name, "greedy", index, chunk, 1, GREEDY_IDX,
                              0.0, 1.0, max_new,
                              shard_seed(config.seed, model.name, spec.name, "greedy"))
                    )
    return shards
