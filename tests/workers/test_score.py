"""NLL scoring: mean NLL of the completion given the prompt, against a transformers forward pass.

Specification:
- `mean_nll` equals the mean of -log p(completion token | prompt, earlier tokens) computed by
  transformers on the same model and token ids, within 1e-4;
- the prompt/completion token split reproduces the text and never lets the completion's
  tokens condition on anything but the prompt;
- `truncated` marks samples that hit the token limit without finishing;
- an empty completion scores NaN with 0 tokens; a sample without its problem is refused.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings, strategies as st

import schemas
from workers.score import Scorer, ScoringError, is_truncated, split_ids

PROMPTS = {
    "S/0": "def add(a, b):\n    ",
    "S/1": 'def greet(name):\n    """Say hello."""\n',
    "S/2": "x = [i * i for i in range(10)]\n",
}
COMPLETIONS = [
    ("S/0", "return a + b\n", "stop", 6),
    ("S/0", "    return b + a", "length", 12),  # prompt ends in spaces: the boundary may merge
    ("S/1", '    return "hello " + name\n', "stop", 9),
    ("S/1", "", "stop", 0),
    ("S/2", "print(sum(x))  # 285 \u00e9\u00e8", "length", 12),
]


@pytest.fixture(scope="module")
def scorer(tiny_generator):
    return Scorer.sharing(tiny_generator, ranker_name="tiny-ranker")


@pytest.fixture(scope="module")
def samples():
    return schemas.from_rows(
        [
            dict(
                run_id="r", model="gen", benchmark="humaneval", task_id=t, sample_idx=i, seed=i,
                temperature=0.8, completion=c, n_tokens=n, finish_reason=fr, gen_seconds=0.1,
            )
            for i, (t, c, fr, n) in enumerate(COMPLETIONS)
        ],
        "samples",
    )


def _reference_nll(hf_model, tokenizer, prompt: str, completion: str) -> float:
    import torch

    p, c = split_ids(tokenizer, prompt, completion)
    ids = torch.tensor([p + c])
    with torch.no_grad():
        logprobs = torch.log_softmax(hf_model(ids).logits[0].double(), dim=-1)
    # Token at position j is predicted by the logits at position j - 1.
    picked = [logprobs[j - 1, ids[0, j]].item() for j in range(len(p), len(p) + len(c))]
    return -sum(picked) / len(picked)


def test_mean_nll_equals_a_transformers_forward_pass(scorer, samples, problems_of, tiny_hf_model):
    hf_model, tokenizer = tiny_hf_model
    table = scorer.score(problems_of(PROMPTS, stop=[]), samples, max_new_tokens=12)
    schemas.validate(table, "scores")
    assert table.num_rows == samples.num_rows
    for row, (task, completion, _, _) in zip(table.to_pylist(), COMPLETIONS):
        if not completion:
            assert math.isnan(row["mean_nll"]) and row["n_tokens"] == 0
            continue
        expected = _reference_nll(hf_model, tokenizer, PROMPTS[task], completion)
        assert row["mean_nll"] == pytest.approx(expected, abs=1e-4), (task, completion)
        assert row["n_tokens"] == len(split_ids(tokenizer, PROMPTS[task], completion)[1])
        assert row["ranker"] == "tiny-ranker" and row["model"] == "gen"


def test_truncated_flags_samples_that_hit_the_limit(scorer, samples, problems_of):
    table = scorer.score(problems_of(PROMPTS, stop=[]), samples, max_new_tokens=12)
    assert table.column("truncated").to_pylist() == [fr == "length" for _, _, fr, _ in COMPLETIONS]
    assert is_truncated("stop", 12, 12) is False
    assert is_truncated("length", 3, 12) is True


def test_a_sample_without_its_problem_is_refused(scorer, samples, problems_of):
    with pytest.raises(ScoringError, match="humaneval/S/2"):
        scorer.score(problems_of({k: PROMPTS[k] for k in ("S/0", "S/1")}, stop=[]), samples, 12)


def test_a_completion_longer_than_the_context_keeps_its_tokens(scorer, tiny_hf_model, problems_of):
    """Prompt tokens are dropped from the left so the completion is scored in full."""
    _, tokenizer = tiny_hf_model
    prompt, completion = "x = 1\n" * 300, "y = 2\n" * 20
    p, c = split_ids(tokenizer, prompt, completion)
    assert len(p) + len(c) > scorer.engine.max_model_len
    [(nll, count)] = scorer.nll([(prompt, completion)])
    assert count == len(c) and math.isfinite(nll)


@settings(max_examples=60, deadline=None)
@given(
    prompt=st.text(alphabet=st.sampled_from(list("ab (\n\t:_=\u00e9")), max_size=20),
    completion=st.text(alphabet=st.sampled_from(list("ab (\n\t:_=\u00e9")), max_size=20),
)
def test_token_split_reproduces_the_text(tiny_hf_model, prompt, completion):
    _, tokenizer = tiny_hf_model
    p, c = split_ids(tokenizer, prompt, completion)
    assert tokenizer.decode(p + c) == prompt + completion
    assert tokenizer.decode(p) == prompt or not c  # the completion never starts inside the prompt
    assert (len(c) == 0) == (completion == "")


def test_an_empty_prompt_scores_all_but_the_first_token(scorer, tiny_hf_model):
    """Without a BOS token the first token has no context: it is left out, never divided by 0."""
    _, tokenizer = tiny_hf_model
    code = "def add(a, b): return a + b"
    [(one, n_one), (many, n_many)] = scorer.nll([("", "x"), ("", code)])
    assert len(tokenizer("x").input_ids) == 1 and math.isnan(one) and n_one == 0
    assert n_many == len(tokenizer(code).input_ids) - 1 and math.isfinite(many)
