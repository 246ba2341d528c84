"""The run configuration: one YAML file, validated with pydantic, frozen into the run directory.

A bad field gives an error naming it (e.g. `benchmarks.0.n: Input should be greater than 0`).
Model engines, sandbox limits and costs are embedded as plain mappings here and validated by the
packages that own them (workers, sandbox, cost model), so this module stays import-light.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal, Optional

import yaml
from pydantic import (BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator,
                      model_validator)


#: ModelSpec.path of a model whose samples are imported (pipeline.run.importers), not generated.
IMPORTED = "imported"


class ConfigError(ValueError):
    """The run config is missing, unreadable or invalid; the message names the field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ModelSpec(_Strict):
    """One generator model: where it comes from, how its engine runs, what a sample costs."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    # local directory, "smollm2-135m", "tiny-llama", a Hugging Face id, or "imported": samples
    # come from a generation file (`budget-realloc import-samples`) and are never generated
    path: str
    engine: dict[str, Any] = Field(default_factory=dict)  # workers.engine.EngineConfig fields
    cost: dict[str, Any] = Field(default_factory=dict)  # pipeline.reduce.cost.ModelCost fields
    replicas: int = Field(default=1, ge=1)  # generation actors for this model
    num_cpus: float = Field(default=1, gt=0)  # per actor
    num_gpus: float = Field(default=0, ge=0)  # per actor (tensor_parallel_size on a cluster)
    # raw: the bare prompt with the benchmark's stops (the paper's, for base models); instruct:
    # the model's chat template, asked for the completed function in a fenced block, the code
    # extracted from the reply (workers.instruct; function problems such as HumanEval only)
    prompt_style: Literal["raw", "instruct"] = "raw"

    @property
    def imported(self) -> bool:
        """True when this model's samples are imported from a file, never generated."""
        return self.path == IMPORTED


class Subset(_Strict):
    """Which problems of a benchmark to run: explicit ids, or the first `limit`."""

    task_ids: Optional[list[str]] = None
    limit: Optional[int] = Field(default=None, ge=1)


#: a model's or benchmark's name where it is not looked up in a registry (imported counts):
#: it names folders of the run directory
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")


class BenchmarkSpec(_Strict):
    """One benchmark and its sampling; unset settings take the paper's values."""

    name: str
    data: Optional[str] = None  # local file/dir; default: the package's or dataset's copy
    subset: Subset = Field(default_factory=Subset)
    n: int = Field(ge=1)  # samples per problem
    # Per-model override of n, by model name: the paper samples fewer times from larger models
    # (HumanEval/MBPP n = 2000/1000/400/200 for 7B/13B/34B/70B). Models not named use `n`.
    n_per_model: dict[str, int] = Field(default_factory=dict)
    temperature: Optional[float] = Field(default=None, ge=0)
    top_p: Optional[float] = Field(default=None, gt=0, le=1)
    max_new_tokens: Optional[int] = Field(default=None, ge=1)
    greedy: bool = False  # also one T=0 sample per problem, for greedy pass@1
    difficulties: Optional[list[str]] = None  # APPS only

    @field_validator("name")
    @classmethod
    def _known(cls, value: str, info: ValidationInfo) -> str:
        """A registered benchmark (a run generates from its problems); any well-formed name
        when the config describes imported counts (`parse(..., counts_only=True)`)."""
        from pipeline.benchmarks import REGISTRY

        if (info.context or {}).get("counts_only"):
            if not NAME.match(value):
                raise ValueError(f"benchmark name {value!r} must be letters, digits, '.', '_', '+' "
                                 "or '-', starting with a letter or digit")
        elif value.lower() not in REGISTRY:
            raise ValueError(f"unknown benchmark {value!r}; choose one of: {', '.join(REGISTRY)}")
        return value.lower()

    @field_validator("n_per_model")
    @classmethod
    def _positive(cls, value: dict[str, int]) -> dict[str, int]:
        bad = {m: n for m, n in value.items() if n < 1}
        if bad:
            raise ValueError(f"samples per problem must be at least 1; got {bad}")
        return value

    def n_for(self, model: str) -> int:
        """Samples per problem for `model`: its n_per_model entry, else n."""
        return self.n_per_model.get(model, self.n)


class RankerSpec(_Strict):
    """The model that scores each completion's mean NLL (rank-score@k)."""

    name: str
    path: str
    engine: dict[str, Any] = Field(default_factory=dict)
    replicas: int = Field(default=1, ge=1)  # scoring actors (when not co-located on a generator)
    num_cpus: float = Field(default=1, gt=0)
    num_gpus: float = Field(default=0, ge=0)


