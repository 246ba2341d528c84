"""`status` counts shards per stage from the files and writes nothing."""

from __future__ import annotations


import schemas
from pipeline.run import storage
from pipeline.run.problems import prepare_problems
from pipeline.run.rundir import RunDir
from pipeline.run.shards import plan


def test_status_counts_shards_from_the_files_and_writes_nothing(tmp_path, make_config):
    from pipeline.run.status import status

    cfg = make_config(subset={"limit": 8})
    rundir = RunDir(cfg.output_dir)
    rundir.freeze_config(cfg)
    before = sorted(p.name for p in (tmp_path / "run").iterdir())
    st = status(cfg.output_dir)  # problems not built yet: nothing to count, nothing built
    assert st.counts["generate"] == {"done": 0, "running": 0, "pending": 0, "failed": 0}
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == before == ["config.yaml"]

    problems = prepare_problems(cfg, rundir)
    shards = plan(cfg, {"humaneval": problems["humaneval"].column("task_id").to_pylist()})
    shard = shards[0]
    rows = [{"run_id": "r", "model": shard.model, "benchmark": "humaneval", "task_id": t,
             "sample_idx": 0, "seed": 1, "temperature": 0.8, "completion": "x", "n_tokens": 1,
             "finish_reason": "stop", "gen_seconds": 0.1} for t in shard.task_ids]
    storage.write_table(schemas.from_rows(rows, "samples"), rundir.shard_path("generate", shard), "samples")
    st = status(cfg.output_dir)
    assert st.counts["generate"] == {"done": 1, "running": 0, "pending": len(shards) - 1, "failed": 0}
    assert st.rows["generate"] == 4 and not st.reduced
