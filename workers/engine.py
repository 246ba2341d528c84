"""Engine settings (config, not code) for vLLM, and the environment the CPU build needs.

`EngineConfig` holds every knob the pipeline may set per model: dtype, context length, KV-cache
space (CPU) or GPU memory fraction, tensor parallelism, prefix caching, eager mode, seed.
`cpu_env()` gives the environment variables that make vLLM's CPU build run in one process;
the pipeline passes them to Ray's `runtime_env={"env_vars": ...}` (actors see only those).
"""

from __future__ import annotations

import os
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class EngineConfig(BaseModel):
    """How one `vllm.LLM` is built. Unknown fields are refused (typos name the field)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    dtype: Literal["auto", "float32", "float16", "bfloat16"] = "float32"
    max_model_len: int = Field(default=2048, ge=16)
    kv_cache_space_gb: int = Field(default=1, ge=1)  # CPU build: VLLM_CPU_KVCACHE_SPACE (GiB)
    tensor_parallel_size: int = Field(default=1, ge=1)
    gpu_memory_utilization: float = Field(default=0.9, gt=0, le=1)  # GPU build only
    enable_prefix_caching: bool = True
    #: None: off on the CPU build, vLLM's default on GPUs. vLLM 0.32's CPU runner crashes
    #: ("CPU Generator does not use offset") when a seeded request's prefill is split over steps.
    enable_chunked_prefill: bool | None = None
    #: Tokens per engine step; None: vLLM's default, or max(max_model_len, 4096) without chunking.
    max_num_batched_tokens: int | None = Field(default=None, ge=16)
    enforce_eager: bool = True
    seed: int = 0
    #: Sequences per `LLM.generate` call at most; a larger n is split into chunks (memory bound).
    #: On the CPU build a call also holds at most `prefill_token_budget()` prompt tokens.
    max_batch_samples: int = Field(default=256, ge=1)
    #: Samples per vLLM request (SamplingParams.n); a larger n becomes several requests.
    max_samples_per_request: int = Field(default=64, ge=1)

    def prefill_token_budget(self) -> int | None:
        """Prompt tokens one `LLM.generate` call may hold so that no prompt is split over engine
        steps: the step budget when chunked prefill is off (the CPU build), else None (no limit).

        vLLM 0.32's CPU runner crashes ("CPU Generator does not use offset") when a seeded
        request's prefill is split, as with MBPP's 3-shot prompts (~700 tokens) x 32 sequences
        in one call; the generator sizes its calls by this budget instead of a fixed count.
        """
        kwargs = self.llm_kwargs("")
        if kwargs.get("enable_chunked_prefill") is False:
            return int(kwargs["max_num_batched_tokens"])
        return None

    def llm_kwargs(self, model: str) -> dict[str, Any]:
        """Keyword arguments for `vllm.LLM(...)` on the local directory `model`."""
        kwargs: dict[str, Any] = dict(
            model=model,
            tokenizer=model,
            dtype=self.dtype,
            max_model_len=self.max_model_len,
            tensor_parallel_size=self.tensor_parallel_size,
            enable_prefix_caching=self.enable_prefix_caching,
            enforce_eager=self.enforce_eager,
            seed=self.seed,
        )
        cpu = is_cpu_build()
        if not cpu:
            kwargs["gpu_memory_utilization"] = self.gpu_memory_utilization
        chunked = self.enable_chunked_prefill
        if chunked is None and cpu:
            chunked = False
        if chunked is not None:
            kwargs["enable_chunked_prefill"] = chunked
        budget = self.max_num_batched_tokens
        if budget is None and chunked is False:
            budget = max(self.max_model_len, 4096)
        if budget is not None:
            kwargs["max_num_batched_tokens"] = budget
        return kwargs


def is_cpu_build() -> bool:
    """True when the installed vLLM is the CPU build (or no CUDA device is visible)."""
    try:
        from vllm.platforms import current_platform

        return bool(current_platform.is_cpu())
    except Exception:  # noqa: BLE001 - no vllm, or a platform probe failure: assume CPU
        return True


def cpu_env(engine: EngineConfig | None = None, *, threads: int | None = None) -> dict[str, str]:
    """Environment for vLLM's CPU build in one process, offline (no hub, no telemetry).

    `threads` sets OMP_NUM_THREADS (e.g. the actor's num_cpus); None leaves it unset.
    """
    engine = engine or EngineConfig()
    env = {
        "VLLM_CPU_KVCACHE_SPACE": str(engine.kv_cache_space_gb),
        "VLLM_ENABLE_V1_MULTIPROCESSING": "0",
        "VLLM_CPU_OMP_THREADS_BIND": "nobind",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "VLLM_NO_USAGE_STATS": "1",
        "DO_NOT_TRACK": "1",
        "RAY_USAGE_STATS_ENABLED": "0",
        "TOKENIZERS_PARALLELISM": "false",
    }
    if threads is not None:
        env["OMP_NUM_THREADS"] = str(int(threads))
    return env


def apply_env(env: dict[str, str]) -> None:
    """Set `env` in this process unless a variable is already set (the caller's choice wins)."""
    for key, value in env.items():
        os.environ.setdefault(key, value)
