"""The probe stage: sharded, resumable, written through schemas.PROBES, off unless configured."""

from __future__ import annotations

import json
import os

from pipeline import config as config_mod
from pipeline import results
from pipeline.jobs import evaluate
from pipeline.run import importers, stages, storage
from pipeline.run.rundir import RunDir

CODET_TESTS = "generations/codet_HumanEval_codegen16B_temp0.8_topp0.95_num100_max300_test_case.jsonl"


def _config(tmp_path, humaneval_path, probes):
    data = {
        "run_id": "probe", "output_dir": str(tmp_path / "run"), "shard_size": 2,
        "models": [{"name": "theirs", "path": "imported", "cost": {"seconds_per_sample": 1.0}}],
        "benchmarks": [{"name": "humaneval", "data": str(humaneval_path), "n": 2,
                        "subset": {"limit": 4}}],
        "sandbox": {"backend": "bwrap", "workers": 1}, "reduce": {"n_boot": 0},
    }
    if probes is not None:
        data["probes"] = probes
    return config_mod.parse(data)


def test_probe_is_a_stage_only_when_the_config_has_a_probes_section(tmp_path, humaneval_path):
    assert "probe" not in stages.names_for(_config(tmp_path, humaneval_path, None))
    assert stages.names_for(_config(tmp_path, humaneval_path, {}))[-1] == "probe"


def test_the_probe_stage_writes_one_row_per_sample_and_set_and_resume_redoes_only_unfinished(
        tmp_path, humaneval_path, shared_data):
    cfg = _config(tmp_path, humaneval_path,
                  {"generated_tests": {"humaneval": str(shared_data / CODET_TESTS)}})
    gens = tmp_path / "g.jsonl"
    # HumanEval/0..3 reference-like completions: two identical per task (dedup fan-out)
    gens.write_text("".join(json.dumps({"task_id": f"HumanEval/{t}", "completion": c}) + "\n"
                            for t in range(4) for c in ("    return 1\n", "    return 1\n")))
    importers.import_to_run(cfg, gens)
    assert evaluate.run(cfg, progress=False, in_process=True).reduced
    probes = results.load(cfg.output_dir).probes
    assert set(probes.probe_set) == {"prompt_examples", "generated_tests"}
    assert len(probes) == 4 * 2 * 2  # 4 tasks x 2 samples x 2 probe sets
    assert probes.cached.sum() == 8  # the second identical sample of each task and set
    zero = probes[(probes.task_id == "HumanEval/0") & (probes.probe_set == "prompt_examples")]
    assert [list(o) for o in zero.outcomes] == [["v:1", "v:1"]] * 2
    # `1 == True` in Python: the match is the == a test would use, as the prompt shows it
    assert [[bool(x) for x in m] for m in zero.matches] == [[False, True]] * 2
    # the reduce stage ranks by every execution-based ranker the probe sets allow
    curves = results.load(cfg.output_dir).curves
    assert set(curves[curves.metric == "rank_score"].ranker) == {
        "output_agreement", "prompt_examples", "dual_agreement"}

    rundir = RunDir(cfg.output_dir)
    files = sorted(storage.list_files(rundir.uri("probes")))
    assert len(files) == 2
    mtimes = {f: os.stat(f).st_mtime_ns for f in files}
    os.remove(files[1])  # as if the run stopped before this shard's file was written
    evaluate.resume(cfg.output_dir, progress=False, in_process=True)
    assert os.path.exists(files[1])  # the unfinished shard is redone
    assert os.stat(files[0]).st_mtime_ns == mtimes[files[0]]  # the finished one is not
    entries = rundir.read_manifest()
    assert all(e.state == "done" for k, e in entries.items() if k[0] == "probe")
    assert len(results.load(cfg.output_dir).probes) == 16


def test_examples_can_come_from_the_benchmarks_own_statement_when_the_run_prompt_lacks_them(
        humaneval_path):
    import schemas
    from pipeline.benchmarks import get
    from pipeline.run.actors import probe_sets

    row = get("humaneval").load(str(humaneval_path)).to_pylist()[0]
    stripped = dict(row, prompt=row["prompt"].split(">>>")[0])  # as CodeT's prompts: no examples
    problems = schemas.from_rows([stripped], "problems")
    key = ("humaneval", row["task_id"])
    spec = {"prompt_examples": True}
    assert probe_sets(problems, spec, {})[key]["prompt_examples"] == []
    from_statement = probe_sets(problems, spec, {}, {key: row})[key]["prompt_examples"]
    assert [p["code"] for p in from_statement] == [
        "has_close_elements([1.0, 2.0, 3.0], 0.5)",
        "has_close_elements([1.0, 2.8, 3.0, 4.0, 5.0, 2.0], 0.3)"]
