"""Specification of the rankers (pipeline.rank) and of rank-score@k under each of them."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest

import schemas
from pipeline import rank
from pipeline.rank.base import RankInputs
from pipeline.reduce.cost import ModelCost
from pipeline.reduce.curves import ReduceError, reduce_tables

RUN = "r"


def _tables(problems, model="m", bench="humaneval"):
    """problems: task_id -> list of sample dicts with `pass` and any of `nll`, `truncated`,
    `out` (outcomes on the prompt's inputs), `shown` (matches of those), `tests` (asserts
    passed, bools). Returns samples, verdicts, scores (or None), probes (or None)."""
    s, v, sc, pr = [], [], [], []
    for task, rows in problems.items():
        for i, r in enumerate(rows):
            key = dict(run_id=RUN, model=model, benchmark=bench, task_id=task, sample_idx=i)
            s.append({**key, "seed": i, "temperature": 0.8, "completion": f"c{i}",
                      "n_tokens": 5, "finish_reason": "stop", "gen_seconds": 1.0})
            v.append({**key, "status": "pass" if r["pass"] else "fail", "tests_passed": 0,
                      "tests_total": 1, "detail": "", "exec_ms": 1.0, "cached": False})
            if "nll" in r:
                sc.append({**key, "ranker": "nll-model", "mean_nll": r["nll"], "n_tokens": 5,
                           "truncated": r.get("truncated", False)})
            if "out" in r:
                pr.append({**key, "probe_set": "prompt_examples", "outcomes": r["out"],
                           "matches": r.get("shown", [None] * len(r["out"])),
                           "exec_ms": 2.0, "cached": False})
            if "tests" in r:
                pr.append({**key, "probe_set": "generated_tests",
                           "outcomes": ["pass" if t else "fail" for t in r["tests"]],
                           "matches": list(r["tests"]), "exec_ms": 3.0, "cached": False})
    return (schemas.from_rows(s, "samples"), schemas.from_rows(v, "verdicts"),
            schemas.from_rows(sc, "scores") if sc else None,
            schemas.from_rows(pr, "probes") if pr else None)


def _inputs(problems, **kw):
    samples, _, scores, probes = _tables(problems)
    return RankInputs(samples.to_pandas(), scores.to_pandas() if scores else None,
                      probes.to_pandas() if probes else None, **kw)


def _scores(name, problems, **kw):
    out = rank.RANKERS[name]().scores(_inputs(problems, **kw))
    return out.sort_values(["task_id", "sample_idx"])["score"].tolist()


def _rank_score(problems, ranker, k, **kw):
    samples, verdicts, scores, probes = _tables(problems)
    curves = reduce_tables(samples, verdicts, scores, probes=probes, n_boot=0, k_range="full",
                           **kw).to_pandas()
    row = curves[(curves.metric == "rank_score") & (curves.ranker == ranker) & (curves.k == k)]
    assert len(row) == 1, f"no rank_score@{k} for {ranker}"
    return float(row["value"].iloc[0])


# ------------------------------------------------------------------ scores on hand-made cases


def test_output_agreement_scores_each_sample_by_the_size_of_its_output_cluster():
    outs = [["v:1", "v:2"], ["v:1", "v:2"], ["v:1", "v:3"], ["v:1", "v:2"]]
    problems = {"T/0": [{"pass": True, "out": o} for o in outs]}
    assert _scores("output_agreement", problems) == [3, 3, 1, 3]


def test_exceptions_and_timeouts_are_outputs_that_form_clusters_of_their_own():
    outs = [["raise:ValueError"], ["raise:ValueError"], ["raise:TypeError"], ["timeout"],
            ["timeout"], ["timeout"], ["v:1"]]
    problems = {"T/0": [{"pass": o == ["v:1"], "out": o} for o in outs]}
    assert _scores("output_agreement", problems) == [2, 2, 1, 3, 3, 3, 1]
    # picking one of all 7: the three timeouts agree most, and none of them passes
    assert _rank_score(problems, "output_agreement", 7) == 0.0
    assert _rank_score(problems, "output_agreement", 1) == pytest.approx(1 / 7)  # = pass@1


def test_output_agreement_ties_are_broken_by_nll_only_in_the_nll_variant():
    rows = [{"pass": False, "out": ["v:1"], "nll": 0.9}, {"pass": True, "out": ["v:1"], "nll": 0.2},
            {"pass": False, "out": ["v:1"], "nll": 0.6}, {"pass": False, "out": ["v:2"], "nll": 0.1}]
    problems = {"T/0": rows}
    # the pick of one of all 4: the v:1 cluster (3 samples), at random / by its lowest NLL
    assert _rank_score(problems, "output_agreement", 4) == pytest.approx(1 / 3)
    assert _rank_score(problems, "output_agreement+nll", 4) == 1.0
    assert _rank_score(problems, "nll-model", 4) == 0.0  # NLL alone picks v:2
    tied = [{"pass": p, "out": ["v:1"], "nll": 0.3} for p in (True, False)]
    assert _rank_score({"T/0": tied}, "output_agreement+nll", 2) == pytest.approx(0.5)


def test_prompt_example_filter_ranks_samples_that_reproduce_every_shown_output_first():
    shown = [[True, True], [True, False], [True, None], [None, None], [False, False]]
    problems = {"T/0": [{"pass": False, "out": ["v:1", "v:2"], "shown": m} for m in shown]}
    # [True, None]: the second example shows no output, so the one that does is enough;
    # [None, None]: nothing to reproduce, so it cannot rank first
    assert _scores("prompt_examples", problems) == [1.0, 0.0, 1.0, 0.0, 0.0]


def test_a_prompt_without_shown_outputs_leaves_every_sample_tied_as_a_random_pick():
    problems = {"T/0": [{"pass": p, "out": ["v:0"], "shown": [None]}
                        for p in (True, False, False, False)]}
    for k in (1, 2, 3):  # all tied: the best-ranked of k is a uniformly random sample
        assert _rank_score(problems, "prompt_examples", k) == pytest.approx(0.25)


def test_dual_agreement_scores_tests_passed_times_the_square_root_of_the_group_size():
    tests = [[True, False], [True, False], [True, True], [False, False]]
    problems = {"T/0": [{"pass": False, "tests": t} for t in tests]}
    # unweighted: {t0} x2 -> 1 * sqrt 2; {t0, t1} -> 2 * 1; {} -> 0
    assert _scores("dual_agreement", problems) == pytest.approx(
        [math.sqrt(2), math.sqrt(2), 2.0, 0.0])
    # CodeT's frequency: t0 written by 3 test samples, t1 by 1 -> {t0} 3 sqrt 2 > {t0, t1} 4
    weighted = _scores("dual_agreement", problems, test_weights={("humaneval", "T/0"): (3, 1)})
    assert weighted == pytest.approx([3 * math.sqrt(2), 3 * math.sqrt(2), 4.0, 0.0])


def test_an_empty_generated_test_set_scores_every_sample_zero_and_ties_them():
    problems = {"T/0": [{"pass": p, "tests": []} for p in (True, False)],
                "T/1": [{"pass": True, "tests": [True]}, {"pass": False, "tests": [False]}]}
    assert _scores("dual_agreement", problems) == [0.0, 0.0, 1.0, 0.0]
    assert _rank_score(problems, "dual_agreement", 2) == pytest.approx((0.5 + 1.0) / 2)


def test_weights_that_do_not_fit_the_probe_set_are_refused_naming_the_task():
    problems = {"T/0": [{"pass": True, "tests": [True, False]}]}
    with pytest.raises(ValueError, match="T/0.*2 generated-test outcomes but 3 test weights"):
        _scores("dual_agreement", problems, test_weights={("humaneval", "T/0"): (1, 1, 1)})


def test_a_probe_set_covering_only_some_samples_of_a_problem_is_refused():
    problems = {"T/0": [{"pass": True, "out": ["v:1"]}, {"pass": False}]}
    samples, verdicts, _, probes = _tables(problems)
    with pytest.raises(ReduceError, match="covers only some samples of T/0.*resume"):
        reduce_tables(samples, verdicts, probes=probes, n_boot=0)


def test_rankers_apply_only_when_the_run_has_their_inputs():
    only_nll = {"T/0": [{"pass": True, "nll": 0.1}]}
    keys, _ = rank.rank_all(_inputs(only_nll))
    assert set(keys.ranker) == {"nll-model"}  # an NLL ranker is named after its scoring model
    only_examples = {"T/0": [{"pass": True, "out": ["v:1"]}]}
    keys, _ = rank.rank_all(_inputs(only_examples))
    assert set(keys.ranker) == {"output_agreement", "prompt_examples"}
    with pytest.raises(rank.RankError, match="unknown ranker 'mbr'"):
        rank.rank_all(_inputs(only_examples), names=["mbr"])


def test_keys_turn_every_ranker_so_that_lower_ranks_first():
    problems = {"T/0": [{"pass": True, "out": ["v:1"], "nll": 0.5},
                        {"pass": True, "out": ["v:1"], "nll": 0.7},
                        {"pass": True, "out": ["v:2"], "nll": 0.1}]}
    keys, _ = rank.rank_all(_inputs(problems))
    by = keys.set_index(["ranker", "sample_idx"])["key"]
    assert by["output_agreement", 0] < by["output_agreement", 2]  # larger cluster first
    assert by["nll-model", 2] < by["nll-model", 0]  # lower NLL first


# ------------------------------------------------------------------ against brute force


def _brute_rank_score(scores, passed, usable, k, higher_is_better):
    """Expected pass of the best-ranked of k samples drawn without replacement from the
    usable ones, ties at the top broken uniformly at random: every k-subset enumerated."""
    idx = [i for i in range(len(scores)) if usable[i]]
    if not idx:
        return 0.0
    if k > len(idx):
        return float("nan")
    sign = 1.0 if higher_is_better else -1.0
    total = 0.0
    subsets = list(itertools.combinations(idx, k))
    for sub in subsets:
        best = max(sign * scores[i] for i in sub)
        top = [i for i in sub if sign * scores[i] == best]
        total += sum(passed[i] for i in top) / len(top)
    return total / len(subsets)


def _random_problems(rng, n_problems=4, n=7):
    problems = {}
    for t in range(n_problems):
        rows = []
        for _ in range(n):
            out = [f"v:{rng.integers(3)}", rng.choice(["v:0", "raise:ValueError", "timeout"])]
            rows.append({"pass": bool(rng.random() < 0.4), "out": out,
                         "shown": [bool(rng.random() < 0.6), None],
                         "tests": [bool(rng.random() < 0.5) for _ in range(3)],
                         "nll": float(rng.integers(4)) / 4, "truncated": bool(rng.random() < 0.2)})
        problems[f"T/{t}"] = rows
    return problems


@pytest.mark.parametrize("seed", range(3))
def test_rank_score_of_every_ranker_equals_brute_force_enumeration_of_k_subsets(seed):
    rng = np.random.default_rng(seed)
    problems = _random_problems(rng)
    weights = {("humaneval", t): tuple(int(w) for w in rng.integers(1, 4, 3)) for t in problems}
    inputs = _inputs(problems, test_weights=weights)
    samples, verdicts, scores, probes = _tables(problems)
    curves = reduce_tables(samples, verdicts, scores, probes=probes, test_weights=weights,
                           n_boot=0, k_range="full").to_pandas()
    rs = curves[curves.metric == "rank_score"]
    assert set(rs.ranker) == {"nll-model", "output_agreement", "output_agreement+nll",
                              "prompt_examples", "dual_agreement"}
    for name in ("nll", "output_agreement", "output_agreement+nll", "prompt_examples",
                 "dual_agreement"):
        ranker = rank.RANKERS[name]()
        frame = ranker.scores(inputs)
        curve_name = frame["ranker"].iloc[0]
        mine = rs[rs.ranker == curve_name].set_index("k")["value"]
        for k in mine.index:
            expect = np.mean([
                _brute_rank_score(g["score"].tolist(), [r["pass"] for r in problems[t]],
                                  g["usable"].tolist(), k, ranker.higher_is_better)
                for t, g in frame.sort_values("sample_idx").groupby("task_id")])
            assert mine[k] == pytest.approx(expect, abs=1e-12), (name, k)


# ------------------------------------------------------------------ cost on the budget


def test_a_rankers_cost_is_added_to_the_models_cost_per_sample_on_the_budget_axis():
    problems = {f"T/{t}": [{"pass": i == 0, "out": ["v:1"], "tests": [True], "nll": 0.1 * i}
                           for i in range(4)] for t in range(3)}
    samples, verdicts, scores, probes = _tables(problems)
    written = {("humaneval", t): 4 for t in problems}  # one test sample per code sample
    curves = reduce_tables(samples, verdicts, scores, {"m": ModelCost(flops_per_pass=1e12,
                                                                      seconds_per_sample=2.0)},
                           probes=probes, test_samples=written, n_boot=0,
                           k_range="full").to_pandas()

    def first_x(metric, ranker):
        c = curves[(curves.metric == metric) & (curves.ranker == ranker)]
        return float(c.sort_values("x")["x"].iloc[0]), int(c.sort_values("x")["k"].iloc[0])

    assert first_x("rank_score_flops", "nll-model") == (1.0, 1)  # NLL: not charged
    assert first_x("rank_score_flops", "output_agreement") == (1.0, 1)  # CPU only: no FLOPs
    assert first_x("rank_score_flops", "dual_agreement") == (2.0, 1)  # + one test sample
    # time: 2 s a sample, + 2 ms sandbox (prompt examples); dual: + 2 s tests, + 3 ms sandbox
    assert first_x("rank_score_time", "output_agreement")[0] == pytest.approx(2.002 / 2)
    assert first_x("rank_score_time", "dual_agreement")[0] == pytest.approx(4.003 / 2)
    _, costs = rank.rank_all(_inputs(problems, test_samples=written))
    dual = costs[costs.ranker == "dual_agreement"].iloc[0]
    assert (dual.exec_seconds, dual.model_samples) == pytest.approx((0.003, 1.0))
