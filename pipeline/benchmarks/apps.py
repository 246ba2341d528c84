"""APPS (Hendrycks et al. 2021): the 5000-problem test split, 2-shot, QUESTION/ANSWER format.

Each block follows the APPS reference generator: "\\nQUESTION:\\n" + question + "\\n" + starter code +
"\\nUse Standard Input format" or "\\nUse Call-Based format" + "\\nANSWER:\\n". The 2-shot prompt
puts one standard-input and one call-based solved example before the problem. Code Llama's own
shots are not published; the defaults below are this project's, and `fewshot_path` takes a JSON
file with keys problem_type1/solution_type1 (stdin) and problem_type2/solution_type2 (call-based),
the bigcode-evaluation-harness format. Settings from Hassid et al. 2024: max 256 new tokens,
T = 0.6, top-p 0.95.

Data: the codeparrot/apps row schema as jsonl (problem_id, question, solutions, input_output,
difficulty, url, starter_code, with solutions and input_output as JSON strings), or a directory
of the original per-problem directories (question.txt, input_output.json, ...).
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa

import schemas
from pipeline.benchmarks.base import (
    Benchmark, DataError, Figure, PlannerFigures, Sampling, read_jsonl, require)

NAME = "apps"
SAMPLING = Sampling(max_new_tokens=256, temperature=0.6)
STOP = ["\nQUESTION:", "\nANSWER:"]
#: the test split's difficulties and their problem counts (Hendrycks et al. 2021)
SPLITS = {"introductory": 1000, "interview": 3000, "competition": 1000}
DIFFICULTIES = tuple(SPLITS)

DEFAULT_SHOTS = {
    "problem_type1": (
        "You are given two integers a and b. Print their sum.\n\n-----Input-----\n\n"
        "The only line contains two integers a and b (-10^9 <= a, b <= 10^9).\n\n"
        "-----Output-----\n\nPrint a single integer, the value of a + b.\n\n"
        "-----Examples-----\nInput\n3 4\n\nOutput\n7"
    ),
    "solution_type1": "a, b = map(int, input().split())\nprint(a + b)\n",
    "problem_type2": (
        "Given a list of integers nums, return the length of the longest strictly increasing "
        "run of consecutive elements.\n\nExample:\n\nInput: nums = [1, 3, 5, 4, 7]\nOutput: 3"
    ),
    "solution_type2": (
        "class Solution:\n    def longestRun(self, nums):\n        best = cur = 0\n"
        "        for i, x in enumerate(nums):\n"
        "            cur = cur + 1 if i and x > nums[i - 1] else 1\n"
        "            best = max(best, cur)\n        return best\n"
    ),
}


def question_block(question: str, starter_code: str, call_based: bool) -> str:
    """One QUESTION block, ending with 'ANSWER:' and a newline."""
    fmt = "\nUse Call-Based format" if call_based else "\nUse Standard Input format"
    starter = "\n" + starter_code if starter_code else ""
    return "\nQUESTION:\n" + question + starter + fmt + "\nANSWER:\n"


def load_shots(path: str | Path | None) -> dict[str, str]:
    """The two solved examples: the defaults, or a bigcode-style JSON file."""
    if path is None:
        return DEFAULT_SHOTS
    path = Path(path)
    try:
        shots = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"{path}: few-shot file not found") from None
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}: not valid JSON ({exc.msg})") from None
    require(shots, {k: str for k in DEFAULT_SHOTS}, str(path))
    return shots


def build_prompt(question: str, starter_code: str, call_based: bool, shots: dict[str, str]) -> str:
    """2-shot prompt: a stdin example, a call-based example, then the problem."""
    return (
        question_block(shots["problem_type1"], "", False)
        + shots["solution_type1"].rstrip("\n")
        + "\n"
        + question_block(shots["problem_type2"], "", True)
        + shots["solution_type2"].rstrip("\n")
        + "\n"
        + question_block(question, starter_code, call_based)
    )


def _from_dir(problem_dir: Path) -> dict:
    """A per-problem directory of the original APPS release as a codeparrot-style row."""
    def text(name: str, default: str | None = None) -> str:
        f = problem_dir / name
        if not f.exists():
            if default is None:
                raise DataError(f"{f}: file not found (APPS problem directory {problem_dir})")
            return default
        return f.read_text(encoding="utf-8")

    meta_text = text("metadata.json", "{}")
    try:
        meta = json.loads(meta_text)
    except json.JSONDecodeError as exc:
        raise DataError(f"{problem_dir / 'metadata.json'}: not valid JSON ({exc.msg})") from None
    try:
        problem_id = int(problem_dir.name)
    except ValueError:
        raise DataError(f"{problem_dir}: APPS problem directories are named by number") from None
    return {
        "problem_id": problem_id,
        "question": text("question.txt"),
        "solutions": text("solutions.json", "[]"),
        "input_output": text("input_output.json"),
        "difficulty": meta.get("difficulty"),
        "url": meta.get("url", ""),
        "starter_code": text("starter_code.py", ""),
    }


def _records(path: Path | None) -> list[tuple[str, dict]]:
    if path is None:
        raise DataError(
            "APPS data: pass --data with a codeparrot/apps jsonl file (e.g. test.jsonl) or a "
            "directory of APPS problem directories"
        )
    if not path.exists():
        raise DataError(f"{path}: file not found")
    if path.is_dir():
        dirs = sorted(p for p in path.iterdir() if p.is_dir())
        if not dirs:
            raise DataError(f"{path}: no APPS problem directories inside")
        return [(str(d), _from_dir(d)) for d in dirs]
    return [(f"{path}:{lineno}", rec) for lineno, rec in read_jsonl(path)]


def _parse_io(rec: dict, where: str) -> dict:
    try:
        io = json.loads(rec["input_output"]) if rec["input_output"] else None
    except json.JSONDecodeError as exc:
        raise DataError(f"{where}: field 'input_output' is not valid JSON ({exc.msg})") from None
    if not isinstance(io, dict) or not isinstance(io.get("inputs"), list) or not isinstance(
        io.get("outputs"), list
    ):
        raise DataError(f"{where}: field 'input_output' needs lists 'inputs' and 'outputs'")
    if len(io["inputs"]) != len(io["outputs"]) or not io["inputs"]:
        raise DataError(
            f"{where}: input_output has {len(io['inputs'])} inputs and "
            f"{len(io['outputs'])} outputs; they must match and be non-empty"
        )
    return io


def _reference(rec: dict, where: str) -> str | None:
    raw = rec.get("solutions") or "[]"
    try:
        sols = json.loads(raw) if isinstance(raw, str) else raw
    except json.JSONDecodeError as exc:
        raise DataError(f"{where}: field 'solutions' is not valid JSON ({exc.msg})") from None
    return sols[0] if isinstance(sols, list) and sols and isinstance(sols[0], str) else None


def load(
    path: str | Path | None = None,
    *,
    difficulties: tuple[str, ...] = DIFFICULTIES,
    fewshot_path: str | Path | None = None,
) -> pa.Table:
    """The `problems` table for APPS from a codeparrot/apps jsonl file or problem directories."""
    path = Path(path) if path else None
    unknown = set(difficulties) - set(DIFFICULTIES)
    if unknown:
        raise DataError(f"unknown APPS difficulty {sorted(unknown)}; choose from {DIFFICULTIES}")
    shots = load_shots(fewshot_path)
    rows = []
    for where, rec in _records(path):
        require(
            rec,
            {"problem_id": int, "question": str, "input_output": str, "difficulty": str},
            where,
        )
        if rec["difficulty"] not in difficulties:
            continue
        starter = rec.get("starter_code") or ""
        if not isinstance(starter, str):
            raise DataError(f"{where}: field 'starter_code' should be str")
        io = _parse_io(rec, where)
        fn_name = io.get("fn_name") or None
        rows.append(
            {
                "benchmark": NAME,
                "task_id": f"APPS/{rec['problem_id']}",
                "prompt": build_prompt(rec["question"], starter, fn_name is not None, shots),
                "tests": json.dumps(io),
                "test_setup": "",
                "entry_point": fn_name,
                "io_kind": "call" if fn_name else "stdin",
                "difficulty": rec["difficulty"],
                "fewshot_ids": ["shot:stdin", "shot:call"],
                "stop": STOP,
                "reference": _reference(rec, where),
                "starter_code": starter,
            }
        )
    if not rows:
        raise DataError(f"{path}: no APPS problems of difficulty {list(difficulties)} found")
    return schemas.from_rows(rows, "problems")


BENCHMARK = Benchmark(
    name=NAME, n_problems=sum(SPLITS.values()), sampling=SAMPLING, stop=tuple(STOP), load=load,
    build_prompt=build_prompt, splits=dict(SPLITS),
    planner=PlannerFigures(
        prompt_tokens=Figure(852.8, "mean of 5 staged APPS train problems' 2-shot prompts (test split not reachable)"),
        completion_tokens=Figure(308.2, "mean of 5 APPS reference solutions; above the 256 cap, so every sample at the cap"),
        runs_per_sample=Figure(21.2, "APPS paper (Hendrycks et al. 2021): 21.2 test cases per test problem on average"),
    ),
)
