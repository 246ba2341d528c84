"""A small imported-samples run for the fault tests: 6 HumanEval problems x 3 fixed completions
(one correct), executed in the bwrap sandbox in process and reduced; its outputs, compared
without the measured times (pass_time aside)."""

from __future__ import annotations

import json

import pandas as pd

from pipeline import config as config_mod
from pipeline import results
from pipeline.jobs import evaluate
from pipeline.run import importers

LIMIT, N, SHARD = 6, 3, 2  # 6 problems x 3 samples, shards of 2 problems: 3 shards


def config_data(out: str, humaneval_path, **changes) -> dict:
    """The run config as a dict (`changes` replace top-level fields, e.g. `ray` on a cluster)."""
    return {
        "run_id": "faults", "output_dir": out, "shard_size": SHARD, "seed": 1,
        "models": [{"name": "theirs", "path": "imported", "cost": {"seconds_per_sample": 1.0}}],
        "benchmarks": [{"name": "humaneval", "data": str(humaneval_path), "n": N,
                        "subset": {"limit": LIMIT}}],
        "sandbox": {"backend": "bwrap", "workers": 1}, "reduce": {"n_boot": 20, "k_range": "full"},
        **changes,
    }


def config(out: str, humaneval_path, **changes) -> config_mod.RunConfig:
    return config_mod.parse(config_data(out, humaneval_path, **changes))


def generations(path) -> str:
    right = {0: "    return any(abs(a - b) < threshold for i, a in enumerate(numbers) "
                "for b in numbers[i + 1:])\n"}
    lines = []
    for t in range(LIMIT):
        for c in (right.get(t, "    return None\n"), "    pass\n", "    return 1\n"):
            lines.append(json.dumps({"task_id": f"HumanEval/{t}", "completion": c}))
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def outputs(root: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    r = results.load(root)
    samples = r.samples.sort_values(["task_id", "sample_idx"])[
        ["task_id", "sample_idx", "completion", "status", "tests_passed"]].reset_index(drop=True)
    curves = r.curves[~r.curves.metric.isin(["pass_time", "rank_score_time"])]
    curves = curves.sort_values(["model", "benchmark", "metric", "ranker", "x"]).reset_index(drop=True)
    return samples, curves


def reference_outputs(out, tmp_path, humaneval_path):
    """The outputs of the undisturbed run (local disk, in process)."""
    cfg = config(str(out), humaneval_path)
    importers.import_to_run(cfg, generations(tmp_path / "g.jsonl"))
    assert evaluate.run(cfg, progress=False, in_process=True).reduced
    return outputs(cfg.output_dir)


def equal(a, b) -> None:
    pd.testing.assert_frame_equal(a[0], b[0])
    pd.testing.assert_frame_equal(a[1].drop(columns=["mc_se"], errors="ignore"),
                                  b[1].drop(columns=["mc_se"], errors="ignore"))


