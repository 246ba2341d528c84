"""CodeT's own ranking and scoring, re-expressed step by step: the check on `dual_agreement`.

Role in the pipeline: a reader of a finished run (its verdicts and its `generated_tests` probe
set) and of CodeT's two released files (code solutions, test cases); used by the reproduction
report to put the authors' figure next to the pipeline's. It follows microsoft/CodeT's data
flow on purpose, not `pipeline.rank`'s, so that the two can disagree:
- solutions: each sample of the solution file cut at CodeT's stop tokens (`solution_extract`),
  counted per distinct string (`DataManager._get_solution_frequency`);
- tests: each test sample's asserts (`test_case_extract`), its first `limit` (5), counted per
  distinct string (`_get_test_case_frequency`);
- agreement: the (solution, test) pairs that passed, expanded by both counts; solutions that
  passed the same multiset of test ids form a set scored len(tests) x sqrt(len(solutions))
  (`DualAgreement.get_sorted_solutions_without_iter`); a solution passing nothing is unranked;
- evaluation (`get_result_of_sorted_solutions`, top 1): sets of equal score are merged, the pick
  is a random solution of the best; a task with no ranked solution counts its random pass@1.
Execution is the run's: a (solution, test) pair passed when the run's probe of a sample with
that completion says so, and a solution is correct when its sample's verdict is `pass`. CodeT
ran both itself (0.1 s per test, 0.1 s wall for the hidden tests); that is the difference left.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from pathlib import Path

import pandas as pd

from pipeline.benchmarks.base import read_jsonl
from pipeline.benchmarks.probes import CODET_STOP, codet_test_cases
from pipeline.sources.generations import match_prompt


def solution_extract(content: str) -> str:
    """CodeT's PostProcessor.solution_extract: cut at each stop token in turn."""
    for stop in CODET_STOP:
        if stop in content:
            content = content.split(stop)[0]
    return content


def _by_task(path: Path, problems: dict[str, dict]) -> dict[str, list[str]]:
    out = {}
    for _, rec in read_jsonl(path):
        task, why = match_prompt(rec["prompt"], problems)
        if task is None:
            raise ValueError(f"{path}: a line matches no task: {why}")
        out[task] = list(rec["samples"])
    return out


def top1(solution_file: Path, test_file: Path, problems: dict[str, dict],
         samples: pd.DataFrame, verdicts: pd.DataFrame, probes: pd.DataFrame,
         limit: int = 5) -> dict:
    """CodeT's pass@1 of the top-ranked solution, and its random pass@1, over the tasks of
    the solution file, with the run's execution results (see the module docstring).

    `samples`/`verdicts`/`probes`: the run's tables as pandas (one model and benchmark);
    `problems`: task_id -> problem row (prompt, entry_point), to map the files' lines."""
    solutions = _by_task(solution_file, problems)
    tests = {t: [codet_test_cases(s, problems[t]["entry_point"])[:limit] for s in smp]
             for t, smp in _by_task(test_file, problems).items()}
    gen = probes[probes["probe_set"] == "generated_tests"]
    passed_of = {}  # (task, completion) -> the set of test strings that sample passed
    probe_tests = {t: list(Counter(sum(c, [])).keys()) for t, c in tests.items()}
    rows = samples.merge(gen[["task_id", "sample_idx", "matches"]], on=["task_id", "sample_idx"],
                         how="left")
    correct = dict(zip(zip(verdicts["task_id"], verdicts["sample_idx"]),
                       verdicts["status"] == "pass"))
    truth = defaultdict(dict)  # task -> CodeT completion string -> correct
    for task, idx, matches in zip(rows["task_id"], rows["sample_idx"], rows["matches"]):
        text = solution_extract(solutions[task][idx])
        truth[task][text] = bool(correct[(task, idx)])
        if hasattr(matches, "__len__"):  # NaN: the sample has no generated-test probe row
            passed_of[(task, text)] = {t for t, m in zip(probe_tests.get(task, []), matches)
                                       if m is not None and bool(m)}
    picked, random = [], []
    for task, raw in solutions.items():
        texts = [solution_extract(s) for s in raw]
        freq = Counter(texts)
        c = sum(truth[task][t] for t in texts)
        random.append(c / len(texts))
        test_freq = Counter(sum(tests.get(task, []), []))
        # agreement: the case multiset of each distinct solution, expanded by test frequency
        case_sets = defaultdict(list)
        for text in freq:
            passed = sorted(t for t in passed_of.get((task, text), ()) if t in test_freq)
            if passed:
                key = tuple(sorted((t, j) for t in passed for j in range(test_freq[t])))
                case_sets[key] += [text] * freq[text]
        if not case_sets:
            picked.append(c / len(texts))
            continue
        scored = sorted(((sols, len(cases) * math.sqrt(len(sols)))
                         for cases, sols in case_sets.items()), key=lambda x: x[1], reverse=True)
        best = [s for sols, score in scored if score == scored[0][1] for s in sols]
        picked.append(sum(truth[task][s] for s in best) / len(best))
    n = len(solutions)
    return {"tasks": n, "top1": 100 * sum(picked) / n, "random": 100 * sum(random) / n}
