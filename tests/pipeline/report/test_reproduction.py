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

from pipeline.report import reproduction

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

    from pipeline.report import advice_section

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

    from pipeline.reduce.curves import reduce_run
    from pipeline.run import storage

    local = tmp_path / "local"
    write_run(local, *synthetic_run(n_problems=4, n=6, benchmarks=("humaneval",)))
    reduce_run(str(local), n_boot=20)
    fs, path = storage.resolve(s3_run_uri)
    pafs.copy_files(str(local), path, source_filesystem=pafs.LocalFileSystem(),
                    destination_filesystem=fs)
    on_s3 = reproduction.smollm2_result(s3_run_uri, model="small")
    on_disk = reproduction.smollm2_result(local, model="small")
    assert on_s3["benchmarks"] == on_disk["benchmarks"] and on_s3["benchmarks"]["humaneval"]["pass"]
    assert reproduction._pngs(s3_run_uri) == reproduction._pngs(local)
    assert "humaneval_pass_at_k.png" in reproduction._pngs(s3_run_uri)
