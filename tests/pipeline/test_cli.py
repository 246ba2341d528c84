"""The CLI: `problems` writes a valid problems table; `reduce` and `paper` call the reducer and
paper mode and say where outputs went; bad input exits 2 with one clear line."""

from __future__ import annotations

import subprocess
import sys

import pytest
from typer.testing import CliRunner

from pipeline.run import storage
from pipeline.cli import app

runner = CliRunner()


def test_reduce_writes_curves_tables_and_figures_and_says_where(tmp_path, synthetic_run,
                                                                write_run):
    write_run(tmp_path, *synthetic_run(n_problems=5, n=8, benchmarks=("mbpp",)))
    result = runner.invoke(app, ["reduce", str(tmp_path), "--n-boot", "20"])
    assert result.exit_code == 0, result.output
    assert f"to {tmp_path}/curves.parquet" in result.output
    assert "figures: " in result.output
    assert storage.read_table(tmp_path / "curves.parquet", "curves").num_rows > 0
    assert (tmp_path / "figures" / "mbpp_pass_flops.svg").exists()


def test_reduce_and_advise_take_the_verifier(tmp_path, synthetic_run, write_run):
    samples, verdicts, scores = synthetic_run(n_problems=5, n=8, benchmarks=("humaneval",))
    rows = verdicts.to_pylist()
    for v in rows:  # every second base pass fails the extended tests
        wrong = v["status"] == "pass" and v["sample_idx"] % 2 == 0
        v.update(plus_status="fail" if wrong else v["status"], plus_detail="", plus_exec_ms=1.0)
    import schemas

    write_run(tmp_path, samples, schemas.from_rows(rows, "verdicts"), scores)
    result = runner.invoke(app, ["reduce", str(tmp_path), "--n-boot", "20", "--verifier", "plus"])
    assert result.exit_code == 0, result.output
    assert f"to {tmp_path}/plus/curves.parquet" in result.output
    assert (tmp_path / "plus" / "tables" / "false_positives.md").exists()
    result = runner.invoke(app, ["advise", str(tmp_path), "--n-boot", "0", "--verifier", "plus"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "plus" / "advice.parquet").exists()
    assert not (tmp_path / "advice.parquet").exists()


def test_reduce_with_plus_on_a_run_without_extended_tests_exits_2(tmp_path, synthetic_run,
                                                                  write_run):
    write_run(tmp_path, *synthetic_run(n_problems=3, n=4, benchmarks=("mbpp",)))
    result = runner.invoke(app, ["reduce", str(tmp_path), "--verifier", "plus"])
    assert result.exit_code == 2 and "humaneval+" in result.output


def test_reduce_on_a_missing_run_dir_exits_2_with_one_line(tmp_path):
    result = runner.invoke(app, ["reduce", str(tmp_path / "nope")])
    assert result.exit_code == 2
    assert "no such run directory" in result.output
    assert "Traceback" not in result.output


def test_paper_prints_the_humaneval_crossover_and_writes_outputs(tmp_path):
    result = runner.invoke(app, ["paper", "--benchmark", "humaneval", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "codellama-7b is above codellama-70b at every budget from" in result.output
    assert (tmp_path / "figures" / "humaneval_pass_flops.png").exists()
    assert (tmp_path / "tables" / "crossovers_humaneval.md").exists()


def test_paper_with_an_unknown_benchmark_exits_2_naming_the_known_ones():
    result = runner.invoke(app, ["paper", "--benchmark", "nope"])
    assert result.exit_code == 2
    assert "known: apps-competition" in result.output


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipeline", *args], capture_output=True, text=True, timeout=120)


def test_problems_writes_the_table(tmp_path, mbpp_sample_path):
    out = tmp_path / "mbpp.parquet"
    result = run_cli("problems", "--benchmark", "mbpp", "--data", str(mbpp_sample_path), "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "wrote 6 mbpp problems" in result.stdout  # MBPP/11-16 of the committed sample
    assert storage.read_table(out, "problems").num_rows == 6


def test_problems_with_a_missing_file_exits_2_naming_it(tmp_path):
    result = run_cli("problems", "--benchmark", "humaneval", "--data", str(tmp_path / "x.jsonl"), "--out", str(tmp_path / "o.parquet"))
    assert result.returncode == 2
    assert "x.jsonl: file not found" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "o.parquet").exists()


def test_import_counts_then_advise_prints_the_table_and_writes_the_outputs(tmp_path):
    counts = tmp_path / "counts.csv"
    counts.write_text("model,benchmark,task_id,n,c\n" + "".join(
        f"{m},humaneval,HumanEval/{t},{n},{(t * 7 + len(m)) % (n + 1)}\n"
        for m, n in (("small", 12), ("large", 6)) for t in range(10)))
    run = tmp_path / "run"
    result = runner.invoke(app, ["import-counts", str(counts), "--out", str(run),
                                 "--flops-per-pass", "small=1e12", "--flops-per-pass", "large=4e12"])
    assert result.exit_code == 0, result.output
    assert "imported 20 problem rows (180 samples)" in result.output
    result = runner.invoke(app, ["advise", str(run), "--n-boot", "20"])
    assert result.exit_code == 0, result.output
    assert "### humaneval, with tests (flops)" in result.output
    assert (run / "advice.parquet").exists() and (run / "advice" / "frontier-humaneval-tests.png").exists()


def test_counts_of_a_benchmark_outside_the_registry_are_imported_and_advised_end_to_end(tmp_path):
    # small passes half its samples of one problem in three, large half its samples of every
    # problem; a sample of large costs four of small
    counts = tmp_path / "counts.csv"
    counts.write_text("model,benchmark,task_id,n,c\n"
                      "small,livecodebench,lcb-1,8,4\nsmall,livecodebench,lcb-2,8,0\n"
                      "small,livecodebench,lcb-3,8,0\nlarge,livecodebench,lcb-1,2,1\n"
                      "large,livecodebench,lcb-2,2,1\nlarge,livecodebench,lcb-3,2,1\n")
    run = tmp_path / "run"
    result = runner.invoke(app, ["import-counts", str(counts), "--out", str(run),
                                 "--flops-per-pass", "small=1e12", "--flops-per-pass", "large=4e12"])
    assert result.exit_code == 0, result.output
    assert "of large, small on livecodebench" in result.output
    result = runner.invoke(app, ["advise", str(run), "--n-boot", "0", "--budget", "1e12",
                                 "--budget", "8e12", "--no-mixes", "--no-cascades",
                                 "--no-early-stopping"])
    assert result.exit_code == 0, result.output
    assert "### livecodebench, with tests (flops)" in result.output
    table = storage.read_table(str(run / "advice.parquet"), "advice").to_pandas()
    assert set(table["benchmark"]) == {"livecodebench"}
    best = table.set_index("budget")
    # one sample of small (1/6 pass@1) is all 1e12 buys; at 8e12, large x2 passes every problem
    # while small x8 passes one in three
    assert best.loc[1e12, "best_config"] == "small x1"
    assert best.loc[1e12, "value"] == pytest.approx(1 / 6)
    assert best.loc[8e12, "best_config"] == "large x2"
    assert best.loc[8e12, "value"] == pytest.approx(1.0)
    assert best.loc[8e12, "runner_up_value"] == pytest.approx(1 / 3)
    assert (run / "advice" / "frontier-livecodebench-tests.png").exists()
    result = runner.invoke(app, ["status", str(run)])
    assert result.exit_code == 0, result.output


def test_import_counts_with_a_bad_row_exits_2_naming_file_and_line(tmp_path):
    counts = tmp_path / "counts.csv"
    counts.write_text("model,benchmark,task_id,n,c\na,humaneval,HumanEval/0,3,4\n")
    result = runner.invoke(app, ["import-counts", str(counts), "--out", str(tmp_path / "r")])
    assert result.exit_code == 2
    assert f"{counts}:2: need n >= 1 and 0 <= c <= n" in result.output


def test_advise_without_a_flops_cost_says_which_model_lacks_one(tmp_path):
    counts = tmp_path / "counts.csv"
    counts.write_text("model,benchmark,task_id,n,c\na,humaneval,HumanEval/0,3,1\n")
    runner.invoke(app, ["import-counts", str(counts), "--out", str(tmp_path / "r")])
    result = runner.invoke(app, ["advise", str(tmp_path / "r")])
    assert result.exit_code == 2
    assert "left out: no positive cost per sample for model 'a' on 'humaneval'" in result.output


def test_advise_on_paper_mode_prints_single_model_advice(tmp_path):
    result = runner.invoke(app, ["advise", "--paper", "humaneval", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "single codellama-7b" in result.output and (tmp_path / "advice.parquet").exists()


def test_the_run_summary_names_each_generated_models_prompt_style(tmp_path):
    from pipeline import cli, config
    from pipeline.run.rundir import RunDir

    cfg = config.parse({
        "run_id": "s", "output_dir": str(tmp_path / "run"),
        "models": [{"name": "chat", "path": "smollm2-135m", "prompt_style": "instruct"},
                   {"name": "base", "path": "tiny-llama"},
                   {"name": "theirs", "path": "imported", "cost": {"seconds_per_sample": 1.0}}],
        "benchmarks": [{"name": "humaneval", "n": 2}],
    })
    RunDir(cfg.output_dir).freeze_config(cfg)
    assert cli._prompt_styles(cfg.output_dir) == {"chat": "instruct", "base": "raw"}
    assert cli._prompt_styles(str(tmp_path / "nowhere")) == {}
    with pytest.raises(config.ConfigError, match="prompt_style"):
        config.parse({**cfg.model_dump(), "models": [{"name": "x", "path": "tiny-llama",
                                                       "prompt_style": "chat"}]})


def test_reduce_names_unjudgeable_samples_also_for_a_run_dir_in_object_storage(
        tmp_path, synthetic_run, write_run, s3_run_uri):
    import pyarrow as pa
    import pyarrow.fs as pafs

    samples, verdicts, scores = synthetic_run(n_problems=5, n=8, benchmarks=("mbpp",))
    status = verdicts.column("status").to_pylist()
    status[3] = "unjudgeable"
    verdicts = verdicts.set_column(verdicts.schema.get_field_index("status"),
                                   verdicts.schema.field("status"), pa.array(status))
    write_run(tmp_path / "local", samples, verdicts, scores)
    fs, path = storage.resolve(s3_run_uri)
    pafs.copy_files(str(tmp_path / "local"), path, source_filesystem=pafs.LocalFileSystem(),
                    destination_filesystem=fs)
    result = runner.invoke(app, ["reduce", s3_run_uri, "--n-boot", "0"])
    assert result.exit_code == 0, result.output
    assert "note: 1 sample(s) are `unjudgeable`" in result.output
