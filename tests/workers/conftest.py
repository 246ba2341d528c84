"""Fixtures of the worker tests: the tiny Llama (built once into the cache) and one engine on it.

The vLLM CPU environment is set before vLLM is imported; one `Generator` on the tiny model is
shared by the whole session (loading an engine costs ~20 s on 2 cores), and the scorer tests
reuse its engine.
"""

from __future__ import annotations

import pytest

from workers.engine import EngineConfig, apply_env, cpu_env

apply_env(cpu_env())

#: Small requests and batches, so n = 64 exercises the chunking.
TINY_ENGINE = EngineConfig(max_model_len=512, max_samples_per_request=16, max_batch_samples=40)


@pytest.fixture(scope="session")
def tiny_model_dir() -> str:
    from workers.models import resolve_model

    return resolve_model("tiny-llama")


@pytest.fixture(scope="session")
def tiny_generator(tiny_model_dir):
    from workers.generate import Generator

    gen = Generator(tiny_model_dir, TINY_ENGINE, model_name="tiny")
    yield gen
    del gen


@pytest.fixture(scope="session")
def tiny_hf_model(tiny_model_dir):
    """The same tiny model in transformers (float32, eval mode): the reference implementation."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32).eval()
    return model, AutoTokenizer.from_pretrained(tiny_model_dir)


@pytest.fixture(scope="session")
def problems_of():
    """Builds a `problems` table from task_id -> prompt, with one stop list for all."""
    return _problems


def _problems(prompts: dict[str, str], stop: list[str], benchmark: str = "humaneval"):
    import schemas

    return schemas.from_rows(
        [
            dict(
                benchmark=benchmark,
                task_id=task_id,
                prompt=prompt,
                tests="",
                test_setup="",
                entry_point=None,
                io_kind="function",
                difficulty=None,
                fewshot_ids=[],
                stop=stop,
                reference=None,
                starter_code="",
            )
            for task_id, prompt in prompts.items()
        ],
        "problems",
    )
