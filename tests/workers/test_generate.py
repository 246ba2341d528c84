"""Generation with vLLM on the tiny Llama: reproducibility, sample bookkeeping, finish reasons.

Specification:
- the same seed gives byte-identical samples; another seed gives different ones;
- a sample's text depends only on (seed, task_id, sample_idx): not on the other problems of
  the shard, the chunking of n, or how the samples are split over sample_offset shards;
- every (problem, sample_idx) appears exactly once, sample_idx = offset .. offset + n - 1;
- finish reasons and token counts agree with the text, and greedy decoding equals a
  transformers greedy loop cut at the stop sequence;
- bad input is refused with an error naming what was wrong.
"""

from __future__ import annotations

import pyarrow.compute as pc
import pytest

import schemas
from workers.generate import GenerationError, attribute_seconds

PROMPTS = {
    "T/0": "def add(a, b):\n    return",
    "T/1": "import os\n\nclass Path:\n    def __init__(self, name):\n",
    "T/2": "    for item in sequence:\n        if",
    "T/3": '"""Wrap text."""\n',
}
SETTINGS = dict(run_id="r1", temperature=0.8, top_p=0.95, max_new_tokens=12)


def _texts(table) -> dict[tuple[str, int], str]:
    return {
        (r["task_id"], r["sample_idx"]): r["completion"]
        for r in table.select(["task_id", "sample_idx", "completion"]).to_pylist()
    }


@pytest.fixture(scope="module")
def problems(problems_of):
    return problems_of(PROMPTS, stop=["\n"])


def test_same_seed_gives_identical_samples_and_another_seed_differs(tiny_generator, problems):
    a = tiny_generator.generate(problems, n=5, seed=7, **SETTINGS)
    b = tiny_generator.generate(problems, n=5, seed=7, **SETTINGS)
    c = tiny_generator.generate(problems, n=5, seed=8, **SETTINGS)
    assert a.drop_columns(["gen_seconds"]).equals(b.drop_columns(["gen_seconds"]))
    differing = [k for k, v in _texts(a).items() if _texts(c)[k] != v]
    assert len(differing) > len(_texts(a)) // 2
    # Within one call, samples of a problem are distinct draws, not copies.
    assert len(set(_texts(a).values())) > len(_texts(a)) // 2


@pytest.mark.parametrize("n", [1, 7, 64])
def test_every_problem_and_sample_idx_present_exactly_once(tiny_generator, problems, n):
    offset = 3
    table = tiny_generator.generate(
        problems, n=n, seed=1, sample_offset=offset, **{**SETTINGS, "max_new_tokens": 4}
    )
    schemas.validate(table, "samples")  # also checks that the key is unique
    got = sorted(zip(table.column("task_id").to_pylist(), table.column("sample_idx").to_pylist()))
    assert got == sorted((t, i) for t in PROMPTS for i in range(offset, offset + n))
    assert set(table.column("model").to_pylist()) == {"tiny"}
    assert set(table.column("run_id").to_pylist()) == {"r1"}
    assert len(set(table.column("seed").to_pylist())) == len(PROMPTS) * n


def test_sample_text_independent_of_shard_composition_chunking_and_offsets(tiny_generator, problems):
    whole = tiny_generator.generate(problems, n=20, seed=3, **SETTINGS)  # 16 + 4 per request
    alone = tiny_generator.generate(problems.slice(2, 1), n=7, seed=3, **SETTINGS)
    later = tiny_generator.generate(problems.slice(1, 2), n=13, seed=3, sample_offset=7, **SETTINGS)
    texts = _texts(whole)
    assert _texts(alone) == {k: v for k, v in texts.items() if k[0] == "T/2" and k[1] < 7}
    assert _texts(later) == {k: v for k, v in texts.items() if k[0] in ("T/1", "T/2") and k[1] >= 7}


def test_finish_reasons_and_token_counts_agree_with_the_text(tiny_generator, problems_of):
    """A sample that stopped is unchanged by a larger token limit; one cut by the limit goes on."""
    stop = ["e", "\n"]
    probs = problems_of(PROMPTS, stop=stop)
    short = tiny_generator.generate(probs, n=16, seed=5, **{**SETTINGS, "max_new_tokens": 6})
    longer = tiny_generator.generate(probs, n=16, seed=5, **{**SETTINGS, "max_new_tokens": 12})
    rows = short.to_pylist()
    assert {r["finish_reason"] for r in rows} == {"stop", "length"}  # both occur here
    for r, l in zip(rows, longer.to_pylist()):
        assert (r["task_id"], r["sample_idx"]) == (l["task_id"], l["sample_idx"])
        for row in (r, l):
            assert not any(s in row["completion"] for s in stop), row
        if r["finish_reason"] == "stop":
            assert 1 <= r["n_tokens"] <= 6
            assert (l["completion"], l["n_tokens"], l["finish_reason"]) == (
                r["completion"], r["n_tokens"], "stop"
            )
        else:
            assert r["n_tokens"] == 6
            assert l["n_tokens"] > 6 and l["completion"].startswith(r["completion"].rstrip("\ufffd"))
            assert l["n_tokens"] == 12 if l["finish_reason"] == "length" else l["n_tokens"] <= 12
    assert all(r["gen_seconds"] > 0 for r in rows)


