"""Real CodeGen-16B samples through import -> run -> reduce: the per-task pass counts agree with an
independent implementation of SOURCES.md's method, and docs/REPRODUCTION.md embeds exactly the
slice figures that the same code path produces now."""

from __future__ import annotations

import gzip
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from pipeline.reproduce import document as reproduction
from pipeline.report import execution
from pipeline.reproduce import findings

REPO = Path(__file__).resolve().parents[3]
# SOURCES.md's truncation, written out here on purpose (not imported from the pipeline)
SOURCES_STOPS = ["\nclass", "\ndef", "\n#", "\nif", "\nprint"]


@pytest.fixture(scope="module")
def codet_file(shared_data) -> Path:
    path = shared_data / "generations" / reproduction.CODET_FILE.name
    if not path.is_file():
        pytest.skip(f"{path} not staged")
    if shutil.which("bwrap") is None:
        pytest.skip("bubblewrap (the default sandbox) is not installed")
    return path


@pytest.fixture(scope="module")
def slice_figures(codet_file, tmp_path_factory):
    return reproduction.slice_figures(tmp_path_factory.mktemp("slice"), codet_file)


def _reference_passes(codet_file: Path, humaneval_path: Path, tasks, n: int) -> dict[str, int]:
    """SOURCES.md: cut each sample at the first stop, run CodeT prompt + completion + test +
    check(entry_point) as its own process (in bwrap, no network, read-only host); exit 0 = pass."""
    problems = {}
    with gzip.open(humaneval_path, "rt") as fh:
        for line in fh:
            rec = json.loads(line)
            problems[rec["task_id"]] = rec
    by_name = {}
    for line in codet_file.read_text().splitlines():
        rec = json.loads(line)
        name = re.findall(r"def (\w+)\(", rec["prompt"])[-1]
        by_name.setdefault(name, []).append(rec)
    out = {}
    for tid in tasks:
        problem = problems[tid]
        (rec,) = [r for r in by_name[problem["entry_point"]]
                  if problem["prompt"].startswith(r["prompt"].split('"""')[0])]
        passes = 0
        for sample in rec["samples"][:n]:
            cut = min([sample.find(s) for s in SOURCES_STOPS if s in sample] + [len(sample)])
            program = (rec["prompt"] + sample[:cut] + "\n" + problem["test"] + "\n"
                       + f"check({problem['entry_point']})\n")
            try:
                proc = subprocess.run(
                    ["bwrap", "--unshare-all", "--die-with-parent", "--ro-bind", "/", "/",
                     "--tmpfs", "/tmp", "--dev", "/dev", "--proc", "/proc",
                     "/usr/bin/python3", "-I", "-c", program],
                    capture_output=True, timeout=10)
                passes += proc.returncode == 0
            except subprocess.TimeoutExpired:
                pass
        out[tid] = passes
    return out


def test_per_task_pass_counts_match_an_independent_run_of_the_sources_method(
        slice_figures, codet_file, humaneval_path):
    reference = _reference_passes(codet_file, humaneval_path, reproduction.SLICE_TASKS, reproduction.SLICE_N)
    assert slice_figures["passes"] == reference
    assert 0 < sum(reference.values()) < len(reference) * reproduction.SLICE_N  # a mixed slice


def test_the_reproduction_doc_embeds_the_slice_figures_this_code_produces(slice_figures):
    text = (REPO / "docs" / "REPRODUCTION.md").read_text()
    block = re.search(r"<!-- slice:begin -->\n```json\n(.*?)\n```\n<!-- slice:end -->", text, re.S)
    assert block, "docs/REPRODUCTION.md has no slice block; run `make reproduce-doc`"
    assert json.loads(block.group(1)) == slice_figures


def test_the_advisors_exact_formulas_agree_with_a_simulation_on_the_slices_real_counts(
        slice_figures):
    import numpy as np

    from pipeline.reproduce import advice as advice_section

    c = np.array(list(slice_figures["passes"].values()))
    n = np.full(c.size, slice_figures["n"])
    # the real counts as two independent pools, so that mixes and cascades are checked too
    rows = advice_section.mc_check({"codegen-16b": (n, c), "pool-2": (n, c)},
                                   {"codegen-16b": 1.0, "pool-2": 2.0}, trials=4000)
    assert len(rows) == 2 * 3 + 2
    assert all(abs(r["z"]) < 5 for r in rows), rows


def test_the_report_reads_a_run_dir_in_object_storage_as_one_on_disk(
        tmp_path, synthetic_run, write_run, s3_run_uri):
    import pyarrow.fs as pafs

    from pipeline.jobs.reduce import reduce
    from pipeline.run import storage

    local = tmp_path / "local"
    write_run(local, *synthetic_run(n_problems=4, n=6, benchmarks=("humaneval",)))
    reduce(str(local), n_boot=20)
    fs, path = storage.resolve(s3_run_uri)
    pafs.copy_files(str(local), path, source_filesystem=pafs.LocalFileSystem(),
                    destination_filesystem=fs)
    on_s3 = reproduction.smollm2_result(s3_run_uri, model="small")
    on_disk = reproduction.smollm2_result(local, model="small")
    assert on_s3["benchmarks"] == on_disk["benchmarks"] and on_s3["benchmarks"]["humaneval"]["pass"]
    assert reproduction._pngs(s3_run_uri) == reproduction._pngs(local)
    assert "humaneval_pass_at_k.png" in reproduction._pngs(s3_run_uri)


# -- each finding sentence follows the numbers it states ------------------------------------------
def _pt(value, lo=None, hi=None):
    return {"value": value, "lo": lo, "hi": hi}


