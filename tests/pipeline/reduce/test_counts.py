"""Per-problem inputs of the advisor from a run's tables."""

from __future__ import annotations

import numpy as np

from pipeline.reduce import counts, metrics


def test_counts_greedy_and_rank_scores_come_from_the_samples_verdicts_and_scores(synthetic_run):
    samples, verdicts, scores = synthetic_run(n_problems=6, n=8, benchmarks=("mbpp",))
    frame = counts.joined(samples, verdicts, scores)
    data, facts = counts.model_data(frame, "mbpp")
    assert [d.model for d in data] == ["large", "small"] and facts["problems"] == 6
    v = verdicts.to_pandas()
    s = samples.to_pandas().merge(v, on=list(counts.KEY))
    for d in data:
        mine = s[(s.model == d.model) & (s.temperature > 0)]
        c = mine.groupby("task_id").status.apply(lambda x: (x == "pass").sum()).to_numpy()
        assert np.allclose(1 - d.fail[:, 1:], metrics.pass_at_k(np.full(6, 8), c, np.arange(1, 9)))
        g = s[(s.model == d.model) & (s.temperature == 0)].sort_values("task_id")
        assert np.array_equal(d.greedy, (g.status == "pass").to_numpy(float))
        assert d.ranked["r"].shape[0] == 6


def test_problems_not_sampled_by_every_model_are_left_out_and_counted(synthetic_run):
    samples, verdicts, _ = synthetic_run(n_problems=5, n=4, benchmarks=("mbpp",))
    keep = ~((samples.to_pandas().model == "small") & (samples.to_pandas().task_id == "mbpp/0"))
    frame = counts.joined(samples.filter(keep.to_numpy()), verdicts.filter(keep.to_numpy()))
    data, facts = counts.model_data(frame, "mbpp")
    assert facts == {**facts, "problems": 4, "dropped": 1}
    assert all(d.fail.shape[0] == 4 for d in data)


def test_the_advisor_ranks_by_every_ranker_and_charges_generated_tests_per_sample(synthetic_run):
    import pandas as pd
    import pytest

    import schemas
    from pipeline.reduce import advise

    samples, verdicts, scores = synthetic_run(n_problems=4, n=6, benchmarks=("mbpp",))
    s = samples.to_pandas()
    sampled = s[s.temperature > 0]
    rows = [{**{k: r[k] for k in schemas.KEY}, "probe_set": "generated_tests",
             "outcomes": ["pass"], "matches": [r["completion"] == "pass"], "exec_ms": 1.0,
             "cached": False} for r in sampled.to_dict("records")]
    probes = schemas.from_rows(rows, "probes")
    written = {("mbpp", t): 6 for t in sampled.task_id.unique()}  # a test sample per sample
    keys, costs = counts.rank_keys(samples, scores, probes, test_samples=written)
    frame = counts.joined(samples, verdicts, scores)
    data, _ = counts.model_data(frame, "mbpp", keys, costs)
    small = next(d for d in data if d.model == "small")
    assert set(small.ranked) == {"r", "dual_agreement"}
    assert small.ranker_samples == {"dual_agreement": 1.0}
    # the generated test here is the hidden test: picking among all 6 is the oracle
    oracle = 1 - small.fail[:, 6]
    assert np.allclose(small.ranked["dual_agreement"][:, 5], oracle)
    cands = advise.no_tests_candidates([small], {"small": 1.0}, np.array([2.0, 4.0]))
    spent = {c.models: c.spent for c in cands.choices}
    # at budget 2, NLL buys 2 samples, dual agreement 1 (a code sample + its test sample)
    assert list(spent[("small [dual_agreement]",)]) == pytest.approx([2.0, 4.0])
    assert list(cands_ks(cands, "small [dual_agreement]")) == [1, 2]
    assert list(cands_ks(cands, "small [r]")) == [2, 4]


def cands_ks(cands, label):
    return next(c.ks[:, 0] for c in cands.choices if c.models == (label,))
