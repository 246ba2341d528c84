"""Specification of the rankers (pipeline.rank) and of rank-score@k under each of them."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest

import schemas
from pipeline import rank
from pipeline.rank.base import RankInputs, TestPool
from pipeline.reduce import held, metrics
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
    pools = {("humaneval", "T/0"): TestPool.from_counts([3, 1])}
    weighted = _scores("dual_agreement", problems, test_pools=pools)
    assert weighted == pytest.approx([3 * math.sqrt(2), 3 * math.sqrt(2), 4.0, 0.0])


def test_an_empty_generated_test_set_scores_every_sample_zero_and_ties_them():
    problems = {"T/0": [{"pass": p, "tests": []} for p in (True, False)],
                "T/1": [{"pass": True, "tests": [True]}, {"pass": False, "tests": [False]}]}
    assert _scores("dual_agreement", problems) == [0.0, 0.0, 1.0, 0.0]
    assert _rank_score(problems, "dual_agreement", 2) == pytest.approx((0.5 + 1.0) / 2)


def test_a_test_pool_that_does_not_fit_the_probe_set_is_refused_naming_the_task():
    problems = {"T/0": [{"pass": True, "tests": [True, False]}]}
    with pytest.raises(ValueError, match="T/0.*2 generated-test outcomes but 3 tests in its"):
        _scores("dual_agreement", problems,
                test_pools={("humaneval", "T/0"): TestPool.from_counts([1, 1, 1])})


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
    usable ones, ties at the top broken uniformly at random: every k-subset enumerated.
    `scores(subset)` gives the scores of the subset's samples computed from that subset only
    (a set-dependent ranker) or is a fixed list (a ranker that is not)."""
    idx = [i for i in range(len(passed)) if usable[i]]
    if not idx:
        return 0.0
    if k > len(idx):
        return float("nan")
    sign = 1.0 if higher_is_better else -1.0
    total = 0.0
    subsets = list(itertools.combinations(idx, k))
    for sub in subsets:
        mine = scores(sub) if callable(scores) else {i: scores[i] for i in sub}
        best = max(sign * mine[i] for i in sub)
        top = [i for i in sub if sign * mine[i] == best]
        total += sum(passed[i] for i in top) / len(top)
    return total / len(subsets)


def _clusters_within(rows, nll_places=None):
    """Output agreement recomputed from a subset: a sample scores how many samples of the
    subset share its outputs (+ a fraction for the NLL order, in the NLL variant)."""
    def scores(sub):
        out = {}
        for i in sub:
            size = sum(rows[j]["out"] == rows[i]["out"] for j in sub)
            out[i] = size + (0.0 if nll_places is None else 1.0 - nll_places[i])
        return out
    return scores


def _dual_within(rows, weights):
    """Dual agreement recomputed from a subset: groups of equal passed-test sets and their
    sizes counted inside the subset, tests weighted by `weights`."""
    def scores(sub):
        out = {}
        for i in sub:
            group = sum(rows[j]["tests"] == rows[i]["tests"] for j in sub)
            out[i] = sum(w for w, t in zip(weights, rows[i]["tests"]) if t) * math.sqrt(group)
        return out
    return scores


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


def _brute_scores(name, rows, frame, weights):
    """What `_brute_rank_score` ranks by for ranker `name` on one problem."""
    usable = frame["usable"].tolist()
    if name == "output_agreement":
        return _clusters_within(rows), usable
    if name == "output_agreement+nll":
        nll = [r["nll"] for r in rows]
        distinct = sorted(set(nll))
        places = [(distinct.index(x) + 1) / (len(rows) + 1) for x in nll]
        return _clusters_within(rows, places), usable
    if name == "dual_agreement":
        return _dual_within(rows, weights), usable
    return frame["score"].tolist(), usable


