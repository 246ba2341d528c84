"""rank-score with empty completions: the scorer gives them mean_nll NaN ("sorts last"), and the
reducer ranks them after every scored completion instead of refusing the run."""

from __future__ import annotations

import math

import pytest

import schemas
from pipeline.reduce.curves import reduce_tables

KEY = dict(run_id="r", model="m", benchmark="humaneval", task_id="HumanEval/0")


def _tables(nlls, passed):
    samples, verdicts, scores = [], [], []
    for i, (nll, ok) in enumerate(zip(nlls, passed)):
        key = {**KEY, "sample_idx": i}
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
    curves = reduce_tables(samples, verdicts, scores, n_boot=0).to_pandas()
    rank = curves[curves.metric == "rank_score"].set_index("k")["value"]
    assert rank[3] == 1.0  # from all three, the ranker picks the passing, best-scored sample
    # of the 3 draws of k = 2, {0, 1} and {1, 2} pick sample 1 (pass); {0, 2} picks the scored
    # sample 2 (fail) before the empty one, whether or not the empty one would pass
    assert rank[2] == pytest.approx(2 / 3)
