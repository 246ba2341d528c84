"""Model resolution and engine settings, without starting an engine.

Specification:
- the tiny Llama builds deterministically (same seed: byte-identical files; another seed:
  other weights, same tokenizer) and loads in transformers;
- `resolve_model` accepts a model directory and the named models, and refuses a missing path,
  a broken directory, an unknown name or an unreachable hub id with a ModelError that names
  the spec and the path or source tried;
- engine settings are validated config: unknown fields are refused by name.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
from pydantic import ValidationError

from workers.engine import EngineConfig, cpu_env
from workers.models import ModelError, check_model_dir, resolve_model
from workers.tiny_model import build_tiny_llama


def _digests(path: str) -> dict[str, str]:
    return {f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in sorted(Path(path).iterdir())}


def test_tiny_llama_build_is_deterministic_per_seed(tmp_path):
    a = _digests(build_tiny_llama(tmp_path / "a", seed=0))
    b = _digests(build_tiny_llama(tmp_path / "b", seed=0))
    c = _digests(build_tiny_llama(tmp_path / "c", seed=1))
    assert a == b
    assert a["model.safetensors"] != c["model.safetensors"]
    assert a["tokenizer.json"] == c["tokenizer.json"]


def test_tiny_llama_is_a_small_llama_that_transformers_loads(tiny_model_dir):
    from transformers import AutoConfig, AutoTokenizer

    config = AutoConfig.from_pretrained(tiny_model_dir)
    assert (config.model_type, config.hidden_size, config.num_hidden_layers) == ("llama", 128, 2)
    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    text = "def f(x):\n    return x + 1  # caf\u00e9\n"
    assert tok.decode(tok(text).input_ids) == text
    assert len(tok(text).input_ids) < len(text)  # merges were learnt


def test_resolve_model_accepts_a_model_directory(tiny_model_dir):
    assert resolve_model(tiny_model_dir) == tiny_model_dir
    assert resolve_model("tiny-llama") == tiny_model_dir


def test_a_missing_directory_is_named(tmp_path):
    missing = tmp_path / "nope"
    with pytest.raises(ModelError, match=f"{missing}"):
        resolve_model(str(missing))


@pytest.mark.parametrize(
    "remove, says",
    [("config.json", "config.json is missing"), ("model.safetensors", "no weights"), ("tokenizer.json", "no tokenizer")],
)
def test_a_broken_directory_names_what_is_missing(tiny_model_dir, tmp_path, remove, says):
    broken = tmp_path / "broken"
    shutil.copytree(tiny_model_dir, broken)
    (broken / remove).unlink()
    if remove == "tokenizer.json":
        (broken / "tokenizer_config.json").unlink()
    with pytest.raises(ModelError, match=str(broken)) as info:
        resolve_model(str(broken))
    assert says in str(info.value)


def test_a_corrupt_config_is_named(tiny_model_dir, tmp_path):
    broken = tmp_path / "corrupt"
    shutil.copytree(tiny_model_dir, broken)
    (broken / "config.json").write_text("{not json")
    with pytest.raises(ModelError, match="not valid JSON"):
        check_model_dir(broken)


def test_an_unknown_name_or_unreachable_hub_id_is_named(monkeypatch, tmp_path):
    with pytest.raises(ModelError, match="no-such-model.*smollm2-135m.*tiny-llama"):
        resolve_model("no-such-model")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf" / "hub"))
    with pytest.raises(ModelError, match="codellama/CodeLlama-7b-hf.*Hugging Face cache"):
        resolve_model("codellama/CodeLlama-7b-hf")


def test_engine_config_refuses_unknown_fields_by_name():
    with pytest.raises(ValidationError, match="max_len"):
        EngineConfig(max_len=10)
    with pytest.raises(ValidationError, match="gpu_memory_utilization"):
        EngineConfig(gpu_memory_utilization=1.5)
    config = EngineConfig(max_model_len=1024, kv_cache_space_gb=3)
    kwargs = config.llm_kwargs("/m")
    assert kwargs["max_model_len"] == 1024 and kwargs["model"] == "/m"
    assert json.loads(config.model_dump_json()) == config.model_dump()


def test_cpu_env_keeps_vllm_offline_and_in_one_process():
    env = cpu_env(EngineConfig(kv_cache_space_gb=3), threads=2)
    assert env["VLLM_CPU_KVCACHE_SPACE"] == "3"
    assert env["VLLM_ENABLE_V1_MULTIPROCESSING"] == "0"
    assert env["HF_HUB_OFFLINE"] == env["TRANSFORMERS_OFFLINE"] == "1"
    assert env["OMP_NUM_THREADS"] == "2"
    assert all(isinstance(v, str) for v in env.values())