@pytest.mark.parametrize("seed", range(3))
def test_rank_score_of_every_ranker_equals_brute_force_ranking_inside_every_k_subset(seed):
    rng = np.random.default_rng(seed)
    problems = _random_problems(rng)
    # no test pools: every generated test is held at every k (the held test samples are
    # checked on their own below)
    inputs = _inputs(problems)
    samples, verdicts, scores, probes = _tables(problems)
    curves = reduce_tables(samples, verdicts, scores, probes=probes, n_boot=0,
                           k_range="full").to_pandas()
    rs = curves[curves.metric == "rank_score"]
    assert set(rs.ranker) == {"nll-model", "output_agreement", "output_agreement+nll",
                              "prompt_examples", "dual_agreement"}
    assert rs["mc_se"].isna().all()  # n = 7: every k-subset enumerated, every value exact
    for name in ("nll", "output_agreement", "output_agreement+nll", "prompt_examples",
                 "dual_agreement"):
        ranker = rank.RANKERS[name]()
        frame = ranker.scores(inputs)
        curve_name = frame["ranker"].iloc[0]
        mine = rs[rs.ranker == curve_name].set_index("k")["value"]
        for k in mine.index:
            expect = []
            for t, g in frame.sort_values("sample_idx").groupby("task_id"):
                by, usable = _brute_scores(name, problems[t], g, [1, 1, 1])
                expect.append(_brute_rank_score(by, [r["pass"] for r in problems[t]], usable,
                                                k, ranker.higher_is_better))
            assert mine[k] == pytest.approx(np.mean(expect), abs=1e-12), (name, k)


def _pool_problem(rng, n=6, tests=4, writers=6):
    """One problem whose tests were written by `writers` test samples (3 asserts each)."""
    written = np.zeros((writers, tests), dtype=np.int64)
    for s in range(writers):
        written[s, rng.choice(tests, size=2, replace=False)] += 1
    rows = [{"pass": bool(rng.random() < 0.5),
             "tests": [bool(rng.random() < 0.5) for _ in range(tests)]} for _ in range(n)]
    return rows, written


def test_dual_agreement_inside_a_subset_counts_only_the_tests_its_test_samples_wrote():
    rng = np.random.default_rng(7)
    rows, written = _pool_problem(rng)
    problems = {"T/0": rows}
    pool = TestPool(written)
    samples, verdicts, _, probes = _tables(problems)
    curves = reduce_tables(samples, verdicts, probes=probes, n_boot=0, k_range="full",
                           test_pools={("humaneval", "T/0"): pool},
                           rank_subsets=4000).to_pandas()
    rs = curves[(curves.metric == "rank_score") & (curves.ranker == "dual_agreement")]
    passed = [r["pass"] for r in rows]
    n, T = len(rows), written.shape[0]
    for k in range(1, n + 1):
        t = min(T, int(np.floor(k * T / n + 0.5)))
        # exact: every k-subset of code samples x every t-subset of test samples
        total, count = 0.0, 0
        for tests_held in itertools.combinations(range(T), t):
            w = written[list(tests_held)].sum(axis=0)
            active = [bool(x) for x in w > 0]
            restricted = [{**r, "tests": [b and a for b, a in zip(r["tests"], active)]}
                          for r in rows]
            total += _brute_rank_score(_dual_within(restricted, w), passed, [True] * n, k, True)
            count += 1
        expect = total / count
        row = rs[rs.k == k].iloc[0]
        se = 0.0 if pd.isna(row["mc_se"]) else float(row["mc_se"])
        assert se > 0 or t in (0, T) or k == 1, k  # a drawn test set is a Monte Carlo value
        assert row["value"] == pytest.approx(expect, abs=4 * se + 1e-12), (k, se)


def test_output_agreement_of_k_samples_clusters_only_the_samples_held():
    # 6 samples: a failing cluster of 3 and three singletons, 2 of which pass. With all 6 held
    # the failing cluster wins (rank-score@6 = 0); of 2 held samples, clusters of 1 and 2 only
    # form inside the pair, so most pairs are a random pick of two
    outs = [["v:0"]] * 3 + [["v:1"], ["v:2"], ["v:3"]]
    passes = [False, False, False, True, True, False]
    problems = {"T/0": [{"pass": p, "out": o} for p, o in zip(passes, outs)]}
    assert _rank_score(problems, "output_agreement", 6) == 0.0
    # pairs: 3 inside the failing cluster (0), 9 of one cluster sample + a singleton (random:
    # 2 passing singletons x 3 / 2 = 3 halves), 3 singleton pairs ({3,4}: 1, {3,5}/{4,5}: 1/2)
    expect = (0 + 3 * 2 * 0.5 + 1 + 0.5 + 0.5) / 15
    assert _rank_score(problems, "output_agreement", 2) == pytest.approx(expect)
    # clusters formed over all 6 and then fixed would rank a failing cluster member first in
    # every pair that holds one: 2 / 15, information a user holding 2 samples does not have
    global_scores = metrics.rank_score_by_key(np.zeros(6, dtype=int), -np.array([3, 3, 3, 1, 1, 1.0]),
                                              np.array(passes, dtype=float), 1, [2])
    assert global_scores[0, 0] == pytest.approx(2 / 15) and expect == pytest.approx(5 / 15)