def _hf_greedy(model, tok, prompt: str, stop: str, max_new: int) -> tuple[str, int, str]:
    import torch

    ids = tok(prompt, return_tensors="pt").input_ids
    new: list[int] = []
    with torch.no_grad():
        for _ in range(max_new):
            nxt = int(model(torch.cat([ids, torch.tensor([new], dtype=ids.dtype)], 1)).logits[0, -1].argmax())
            new.append(nxt)
            if nxt == tok.eos_token_id:
                return tok.decode(new[:-1]), len(new), "stop"
            text = tok.decode(new)
            if stop in text:
                return text[: text.index(stop)], len(new), "stop"
    return tok.decode(new), len(new), "length"


def test_greedy_equals_a_transformers_greedy_loop_cut_at_the_stop(tiny_generator, tiny_hf_model, problems_of):
    model, tok = tiny_hf_model
    stop = "ation"  # found by greedy decoding in two of the four prompts, spanning tokens
    probs = problems_of(PROMPTS, stop=[stop])
    table = tiny_generator.generate(probs, n=1, seed=0, **{**SETTINGS, "temperature": 0.0})
    reasons = set()
    for r in table.to_pylist():
        text, count, reason = _hf_greedy(model, tok, PROMPTS[r["task_id"]], stop, 12)
        assert (r["completion"], r["n_tokens"], r["finish_reason"]) == (text, count, reason), r["task_id"]
        reasons.add(reason)
    assert reasons == {"stop", "length"}, "the prompts should exercise both finish reasons"


def test_a_shard_larger_than_one_engine_step_generates_with_seeds(tiny_generator, problems_of):
    """Regression: seeded requests whose prefills span several engine steps (vLLM 0.32 CPU)."""
    budget = tiny_generator.llm.llm_engine.vllm_config.scheduler_config.max_num_batched_tokens
    prompt = "value = compute(value)\n" * 40
    per_prompt = len(tiny_generator.prompt_ids(prompt))
    count = budget // per_prompt + 2
    probs = problems_of({f"L/{i}": f"# {i}\n" + prompt for i in range(count)}, stop=[])
    table = tiny_generator.generate(probs, n=2, seed=0, **{**SETTINGS, "max_new_tokens": 2})
    assert table.num_rows == 2 * count and count * per_prompt > budget


def test_greedy_with_n_repeats_one_draw(tiny_generator, problems):
    table = tiny_generator.generate(problems, n=3, seed=0, **{**SETTINGS, "temperature": 0.0})
    assert table.num_rows == 3 * len(PROMPTS)
    for task in PROMPTS:
        rows = table.filter(pc.equal(table.column("task_id"), task)).to_pylist()
        assert sorted(r["sample_idx"] for r in rows) == [0, 1, 2]
        assert len({r["completion"] for r in rows}) == 1
        assert set(r["temperature"] for r in rows) == {0.0}


def test_gen_seconds_split_in_proportion_to_tokens():
    shares = attribute_seconds(3.0, [1, 2, 3])
    assert shares == pytest.approx([0.5, 1.0, 1.5])
    assert attribute_seconds(2.0, [0, 0]) == [1.0, 1.0]
    assert attribute_seconds(2.0, []) == []


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(n=0), "n=0"),
        (dict(temperature=-1.0), "temperature=-1.0"),
        (dict(top_p=0.0), "top_p=0.0"),
        (dict(max_new_tokens=0), "max_new_tokens=0"),
        (dict(sample_offset=-2), "sample_offset=-2"),
    ],
)
def test_bad_arguments_are_refused_by_name(tiny_generator, problems, kwargs, message):
    args = dict(SETTINGS, n=1, seed=0) | kwargs
    with pytest.raises(GenerationError, match=message):
        tiny_generator.generate(problems, **args)


def test_prompt_longer_than_the_context_names_the_task(tiny_generator, problems_of):
    probs = problems_of({"T/long": "x = 1\n" * 600}, stop=[])
    with pytest.raises(GenerationError, match="T/long.*max_model_len=512"):
        tiny_generator.generate(probs, n=1, seed=0, **SETTINGS)


def test_problems_without_needed_columns_are_refused(tiny_generator, problems):
    with pytest.raises(GenerationError, match="stop"):
        tiny_generator.generate(problems.drop_columns(["stop"]), n=1, seed=0, **SETTINGS)


def test_empty_shard_gives_an_empty_samples_table(tiny_generator, problems):
    table = tiny_generator.generate(problems.slice(0, 0), n=4, seed=0, **SETTINGS)
    assert table.num_rows == 0 and table.schema.equals(schemas.SAMPLES)


