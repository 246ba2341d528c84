"""Specification of the reducer (pipeline.reduce.curves): tables in -> curves; a run dir -> curves,
tables and figures."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import schemas
from pipeline.reduce import metrics
from pipeline.run import storage
from pipeline.reduce.cost import ModelCost
from pipeline.reduce.run_data import RunData
from pipeline.reduce.joined import SandboxErrorsExcluded
from pipeline.reduce.curves import (ReduceError, priced_costs,
                                    reduce_run, reduce_tables, status_counts)


@pytest.fixture(scope="module")
def tables3(synthetic_run):
    return synthetic_run()


@pytest.fixture(scope="module")
def curves(tables3):
    samples, verdicts, scores = tables3
    costs = {"small": ModelCost(flops_per_pass=1e12), "large": ModelCost(flops_per_pass=3e12)}
    return reduce_tables(samples, verdicts, scores, costs, n_boot=200, seed=0,
                         k_range="full").to_pandas()


def test_curves_table_has_the_curves_schema_and_every_metric(tables3):
    samples, verdicts, scores = tables3
    costs = {"small": ModelCost(flops_per_pass=1e12), "large": ModelCost(flops_per_pass=3e12)}
    table = reduce_tables(samples, verdicts, scores, costs, n_boot=50)
    schemas.validate(table, "curves")
    assert set(table.column("metric").to_pylist()) == {
        "pass@k", "greedy_pass@1", "pass_flops", "pass_time", "rank_score", "rank_score_flops",
        "rank_score_time"}


def test_curves_stop_at_k_half_n_by_default_and_reach_n_with_the_full_range(tables3, curves):
    samples, verdicts, scores = tables3
    half = reduce_tables(samples, verdicts, scores, n_boot=0).to_pandas()
    for frame, top in ((half, 8), (curves, 16)):  # n = 16 sampled completions per problem
        pk = frame[(frame.metric == "pass@k")]
        assert pk.groupby(["model", "benchmark"]).k.max().eq(top).all()
    full_pk = curves[curves.metric == "pass@k"].set_index(["model", "benchmark", "k"]).value
    half_pk = half[half.metric == "pass@k"].set_index(["model", "benchmark", "k"]).value
    np.testing.assert_array_equal(half_pk, full_pk.loc[half_pk.index])  # the same points, fewer
    rs_half = half[half.metric == "rank_score"].groupby(["model", "benchmark"]).k.max()
    rs_full = curves[curves.metric == "rank_score"].groupby(["model", "benchmark"]).k.max()
    assert (rs_half == rs_full // 2).all()  # usable (non-truncated) n, halved
    assert half[half.metric == "pass_time"].k.max() == 8  # budgets buy at most n/2 samples
    with pytest.raises(ReduceError, match="k_range"):
        reduce_tables(samples, verdicts, k_range="most")


def test_pass_at_k_curve_matches_the_estimator_on_the_runs_counts(tables3, curves):
    samples, verdicts, _ = tables3
    s = samples.to_pandas().merge(verdicts.to_pandas(), on=list(schemas.KEY))
    s = s[(s["model"] == "small") & (s["benchmark"] == "mbpp") & (s["temperature"] > 0)]
    g = s.groupby("task_id")["status"].agg(n="size", c=lambda x: (x == "pass").sum())
    expect = metrics.pass_at_k(g["n"], g["c"], np.arange(1, 17)).mean(axis=0)
    got = curves[(curves.model == "small") & (curves.benchmark == "mbpp")
                 & (curves.metric == "pass@k")].sort_values("k")
    assert got["k"].tolist() == list(range(1, 17))
    np.testing.assert_allclose(got["value"], expect, atol=1e-12)
    assert (got["n_problems"] == 12).all()


def test_every_point_lies_inside_its_confidence_interval(curves):
    both = curves.dropna(subset=["ci_low"])
    assert len(both) == len(curves)
    assert (both["ci_low"] <= both["value"] + 1e-12).all()
    assert (both["value"] <= both["ci_high"] + 1e-12).all()


def test_greedy_pass_at_1_is_the_mean_pass_of_temperature_zero_samples(tables3, curves):
    samples, verdicts, _ = tables3
    s = samples.to_pandas().merge(verdicts.to_pandas(), on=list(schemas.KEY))
    s = s[(s["model"] == "large") & (s["benchmark"] == "humaneval") & (s["temperature"] == 0)]
    got = curves[(curves.model == "large") & (curves.benchmark == "humaneval")
                 & (curves.metric == "greedy_pass@1")]
    assert got["value"].item() == pytest.approx((s["status"] == "pass").mean())


def test_pass_flops_reads_pass_at_k_at_the_samples_a_budget_buys(curves):
    sel = (curves.benchmark == "humaneval")
    pk = curves[sel & (curves.metric == "pass@k")].set_index(["model", "k"])["value"]
    pf = curves[sel & (curves.metric == "pass_flops")]
    large = pf[pf.model == "large"]
    assert np.allclose(large["k"], np.floor(large["x"] / 3 + 1e-9))
    for _, row in pf.iterrows():
        assert row["value"] == pk[(row["model"], row["k"])]
    # the two models share one budget grid: where both are defined, they have the same budgets
    small = pf[pf.model == "small"]
    lo, hi = large["x"].min(), small["x"].max()
    assert set(large["x"][large["x"] <= hi]) == set(small["x"][small["x"] >= lo])
    assert {4.0, 5.0} <= set(large["x"])  # small-model steps inside the large model's range


def test_pass_time_uses_measured_seconds_per_sample(curves):
    pt = curves[(curves.metric == "pass_time") & (curves.model == "large")]
    assert np.allclose(pt["x"] / pt["k"], 4.0) or (pt["k"] == np.floor(pt["x"] / 4 + 1e-9)).all()
    assert pt["x"].min() == pytest.approx(4.0)


def test_rank_score_excludes_truncated_samples_and_stays_below_their_pass_at_k(tables3, curves):
    rs = curves[(curves.metric == "rank_score")]
    assert set(rs["ranker"]) == {"r"}
    samples, verdicts, scores = tables3
    s = scores.to_pandas().merge(verdicts.to_pandas(), on=list(schemas.KEY)).merge(
        samples.to_pandas()[list(schemas.KEY) + ["temperature"]], on=list(schemas.KEY))
    s = s[(s.model == "small") & (s.benchmark == "mbpp") & (s.temperature > 0) & ~s.truncated]
    g = s.groupby("task_id")["status"].agg(n="size", c=lambda x: (x == "pass").sum())
    mine = rs[(rs.model == "small") & (rs.benchmark == "mbpp")].sort_values("k")
    # truncated samples are left out: the curve ends at the smallest usable n, not at n = 16
    assert mine["k"].max() == g["n"].min() < 16
    usable_pass = metrics.pass_at_k(g["n"], g["c"], mine["k"]).mean(axis=0)
    assert np.all(mine["value"].to_numpy() <= usable_pass + 1e-12)
    # rank-score@1 = mean over problems of c/n among the non-truncated samples
    assert mine["value"].iloc[0] == pytest.approx((g["c"] / g["n"]).mean(), abs=1e-12)


def test_the_same_seed_gives_the_same_intervals(tables3):
    samples, verdicts, _ = tables3
    a = reduce_tables(samples, verdicts, n_boot=100, seed=3)
    b = reduce_tables(samples, verdicts, n_boot=100, seed=3)
    c = reduce_tables(samples, verdicts, n_boot=100, seed=4)
    assert a.equals(b)
    assert not a.column("ci_low").equals(c.column("ci_low"))


def test_no_bootstrap_leaves_the_ci_columns_null(tables3):
    samples, verdicts, _ = tables3
    table = reduce_tables(samples, verdicts, n_boot=0)
    assert table.column("ci_low").null_count == table.num_rows > 0


def test_samples_without_a_verdict_are_a_clear_error(tables3):
    samples, verdicts, _ = tables3
    with pytest.raises(ReduceError, match="have no verdict.*execute stage"):
        reduce_tables(samples, verdicts.slice(1))


def test_a_ranker_that_did_not_score_every_sample_is_a_clear_error(tables3):
    samples, verdicts, scores = tables3
    with pytest.raises(ReduceError, match="ranker 'r' scored"):
        reduce_tables(samples, verdicts, scores.slice(1), n_boot=0)


def test_the_run_reader_takes_model_costs_from_the_frozen_config(tmp_path, tables3, write_run,
                                                                  config_yaml):
    write_run(tmp_path, *tables3)
    (tmp_path / "config.yaml").write_text(config_yaml(
        [("small", {"flops_per_pass": 2e12}),
         ("large", {"config": "codellama-7b", "seconds_per_sample": 0.5}), ("c", {})],
        ["humaneval", "mbpp"]))
    costs = RunData.load(str(tmp_path)).costs
    assert set(costs) == {"small", "large"}
    assert costs["small"].flops() == 2e12 and costs["large"].seconds() == 0.5


def test_a_bad_cost_in_the_config_is_an_error_naming_the_model(tmp_path, tables3, write_run):
    write_run(tmp_path, *tables3)
    text = (tmp_path / "config.yaml").read_text().replace("flops_per_pass: 3000000000000.0",
                                                          "flops_per_pass: -1")
    (tmp_path / "config.yaml").write_text(text)
    with pytest.raises(ReduceError, match=r"models.large.cost"):
        reduce_run(str(tmp_path), n_boot=0)


def test_reduce_run_returns_the_numbers_and_writes_nothing(tmp_path, tables3, write_run):
    write_run(tmp_path, *tables3)
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    reduced = reduce_run(str(tmp_path), n_boot=0)
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before
    assert reduced.curves.num_rows > 0 and reduced.root == str(tmp_path)
    assert int(reduced.statuses["samples"].sum()) == tables3[1].num_rows
    assert set(reduced.costs["budget"]) == {"flops", "time"}


def test_reduce_run_on_a_run_without_verdicts_says_what_to_do(tmp_path, tables3):
    samples, _, _ = tables3
    storage.write_table(samples, tmp_path / "samples" / "shard-00000.parquet", "samples")
    with pytest.raises(ReduceError, match="no verdicts yet"):
        reduce_run(str(tmp_path))


def test_a_table_with_the_wrong_schema_is_a_clear_reduce_error(tables3):
    samples, verdicts, _ = tables3
    with pytest.raises(ReduceError, match="missing column"):
        reduce_tables(samples.drop_columns(["temperature"]), verdicts)


def test_models_without_any_cost_are_left_out_of_the_budget_curves(tables3):
    samples, verdicts, _ = tables3
    costs = {"small": ModelCost(flops_per_pass=1e12)}
    df = reduce_tables(samples, verdicts, None, costs, n_boot=0).to_pandas()
    assert set(df[df.metric == "pass_flops"].model) == {"small"}
    assert set(df[df.metric == "pass_time"].model) == {"small", "large"}  # measured seconds
    assert "rank_score" not in set(df.metric)  # no scores table


# -- empty completions: the scorer gives them mean_nll NaN, ranked after every scored one --
EMPTY_KEY = dict(run_id="r", model="m", benchmark="humaneval", task_id="HumanEval/0")


def _tables(nlls, passed):
    samples, verdicts, scores = [], [], []
    for i, (nll, ok) in enumerate(zip(nlls, passed)):
        key = {**EMPTY_KEY, "sample_idx": i}
        samples.append({**key, "seed": i, "temperature": 0.8, "completion": "" if math.isnan(nll) else "x",
                        "n_tokens": 0 if math.isnan(nll) else 3, "finish_reason": "stop",
                        "gen_seconds": 1.0})
        verdicts.append({**key, "status": "pass" if ok else "fail", "tests_passed": int(ok),
                         "tests_total": 1, "detail": "", "exec_ms": 1.0, "cached": False})
        scores.append({**key, "ranker": "rk", "mean_nll": nll,
                       "n_tokens": 0 if math.isnan(nll) else 3, "truncated": False})
    return (schemas.from_rows(samples, "samples"), schemas.from_rows(verdicts, "verdicts"),
            schemas.from_rows(scores, "scores"))


@pytest.mark.parametrize("empty_passes", [False, True])
def test_an_empty_completion_is_ranked_after_every_scored_one(empty_passes):
    # sample 0 is empty (NaN), sample 1 passes with the best NLL, sample 2 fails
    samples, verdicts, scores = _tables([math.nan, 0.5, 2.0], [empty_passes, True, False])
    curves = reduce_tables(samples, verdicts, scores, n_boot=0, k_range="full").to_pandas()
    rank = curves[curves.metric == "rank_score"].set_index("k")["value"]
    assert rank[3] == 1.0  # from all three, the ranker picks the passing, best-scored sample
    # of the 3 draws of k = 2, {0, 1} and {1, 2} pick sample 1 (pass); {0, 2} picks the scored
    # sample 2 (fail) before the empty one, whether or not the empty one would pass
    assert rank[2] == pytest.approx(2 / 3)


def test_unjudgeable_samples_count_as_not_passing_and_are_reported_per_status(tables3):
    samples, verdicts, scores = tables3
    status = verdicts.column("status").to_pylist()
    passing = [i for i, s in enumerate(status) if s == "pass"][:5]
    for i in passing:
        status[i] = "unjudgeable"
    marked = verdicts.set_column(verdicts.schema.get_field_index("status"), "status",
                                 pa.array(status, pa.string()))
    as_fail = verdicts.set_column(verdicts.schema.get_field_index("status"), "status",
                                  pa.array([("fail" if s == "unjudgeable" else s) for s in status],
                                           pa.string()))
    counts = status_counts(marked)
    assert int(counts["unjudgeable"].sum()) == len(passing) == 5
    assert (counts["samples"] == counts[list(schemas.VERDICT_STATUSES)].sum(axis=1)).all()
    assert int(counts["samples"].sum()) == marked.num_rows
    a = reduce_tables(samples, marked, None, n_boot=0).to_pandas()
    b = reduce_tables(samples, as_fail, None, n_boot=0).to_pandas()
    pd.testing.assert_frame_equal(a, b)


# -- hand-built runs: one row per (model, benchmark, task, sample) -------------------------------
def _run(rows, scored=False):
    """rows: (model, benchmark, task, idx, temperature, status, gen_seconds[, nll, truncated])."""
    s, v, sc = [], [], []
    for row in rows:
        model, bench, task, idx, temp, status, secs = row[:7]
        key = dict(run_id="h", model=model, benchmark=bench, task_id=task, sample_idx=idx)
        s.append({**key, "seed": idx, "temperature": temp, "completion": "x", "n_tokens": 3,
                  "finish_reason": "stop", "gen_seconds": secs})
        v.append({**key, "status": status, "tests_passed": int(status == "pass"), "tests_total": 1,
                  "detail": "sandbox: worker died" if status == "error" else "", "exec_ms": 1.0,
                  "cached": False})
        if scored:
            sc.append({**key, "ranker": "r", "mean_nll": row[7], "n_tokens": 3, "truncated": row[8]})
    return (schemas.from_rows(s, "samples"), schemas.from_rows(v, "verdicts"),
            schemas.from_rows(sc, "scores") if scored else None)


def test_each_benchmarks_pass_time_curve_uses_that_benchmarks_own_measured_cost():
    # model b's mbpp samples take 10x as long as its humaneval ones (20 s vs 2 s); model a takes
    # 1 s on both. Greedy samples (1000 s) are not what a budget buys: they are left out.
    rows = []
    for bench, b_secs in (("humaneval", 2.0), ("mbpp", 20.0)):
        for model, secs in (("a", 1.0), ("b", b_secs)):
            for i, status in enumerate(["pass", "pass", "fail", "fail"]):
                rows.append((model, bench, f"{bench}/0", i, 0.8, status, secs))
            rows.append((model, bench, f"{bench}/0", -1, 0.0, "pass", 1000.0))
    samples, verdicts, _ = _run(rows)
    curves = reduce_tables(samples, verdicts, n_boot=0).to_pandas()
    pt = curves[curves.metric == "pass_time"]

    def points(model, bench):
        g = pt[(pt.model == model) & (pt.benchmark == bench)].sort_values("x")
        return [v for point in zip(g.x, g.k, g.value) for v in point]  # x, k, value, x, k, ...

    # n = 4, c = 2: pass@1 = 1/2, pass@2 = 1 - C(2,2)/C(4,2) = 5/6; k <= n/2 = 2.
    # Budgets in units of a's time per sample on that benchmark: b costs 2 on humaneval, 20 on mbpp.
    assert points("b", "humaneval") == pytest.approx([2.0, 1, 0.5, 4.0, 2, 5 / 6])
    assert points("b", "mbpp") == pytest.approx([20.0, 1, 0.5, 40.0, 2, 5 / 6])
    assert points("a", "mbpp") == pytest.approx([1.0, 1, 0.5, 2.0, 2, 5 / 6])
    table = priced_costs(samples).set_index(["benchmark", "model", "budget"])
    assert table.loc[("mbpp", "b", "time"), "cost_per_sample"] == 20.0
    assert table.loc[("humaneval", "b", "time"), "normalised"] == 2.0
    assert table.loc[("mbpp", "b", "time"), "source"] == "measured: mean gen_seconds of 4 sampled samples"
    assert pd.isna(table.loc[("mbpp", "b", "flops"), "cost_per_sample"])  # no FLOPs cost given


def _error_run():
    rows = [("m", "humaneval", f"HumanEval/{t}", i, 0.8, "pass" if (t + i) % 3 == 0 else "fail", 1.0)
            for t in range(3) for i in range(6)]
    rows[4] = rows[4][:5] + ("error",) + rows[4][6:]  # task 0, sample 4: the sandbox could not judge
    return _run(rows)


def test_sandbox_error_verdicts_are_refused_not_counted_as_failures():
    samples, verdicts, _ = _error_run()
    with pytest.raises(ReduceError, match=r"1 samples have a sandbox `error` verdict.*m/humaneval: 1"
                       r".*resume.*--exclude-errors"):
        reduce_tables(samples, verdicts, n_boot=0)


def test_excluded_error_verdicts_leave_their_samples_out_and_say_how_many():
    samples, verdicts, _ = _error_run()
    with pytest.warns(SandboxErrorsExcluded, match=r"excluded 1 samples .*m/humaneval: 1"):
        curves = reduce_tables(samples, verdicts, n_boot=0, exclude_errors=True,
                               k_range="full").to_pandas()
    v = verdicts.to_pandas()
    v = v[v.status != "error"]
    g = v.groupby("task_id").status.agg(n="size", c=lambda x: (x == "pass").sum())
    assert g.n.tolist() == [5, 6, 6]
    pk = curves[curves.metric == "pass@k"].sort_values("k")
    assert pk.k.tolist() == [1, 2, 3, 4, 5]  # the smallest n is now 5
    np.testing.assert_allclose(pk.value, metrics.pass_at_k(g.n, g.c, np.arange(1, 6)).mean(axis=0))


def _brute_force_rank_score(nll, passed, usable, k):
    """The expected pass of the best-ranked of k usable samples, over every k-subset; ties in the
    ranker score broken uniformly at random (their mean pass)."""
    from itertools import combinations

    pool = [i for i in range(len(nll)) if usable[i]]
    if not pool:
        return 0.0
    total, count = 0.0, 0
    for subset in combinations(pool, k):
        best = min(nll[i] for i in subset)
        tied = [passed[i] for i in subset if nll[i] == best]
        total += sum(tied) / len(tied)
        count += 1
    return total / count


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("k_range", ["half", "full"])
def test_budgeted_rank_score_matches_a_brute_force_enumeration(seed, k_range):
    rng = np.random.default_rng(seed)
    cost = {"s": 1.0, "l": 2.5}  # FLOPs per pass: l buys a sample for 2.5 of s's
    rows, truth = [], {}
    for model in cost:
        for t in range(3):
            n = 7
            nll = rng.integers(0, 4, n).astype(float)  # few values: ties
            passed = rng.random(n) < 0.4
            usable = rng.random(n) > 0.15
            usable[0] = True
            truth[(model, t)] = (nll, passed, usable)
            for i in range(n):
                rows.append((model, "mbpp", f"MBPP/{t}", i, 0.8, "pass" if passed[i] else "fail",
                             1.0 + (model == "l"), nll[i], not usable[i]))
    samples, verdicts, scores = _run(rows, scored=True)
    costs = {m: ModelCost(flops_per_pass=c * 1e12) for m, c in cost.items()}
    curves = reduce_tables(samples, verdicts, scores, costs, n_boot=0, k_range=k_range).to_pandas()
    checked = 0
    for metric, per_sample in (("rank_score_flops", cost), ("rank_score_time", {"s": 1.0, "l": 2.0})):
        rows_m = curves[curves.metric == metric]
        assert set(rows_m.model) == {"s", "l"} and set(rows_m.ranker) == {"r"}
        for _, row in rows_m.iterrows():
            k = int(np.floor(row.x / per_sample[row.model] + 1e-9))
            assert row.k == k
            expect = np.mean([_brute_force_rank_score(*truth[(row.model, t)], k) for t in range(3)])
            assert row.value == pytest.approx(expect, abs=1e-12)
            checked += 1
    assert checked >= 8
