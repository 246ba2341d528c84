"""Cost model of the reducer: what one sample of a model costs, in FLOPs and in wall time.

Role in the pipeline: `pipeline.reduce.curves` turns pass@k curves into pass_flops@f / pass_time@t
with these costs. FLOPs per forward pass come from `calflops` on a model built from its config
on PyTorch's meta device (no weights, no memory), input length 128 as in the paper (Hassid et
al. 2024, Sec. 3.2); this reproduces the paper's Table 1 for Code Llama 7B/13B/34B/70B, and the
StarCoderBase 1B/3B/7B presets (GPTBigCode, multi-query attention) use the same convention. Wall
time per sample comes from the samples table (measured `gen_seconds`, averaged per (model,
benchmark) over the sampled rows, greedy ones excluded) or the config. `curve_costs` says which
cost each curve uses and where it came from. Normalised cost = cost / cost of the cheapest model
compared on the same benchmark.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from typing import Any, Mapping, Optional

from pydantic import BaseModel, ConfigDict, Field, model_validator

#: Sequence length of the FLOPs count (the paper's choice).
SEQ_LEN = 128

#: Code Llama's published sizes (LlamaConfig fields), as in ../shared/notes/runtime.md.
PRESETS: dict[str, dict[str, Any]] = {
    "codellama-7b": dict(hidden_size=4096, num_hidden_layers=32, num_attention_heads=32,
                         num_key_value_heads=32, intermediate_size=11008, vocab_size=32016),
    "codellama-13b": dict(hidden_size=5120, num_hidden_layers=40, num_attention_heads=40,
                          num_key_value_heads=40, intermediate_size=13824, vocab_size=32016),
    "codellama-34b": dict(hidden_size=8192, num_hidden_layers=48, num_attention_heads=64,
                          num_key_value_heads=8, intermediate_size=22016, vocab_size=32000),
    "codellama-70b": dict(hidden_size=8192, num_hidden_layers=80, num_attention_heads=64,
                          num_key_value_heads=8, intermediate_size=28672, vocab_size=32016),
    # StarCoderBase (GPTBigCode: learned absolute positions, one shared key/value head, GELU MLP,
    # tied input/output embeddings): the fields of the published config.json files, whose
    # sources are in PRESET_SOURCES. The Astraios models (bigcode/astraios-*-fft) fine-tune these
    # without changing the architecture.
    "starcoderbase-1b": dict(model_type="gpt_bigcode", n_embd=2048, n_layer=24, n_head=16,
                             n_inner=8192, n_positions=8192, vocab_size=49152, multi_query=True,
                             activation_function="gelu_pytorch_tanh", bos_token_id=0, eos_token_id=0),
    "starcoderbase-3b": dict(model_type="gpt_bigcode", n_embd=2816, n_layer=36, n_head=22,
                             n_inner=11264, n_positions=8192, vocab_size=49152, multi_query=True,
                             activation_function="gelu_pytorch_tanh", bos_token_id=0, eos_token_id=0),
    "starcoderbase-7b": dict(model_type="gpt_bigcode", n_embd=4096, n_layer=42, n_head=32,
                             n_inner=16384, n_positions=8192, vocab_size=49152, multi_query=True,
                             activation_function="gelu", bos_token_id=0, eos_token_id=0),
}

#: Where each preset's configuration values were read (every field of the preset is in it).
PRESET_SOURCES: dict[str, str] = {
    **{f"codellama-{s}": "Code Llama's published sizes (../shared/notes/runtime.md, calflops)"
       for s in ("7b", "13b", "34b", "70b")},
    "starcoderbase-1b": "config.json of huggingface.co/bigcode/astraios-1b-fft (refs/pr/2, "
                        "_name_or_path bigcode/starcoderbase-1b); the same values in the copy "
                        "Xenova/starcoderbase-1b",
    "starcoderbase-3b": "config.json of bigcode/starcoderbase-3b as copied in "
                        "refactai/starcoderbase-3b (refs/pr/1) and LunaticPython161/starcoderbase-3b "
                        "(_name_or_path .../conversions/starcoder-3b), identical in both",
    "starcoderbase-7b": "config.json of bigcode/starcoderbase-7b as copied in "
                        "tina1111/starcoderbase-7b-sharded-bf16 (_name_or_path bigcode/starcoderbase-7b)",
}

#: The paper's Table 1 (TFLOPs per forward pass; wall seconds to generate ~1k samples on 8 A100s).
PAPER_TABLE1: dict[str, dict[str, float]] = {
    "codellama-7b": {"tflops": 1.69, "seconds": 395.0},
    "codellama-13b": {"tflops": 3.29, "seconds": 667.0},
    "codellama-34b": {"tflops": 8.58, "seconds": 2994.0},
    "codellama-70b": {"tflops": 17.60, "seconds": 5605.0},
}


class CostError(ValueError):
    """A cost cannot be determined (unknown preset, unreadable config, missing measurements)."""


class ModelCost(BaseModel):
    """What one sample of a model costs; embeddable in the run config as `models[].cost`.

    Give FLOPs directly (`flops_per_pass`), or let them be computed from `config` (a named
    preset such as "codellama-7b", a Hugging Face config.json file or a model directory).
    `seconds_per_sample` overrides the wall time measured in the samples table (e.g. the paper's
    Table 1 times, `PAPER_TABLE1`; only ratios matter once normalised).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Optional[str] = None
    flops_per_pass: Optional[float] = Field(default=None, gt=0)
    seconds_per_sample: Optional[float] = Field(default=None, gt=0)
    config: Optional[str] = None
    seq_len: int = Field(default=SEQ_LEN, ge=1)

    @model_validator(mode="after")
    def _known_preset(self) -> "ModelCost":
        if self.config and not _is_path_like(self.config) and self.config not in PRESETS:
            raise ValueError(
                f"unknown cost preset {self.config!r}; known: {', '.join(PRESETS)} "
                "(or give a path to a Hugging Face config.json / model directory)"
            )
        return self

    def flops(self) -> Optional[float]:
        """FLOPs per forward pass: the given value, else calflops on `config`, else None."""
        if self.flops_per_pass is not None:
            return float(self.flops_per_pass)
        if self.config:
            return flops_per_forward(self.config, self.seq_len)
        return None

    def seconds(self) -> Optional[float]:
        """Seconds per sample if given (else None: the reducer then uses the measured time)."""
        return None if self.seconds_per_sample is None else float(self.seconds_per_sample)


