"""Generation: n completions per problem with one `vllm.LLM`, as a `samples` table.

`Generator` holds the engine (built once) and turns a shard of `problems` into a `samples`
shard. Each problem's samples come from `SamplingParams(n=...)` requests, so the prompt is
prefilled once per request (and shared across requests by prefix caching); a large n is split
into requests of at most `EngineConfig.max_samples_per_request`, and requests into
`LLM.generate` calls of at most `EngineConfig.max_batch_samples` sequences and, where chunked
prefill is off (the CPU build), at most `EngineConfig.prefill_token_budget()` prompt tokens
(prompt length x samples), so that no seeded prompt is split over engine steps whatever the
benchmark's prompt lengths.

Reproducibility: sample `i` of a problem is drawn with its own seed
`problem_seed(seed, task_id) + i` (vLLM gives child j of a request with seed s the seed s + j),
so its text depends only on (seed, task_id, sample_idx): not on the shard's other problems,
the chunking, or `sample_offset`. Greedy (temperature 0) draws once and repeats it n times.

Prompt styles: `raw` (default, the paper's) gives the model the problem's prompt and its stop
sequences; `instruct` asks for the completed function in a chat turn (`workers.instruct`), stops
only at the model's end of turn, keeps the reply in `samples.reply` and stores the code taken
from it as the completion.

The run's Ray actors (`pipeline.run.actors`) hold a `Generator`; this module never imports Ray.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from typing import Any, Iterator

import pyarrow as pa

import schemas
from workers import instruct
from workers.engine import EngineConfig
from workers.models import load_llm

#: Problem columns the generator reads.
PROBLEM_COLUMNS = ("benchmark", "task_id", "prompt", "stop")
_SEED_BITS = 48


class GenerationError(ValueError):
    """Bad generation input (arguments, problems table, prompt too long); names what was tried."""


def problem_seed(seed: int, task_id: str) -> int:
    """A stable 48-bit seed for one problem of a run (hash of the run seed and the task id)."""
    digest = hashlib.sha256(f"{int(seed)}\x00{task_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> (64 - _SEED_BITS)


def sample_seed(seed: int, task_id: str, sample_idx: int) -> int:
    """The seed vLLM uses for sample `sample_idx` of `task_id` (stored in samples.seed)."""
    return problem_seed(seed, task_id) + int(sample_idx)


@dataclass(frozen=True)
class _Request:
    row: int  # problem row in the shard
    offset: int  # sample_idx of the request's first sample
    n: int  # samples drawn by vLLM in this request
    repeat: int  # rows written per drawn sample (n for greedy, else 1)


def _check_args(n: int, temperature: float, top_p: float, max_new_tokens: int, offset: int) -> None:
    problems = []
    if not isinstance(n, int) or n < 1:
        problems.append(f"n={n!r} (must be an integer >= 1)")
    if not temperature >= 0:
        problems.append(f"temperature={temperature!r} (must be >= 0)")
    if not 0 < top_p <= 1:
        problems.append(f"top_p={top_p!r} (must be in (0, 1])")
    if not isinstance(max_new_tokens, int) or max_new_tokens < 1:
        problems.append(f"max_new_tokens={max_new_tokens!r} (must be an integer >= 1)")
    if not isinstance(offset, int) or offset < 0:
        problems.append(f"sample_offset={offset!r} (must be an integer >= 0)")
    if problems:
        raise GenerationError("generate: bad argument(s): " + "; ".join(problems))


def _check_problems(problems: pa.Table) -> None:
    missing = [c for c in PROBLEM_COLUMNS if c not in problems.column_names]
    if missing:
        raise GenerationError(
            f"generate: problems table lacks column(s) {missing}; has {problems.column_names}"
        )
    keys = list(zip(problems.column("benchmark").to_pylist(), problems.column("task_id").to_pylist()))
    if len(set(keys)) != len(keys):
        dup = next(k for k in keys if keys.count(k) > 1)
        raise GenerationError(f"generate: problem {dup} appears more than once in the shard")


def _batches(requests: list[_Request], max_samples: int, prompt_lens: list[int] | None = None,
             max_tokens: int | None = None) -> Iterator[list[_Request]]:
    """Consecutive requests grouped into calls of at most `max_samples` sequences and, when
    `max_tokens` is given, at most `max_tokens` prompt tokens (a request counts n x its prompt)."""
    batch: list[_Request] = []
    size = tokens = 0
    for req in requests:
        cost = req.n * prompt_lens[req.row] if max_tokens is not None and prompt_lens else 0
        if batch and (size + req.n > max_samples or (max_tokens is not None and tokens + cost > max_tokens)):
            yield batch
            batch, size, tokens = [], 0, 0
        batch.append(req)
        size += req.n
        tokens += cost
    if batch:
        yield batch


def request_size(max_per_request: int, prompt_len: int, budget: int | None) -> int:
    """Samples per request: at most `max_per_request`, and within the prompt-token budget."""
    if budget is None:
        return max_per_request
    return max(1, min(max_per_request, budget // max(prompt_len, 1)))


def attribute_seconds(seconds: float, tokens: list[int]) -> list[float]:
    """Split a call's wall time over its samples in proportion to their generated tokens."""
    total = sum(tokens)
    if total <= 0:
        return [seconds / len(tokens)] * len(tokens) if tokens else []
    return [seconds * t / total for t in tokens]


