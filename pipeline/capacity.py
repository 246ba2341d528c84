"""Capacity planner: samples, tokens, GPU-hours and sandbox CPU-hours of a run config on a cluster.

The model is deliberately simple and every number in it has a source (the tables below):

- samples  = problems x (n for the model + 1 greedy sample if `greedy`)
- generated tokens = samples x mean completion length, capped by `max_new_tokens` (measured
  means in each benchmark's `planner` figures; the upper bound puts every sample at `max_new_tokens`)
- prompt tokens = problems x mean prompt length, once per (model, problem): the n samples of a
  problem are one vLLM request (`SamplingParams(n=...)`), whose prompt is prefilled once
- generation GPU-seconds = generated tokens / decode tokens/s per GPU + prompt tokens / prefill
  tokens/s per GPU. Decode throughput: a published vLLM figure for a 7B model on the GPU
  (DECODE_7B), scaled to other sizes by FLOPs per token (calflops, paper Table 1) or, with
  `scaling="paper-walltime"`, by the paper's measured wall-time ratios. Prefill: peak FLOP/s x
  an assumed utilisation / FLOPs per token.
- ranker GPU-seconds: every sample's prompt + completion is prefilled once by the ranker, which
  runs as one actor (as the orchestrator runs it), so its hours on its own GPUs bound the wall-clock
- sandbox CPU-seconds = samples x program runs per sample / runs per core-second; HumanEval and
  MBPP run one program per sample, APPS one per test case (21.2 on average in the test split).

It assumes full, perfectly packed GPUs: no engine start-up, model download, stragglers or retries.
FLOPs scaling is for the Code Llama sizes; it overstates small models, whose decoding is bound by
memory and scheduling rather than FLOPs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Optional

from pipeline.config import BenchmarkSpec, ModelSpec, RunConfig


class PlanError(ValueError):
    """The config or cluster shape cannot be planned; the message says what is missing."""


@dataclass(frozen=True)
class Source:
    value: float
    source: str


# Decode throughput of a 7B model, generated tokens/s per GPU, large batch (vLLM).
DECODE_7B: dict[str, Source] = {
    "a100": Source(1591.4, "LambdaLabsML/vllm-benchmark benchmark_v0.md: vLLM 0.5.4, 1xA100-80GB-SXM, "
                   "Mistral-7B-Instruct-v0.3, 320 ShareGPT prompts: 1591.4 output tokens/s"),
    "h100": Source(3281.19, "same benchmark, 1xH100-80GB-SXM: 3281.19 output tokens/s"),
}

# Dense bf16 peak per GPU, for prefill (compute-bound) throughput.
PEAK_TFLOPS: dict[str, Source] = {
    "a100": Source(312.0, "NVIDIA A100 datasheet: 312 TFLOPS bf16 dense"),
    "h100": Source(989.0, "NVIDIA H100 SXM datasheet: 989 TFLOPS bf16 dense"),
}
PREFILL_UTILISATION = Source(0.5, "assumption: half of peak during prefill (no cited figure)")

# FLOPs of one forward pass over 128 tokens (calflops 0.3.2, paper Table 1 and runtime.md), and
# the paper's wall-time for about 1k samples on a node of 8 A100s (Table 1).
TFLOPS_128: dict[float, float] = {7: 1.691, 13: 3.290, 34: 8.571, 70: 17.591}
PAPER_WALLTIME_S: dict[float, float] = {7: 395, 13: 667, 34: 2994, 70: 5605}
SIZE_SOURCE = ("Hassid et al. 2024 Table 1 (calflops at sequence length 128; wall-time on 8xA100); "
               "reproduced with calflops here (shared/notes/runtime.md)")

# Mean prompt/completion lengths and program runs per sample: each benchmark's `planner`
# figures (pipeline.benchmarks), measured with deploy/tools/measure_tokens.py.
SANDBOX_RUNS_PER_CORE_S = Source(107.5, "215 HumanEval tests/s on 2 cores, fork-server sandbox (runtime.md)")



@dataclass(frozen=True)
class Cluster:
    """The cluster shape: GPU nodes for generation and ranking, CPU cores for the sandbox."""

    nodes: int = 1
    gpus_per_node: int = 8
    gpu: str = "a100"
    sandbox_nodes: int = 1
    sandbox_cores_per_node: int = 96
    sandbox_runs_per_core_s: float = SANDBOX_RUNS_PER_CORE_S.value
    scaling: str = "flops"  # or "paper-walltime"
    params_b: dict[str, float] = field(default_factory=dict)  # model name -> billions, overrides

    def __post_init__(self) -> None:
        for name in ("nodes", "gpus_per_node", "sandbox_nodes", "sandbox_cores_per_node"):
            if getattr(self, name) < 1:
                raise PlanError(f"{name.replace('_', '-')} must be at least 1, got {getattr(self, name)}")
        if self.sandbox_runs_per_core_s <= 0:
            raise PlanError("sandbox runs per core-second must be positive")
        if self.gpu not in DECODE_7B:
            raise PlanError(f"no throughput figures for GPU {self.gpu!r}; known: {', '.join(DECODE_7B)}")
        if self.scaling not in ("flops", "paper-walltime"):
            raise PlanError(f"scaling is 'flops' or 'paper-walltime', got {self.scaling!r}")

    @property
    def gpus(self) -> int:
        return self.nodes * self.gpus_per_node

    @property
    def sandbox_cores(self) -> int:
        return self.sandbox_nodes * self.sandbox_cores_per_node


@dataclass(frozen=True)
class Row:
    """One (model, benchmark) pair, or the ranker's scoring of one benchmark."""

    model: str
    benchmark: str
    problems: int
    n: int
    samples: int
    prompt_tokens: float
    generated_tokens: float
    generated_tokens_max: float
    gpu_hours: float
    gpu_hours_max: float
    sandbox_cpu_hours: float


