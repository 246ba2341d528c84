"""Overhead of the Ray generation actor vs bare `vllm.LLM.generate`, in one run.

Both paths get the same prompts (easy HumanEval problems), model, engine settings and
sampling settings (n, T, top-p, max tokens, stop sequences, the same per-sample seeds), so they
generate the same tokens. Bare: `LLM.generate` in this process, timed around the call. Actor:
`ray.get(actor.generate.remote(problems, ...))` from the driver, timed around the call, so it
includes the actor round trip, Arrow (de)serialisation and the `samples` table building.
Engines are loaded and warmed up before timing; rounds alternate bare / actor.

Also prints the share of each actor call spent inside `LLM.generate` (measured in the actor):
1 minus that share is the actor path's own overhead, measured over the same interval, so it is
robust to other load on the machine, unlike the two paths' separate timings.

Prints tokens/s of each path and the ratio actor / bare (goal >= 0.9), per round and as the
median over rounds; also tokens per CPU-second of the process that runs the engine (this
process for bare, the actor's process for Ray), which is less sensitive to other load on a
shared machine. Ray starts workers at nice 15 by default (`RAY_worker_niceness`); this script
sets it to 0 (unless already set) so both paths compete for the CPU on equal terms.

    .venv/bin/python bench/generation_overhead.py [--model smollm2-135m] [--n 8] ...

Writes its result as its row of docs/benchmarks.md (bench/record.py); --no-record or
BUDGET_REALLOC_BENCH_NO_RECORD=1 leaves the page alone.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.record import add_no_record, command_line, record  # noqa: E402
from workers.engine import EngineConfig, apply_env, cpu_env, is_cpu_build  # noqa: E402

EASY = [2, 7, 23, 28, 29, 30, 34, 42, 45, 53]


def _problems(path: str | None, count: int):
    import pyarrow as pa
    import pyarrow.compute as pc

    from pipeline.benchmarks import humaneval

    table = humaneval.load(path)
    ids = [f"HumanEval/{i}" for i in EASY[:count]]
    return table.filter(pc.is_in(table.column("task_id"), pa.array(ids)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--humaneval", default=str(Path(__file__).resolve().parents[2] / "shared/data/humaneval/HumanEval.jsonl.gz"))
    ap.add_argument("--problems", type=int, default=10)
    ap.add_argument("--n", type=int, default=4)
    ap.add_argument("--max-new-tokens", type=int, default=96)
    ap.add_argument("--temperature", type=float, default=0.8)
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--num-cpus", type=int, default=2)
    ap.add_argument("--max-model-len", type=int, default=1024)
    add_no_record(ap)
    args = ap.parse_args()
    load_before = os.getloadavg()

    engine = EngineConfig(max_model_len=args.max_model_len)
    env = cpu_env(engine, threads=args.num_cpus) if is_cpu_build() else {}
    apply_env(env)
    os.environ.setdefault("RAY_worker_niceness", "0")
    import ray
    from vllm import LLM, SamplingParams
    from vllm.inputs import TokensPrompt

    from pipeline.run.scheduler import ActorSpec, RayScheduler
    from workers.generate import Generator, sample_seed
    from workers.models import resolve_model

    model_dir = resolve_model(args.model)
    problems = _problems(args.humaneval if Path(args.humaneval).exists() else None, args.problems)
    rows = problems.to_pylist()
    settings = dict(
        run_id="bench", n=args.n, temperature=args.temperature, top_p=0.95,
        max_new_tokens=args.max_new_tokens, seed=0,
    )

    llm = LLM(**engine.llm_kwargs(model_dir))
    tok = llm.get_tokenizer()
    prompts = [TokensPrompt(prompt_token_ids=list(tok(r["prompt"]).input_ids)) for r in rows]
    params = [
        SamplingParams(
            n=args.n, temperature=args.temperature, top_p=0.95, max_tokens=args.max_new_tokens,
            seed=sample_seed(0, r["task_id"], 0), stop=list(r["stop"]),
        )
        for r in rows
    ]

    def bare() -> tuple[int, float, float, list[str]]:
        cpu, start = time.process_time(), time.perf_counter()
        outs = llm.generate(prompts, params, use_tqdm=False)
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
        comps = [c for o in outs for c in sorted(o.outputs, key=lambda c: c.index)]
        return sum(len(c.token_ids) for c in comps), elapsed, cpu, [c.text for c in comps]

    scheduler = RayScheduler(num_cpus=args.num_cpus)
    try:
        actor = scheduler.start(ActorSpec(Generator, (args.model, engine, args.model), num_cpus=args.num_cpus,
                                          env=env or {}))
        ray.get(actor.info.remote())  # engine loaded

        def actor_cpu() -> float:
            return ray.get(actor.__ray_call__.remote(lambda self: time.process_time()))

        def via_actor() -> tuple[int, float, float, list[str]]:
            cpu = actor_cpu()
            start = time.perf_counter()
            table = ray.get(actor.generate.remote(problems, **settings))
            elapsed = time.perf_counter() - start
            cpu = actor_cpu() - cpu
            inside.append(ray.get(actor.stats.remote())["engine_seconds"] / elapsed)
            tokens = sum(table.column("n_tokens").to_pylist())
            return tokens, elapsed, cpu, table.column("completion").to_pylist()

        warm = dict(settings, n=1, max_new_tokens=8)
        llm.generate(prompts[:2], SamplingParams(max_tokens=8), use_tqdm=False)
        ray.get(actor.generate.remote(problems.slice(0, 2), **warm))

        rates = {"bare": [], "actor": [], "ratio": [], "bare_cpu": [], "actor_cpu": []}
        inside: list[float] = []  # share of the actor round trip spent inside LLM.generate
        same = True
        for r in range(args.rounds):
            # Alternate the order, so a trend in the machine's load favours neither path.
            if r % 2 == 0:
                tb, sb, cb, texts_b = bare()
                ta, sa, ca, texts_a = via_actor()
            else:
                ta, sa, ca, texts_a = via_actor()
                tb, sb, cb, texts_b = bare()
            same &= texts_a == texts_b
            rates["bare"].append(tb / sb)
            rates["actor"].append(ta / sa)
            rates["ratio"].append((ta / sa) / (tb / sb))
            rates["bare_cpu"].append(tb / cb)
            rates["actor_cpu"].append(ta / ca)
            print(f"round {r}: bare {tb} tokens in {sb:.2f} s ({tb / sb:.1f} tok/s, "
                  f"{tb / cb:.1f} tok/CPU-s); actor {ta} tokens in {sa:.2f} s ({ta / sa:.1f} tok/s, "
                  f"{ta / ca:.1f} tok/CPU-s); ratio {(ta / sa) / (tb / sb):.3f}; "
                  f"share of the actor call inside LLM.generate {inside[-1]:.4f}", flush=True)
        ray.kill(actor)
    finally:
        scheduler.shutdown()

    b, a = statistics.median(rates["bare"]), statistics.median(rates["actor"])
    bc, ac = statistics.median(rates["bare_cpu"]), statistics.median(rates["actor_cpu"])
    print(f"model={args.model} problems={len(rows)} n={args.n} max_new_tokens={args.max_new_tokens} "
          f"T={args.temperature} rounds={args.rounds} num_cpus={args.num_cpus}")
    print(f"same completions on both paths: {same}")
    print(f"bare vllm.LLM.generate: {b:.1f} tokens/s (median)")
    print(f"Ray GenerationActor:    {a:.1f} tokens/s (median)")
    print(f"ratio actor/bare: {a / b:.3f} (goal >= 0.9); median of per-round ratios: "
          f"{statistics.median(rates['ratio']):.3f}")
    print(f"per CPU-second of the engine's process: bare {bc:.1f}, actor {ac:.1f} tokens, "
          f"ratio {ac / bc:.3f}")
    print(f"share of the actor round trip spent inside LLM.generate (median): "
          f"{statistics.median(inside):.4f} (the rest is Ray, Arrow and table building)")
    load_after = os.getloadavg()
    print(f"load average at the end: {load_after[0]:.2f} on {os.cpu_count()} CPUs")
    record("generation_overhead", command_line("generation_overhead"),
           f"actor/bare {a / b:.3f} (goal >= 0.9; {a:.1f} vs {b:.1f} tokens/s, median of {args.rounds} "
           f"rounds; per engine CPU-second {ac / bc:.3f}; share inside LLM.generate "
           f"{statistics.median(inside):.4f}); same completions on both paths: {same}",
           load_before, load_after, no_record=args.no_record)


if __name__ == "__main__":
    main()
