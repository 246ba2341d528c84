"""The authors' CodeT method (pipeline.reproduce.codet_method), re-expressed on a run's execution,
agrees with the pipeline's dual-agreement ranker on the same inputs."""

from __future__ import annotations

import json

import pandas as pd
import pytest

import schemas
from pipeline.reproduce import codet_method
from pipeline.rank.base import TestPool
from pipeline.reduce.curves import reduce_tables

PROBLEMS = {f"T/{t}": {"task_id": f"T/{t}", "prompt": f"def f{t}(x):\n    \"\"\"doc {t}\"\"\"\n",
                       "entry_point": f"f{t}"} for t in range(2)}


def _files(tmp_path):
    # T/0: solutions a (x3, correct), b (x2, wrong), c (x1, wrong), one cut at a stop token;
    # T/1: no solution passes any test -> CodeT falls back to the random pass@1
    code = {"T/0": ["    return x\n", "    return x\n\ndef g(): pass", "    return x\n",
                    "    return 0\n", "    return 0\n", "    return -x\n"],
            "T/1": ["    return 1\n", "    return 2\n"] * 3}
    # T/0 tests: "f0(1) == 1" written by 2 test samples, "f0(0) == 0" by 3, a 7th assert past
    # the limit of 5 in the first sample is not counted
    tests = {"T/0": ["f0(1) == 1\nassert f0(0) == 0\nassert f0(0) == 0\nassert f0(0) == 0\n"
                     "assert f0(0) == 0\nassert f0(2) == 9", "f0(1) == 1\nassert f0(0) == 0",
                     "f0(0) == 0"],
             "T/1": ["f1(5) == 7"]}
    cf, tf = tmp_path / "code.jsonl", tmp_path / "tests.jsonl"
    cf.write_text("".join(json.dumps({"prompt": PROBLEMS[t]["prompt"], "samples": s}) + "\n"
                          for t, s in code.items()))
    tf.write_text("".join(json.dumps({"prompt": PROBLEMS[t]["prompt"], "samples": s}) + "\n"
                          for t, s in tests.items()))
    return cf, tf, code


def _run_tables(code):
    """What the run's stages would write: verdicts (a correct iff `return x`) and the probes
    of the generated tests in the probe set's order (f0(1)==1, f0(0)==0, for T/0)."""
    def passes(task, text):
        if task == "T/1":
            return [False]
        body = text.split("\ndef")[0].strip()
        return {"return x": [True, True], "return 0": [False, True],
                "return -x": [False, True]}[body]

    s, v, p = [], [], []
    for task, texts in code.items():
        for i, text in enumerate(texts):
            key = dict(run_id="r", model="m", benchmark="humaneval", task_id=task, sample_idx=i)
            s.append({**key, "seed": i, "temperature": 0.8, "completion": text, "n_tokens": 1,
                      "finish_reason": "stop", "gen_seconds": 1.0})
            ok = text.strip().startswith("return x")
            v.append({**key, "status": "pass" if ok else "fail", "tests_passed": 0,
                      "tests_total": 1, "detail": "", "exec_ms": 1.0, "cached": False})
            m = passes(task, text)
            p.append({**key, "probe_set": "generated_tests",
                      "outcomes": ["pass" if x else "fail" for x in m], "matches": m,
                      "exec_ms": 1.0, "cached": False})
    return (schemas.from_rows(s, "samples"), schemas.from_rows(v, "verdicts"),
            schemas.from_rows(p, "probes"))


def test_the_authors_method_and_the_dual_agreement_ranker_pick_the_same(tmp_path):
    cf, tf, code = _files(tmp_path)
    samples, verdicts, probes = _run_tables(code)
    got = codet_method.top1(cf, tf, PROBLEMS, samples.to_pandas(), verdicts.to_pandas(),
                            probes.to_pandas())
    # T/0: {a} passes both tests (2 + 3 = 5 ids) x sqrt 3; {b, c} pass f0(0)==0 only
    # (3 ids) x sqrt 3 -> a is picked (correct); T/1: nothing passes -> random, 0 of 6
    assert got == {"tasks": 2, "top1": pytest.approx(50.0), "random": pytest.approx(25.0)}
    pools = {("humaneval", "T/0"): TestPool.from_counts([2, 3]),
             ("humaneval", "T/1"): TestPool.from_counts([1])}
    curves = reduce_tables(samples, verdicts, probes=probes, test_pools=pools, n_boot=0,
                           k_range="full").to_pandas()
    dual = curves[(curves.metric == "rank_score") & (curves.ranker == "dual_agreement")]
    dual = dual.set_index("k").value
    assert 100 * dual[6] == pytest.approx(got["top1"])  # the pick of 1 of all 6 samples
    assert 100 * dual[1] == pytest.approx(got["random"])  # rank-score@1: a random sample


def test_the_authors_method_counts_a_test_once_per_test_sample_that_wrote_it(tmp_path):
    """With frequency, {b, c}'s one test (3 ids) x sqrt 3 = 5.2 beats {a}'s when a passes
    only f0(1) == 1 (2 ids) x sqrt 3 = 3.5: the count, not the distinct test, is scored."""
    cf, tf, code = _files(tmp_path)
    samples, verdicts, probes = _run_tables(code)
    p = probes.to_pandas()
    a = p.task_id.eq("T/0") & p.sample_idx.isin([0, 1, 2])
    p.loc[a, "matches"] = pd.Series([[True, False]] * int(a.sum()), index=p.index[a])
    got = codet_method.top1(cf, tf, PROBLEMS, samples.to_pandas(), verdicts.to_pandas(), p)
    assert got["top1"] == pytest.approx(0.0)  # b/c picked on T/0, random 0 on T/1


def test_the_report_says_within_or_outside_the_bar_as_the_two_figures_differ():
    from pipeline.reproduce import rankers as rankers_section

    bar = rankers_section.AUTHORS_BAR
    limits = {"hidden": 3.0, "probe": 0.2}
    close = rankers_section.authors_comparison({"top1": 40.0, "random": 20.0},
                                               {"value": 40.0 + bar / 2}, limits)
    far = rankers_section.authors_comparison({"top1": 40.0, "random": 20.0},
                                             {"value": 40.0 + 2 * bar}, limits)
    assert f"a difference of {bar / 2:.2f} points, within the bar" in close
    assert f"a difference of {2 * bar:.2f} points, outside the bar" in far
    assert "gives the hidden tests 3 s and each probe 0.2 s CPU" in close