class ProbeSpec(_Strict):
    """The `probe` stage (execution-based ranker inputs): which probe sets run, and limits.

    `prompt_examples`: the examples each prompt shows (`pipeline.benchmarks.probes`; on MBPP
    these are its hidden tests). `generated_tests`: benchmark name -> a CodeT-format file of
    model-written tests (`pipeline.run.generated_tests`). `test_timeout_s`: CPU seconds per probe
    (CodeT: 0.1 s per test). `max_tests_per_sample`: asserts kept per generated test sample
    (CodeT: 5)."""

    prompt_examples: bool = True
    #: where the examples come from: "run" (the prompts the run's problems table holds) or
    #: "benchmark" (the benchmark's own statements, for imported generations whose prompts
    #: had the examples removed, as CodeT's HumanEval prompts)
    examples_from: Literal["run", "benchmark"] = "run"
    generated_tests: dict[str, str] = Field(default_factory=dict)
    test_timeout_s: float = Field(default=0.1, gt=0, le=60)
    max_tests_per_sample: int = Field(default=5, ge=1)


class RayOptions(_Strict):
    address: Optional[str] = None  # None: $RAY_ADDRESS if set, else a local Ray started in-process
    num_cpus: Optional[int] = Field(default=None, ge=1)  # for the local Ray only
    max_retries: int = Field(default=2, ge=0)  # per shard, before it is marked failed
    # a call running longer than this (seconds) is hung: its actor is killed and replaced, and
    # the shard retried or marked failed with that reason. None: no limit. Ray only.
    hang_timeout_s: Optional[float] = Field(default=None, gt=0)


class RunConfig(_Strict):
    """Everything a run needs; frozen as RUN_DIR/config.yaml at start."""

    run_id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    output_dir: str  # local path or a pyarrow filesystem URI (s3://, gs://)
    seed: int = 0
    models: list[ModelSpec] = Field(min_length=1)
    benchmarks: list[BenchmarkSpec] = Field(min_length=1)
    ranker: Optional[RankerSpec] = None
    # the probe stage runs only when set (None in run directories made before it existed)
    probes: Optional[ProbeSpec] = None
    sandbox: dict[str, Any] = Field(default_factory=dict)  # sandbox.config.SandboxConfig fields
    sandbox_actors: int = Field(default=1, ge=1)  # Ray actors running sandboxes
    sandbox_resources: dict[str, float] = Field(default_factory=dict)  # e.g. {"sandbox": 1} on a cluster
    shard_size: int = Field(default=8, ge=1)  # problems per generation shard
    ray: RayOptions = Field(default_factory=RayOptions)
    reduce: dict[str, Any] = Field(default_factory=dict)  # ci, n_boot, ...

    @model_validator(mode="after")
    def _unique_names(self) -> "RunConfig":
        names = [m.name for m in self.models]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"model names must be unique; repeated: {sorted(dup)}")
        benches = [b.name for b in self.benchmarks]
        dup = {n for n in benches if benches.count(n) > 1}
        if dup:
            raise ValueError(f"benchmarks must be unique; repeated: {sorted(dup)}")
        for bench in self.benchmarks:
            unknown = sorted(set(bench.n_per_model) - set(names))
            if unknown:
                raise ValueError(
                    f"benchmark {bench.name}: n_per_model names unknown models {unknown}; "
                    f"models are {names}"
                )
        return self


def _format(exc: ValidationError, source: str) -> str:
    lines = [f"{source}: invalid run config"]
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        lines.append(f"  {where}: {err['msg']}")
    return "\n".join(lines)


def parse(data: Any, source: str = "config", *, counts_only: bool = False) -> RunConfig:
    """Validate a mapping as a RunConfig; ConfigError names every bad field. `counts_only`:
    the config of a run directory that is read, not generated (imported counts, a finished
    run), so a benchmark needs a well-formed name, not a registered one."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: a run config is a mapping, got {type(data).__name__}")
    try:
        return RunConfig.model_validate(data, context={"counts_only": counts_only})
    except ValidationError as exc:
        raise ConfigError(_format(exc, source)) from None


def load(path: str | Path) -> RunConfig:
    """Read and validate a YAML run config."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})") from None
    return parse(data, str(path))


def dump(config: RunConfig) -> str:
    """The config as YAML (what RUN_DIR/config.yaml holds)."""
    return yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False)
