"""Engine settings: vLLM keyword arguments, the CPU build's prefill budget, and its environment."""

from __future__ import annotations

import pytest

from workers.engine import EngineConfig, cpu_env, is_cpu_build


@pytest.mark.skipif(not is_cpu_build(), reason="the CPU build's defaults")
def test_on_the_cpu_build_chunked_prefill_is_off_and_the_step_budget_bounds_a_call():
    engine = EngineConfig(max_model_len=2048)
    kwargs = engine.llm_kwargs("/m")
    assert kwargs["enable_chunked_prefill"] is False and kwargs["max_num_batched_tokens"] == 4096
    assert engine.prefill_token_budget() == 4096
    assert EngineConfig(max_model_len=8192).prefill_token_budget() == 8192
    assert EngineConfig(max_num_batched_tokens=1024).prefill_token_budget() == 1024


def test_with_chunked_prefill_on_a_call_has_no_prompt_token_budget():
    assert EngineConfig(enable_chunked_prefill=True).prefill_token_budget() is None


def test_unknown_engine_fields_are_refused_by_name():
    with pytest.raises(ValueError, match="max_batch_sample"):
        EngineConfig(max_batch_sample=8)


def test_the_cpu_environment_is_offline_and_sets_the_kv_cache_space():
    env = cpu_env(EngineConfig(kv_cache_space_gb=3), threads=2)
    assert env["VLLM_CPU_KVCACHE_SPACE"] == "3" and env["OMP_NUM_THREADS"] == "2"
    assert env["HF_HUB_OFFLINE"] == "1" and env["VLLM_ENABLE_V1_MULTIPROCESSING"] == "0"
