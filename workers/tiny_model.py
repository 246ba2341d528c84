"""A tiny random Llama with its own BPE tokenizer: a test fixture model that builds in seconds.

The tokenizer is a byte-level BPE trained with `tokenizers` on a few files of the running
Python's standard library; the weights are random (seeded), so the output is gibberish but the
model loads in vLLM and transformers exactly like a real Llama. The same seed and the same
Python give byte-identical files.
"""

from __future__ import annotations

import hashlib
import json
import os
import sysconfig
from pathlib import Path

#: Standard-library modules whose source trains the tokenizer (code-like text, always present).
CORPUS_MODULES = ("textwrap", "string", "heapq", "bisect", "functools", "fractions")
VOCAB_SIZE = 2048
SPECIAL = "<|endoftext|>"

#: Model shape: hidden 128, 2 layers, 2 heads of 64 (a head size vLLM's CPU attention supports).
SHAPE = dict(
    hidden_size=128,
    intermediate_size=256,
    num_hidden_layers=2,
    num_attention_heads=2,
    num_key_value_heads=2,
    max_position_embeddings=2048,
    # Larger than the usual 0.02, so the random model's next-token distribution is not flat.
    initializer_range=0.2,
)


def corpus_files() -> list[Path]:
    """The stdlib source files the tokenizer is trained on."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    files = [stdlib / f"{name}.py" for name in CORPUS_MODULES]
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise FileNotFoundError(f"tiny model corpus: standard-library files not found: {missing}")
    return files


def corpus_digest() -> str:
    """A short hash of the corpus, so a cache built with another Python is not reused."""
    h = hashlib.sha256()
    for f in corpus_files():
        h.update(f.name.encode())
        h.update(f.read_bytes())
    return h.hexdigest()[:12]


def _train_tokenizer(files: list[Path]):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE,
        special_tokens=[SPECIAL],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train([str(f) for f in files], trainer)
    return tok


def build_tiny_llama(out_dir: str | os.PathLike, seed: int = 0) -> str:
    """Build the tiny Llama (config, safetensors, tokenizer) into `out_dir`; return its path.

    The directory is written under a temporary name and renamed, so it appears only complete.
    An existing complete build in `out_dir` is replaced.
    """
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    from workers.files import atomic_directory

    out = Path(out_dir)
    files = corpus_files()
    with atomic_directory(out) as tmp:
        tok = _train_tokenizer(files)
        eos = tok.token_to_id(SPECIAL)
        fast = PreTrainedTokenizerFast(
            tokenizer_object=tok, bos_token=SPECIAL, eos_token=SPECIAL, pad_token=SPECIAL
        )
        fast.model_max_length = SHAPE["max_position_embeddings"]
        fast.save_pretrained(tmp)

        config = LlamaConfig(
            vocab_size=tok.get_vocab_size(),
            bos_token_id=eos,
            eos_token_id=eos,
            pad_token_id=eos,
            tie_word_embeddings=False,
            **SHAPE,
        )
        gen = torch.Generator().manual_seed(seed)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = LlamaForCausalLM(config).to(torch.float32)
        # Re-draw every weight from our own generator: independent of transformers' init order.
        with torch.no_grad():
            for name, param in sorted(model.named_parameters()):
                if name.endswith("norm.weight"):
                    param.fill_(1.0)
                else:
                    param.copy_(torch.randn(param.shape, generator=gen) * SHAPE["initializer_range"])
        model.generation_config.do_sample = False
        model.save_pretrained(tmp, safe_serialization=True)
        (tmp / "tiny_model.json").write_text(
            json.dumps(
                {"seed": seed, "corpus": [f.name for f in files], "corpus_digest": corpus_digest()},
                indent=1,
            )
        )
    return str(out)
