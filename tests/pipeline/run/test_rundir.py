"""The run directory stays honest: files decide what is done, corrupt ones are quarantined."""

from __future__ import annotations

import pytest

import schemas
from pipeline import config
from pipeline.run import storage
from pipeline.run.problems import prepare_problems
from pipeline.run.rundir import RunDir
from pipeline.run.shards import plan


def test_reconcile_takes_state_from_files_and_quarantines_corrupt_ones(tmp_path, make_config):
    cfg = make_config(subset={"limit": 8})
    rundir = RunDir(cfg.output_dir)
    problems = prepare_problems(cfg, rundir)
    shards = plan(cfg, {"humaneval": problems["humaneval"].column("task_id").to_pylist()})
    good, bad = shards[0], shards[1]
    rows = [{"run_id": "r", "model": good.model, "benchmark": "humaneval", "task_id": t,
             "sample_idx": 0, "seed": 1, "temperature": 0.8, "completion": "x", "n_tokens": 1,
             "finish_reason": "stop", "gen_seconds": 0.1} for t in good.task_ids]
    storage.write_table(schemas.from_rows(rows, "samples"), rundir.shard_path("generate", good), "samples")
    corrupt = rundir.shard_path("generate", bad)
    storage.resolve(corrupt)  # local
    import pathlib

    pathlib.Path(corrupt).parent.mkdir(parents=True, exist_ok=True)
    pathlib.Path(corrupt).write_bytes(b"garbage, not parquet")

    entries = rundir.reconcile(shards, ("generate",))
    assert entries[("generate", good.name)].state == "done"
    assert entries[("generate", good.name)].rows == 4
    assert entries[("generate", bad.name)].state == "pending"
    assert "corrupt output" in entries[("generate", bad.name)].error
    assert not pathlib.Path(corrupt).exists()
    quarantined = list((tmp_path / "run" / "quarantine").iterdir())
    assert len(quarantined) == 1 and quarantined[0].read_bytes() == b"garbage, not parquet"


def test_a_different_config_in_the_same_directory_is_refused(tmp_path, make_config):
    cfg = make_config()
    rundir = RunDir(cfg.output_dir)
    rundir.freeze_config(cfg)
    rundir.freeze_config(cfg)  # the same config again is fine
    other = cfg.model_copy(update={"seed": 4})
    with pytest.raises(config.ConfigError, match=r"holds a different config \(line \d+: 'seed: 3' "
                       r"there, 'seed: 4' here\)"):
        rundir.freeze_config(other)
    assert rundir.load_config() == cfg


def test_a_frozen_config_written_before_a_new_field_existed_is_still_the_same_config(make_config):
    cfg = make_config()
    rundir = RunDir(cfg.output_dir)
    rundir.freeze_config(cfg)
    text = storage.read_text(rundir.config_path)
    assert "hang_timeout_s: null" in text
    storage.write_text(rundir.config_path, text.replace("  hang_timeout_s: null\n", ""))
    rundir.freeze_config(cfg)  # an older run directory resumes with today's config schema


def test_new_reduce_settings_update_the_frozen_config_and_nothing_else_may_change(make_config):
    cfg = make_config()
    rundir = RunDir(cfg.output_dir)
    rundir.freeze_config(cfg)
    rereduced = cfg.model_copy(update={"reduce": {"k_range": "full"}})
    rundir.freeze_config(rereduced)
    assert rundir.load_config() == rereduced


def test_a_verdicts_shard_with_sandbox_errors_is_pending_so_resume_re_executes_it(tmp_path, make_config):
    cfg = make_config(subset={"limit": 8})
    rundir = RunDir(cfg.output_dir)
    problems = prepare_problems(cfg, rundir)
    shards = plan(cfg, {"humaneval": problems["humaneval"].column("task_id").to_pylist()})
    judged, unjudged = shards[0], shards[1]
    for shard, status in ((judged, "fail"), (unjudged, "error")):
        rows = [{"run_id": "r", "model": shard.model, "benchmark": "humaneval", "task_id": t,
                 "sample_idx": 0, "status": status if i == 0 else "pass", "tests_passed": 0,
                 "tests_total": 1, "detail": "sandbox: worker died" if status == "error" else "",
                 "exec_ms": 1.0, "cached": False} for i, t in enumerate(shard.task_ids)]
        storage.write_table(schemas.from_rows(rows, "verdicts"), rundir.shard_path("execute", shard),
                            "verdicts")
    entries = rundir.reconcile(shards, ("execute",))
    assert entries[("execute", judged.name)].state == "done"  # a failure is a verdict
    assert entries[("execute", unjudged.name)].state == "pending"
    assert entries[("execute", unjudged.name)].error == (
        "1 sandbox error verdicts (not judged); re-executed")
    assert rundir.sandbox_errors("execute", unjudged) == 1
    assert rundir.sandbox_errors("generate", unjudged) == 0


def test_a_sandbox_error_on_the_extended_tests_also_sends_the_shard_back(tmp_path, make_config):
    cfg = make_config(subset={"limit": 8})
    rundir = RunDir(cfg.output_dir)
    problems = prepare_problems(cfg, rundir)
    shard = plan(cfg, {"humaneval": problems["humaneval"].column("task_id").to_pylist()})[0]
    rows = [{"run_id": "r", "model": shard.model, "benchmark": "humaneval", "task_id": t,
             "sample_idx": 0, "status": "pass", "tests_passed": 1, "tests_total": 1,
             "detail": "", "exec_ms": 1.0, "cached": False,
             "plus_status": "error" if i == 0 else "pass",
             "plus_detail": "sandbox: worker died" if i == 0 else "", "plus_exec_ms": 1.0}
            for i, t in enumerate(shard.task_ids)]
    storage.write_table(schemas.from_rows(rows, "verdicts"), rundir.shard_path("execute", shard),
                        "verdicts")
    assert rundir.sandbox_errors("execute", shard) == 1
    assert rundir.reconcile([shard], ("execute",))[("execute", shard.name)].state == "pending"
