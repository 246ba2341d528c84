"""Scoring: each completion's mean negative log-likelihood given its prompt, as a `scores` table.

One non-autoregressive pass per sample: the engine is asked for one token with
`SamplingParams(max_tokens=1, prompt_logprobs=0)` on the token ids prompt + completion, and
returns the log-probability of every prompt token; the mean over the completion's tokens,
negated, is `mean_nll` (lower is better; NaN for an empty completion, which numpy sorts last).

Tokenisation boundary (`split_ids`): the prompt is tokenised exactly as the generator did
(special tokens included). If tokenising prompt + completion starts with those ids, the rest
are the completion's tokens. Otherwise a token straddles the boundary (e.g. the prompt's final
newline merged with the completion's indent); then the completion is tokenised on its own, as
the generator could only have produced it after the prompt's ids, provided that round-trips
to the same text; if not (a tokenizer that prepends a space marker), the straddling token is
counted with the completion.

`truncated` flags samples that stopped at the token limit without finishing:
finish_reason == "length", or n_tokens >= max_new_tokens without a stop.
Contexts longer than the engine's max_model_len lose prompt tokens from the left.
"""

from __future__ import annotations

import math
from typing import Any

import pyarrow as pa

import schemas
from workers.engine import EngineConfig
from workers.models import load_llm

SAMPLE_COLUMNS = ("run_id", "model", "benchmark", "task_id", "sample_idx", "completion", "n_tokens", "finish_reason")


class ScoringError(ValueError):
    """Bad scoring input (missing prompt for a sample, missing columns); names what was tried."""


def split_ids(tokenizer, prompt: str, completion: str) -> tuple[list[int], list[int]]:
    """(prompt ids, completion ids) for scoring `completion` after `prompt` (see module doc)."""
    p = list(tokenizer(prompt).input_ids)
    if not completion:
        return p, []
    full = list(tokenizer(prompt + completion).input_ids)
    if full[: len(p)] == p:
        return p, full[len(p) :]
    alone = list(tokenizer(completion, add_special_tokens=False).input_ids)
    if tokenizer.decode(alone) == completion:
        return p, alone
    common = 0
    while common < min(len(p), len(full)) and p[common] == full[common]:
        common += 1
    return full[:common], full[common:]


def is_truncated(finish_reason: str, n_tokens: int, max_new_tokens: int) -> bool:
    """True when a sample ran into the token limit without finishing."""
    return finish_reason == "length" or (finish_reason != "stop" and n_tokens >= max_new_tokens)


class Scorer:
    """Holds one `vllm.LLM` (the ranker) and scores `samples` shards into `scores` shards."""

    def __init__(self, model: str, engine: EngineConfig | dict | None = None, ranker_name: str | None = None):
        self.engine, self.model_dir, self.llm = load_llm(model, engine, role="ranker")
        self.ranker_name = ranker_name or model
        self.tokenizer = self.llm.get_tokenizer()

    @classmethod
    def sharing(cls, generator, ranker_name: str | None = None) -> "Scorer":
        """A Scorer on the engine of an existing `Generator` (ranker = generator, no second load)."""
        self = cls.__new__(cls)
        self.engine = generator.engine
        self.model_dir = generator.model_dir
        self.ranker_name = ranker_name or generator.model_name
        self.llm = generator.llm
        self.tokenizer = generator.tokenizer
        return self

    def _fit(self, p: list[int], c: list[int]) -> tuple[list[int], int]:
        """Token ids to send and the index of the first completion token, within the context."""
        room = self.engine.max_model_len - 1  # one generated token must fit
        ids = p + c
        if len(ids) > room:
            drop = len(ids) - room
            ids = ids[drop:]
            start = max(1, len(p) - drop)  # position 0 has no log-probability
        else:
            start = max(1, len(p))
        return ids, start

    def nll(self, pairs: list[tuple[str, str]]) -> list[tuple[float, int]]:
        """(mean NLL, tokens scored) for each (prompt, completion)."""
        from vllm import SamplingParams
        from vllm.inputs import TokensPrompt

        jobs, results = [], [(math.nan, 0)] * len(pairs)
        for i, (prompt, completion) in enumerate(pairs):
            p, c = split_ids(self.tokenizer, prompt, completion)
            if c:
                ids, start = self._fit(p, c)
                if start < len(ids):  # an empty prompt leaves the first token unscorable
                    jobs.append((i, ids, start))
        params = SamplingParams(max_tokens=1, temperature=0.0, prompt_logprobs=0, detokenize=False)
        step = self.engine.max_batch_samples
        for b in range(0, len(jobs), step):
            batch = jobs[b : b + step]
            outs = self.llm.generate(
                [TokensPrompt(prompt_token_ids=ids) for _, ids, _ in batch], params, use_tqdm=False
            )
            for (i, ids, start), out in zip(batch, outs):
                logprobs = out.prompt_logprobs
                total = 0.0
                for pos in range(start, len(ids)):
                    total += logprobs[pos][ids[pos]].logprob
                count = len(ids) - start
                results[i] = (-total / count, count)
        return results

    def score(self, problems: pa.Table, samples: pa.Table, max_new_tokens: int) -> pa.Table:
        """A `scores` table: one row per sample, keyed like `samples`."""
        missing = [c for c in SAMPLE_COLUMNS if c not in samples.column_names]
        if missing:
            raise ScoringError(f"score: samples table lacks column(s) {missing}")
        for col in ("benchmark", "task_id", "prompt"):
            if col not in problems.column_names:
                raise ScoringError(f"score: problems table lacks column {col!r}")
        prompts = {
            (b, t): p
            for b, t, p in zip(
                problems.column("benchmark").to_pylist(),
                problems.column("task_id").to_pylist(),
                problems.column("prompt").to_pylist(),
            )
        }
        rows = samples.select(list(SAMPLE_COLUMNS)).to_pylist()
        pairs = []
        for r in rows:
            key = (r["benchmark"], r["task_id"])
            if key not in prompts:
                raise ScoringError(
                    f"score: no problem {key[0]}/{key[1]} in the problems table for sample "
                    f"{r['sample_idx']} of model {r['model']!r}"
                )
            pairs.append((prompts[key], r["completion"]))
        scored = self.nll(pairs)
        out: list[dict[str, Any]] = []
        for r, (mean_nll, count) in zip(rows, scored):
            out.append(
                {
                    "run_id": r["run_id"],
                    "model": r["model"],
                    "benchmark": r["benchmark"],
                    "task_id": r["task_id"],
                    "sample_idx": r["sample_idx"],
                    "ranker": self.ranker_name,
                    "mean_nll": mean_nll,
                    "n_tokens": count,
                    "truncated": is_truncated(r["finish_reason"], r["n_tokens"], max_new_tokens),
                }
            )
        if not out:
            return schemas.empty("scores")
        return schemas.from_rows(out, "scores")