class Generator:
    """Holds one `vllm.LLM` and generates `samples` shards from `problems` shards."""

    def __init__(self, model: str, engine: EngineConfig | dict | None = None, model_name: str | None = None,
                 prompt_style: str = "raw"):
        if prompt_style not in instruct.PROMPT_STYLES:
            raise GenerationError(f"prompt_style {prompt_style!r}: choose one of "
                                  f"{', '.join(instruct.PROMPT_STYLES)}")
        self.engine, self.model_dir, self.llm = load_llm(model, engine, role="model")
        self.model_name = model_name or model
        self.prompt_style = prompt_style
        self.tokenizer = self.llm.get_tokenizer()
        self.last_stats: dict[str, float] = {}

    def stats(self) -> dict[str, float]:
        """Timing of the last `generate`: wall seconds, seconds inside `LLM.generate`, tokens."""
        return dict(self.last_stats)

    def info(self) -> dict[str, Any]:
        """Model name, directory and engine settings (for manifests and logs)."""
        return {"model": self.model_name, "model_dir": self.model_dir, "engine": self.engine.model_dump(),
                "prompt_style": self.prompt_style}

    def prompt_ids(self, prompt: str) -> list[int]:
        """Token ids of `prompt` exactly as vLLM would tokenise it (special tokens included)."""
        return list(self.tokenizer(prompt).input_ids)

    def _styled(self, rows: list[dict[str, Any]], problems: pa.Table) -> tuple[list[list[int]], list[list[str]]]:
        """Token ids and stop sequences of each problem under this generator's prompt style."""
        if self.prompt_style == "raw":
            return [self.prompt_ids(r["prompt"]) for r in rows], [list(r["stop"] or []) for r in rows]
        kinds = problems.column("io_kind").to_pylist() if "io_kind" in problems.column_names else []
        bad = [r["task_id"] for r, k in zip(rows, kinds) if k != "function"]
        if len(kinds) != len(rows) or bad:
            raise GenerationError(
                "generate: prompt_style 'instruct' asks for a completed function, so it needs "
                f"function problems (io_kind 'function', e.g. HumanEval); not {bad[:3] or 'a table without io_kind'}")
        try:
            texts = [instruct.chat_prompt(self.tokenizer, r["prompt"]) for r in rows]
        except instruct.PromptStyleError as exc:
            raise GenerationError(f"generate: {self.model_name}: {exc}") from None
        ids = [list(self.tokenizer(t, add_special_tokens=False).input_ids) for t in texts]
        return ids, [[] for _ in rows]  # the reply ends at the model's end-of-turn token

    def generate(
        self,
        problems: pa.Table,
        *,
        run_id: str,
        n: int,
        temperature: float,
        top_p: float,
        max_new_tokens: int,
        seed: int,
        sample_offset: int = 0,
        progress: bool = False,
    ) -> pa.Table:
        """`n` samples per problem (sample_idx = sample_offset .. sample_offset+n-1) as `samples`.

        A prompt longer than the engine's max_model_len minus one token raises GenerationError;
        otherwise max_new_tokens is capped per prompt so prompt + completion fits the context.
        """
        from vllm import SamplingParams
        from vllm.inputs import TokensPrompt

        call_start = time.perf_counter()
        engine_seconds = 0.0
        _check_args(n, temperature, top_p, max_new_tokens, sample_offset)
        _check_problems(problems)
        rows = problems.select(list(PROBLEM_COLUMNS)).to_pylist()
        if not rows:
            return schemas.empty("samples")
        greedy = temperature == 0
        ids, stops = self._styled(rows, problems)
        entry = (problems.column("entry_point").to_pylist() if "entry_point" in problems.column_names
                 else [None] * len(rows))
        limit = self.engine.max_model_len
        for r, p in zip(rows, ids):
            if len(p) >= limit:
                raise GenerationError(
                    f"generate: prompt of {r['benchmark']}/{r['task_id']} has {len(p)} tokens, "
                    f"which leaves no room in max_model_len={limit}; raise EngineConfig.max_model_len"
                )

        budget = self.engine.prefill_token_budget()
        lens = [len(p) for p in ids]
        requests: list[_Request] = []
        for i in range(len(rows)):
            if greedy:
                requests.append(_Request(i, sample_offset, 1, n))
                continue
            step = request_size(self.engine.max_samples_per_request, len(ids[i]), budget)
            for start in range(0, n, step):
                requests.append(_Request(i, sample_offset + start, min(step, n - start), 1))

        out: list[dict[str, Any]] = []
        for batch in _batches(requests, self.engine.max_batch_samples, lens, budget):
            prompts, params = [], []
            for req in batch:
                row = rows[req.row]
                params.append(
                    SamplingParams(
                        n=req.n,
                        temperature=float(temperature),
                        top_p=1.0 if greedy else float(top_p),
                        max_tokens=min(max_new_tokens, limit - len(ids[req.row])),
                        seed=sample_seed(seed, row["task_id"], req.offset),
                        stop=stops[req.row],
                        detokenize=True,
                    )
                )
                prompts.append(TokensPrompt(prompt_token_ids=ids[req.row]))
            start = time.perf_counter()
            results = self.llm.generate(prompts, params, use_tqdm=progress)
            elapsed = time.perf_counter() - start
            engine_seconds += elapsed
            drawn: list[tuple[_Request, Any]] = []
            for req, result in zip(batch, results):
                completions = sorted(result.outputs, key=lambda c: c.index)
                if len(completions) != req.n:
                    raise GenerationError(
                        f"generate: vLLM returned {len(completions)} of {req.n} samples for "
                        f"{rows[req.row]['task_id']}"
                    )
                drawn.extend((req, c) for c in completions)
            shares = attribute_seconds(elapsed, [len(c.token_ids) for _, c in drawn])
            for (req, c), share in zip(drawn, shares):
                row = rows[req.row]
                reason = c.finish_reason
                if reason not in ("stop", "length"):
                    raise GenerationError(
                        f"generate: unexpected finish_reason {reason!r} for {row['task_id']}"
                    )
                styled = self.prompt_style == "instruct"
                completion = instruct.extract_completion(c.text, entry[req.row]) if styled else c.text
                for r in range(req.repeat):
                    idx = req.offset + c.index + r
                    out.append(
                        {
                            "run_id": run_id,
                            "model": self.model_name,
                            "benchmark": row["benchmark"],
                            "task_id": row["task_id"],
                            "sample_idx": idx,
                            "seed": sample_seed(seed, row["task_id"], req.offset + c.index),
                            "temperature": float(temperature),
                            "completion": completion,
                            "reply": c.text if styled else None,
                            "n_tokens": len(c.token_ids),
                            "finish_reason": reason,
                            "gen_seconds": share / req.repeat,
                        }
                    )
        table = schemas.from_rows(out, "samples")
        self.last_stats = {
            "wall_seconds": time.perf_counter() - call_start,
            "engine_seconds": engine_seconds,
            "tokens": float(sum(r["n_tokens"] for r in out)),
        }
        return table
