"""The reduce job (`pipeline.jobs.reduce`): numbers from `reduce_run`, files from `pipeline.report`,
the same through a path, a file URI or object storage."""

from __future__ import annotations

import pandas as pd
import pytest

from pipeline.jobs.reduce import reduce as reduce_job
from pipeline.run import storage


@pytest.fixture(scope="module")
def tables3(synthetic_run):
    return synthetic_run()


def test_the_reduce_job_writes_valid_curves_tables_and_figures(tmp_path, tables3, write_run):
    write_run(tmp_path, *tables3)
    curves = reduce_job(str(tmp_path), n_boot=50).curves
    on_disk = storage.read_table(tmp_path / "curves.parquet", "curves")
    assert on_disk.num_rows == curves.num_rows > 0
    assert set(on_disk.column("metric").to_pylist()) >= {"pass_flops", "pass_time", "rank_score"}
    for bench in ("humaneval", "mbpp"):
        table = pd.read_csv(tmp_path / "tables" / f"pass_at_k_{bench}.csv")
        assert set(table["model"]) == {"small", "large"}
        assert {"pass@1", "greedy@1"} <= set(table.columns)
        assert "pass@10" not in table.columns  # n = 16: curves stop at k = n/2 = 8 by default
        md = (tmp_path / "tables" / f"pass_at_k_{bench}.md").read_text()
        assert md.count("\n| ") == 3  # header + 2 models
        cross = pd.read_csv(tmp_path / "tables" / f"crossovers_{bench}.csv")
        assert set(cross["metric"]) == {"pass_flops", "pass_time", "rank_score_flops",
                                        "rank_score_time"}
        costs = pd.read_csv(tmp_path / "tables" / f"costs_{bench}.csv")
        flops = costs[costs.budget == "flops"].set_index("model")
        assert flops.loc["large", "normalised"] == 3.0
        assert flops.loc["large", "source"] == "config: cost.flops_per_pass"
        time_ = costs[costs.budget == "time"].set_index("model")
        assert time_.loc["large", "cost_per_sample"] == 4.0
        assert time_.loc["large", "source"] == "measured: mean gen_seconds of 192 sampled samples"
        for fig in ("pass_at_k", "pass_flops", "pass_time", "rank_score", "rank_score_flops",
                    "rank_score_time"):
            for ext in ("png", "svg"):
                path = tmp_path / "figures" / f"{bench}_{fig}.{ext}"
                assert path.stat().st_size > 1000
    assert (tmp_path / "figures" / "humaneval_pass_at_k.png").read_bytes()[:4] == b"\x89PNG"
    statuses = pd.read_csv(tmp_path / "tables" / "verdict_statuses.csv")
    assert int(statuses["samples"].sum()) == tables3[1].num_rows
    assert "unjudgeable" in (tmp_path / "tables" / "verdict_statuses.md").read_text()


def test_the_reduce_job_on_a_file_uri_writes_the_same_outputs_as_on_its_path(tmp_path, tables3, write_run,
                                                                          monkeypatch):
    path_run, uri_run = tmp_path / "by-path", tmp_path / "by-uri"
    write_run(path_run, *tables3)
    write_run(uri_run, *tables3)
    monkeypatch.chdir(tmp_path)
    by_path = reduce_job(str(path_run), n_boot=20).curves
    by_uri = reduce_job(f"file://{uri_run}", n_boot=20).curves
    assert by_uri.equals(by_path)
    assert {"pass_flops", "rank_score_flops"} <= set(by_uri.column("metric").to_pylist())  # config costs read
    names = lambda root: sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
    assert names(uri_run) == names(path_run)
    assert (uri_run / "tables" / "costs_mbpp.md").read_text() == (
        path_run / "tables" / "costs_mbpp.md").read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["by-path", "by-uri"]  # no stray `file:`


def test_the_reduce_job_on_an_s3_run_dir_gives_the_curves_and_outputs_of_its_local_copy(
        tmp_path, tables3, write_run, s3_run_uri, monkeypatch):
    import pyarrow.fs as pafs

    local = tmp_path / "local"
    write_run(local, *tables3)
    fs, path = storage.resolve(s3_run_uri)
    pafs.copy_files(str(local), path, source_filesystem=pafs.LocalFileSystem(),
                    destination_filesystem=fs)
    monkeypatch.chdir(tmp_path)
    by_uri = reduce_job(s3_run_uri, n_boot=20).curves
    by_path = reduce_job(str(local), n_boot=20).curves
    assert by_uri.equals(by_path)
    assert {"pass_flops", "pass_time", "rank_score", "rank_score_flops", "rank_score_time"} <= set(
        by_uri.column("metric").to_pylist())  # the config's FLOPs costs were read from the bucket
    assert storage.read_table(storage.join(s3_run_uri, "curves.parquet"), "curves").equals(
        storage.read_table(local / "curves.parquet", "curves"))
    on_s3 = [f[len(s3_run_uri) + 1:] for f in storage.list_files(s3_run_uri, suffix="")]
    assert on_s3 == sorted(str(p.relative_to(local)) for p in local.rglob("*") if p.is_file())
    assert storage.read_text(storage.join(s3_run_uri, "tables/costs_mbpp.md")) == (
        local / "tables" / "costs_mbpp.md").read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["local"]  # no stray `s3:` directory