@dataclass(frozen=True)
class Plan:
    rows: list[Row]
    ranker_rows: list[Row]
    cluster: Cluster
    usable_gpus: dict[str, int]  # per model and ranker: min(replicas x GPUs per replica, cluster)
    sizes: dict[str, float]  # model or ranker name -> parameters in billions

    @property
    def samples(self) -> int:
        return sum(r.samples for r in self.rows)

    @property
    def gpu_hours(self) -> float:
        return sum(r.gpu_hours for r in self.rows + self.ranker_rows)

    @property
    def gpu_hours_max(self) -> float:
        return sum(r.gpu_hours_max for r in self.rows + self.ranker_rows)

    @property
    def sandbox_cpu_hours(self) -> float:
        return sum(r.sandbox_cpu_hours for r in self.rows)

    def model_gpu_hours(self, model: str) -> float:
        return sum(r.gpu_hours for r in self.rows + self.ranker_rows if r.model == model)

    def model_wall_hours(self, model: str) -> float:
        """Hours for one model on its own replicas."""
        return self.model_gpu_hours(model) / self.usable_gpus[model]

    @property
    def wall_hours_packed(self) -> float:
        """Every GPU of the cluster busy all the time."""
        return self.gpu_hours / self.cluster.gpus

    @property
    def wall_hours(self) -> float:
        """At least the packed time, and at least the slowest model (or ranker) on its own actors."""
        slowest = max((self.model_wall_hours(m) for m in self.usable_gpus), default=0.0)
        return max(self.wall_hours_packed, slowest)

    @property
    def sandbox_wall_hours(self) -> float:
        return self.sandbox_cpu_hours / self.cluster.sandbox_cores


def params_billions(model_name: str, path: str, overrides: Optional[dict[str, float]] = None) -> float:
    """Parameter count in billions, from an override or a size in the name/path ('7b', '135m')."""
    if overrides and model_name in overrides:
        return overrides[model_name]
    for text in (path, model_name):
        found = re.findall(r"(?<![A-Za-z0-9.])(\d+(?:\.\d+)?)([bBmM])(?![A-Za-z])", text.replace("_", "-"))
        if found:
            number, unit = found[-1]
            return float(number) / (1000 if unit in "mM" else 1)
    raise PlanError(
        f"cannot tell the size of model {model_name!r} ({path}); name it with its size "
        f"(e.g. '-7b') or pass --params {model_name}=BILLIONS"
    )


def tflops_per_token(params_b: float) -> float:
    """Forward FLOPs per token (TFLOPs): calflops' figure for a Code Llama size, else 2 x params."""
    if params_b in TFLOPS_128:
        return TFLOPS_128[params_b] / 128
    return 2 * params_b * 1e9 / 1e12


def decode_tokens_per_s(params_b: float, cluster: Cluster) -> float:
    """Generated tokens/s per GPU for a model of this size on the cluster's GPU."""
    base = DECODE_7B[cluster.gpu].value
    if cluster.scaling == "paper-walltime":
        if params_b not in PAPER_WALLTIME_S:
            raise PlanError(f"the paper measured wall-time for 7/13/34/70B only, not {params_b:g}B")
        return base * PAPER_WALLTIME_S[7] / PAPER_WALLTIME_S[params_b]
    return base * tflops_per_token(7) / tflops_per_token(params_b)