def _crossover(crossover, win_ranges, shared=(1.0, 100.0)):
    from pipeline.reduce import paper

    return paper.Crossover("humaneval", "flops", "codellama-7b", "codellama-70b", 10.41,
                           crossover, win_ranges, shared)


def test_the_sources_check_says_within_or_outside_the_bar_as_each_difference_is():
    ref = findings.SOURCES_FIGURES
    bar = findings.SOURCES_BAR
    text = findings.sources_check({"pass": {1: _pt(ref[1] + bar / 2),
                                                10: _pt(ref[10] - 2 * bar)}})
    assert f"pass@1 {bar / 2:+.2f} points (within the bar of {bar} points)" in text
    assert f"pass@10 {-2 * bar:+.2f} points (outside the bar of {bar} points)" in text


def test_the_codegen_paper_comparison_places_its_figure_inside_or_outside_our_ci():
    paper = findings.CODEGEN_PAPER
    res = {"pass": {1: _pt(paper[1] - 7, paper[1] - 10, paper[1] - 3),
                    10: _pt(paper[10] + 1, paper[10] - 5, paper[10] + 5),
                    100: _pt(paper[100])}}
    text = findings.paper_comparison(res)
    assert "pass@1 -7.0 points (its figure outside our CI" in text
    assert "pass@10 +1.0 points (its figure inside our CI" in text
    assert "pass@100 +0.0 points (no CI to place it in)" in text


def test_the_prompt_comparison_counts_the_tasks_whose_pass_counts_differ():
    assert findings.prompt_comparison({}, 164).startswith("0 of 164 tasks have a different")
    text = findings.prompt_comparison({"HumanEval/1": (3, 4)}, 164)
    assert text.startswith("1 of 164 tasks") and "HumanEval/1" in text


def test_where_above_reads_every_some_or_no_shared_budget_from_a_crossover():
    assert findings.where_above(_crossover(1.0, [(1.0, 100.0)])) == "every"
    assert findings.where_above(_crossover(50.0, [(50.0, 100.0)])) == "some"
    assert findings.where_above(_crossover(None, [(5.0, 8.0)])) == "some"
    assert findings.where_above(_crossover(None, [])) == "no"


def test_the_paper_mode_summary_groups_the_pairs_by_where_the_smaller_model_is_above():
    from dataclasses import replace

    text = findings.paper_summary([
        _crossover(1.0, [(1.0, 100.0)]),
        replace(_crossover(None, []), benchmark="apps-interview", small="codellama-13b")])
    assert "one 70B sample costs 10.41 (FLOPs)" in text
    assert "at every shared budget for humaneval flops 7b" in text
    assert "at no shared budget for apps-interview flops 13b" in text
    assert "at some shared budgets only" not in text


def test_the_time_limit_is_the_runs_sandbox_setting():
    from sandbox.config import SandboxConfig

    assert execution.time_limit(SandboxConfig(timeout_s=3)) == "3 s CPU limit per sample"
    calibrated = execution.time_limit(SandboxConfig(timeout_s=4, time_limit_factor=2))
    assert "2 x its reference solution's CPU time" in calibrated and "at most 4 s" in calibrated


def test_the_wall_time_per_sample_is_over_the_executed_not_the_deduplicated_samples(
        tmp_path, synthetic_run, write_run):
    import schemas
    from pipeline import config
    from pipeline.run.rundir import Entry, RunDir

    samples, verdicts, scores = synthetic_run(models=(("small", 0.5, 1.0),),
                                              benchmarks=("humaneval",), n_problems=2, n=3)
    v = verdicts.to_pandas()
    v["cached"] = v.sample_idx % 2 == 1  # a copy of an identical program: not run, 0 ms
    v["exec_ms"] = v.cached.map({True: 0.0, False: 200.0})
    write_run(tmp_path, samples, schemas.from_pandas(v, "verdicts"), scores)
    cfg = config.parse({"run_id": "t", "output_dir": str(tmp_path),
                        "models": [{"name": "small", "path": "imported"}],
                        "benchmarks": [{"name": "humaneval", "n": 3}],
                        "sandbox": {"timeout_s": 3, "workers": 1}})
    (tmp_path / "config.yaml").write_text(config.dump(cfg))
    RunDir(str(tmp_path)).write_manifest({("execute", "s0"): Entry(
        "execute", "s0", "small", "humaneval", "verdicts/x.parquet", "done", seconds=7.0)})
    stats = execution.execution_stats(tmp_path)
    executed = int((~v.cached).sum())
    assert stats["programs_run"] == executed < len(v)
    assert stats["program_wall_seconds"] == pytest.approx(0.2 * executed)
    assert stats["wall_seconds_per_executed_sample"] == pytest.approx(0.2)
    assert stats["time_limit"] == "3 s CPU limit per sample" and stats["workers"] == 1
    assert stats["execute_seconds"] == 7.0


def test_the_rankers_cis_are_said_to_overlap_only_when_they_share_a_point():
    from pipeline.reproduce import rankers as rankers_section

    overlap = rankers_section.ci_overlap({"a": _pt(2.0, 0.4, 4.3), "b": _pt(3.6, 0.8, 7.6),
                                          "nll": None})
    assert "the 95 % CIs of the 2 rankers that have one overlap" in overlap
    assert "highest lower bound 0.8 <= lowest upper bound 4.3" in overlap
    apart = rankers_section.ci_overlap({"a": _pt(2.0, 0.4, 4.3), "b": _pt(9.0, 6.0, 12.0)})
    assert "do not all overlap (b's lower bound 6.0 > a's upper bound 4.3)" in apart
    assert rankers_section.ci_overlap({"a": _pt(2.0)}).startswith("fewer than two rankers")