def _is_path_like(text: str) -> bool:
    return os.sep in text or text.endswith(".json") or os.path.exists(text)


def hf_config(spec: Any):
    """A transformers config from a preset name, a config.json / model directory, a dict of
    config fields (LlamaConfig's unless it has a `model_type`), or a config object (as is)."""
    from transformers import AutoConfig, LlamaConfig, PretrainedConfig

    if isinstance(spec, PretrainedConfig):
        return spec
    if isinstance(spec, str) and spec in PRESETS:
        spec = PRESETS[spec]
    if isinstance(spec, Mapping):
        fields = dict(spec)
        model_type = fields.pop("model_type", "llama")
        if model_type == "llama":
            return LlamaConfig(**fields)
        return AutoConfig.for_model(model_type, **fields)
    if isinstance(spec, (str, os.PathLike)) and os.path.exists(spec):
        try:
            return AutoConfig.from_pretrained(str(spec), local_files_only=True)
        except (OSError, ValueError) as exc:
            raise CostError(f"{spec}: not a readable Hugging Face config ({exc})") from None
    raise CostError(
        f"cannot build a model config from {spec!r}: give a preset ({', '.join(PRESETS)}), a "
        "config.json file or model directory, or a dict of LlamaConfig fields"
    )


def flops_per_forward(spec: Any, seq_len: int = SEQ_LEN) -> float:
    """FLOPs of one forward pass over `seq_len` tokens (batch 1), counted by calflops on a
    model built on the meta device. `spec`: see `hf_config`."""
    if isinstance(spec, str):
        return _flops_cached(spec, seq_len)
    return _count_flops(hf_config(spec), seq_len)