def prefill_tokens_per_s(params_b: float, cluster: Cluster) -> float:
    peak = PEAK_TFLOPS[cluster.gpu].value * PREFILL_UTILISATION.value
    return peak / tflops_per_token(params_b)


def problem_count(bench: BenchmarkSpec) -> int:
    """Problems the benchmark runs: its subset, else its splits, else the full test set."""
    from pipeline import benchmarks

    try:
        return benchmarks.get(bench.name).problem_count(bench)
    except benchmarks.DataError as exc:
        raise PlanError(str(exc)) from None


def max_new_tokens(bench: BenchmarkSpec) -> int:
    from pipeline import benchmarks

    return bench.max_new_tokens or benchmarks.get(bench.name).sampling.max_new_tokens


def _figures(bench: BenchmarkSpec):
    from pipeline import benchmarks

    return benchmarks.get(bench.name).planner


def _row(model: ModelSpec, bench: BenchmarkSpec, params_b: float, cluster: Cluster) -> Row:
    problems = problem_count(bench)
    n = bench.n_for(model.name)
    samples = problems * (n + (1 if bench.greedy else 0))
    cap = max_new_tokens(bench)
    figures = _figures(bench)
    per_sample = min(figures.completion_tokens.value, cap)
    prompt = problems * figures.prompt_tokens.value
    generated, generated_max = samples * per_sample, samples * cap
    decode, prefill = decode_tokens_per_s(params_b, cluster), prefill_tokens_per_s(params_b, cluster)
    runs = samples * figures.runs_per_sample.value
    return Row(
        model=model.name,
        benchmark=bench.name,
        problems=problems,
        n=n,
        samples=samples,
        prompt_tokens=prompt,
        generated_tokens=generated,
        generated_tokens_max=generated_max,
        gpu_hours=(generated / decode + prompt / prefill) / 3600,
        gpu_hours_max=(generated_max / decode + prompt / prefill) / 3600,
        sandbox_cpu_hours=runs / cluster.sandbox_runs_per_core_s / 3600,
    )


def plan(config: RunConfig, cluster: Cluster = Cluster()) -> Plan:
    """The cost of running `config` on `cluster`."""
    rows, usable, sizes = [], {}, {}
    for model in config.models:
        params_b = sizes[model.name] = params_billions(model.name, model.path, cluster.params_b)
        per_replica = max(1, round(model.num_gpus) or int(model.engine.get("tensor_parallel_size", 1)))
        if per_replica > cluster.gpus:
            raise PlanError(
                f"model {model.name} needs {per_replica} GPUs per replica; the cluster has {cluster.gpus}"
            )
        usable[model.name] = min(model.replicas * per_replica, cluster.gpus)
        rows += [_row(model, bench, params_b, cluster) for bench in config.benchmarks]
    ranker_rows = []
    if config.ranker is not None:
        params_b = params_billions(config.ranker.name, config.ranker.path, cluster.params_b)
        sizes[f"ranker:{config.ranker.name}"] = params_b
        # The orchestrator ranks on the generator's own actors when the ranker is one of the
        # models (same weights and engine); otherwise on `ranker.replicas` actors of its own.
        from pipeline.run.actors import colocated_ranker

        host = next((m for m in config.models if m.name == colocated_ranker(config)), None)
        actors, per_actor = ((host.replicas, host.num_gpus) if host is not None
                             else (config.ranker.replicas, config.ranker.num_gpus))
        usable[f"ranker:{config.ranker.name}"] = min(actors * max(1, round(per_actor)), cluster.gpus)
        rate = prefill_tokens_per_s(params_b, cluster)
        for bench in config.benchmarks:
            gen = [r for r in rows if r.benchmark == bench.name]
            samples = sum(r.samples for r in gen)
            prompt_per_problem = _figures(bench).prompt_tokens.value
            tokens = sum(r.samples * prompt_per_problem + r.generated_tokens for r in gen)
            tokens_max = sum(r.samples * prompt_per_problem + r.generated_tokens_max for r in gen)
            ranker_rows.append(Row(
                model=f"ranker:{config.ranker.name}", benchmark=bench.name,
                problems=gen[0].problems if gen else 0, n=0, samples=samples,
                prompt_tokens=tokens, generated_tokens=0, generated_tokens_max=0,
                gpu_hours=tokens / rate / 3600, gpu_hours_max=tokens_max / rate / 3600,
                sandbox_cpu_hours=0.0,
            ))
    return Plan(rows=rows, ranker_rows=ranker_rows, cluster=cluster, usable_gpus=usable, sizes=sizes)


