"""Per-problem inputs of the advisor from a run's tables, read as the reducer reads them."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.reduce import counts, metrics, ranked
from pipeline.reduce.joined import join


def _frame(samples, verdicts, scores=None, probes=None, pools=None):
    joined, excluded = join(samples, verdicts)
    return joined, ranked.rank(joined, excluded, scores, probes, pools)


def test_counts_greedy_and_rank_scores_come_from_the_samples_verdicts_and_scores(synthetic_run):
    samples, verdicts, scores = synthetic_run(n_problems=6, n=8, benchmarks=("mbpp",))
    frame, rk = _frame(samples, verdicts, scores)
    data, facts = counts.model_data(frame, "mbpp", rk)
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
    frame, _ = _frame(samples.filter(keep.to_numpy()), verdicts.filter(keep.to_numpy()))
    data, facts = counts.model_data(frame, "mbpp")
    assert facts == {**facts, "problems": 4, "dropped": 1}
    assert all(d.fail.shape[0] == 4 for d in data)


def test_the_advisor_ranks_by_every_ranker_and_charges_generated_tests_per_sample(synthetic_run):
    import schemas
    from pipeline.rank.base import TestPool
    from pipeline.reduce import advise

    samples, verdicts, scores = synthetic_run(n_problems=4, n=6, benchmarks=("mbpp",))
    s = samples.to_pandas()
    sampled = s[s.temperature > 0]
    rows = [{**{k: r[k] for k in schemas.KEY}, "probe_set": "generated_tests",
             "outcomes": ["pass"], "matches": [r["completion"] == "pass"], "exec_ms": 1.0,
             "cached": False} for r in sampled.to_dict("records")]
    probes = schemas.from_rows(rows, "probes")
    # a test sample per code sample, each writing the one test
    pools = {("mbpp", t): TestPool(np.ones((6, 1), dtype=np.int64))
             for t in sampled.task_id.unique()}
    frame, rk = _frame(samples, verdicts, scores, probes, pools)
    data, _ = counts.model_data(frame, "mbpp", rk)
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


def test_mbpp_prompt_examples_read_the_hidden_tests_so_the_advisor_leaves_them_out():
    import schemas

    rows, srows, vrows = [], [], []
    for t in range(3):
        for i in range(4):
            key = dict(run_id="r", model="m", benchmark="mbpp", task_id=f"MBPP/{t}",
                       sample_idx=i)
            srows.append({**key, "seed": i, "temperature": 0.8, "completion": "x",
                          "n_tokens": 1, "finish_reason": "stop", "gen_seconds": 1.0})
            passed = i == t
            vrows.append({**key, "status": "pass" if passed else "fail", "tests_passed": 0,
                          "tests_total": 1, "detail": "", "exec_ms": 1.0, "cached": False})
            rows.append({**key, "probe_set": "prompt_examples", "outcomes": [str(passed)],
                         "matches": [passed], "exec_ms": 1.0, "cached": False})
    samples, verdicts = schemas.from_rows(srows, "samples"), schemas.from_rows(vrows, "verdicts")
    frame, rk = _frame(samples, verdicts, probes=schemas.from_rows(rows, "probes"))
    assert ("prompt_examples", "mbpp") in rk.hidden
    data, facts = counts.model_data(frame, "mbpp", rk)
    assert facts["upper_bounds"] == ["output_agreement", "prompt_examples"]
    assert data[0].ranked == {}  # nothing left that ranks without the hidden tests


def test_the_advisor_and_the_reducer_read_a_run_with_an_error_verdict_alike(tmp_path, synthetic_run,
                                                                            write_run):
    import pandas as pd
    import pyarrow as pa

    from pipeline.reduce.advise import AdviceError
    from pipeline.reduce.curves import ReduceError, reduce_run
    from pipeline.reduce.advise_run import advise_run

    samples, verdicts, scores = synthetic_run(n_problems=6, n=8, benchmarks=("mbpp",))
    v = verdicts.to_pandas()
    v.loc[(v.model == "small") & (v.task_id == "mbpp/2") & (v.sample_idx == 3), "status"] = "error"
    write_run(tmp_path, samples, pa.Table.from_pandas(v, schema=verdicts.schema,
                                                      preserve_index=False), scores)
    with pytest.raises(ReduceError, match="1 samples have a sandbox `error` verdict"):
        reduce_run(str(tmp_path), n_boot=0)
    with pytest.raises(AdviceError, match="1 samples have a sandbox `error` verdict"):
        advise_run(tmp_path, n_boot=0)
    with pytest.warns(UserWarning, match="excluded 1 samples"):
        curves = reduce_run(str(tmp_path), n_boot=0, k_range="full",
                            exclude_errors=True).curves.to_pandas()
    with pytest.warns(UserWarning, match="excluded 1 samples"):
        advice = advise_run(tmp_path, n_boot=0, exclude_errors=True, mixes=False,
                            cascades=False, early_stopping=False)
    single = advice.curves[(advice.curves.strategy == "single small")
                           & (advice.curves.setting == "tests")]
    pass_at_k = curves[(curves.metric == "pass@k") & (curves.model == "small")].set_index("k")
    ks = single["config"].str.extract(r"(\d+)")[0].astype(int)
    # the problem with the left-out sample has 7 samples: both stop at k = 7
    assert pass_at_k.index.max() == 7 and ks.max() == 7
    assert single["value"].to_numpy() == pytest.approx(pass_at_k.loc[ks, "value"].to_numpy())
    ranked_curve = advice.curves[advice.curves.strategy == "ranked small"]
    rank_score = curves[(curves.metric == "rank_score") & (curves.model == "small")
                        & (curves.ranker == "r")].set_index("k")
    ks = ranked_curve["config"].str.extract(r"(\d+)")[0].astype(int)
    assert ranked_curve["value"].to_numpy() == pytest.approx(rank_score.loc[ks, "value"].to_numpy())
    assert pd.notna(advice.table["value"]).all()