@functools.lru_cache(maxsize=64)
def _flops_cached(spec: str, seq_len: int) -> float:
    return _count_flops(hf_config(spec), seq_len)


def _count_flops(config, seq_len: int) -> float:
    import torch
    from calflops import calculate_flops
    from transformers import AutoModelForCausalLM

    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(config)
    ids = torch.zeros((1, seq_len), dtype=torch.long, device="meta")
    flops, _macs, _params = calculate_flops(
        model=model, kwargs={"input_ids": ids}, print_results=False, output_as_string=False
    )
    return float(flops)


def seconds_per_sample(samples) -> dict[tuple[str, str], float]:
    """Measured wall seconds per sample for each (model, benchmark): mean gen_seconds over its
    sampled (temperature > 0) rows.

    A model's samples of one benchmark never price another benchmark's (an APPS sample is
    longer than a HumanEval one), and greedy samples are left out: they are not what a budget
    buys more of. `samples` has the `samples` schema (pyarrow Table or pandas DataFrame); pairs
    whose mean is not positive (e.g. imported samples without timings) are left out.
    """
    return {key: mean for key, (mean, _) in _measured(samples).items()}


def _measured(samples) -> dict[tuple[str, str], tuple[float, int]]:
    frame = samples.to_pandas() if hasattr(samples, "to_pandas") else samples
    if len(frame) == 0:
        return {}
    frame = frame[frame["temperature"] > 0]
    stats = frame.groupby(["model", "benchmark"])["gen_seconds"].agg(["mean", "count"])
    return {(str(m), str(b)): (float(r["mean"]), int(r["count"]))
            for (m, b), r in stats.iterrows() if r["mean"] > 0}


def normalise(costs: Mapping[str, Optional[float]]) -> dict[str, float]:
    """Cost / cost of the cheapest model, over the models whose cost is known (others dropped)."""
    known = {m: float(v) for m, v in costs.items() if v is not None}
    if not known:
        return {}
    bad = [m for m, v in known.items() if not v > 0]
    if bad:
        raise CostError(f"costs must be positive; got {', '.join(f'{m}={known[m]}' for m in bad)}")
    cheapest = min(known.values())
    return {m: v / cheapest for m, v in known.items()}


@dataclass(frozen=True)
class Priced:
    """The cost per sample one budget curve used, and where it came from."""

    value: Optional[float]  # None: no cost known, the curve is left out
    source: str


def _flops_source(cost: ModelCost) -> str:
    if cost.flops_per_pass is not None:
        return "config: cost.flops_per_pass"
    if cost.config in PRESETS:
        return f"calflops: preset {cost.config} (seq_len {cost.seq_len})"
    return f"calflops: {cost.config} (seq_len {cost.seq_len})"


def curve_costs(
    pairs, costs: Optional[Mapping[str, ModelCost]] = None, samples=None
) -> dict[tuple[str, str], dict[str, Priced]]:
    """{(model, benchmark): {"flops": Priced, "time": Priced}} for every pair in `pairs`.

    FLOPs per sample come only from `costs` (a model's FLOPs per forward pass are the same on
    every benchmark). Seconds per sample come from `costs` (`seconds_per_sample`) where given,
    else from the sampled rows of that model *on that benchmark* in `samples`.
    """
    costs = dict(costs or {})
    measured = _measured(samples) if samples is not None else {}
    out: dict[tuple[str, str], dict[str, Priced]] = {}
    for model, bench in pairs:
        c = costs.get(model)
        flops = c.flops() if c else None
        f = Priced(flops, _flops_source(c)) if flops is not None else Priced(
            None, "none: no FLOPs cost in the config")
        secs = c.seconds() if c else None
        if secs is not None:
            t = Priced(secs, "config: cost.seconds_per_sample")
        elif (model, bench) in measured:
            mean, count = measured[(model, bench)]
            t = Priced(mean, f"measured: mean gen_seconds of {count} sampled samples")
        else:
            t = Priced(None, "none: no positive gen_seconds and no cost.seconds_per_sample")
        out[(model, bench)] = {"flops": f, "time": t}
    return out