def test_stats_account_for_the_last_call(tiny_generator, problems):
    table = tiny_generator.generate(problems, n=3, seed=0, **SETTINGS)
    stats = tiny_generator.stats()
    assert stats["tokens"] == sum(table.column("n_tokens").to_pylist())
    assert 0 < stats["engine_seconds"] <= stats["wall_seconds"]
    assert sum(table.column("gen_seconds").to_pylist()) == pytest.approx(stats["engine_seconds"])


def test_the_instruct_style_keeps_the_reply_and_stores_the_code_taken_from_it(tiny_generator,
                                                                              problems_of):
    from workers import instruct

    fn = problems_of({"T/0": "def add(a, b):\n"}, stop=["\n"])
    raw = tiny_generator.generate(fn, n=2, seed=5, **SETTINGS)
    assert raw.column("reply").null_count == 2  # raw prompts keep no separate reply
    tok = tiny_generator.tokenizer
    saved = (tiny_generator.prompt_style, tok.chat_template)
    tiny_generator.prompt_style = "instruct"
    tok.chat_template = "{% for m in messages %}<u>{{ m['content'] }}{% endfor %}<a>"
    try:
        table = tiny_generator.generate(fn, n=2, seed=5, **SETTINGS)
        with pytest.raises(GenerationError, match="needs function problems"):
            mbpp_like = problems_of({"M/1": "x"}, stop=[])
            mbpp_like = mbpp_like.set_column(mbpp_like.schema.get_field_index("io_kind"),
                                             "io_kind", [["assert"]])
            tiny_generator.generate(mbpp_like, n=1, seed=5, **SETTINGS)
    finally:
        tiny_generator.prompt_style, tok.chat_template = saved
    rows = table.to_pylist()
    assert all(r["reply"] is not None for r in rows)
    assert [r["completion"] for r in rows] == [instruct.extract_completion(r["reply"], None)
                                               for r in rows]
    # no stop sequence applies: a reply ends at end of turn or the token limit
    assert any("\n" in r["reply"] for r in rows) or all(r["n_tokens"] == 12 for r in rows)


# MBPP's 3-shot prompts are about 700 tokens (SmolLM2 tokenizer); 32 problems x n = 4 in one call
# crashed vLLM 0.32's CPU build with the fixed default of 256 sequences per call.
def test_calls_on_mbpp_length_prompts_never_hold_more_prompt_tokens_than_one_engine_step():
    from workers.generate import _Request, _batches, request_size

    budget, lens = 4096, [700 + (i % 5) * 40 for i in range(32)]
    requests = [_Request(i, 0, request_size(64, lens[i], budget), 1) for i in range(32)]
    calls = list(_batches(requests, 256, lens, budget))
    assert [r for call in calls for r in call] == requests  # nothing dropped, order kept
    assert max(sum(r.n * lens[r.row] for r in call) for call in calls) <= budget
    assert len(calls) > 1
    # a prompt longer than the budget / n still gets one sample per request and a call alone
    assert request_size(64, 5000, budget) == 1
    assert list(_batches([_Request(0, 0, 1, 1)], 256, [5000], budget)) == [[_Request(0, 0, 1, 1)]]
    # without a budget (chunked prefill on, GPUs) only the sequence count limits a call
    assert request_size(64, 700, None) == 64
    assert len(list(_batches(requests, 256, lens, None))) == 1


def test_long_prompts_are_generated_in_budgeted_calls_with_the_same_text(tiny_generator, problems_of,
                                                                        monkeypatch):
    budget = tiny_generator.engine.prefill_token_budget()
    assert budget == tiny_generator.llm.llm_engine.vllm_config.scheduler_config.max_num_batched_tokens
    prompt = "total = total + step(total)\n" * 45  # as long as fits the tiny engine's context
    probs = problems_of({f"M/{i}": f"# {i}\n" + prompt for i in range(12)}, stop=[])
    per_prompt = len(tiny_generator.prompt_ids(f"# 0\n{prompt}"))
    seen: list[int] = []
    real = tiny_generator.llm.generate

    def spy(prompts, params, **kw):
        seen.append(sum(len(p["prompt_token_ids"]) * s.n for p, s in zip(prompts, params)))
        return real(prompts, params, **kw)

    monkeypatch.setattr(tiny_generator.llm, "generate", spy)
    budgeted = tiny_generator.generate(probs, n=4, seed=2, **{**SETTINGS, "max_new_tokens": 3})
    assert 12 * 4 * per_prompt > budget and len(seen) > 1 and max(seen) <= budget
    monkeypatch.setattr(tiny_generator, "engine", tiny_generator.engine.model_copy(
        update={"max_batch_samples": 1}))
    one_by_one = tiny_generator.generate(probs, n=4, seed=2, **{**SETTINGS, "max_new_tokens": 3})
    assert _texts(budgeted) == _texts(one_by_one)