def test_rank_scores_of_many_samples_are_a_seeded_monte_carlo_with_its_standard_error():
    rng = np.random.default_rng(3)
    n = 40
    outs = [[f"v:{int(x)}"] for x in rng.integers(0, 6, n)]
    passes = [o == ["v:1"] for o in outs]
    problems = {"T/0": [{"pass": p, "out": o} for p, o in zip(passes, outs)]}
    samples, verdicts, _, probes = _tables(problems)

    def curve(**kw):
        c = reduce_tables(samples, verdicts, probes=probes, n_boot=0, k_range="full",
                          **kw).to_pandas()
        return c[(c.metric == "rank_score") & (c.ranker == "output_agreement")].set_index("k")

    first, again = curve(rank_subsets=500), curve(rank_subsets=500)
    assert first["value"].equals(again["value"])  # seeded: the same numbers every run
    assert pd.isna(first.loc[1, "mc_se"]) and pd.isna(first.loc[n, "mc_se"])  # exact ends
    assert (first.loc[2:n - 2, "mc_se"] > 0).all()
    # an independent naive Monte Carlo agrees within the reported errors
    sub_rng = np.random.default_rng(11)
    for k in (3, 10, 25):
        vals = []
        for _ in range(3000):
            sub = sub_rng.choice(n, size=k, replace=False)
            sizes = {i: sum(outs[j] == outs[i] for j in sub) for i in sub}
            top = max(sizes.values())
            best = [i for i in sub if sizes[i] == top]
            vals.append(np.mean([passes[i] for i in best]))
        naive_se = np.std(vals) / np.sqrt(len(vals))
        both = np.hypot(naive_se, first.loc[k, "mc_se"])
        assert first.loc[k, "value"] == pytest.approx(np.mean(vals), abs=4 * both), k


def test_held_engine_enumerates_small_subsets_exactly_and_samples_large_ones():
    scorer = rank.output_agreement.OutputScorer(["a", "a", "b", "c"])
    value, se = held.rank_score(scorer, [0, 0, 1, 1], [1, 2, 3, 4], n_subsets=10)
    assert (se == 0).all()  # C(4, k) <= 10 for every k: enumerated
    # k = 4: cluster "a" (2) wins -> 0; k = 1: 1/2
    assert value[0] == 0.5 and value[3] == 0.0
    value, se = held.rank_score(scorer, [0, 0, 1, 1], [2], n_subsets=3)
    assert se[0] > 0  # C(4, 2) = 6 > 3 subsets: sampled


# ------------------------------------------------------------------ cost on the budget


def test_a_rankers_cost_is_added_to_the_models_cost_per_sample_on_the_budget_axis():
    problems = {f"T/{t}": [{"pass": i == 0, "out": ["v:1"], "tests": [True], "nll": 0.1 * i}
                           for i in range(4)] for t in range(3)}
    samples, verdicts, scores, probes = _tables(problems)
    # one test sample per code sample, each writing the problem's one test
    pools = {("humaneval", t): TestPool(np.ones((4, 1), dtype=np.int64)) for t in problems}
    curves = reduce_tables(samples, verdicts, scores, {"m": ModelCost(flops_per_pass=1e12,
                                                                      seconds_per_sample=2.0)},
                           probes=probes, test_pools=pools, n_boot=0,
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
    _, costs = rank.rank_all(_inputs(problems, test_pools=pools))
    dual = costs[costs.ranker == "dual_agreement"].iloc[0]
    assert (dual.exec_seconds, dual.model_samples) == pytest.approx((0.003, 1.0))


def test_rankers_that_run_mbpps_prompt_examples_are_upper_bounds_there_only():
    # MBPP's prompt shows its test asserts: running them is running the hidden tests
    for name in ("prompt_examples", "output_agreement", "output_agreement+nll"):
        assert rank.reads_hidden_tests(name, "mbpp")
        assert not rank.reads_hidden_tests(name, "humaneval")
        assert "upper bound" in rank.label(name, "mbpp")
    assert not rank.reads_hidden_tests("dual_agreement", "mbpp")
    assert not rank.reads_hidden_tests("smollm2-135m", "mbpp")  # an NLL ranker
    assert rank.label("prompt_examples", "humaneval") == "prompt_examples"