def _si(x: float) -> str:
    for unit, scale in (("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(x) >= scale:
            return f"{x / scale:.2f}{unit}"
    return f"{x:.0f}"


def render(p: Plan) -> str:
    """A plain-text report of the plan, with the sources of every figure."""
    c = p.cluster
    lines = [
        f"cluster: {c.nodes} node(s) x {c.gpus_per_node} {c.gpu.upper()} = {c.gpus} GPUs; "
        f"sandbox {c.sandbox_nodes} node(s) x {c.sandbox_cores_per_node} cores; scaling by {c.scaling}",
        "",
        f"{'model':22s} {'benchmark':10s} {'problems':>8s} {'n':>5s} {'samples':>9s} {'prompt tok':>10s} "
        f"{'gen tok':>9s} {'GPU-h':>9s} {'GPU-h max':>9s} {'sandbox CPU-h':>13s}",
    ]
    for r in p.rows + p.ranker_rows:
        lines.append(
            f"{r.model:22s} {r.benchmark:10s} {r.problems:8d} {r.n or '-':>5} {r.samples:9d} "
            f"{_si(r.prompt_tokens):>10s} {_si(r.generated_tokens):>9s} {r.gpu_hours:9.1f} "
            f"{r.gpu_hours_max:9.1f} {r.sandbox_cpu_hours:13.1f}"
        )
    if p.ranker_rows:
        lines.append("(ranker rows: 'prompt tok' is what the ranker prefills, prompt + completion of every sample of every model)")
    gen_tokens = sum(r.generated_tokens for r in p.rows)
    prompt_tokens = sum(r.prompt_tokens for r in p.rows)
    lines += [
        "",
        f"samples: {p.samples:,}   prompt tokens: {_si(prompt_tokens)}   generated tokens: "
        f"{_si(gen_tokens)} (at most {_si(sum(r.generated_tokens_max for r in p.rows))})",
        f"GPU-hours: {p.gpu_hours:,.1f} expected, {p.gpu_hours_max:,.1f} if every sample reaches max_new_tokens"
        + (f" (ranker: {sum(r.gpu_hours for r in p.ranker_rows):,.1f})" if p.ranker_rows else ""),
        f"wall-clock: at least {p.wall_hours:,.1f} h = {p.wall_hours / 24:,.2f} days: all {c.gpus} GPUs busy "
        f"{p.wall_hours_packed:,.1f} h; each model on its replicas "
        + ", ".join(f"{m} {p.model_wall_hours(m):,.1f} h on {g} GPU{'s' if g > 1 else ''}"
                    for m, g in p.usable_gpus.items()),
        f"sandbox: {p.sandbox_cpu_hours:,.1f} CPU-hours = {p.sandbox_wall_hours:,.1f} h on {c.sandbox_cores} cores "
        f"at {c.sandbox_runs_per_core_s:g} program runs per core-second",
        "",
        "per-GPU throughput used (tokens/s):",
    ]
    lines += [f"  {line}" for line in _throughput_lines(p)]
    lines += [
        "",
        "sources:",
        f"  decode 7B: {DECODE_7B[c.gpu].source}",
        f"  size scaling: {SIZE_SOURCE}",
        f"  prefill: {PEAK_TFLOPS[c.gpu].source}; {PREFILL_UTILISATION.source}",
        *_benchmark_source_lines(),
        f"  sandbox rate: {SANDBOX_RUNS_PER_CORE_S.source}",
        "  assumes full, perfectly packed GPUs: no engine start-up, downloads, stragglers or retries",
    ]
    return "\n".join(lines)


def _throughput_lines(p: Plan) -> list[str]:
    lines = []
    for name, size in p.sizes.items():
        decode = "-" if name.startswith("ranker:") else f"{decode_tokens_per_s(size, p.cluster):,.0f}"
        lines.append(f"{name}: {size:g}B, decode {decode}, prefill {prefill_tokens_per_s(size, p.cluster):,.0f}")
    return lines


def _benchmark_source_lines() -> list[str]:
    from pipeline import benchmarks

    out = []
    for name, b in benchmarks.REGISTRY.items():
        f = b.planner
        out += [f"  prompt {name}: {f.prompt_tokens.value:g} tokens, {f.prompt_tokens.source}",
                f"  completion {name}: {f.completion_tokens.value:g} tokens, {f.completion_tokens.source}",
                f"  sandbox {name}: {f.runs_per_sample.value:g} runs per sample, {f.runs_per_sample.source}"]
    return out
