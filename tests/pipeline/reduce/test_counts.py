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
