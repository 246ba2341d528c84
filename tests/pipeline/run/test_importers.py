"""Importing generation files: each format maps samples to the right tasks, and malformed files
fail naming the offending line (or, with on_error='skip', are counted in the report)."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.compute as pa_compute
import pytest
from typer.testing import CliRunner

from pipeline import config as config_mod
from pipeline.run import importers
from pipeline.jobs import evaluate
from pipeline.run import storage
from pipeline.benchmarks import humaneval
from pipeline.cli import app
from pipeline.sources.generations import ImportFileError, ImportWarning, read_generations


@pytest.fixture(scope="module")
def problems(humaneval_path):
    return humaneval.load(humaneval_path)


@pytest.fixture(scope="module")
def prompts(problems):
    return {r["task_id"]: r["prompt"] for r in problems.to_pylist()}


def _jsonl(path: Path, rows) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


def _config(tmp_path: Path, humaneval_path, **bench) -> config_mod.RunConfig:
    return config_mod.parse({
        "run_id": "imp", "output_dir": str(tmp_path / "run"),
        "models": [{"name": "theirs", "path": "imported", "cost": {"seconds_per_sample": 1.0}}],
        "benchmarks": [{"name": "humaneval", "data": str(humaneval_path), "n": 2,
                        "subset": {"task_ids": ["HumanEval/0", "HumanEval/1", "HumanEval/2"]},
                        **bench}],
        "shard_size": 2,
    })


# -- the three formats -----------------------------------------------------------------------------
def test_completions_rows_get_sample_idx_in_order_of_appearance_per_task(tmp_path, problems):
    f = _jsonl(tmp_path / "s.jsonl", [
        {"task_id": "HumanEval/1", "completion": "a"},
        {"task_id": "HumanEval/0", "completion": "b"},
        {"task_id": "HumanEval/1", "completion": "c"},
    ])
    g = read_generations(f, problems)
    assert g.report.format == "completions"
    assert g.completions == {"HumanEval/1": ["a", "c"], "HumanEval/0": ["b"]}


def test_an_evalplus_solution_holding_the_prompt_has_the_prompt_removed(tmp_path, problems, prompts):
    f = _jsonl(tmp_path / "s.jsonl", [
        {"task_id": "HumanEval/2", "solution": prompts["HumanEval/2"] + "    return 0.0\n"}])
    g = read_generations(f, problems)
    assert g.completions["HumanEval/2"] == ["    return 0.0\n"]
    assert g.report.prompt_stripped == 1


def test_codet_lines_are_mapped_by_function_name_and_prompt_even_without_the_examples(
        tmp_path, problems, prompts):
    # HumanEval/2's prompt with the docstring cut after its first line, as CodeT's prompts are
    original = prompts["HumanEval/2"]
    short = original.split("\n    >>>")[0].rstrip() + '\n    """\n'
    assert short != original
    f = _jsonl(tmp_path / "c.jsonl", [{"prompt": short, "samples": ["    return 1\n", "    pass\n"]},
                                      {"task_id": "HumanEval/5", "samples": ["x"]}])
    g = read_generations(f, problems)
    assert g.report.format == "codet"
    assert g.completions == {"HumanEval/2": ["    return 1\n", "    pass\n"], "HumanEval/5": ["x"]}
    assert g.prompts == {"HumanEval/2": short}


def test_bigcode_element_i_belongs_to_the_ith_problem_of_the_benchmark(tmp_path, problems, prompts):
    f = tmp_path / "gen.json"
    f.write_text(json.dumps([[prompts["HumanEval/0"] + "    return True\n"], ["a", "b"]]))
    g = read_generations(f, problems)
    assert g.report.format == "bigcode"
    assert g.completions == {"HumanEval/0": ["    return True\n"], "HumanEval/1": ["a", "b"]}


def test_gzipped_json_and_jsonl_files_read_like_the_plain_ones(tmp_path, problems, prompts):
    import gzip

    rows = [{"task_id": "HumanEval/0", "completion": "a"}, {"task_id": "HumanEval/1", "completion": "b"}]
    plain = _jsonl(tmp_path / "s.jsonl", rows)
    packed = tmp_path / "s.jsonl.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    bigcode = tmp_path / "gen.json.gz"
    bigcode.write_bytes(gzip.compress(json.dumps([[prompts["HumanEval/0"] + "    return 1\n"]]).encode()))
    assert read_generations(packed, problems).completions == read_generations(plain, problems).completions
    g = read_generations(bigcode, problems)
    assert (g.report.format, g.completions) == ("bigcode", {"HumanEval/0": ["    return 1\n"]})


def test_a_truncated_gzip_file_is_an_error_naming_it(tmp_path, problems):
    import gzip

    f = tmp_path / "gen.json.gz"
    f.write_bytes(gzip.compress(json.dumps([["a"] * 50] * 5).encode())[:40])
    with pytest.raises(ImportFileError, match=r"gen.json.gz: cannot be read"):
        read_generations(f, problems, fmt="bigcode")


def test_whole_programs_without_their_prompt_are_kept_whole_counted_and_named(tmp_path, problems,
                                                                              prompts):
    whole = prompts["HumanEval/0"] + "    return True\n"
    bare = "def has_close_elements(numbers, threshold):\n    return False\n"
    f = tmp_path / "gen.json"
    f.write_text(json.dumps([[whole, bare, whole], [prompts["HumanEval/1"] + "    return []\n"]]))
    g = read_generations(f, problems)
    assert g.completions["HumanEval/0"] == ["    return True\n", bare, "    return True\n"]
    assert (g.report.prompt_stripped, g.report.without_prompt) == (3, ["HumanEval/0#1"])
    assert "1 whole-program samples did not start with their prompt (kept whole): HumanEval/0#1" \
        in g.report.describe()
    assert g.report.as_dict()["without_prompt"] == ["HumanEval/0#1"]
    # bare completions (a `completion` field) are not whole programs: nothing to name
    c = read_generations(_jsonl(tmp_path / "c.jsonl", [{"task_id": "HumanEval/0", "completion": "x"}]),
                         problems)
    assert c.report.without_prompt == []


ASTRAIOS = "generations-humanevalsynthesizepython-starcoderbase-{}-fft.json.gz"


@pytest.mark.parametrize("size", ["1b", "3b", "7b"])
def test_the_astraios_generations_import_whole_with_every_prompt_stripped(
        tmp_path, shared_data, humaneval_path, size):
    path = shared_data / "generations" / "astraios" / ASTRAIOS.format(size)
    g = read_generations(path, humaneval.load(humaneval_path))
    r = g.report
    assert (r.format, r.lines, r.samples_read) == ("bigcode", 164, 3280)
    assert (r.prompt_stripped, r.without_prompt, r.skipped) == (3280, [], [])
    # a slice into a run: 3 problems x 20 samples, nothing left out
    cfg = _config(tmp_path, humaneval_path, n=20)
    report = importers.import_to_run(cfg, path)
    assert (report.imported, report.beyond_n, report.short_tasks) == (60, 0, {})
    shard0 = storage.read_table(
        tmp_path / "run/samples/model=theirs/benchmark=humaneval/sampled-00000.parquet", "samples")
    body = shard0.filter(pa_compute.equal(shard0["task_id"], "HumanEval/0"))["completion"][0].as_py()
    assert not body.startswith("from typing") and body.startswith("    ")
    saved = json.loads((tmp_path / "run/imports/theirs-humaneval.json").read_text())
    assert (saved["without_prompt"], saved["skipped"]) == ([], [])


# -- malformed files -------------------------------------------------------------------------------
MALFORMED = {
    "missing task id": [{"task_id": "HumanEval/0", "completion": "a"}, {"completion": "b"}],
    "unknown task": [{"task_id": "HumanEval/0", "completion": "a"},
                     {"task_id": "HumanEval/999", "completion": "b"}],
    "non-string sample": [{"task_id": "HumanEval/0", "completion": "a"},
                          {"task_id": "HumanEval/0", "completion": 7}],
    "duplicate row": [{"task_id": "HumanEval/0", "completion": "a", "completion_id": 0},
                      {"task_id": "HumanEval/0", "completion": "b", "completion_id": 0}],
    "not valid JSON": [{"task_id": "HumanEval/0", "completion": "a"}, '{"task_id": "HumanEval/0",'],
}


@pytest.mark.parametrize("reason", sorted(MALFORMED))
def test_a_malformed_line_stops_the_import_naming_the_file_and_line(tmp_path, problems, reason):
    f = _jsonl(tmp_path / "bad.jsonl", MALFORMED[reason])
    with pytest.raises(ImportFileError, match=rf"bad.jsonl:2: {reason}"):
        read_generations(f, problems)


@pytest.mark.parametrize("reason", sorted(MALFORMED))
def test_with_skip_a_malformed_line_is_left_out_warned_about_and_counted(tmp_path, problems, reason):
    f = _jsonl(tmp_path / "bad.jsonl", MALFORMED[reason])
    with pytest.warns(ImportWarning, match=r"bad.jsonl:2"):
        g = read_generations(f, problems, on_error="skip")
    assert g.completions == {"HumanEval/0": ["a"]}
    assert g.report.skipped_by_reason() == {reason: 1}
    assert [s.line for s in g.report.skipped] == [2]
    assert f"skipped 1 ({reason}): line 2" in g.report.describe()


def test_codet_duplicate_tasks_and_non_string_samples_name_their_lines(tmp_path, problems):
    f = _jsonl(tmp_path / "c.jsonl", [{"task_id": "HumanEval/3", "samples": ["a", None, "b"]},
                                      {"task_id": "HumanEval/3", "samples": ["c"]}])
    with pytest.raises(ImportFileError, match=r"c.jsonl:1: non-string sample \(samples\[1\] is NoneType"):
        read_generations(f, problems)
    with pytest.warns(ImportWarning):
        g = read_generations(f, problems, on_error="skip")
    assert g.completions == {"HumanEval/3": ["a", "b"]}
    assert g.report.skipped_by_reason() == {"non-string sample": 1, "duplicate row": 1}
    assert "already given on line 1" in g.report.skipped[1].detail


def test_a_codet_prompt_of_no_known_function_is_an_unknown_task(tmp_path, problems):
    f = _jsonl(tmp_path / "c.jsonl", [{"prompt": "def not_a_humaneval_task(x):\n", "samples": ["a"]}])
    with pytest.raises(ImportFileError, match=r"c.jsonl:1: unknown task .*'not_a_humaneval_task'"):
        read_generations(f, problems)


def test_a_bigcode_list_longer_than_the_benchmark_names_the_extra_element(tmp_path, problems):
    f = tmp_path / "gen.json"
    f.write_text(json.dumps([["a"]] * (problems.num_rows + 1)))
    with pytest.raises(ImportFileError, match=rf"gen.json: element {problems.num_rows}: unknown task"):
        read_generations(f, problems)
    f.write_text(json.dumps([["a"], ["b", 3]]))
    with pytest.raises(ImportFileError, match=r"gen.json: element 1: non-string sample \(\[1\]\[1\] is int"):
        read_generations(f, problems)


# -- into a run ------------------------------------------------------------------------------------
def test_import_writes_the_planned_shards_and_reports_what_was_not_imported(tmp_path, humaneval_path):
    cfg = _config(tmp_path, humaneval_path)
    f = _jsonl(tmp_path / "s.jsonl", [
        {"task_id": "HumanEval/0", "completion": "a"}, {"task_id": "HumanEval/0", "completion": "b"},
        {"task_id": "HumanEval/0", "completion": "c"},  # beyond n = 2
        {"task_id": "HumanEval/1", "completion": "d"},  # fewer than n
        {"task_id": "HumanEval/7", "completion": "e"},  # outside the subset
    ])
    with pytest.warns(ImportWarning):
        report = importers.import_to_run(cfg, f)
    assert (report.imported, report.beyond_n, report.outside_subset) == (3, 1, 1)
    assert report.short_tasks == {"HumanEval/1": 1}
    assert report.missing_tasks == ["HumanEval/2"]
    shard0 = storage.read_table(
        tmp_path / "run/samples/model=theirs/benchmark=humaneval/sampled-00000.parquet", "samples")
    rows = sorted((r["task_id"], r["sample_idx"], r["completion"]) for r in shard0.to_pylist())
    assert rows == [("HumanEval/0", 0, "a"), ("HumanEval/0", 1, "b"), ("HumanEval/1", 0, "d")]
    assert json.loads((tmp_path / "run/imports/theirs-humaneval.json").read_text())["beyond_n"] == 1


def test_run_never_generates_an_imported_model_and_names_the_shard_without_samples(
        tmp_path, humaneval_path):
    cfg = _config(tmp_path, humaneval_path)
    f = _jsonl(tmp_path / "s.jsonl", [{"task_id": "HumanEval/0", "completion": "a"}])
    with pytest.warns(ImportWarning):
        importers.import_to_run(cfg, f)
    with pytest.raises(config_mod.ConfigError,
                       match=r"theirs is imported .* 1 of its shards have no imported samples "
                             r"\(first: theirs/humaneval/sampled-00001.*import-samples"):
        evaluate.run(cfg, progress=False)


def test_an_imported_model_cannot_have_greedy_samples(tmp_path, humaneval_path):
    cfg = _config(tmp_path, humaneval_path, greedy=True)
    f = _jsonl(tmp_path / "s.jsonl", [{"task_id": t, "completion": "a"}
                                      for t in ("HumanEval/0", "HumanEval/1", "HumanEval/2")])
    with pytest.warns(ImportWarning):
        importers.import_to_run(cfg, f)
    with pytest.raises(config_mod.ConfigError, match=r"no greedy samples; set greedy: false"):
        evaluate.run(cfg, progress=False)


def test_an_imported_model_needs_a_time_cost(tmp_path, humaneval_path):
    data = _config(tmp_path, humaneval_path).model_dump()
    data["models"][0]["cost"] = {}
    with pytest.raises(config_mod.ConfigError, match=r"models.theirs.cost.seconds_per_sample"):
        evaluate.check_costs(config_mod.parse(data))


def test_prompts_from_the_file_replace_the_run_problems_prompts(tmp_path, humaneval_path, prompts):
    cfg = _config(tmp_path, humaneval_path)
    rows = [{"task_id": t, "prompt": "# theirs\n" + prompts[t], "samples": ["x", "y"]}
            for t in ("HumanEval/0", "HumanEval/1", "HumanEval/2")]
    importers.import_to_run(cfg, _jsonl(tmp_path / "c.jsonl", rows), prompts="file")
    table = storage.read_table(tmp_path / "run/problems/benchmark=humaneval/part-0.parquet", "problems")
    assert all(p.startswith("# theirs\n") for p in table.column("prompt").to_pylist())


def test_cli_import_samples_exits_2_naming_the_bad_line(tmp_path, humaneval_path):
    cfg_path = tmp_path / "c.yaml"
    cfg_path.write_text(config_mod.dump(_config(tmp_path, humaneval_path)))
    f = _jsonl(tmp_path / "bad.jsonl", MALFORMED["unknown task"])
    result = CliRunner().invoke(app, ["import-samples", str(cfg_path), str(f)])
    assert result.exit_code == 2
    assert "bad.jsonl:2: unknown task" in result.output
    ok = CliRunner().invoke(app, ["import-samples", str(cfg_path), str(f), "--skip-bad"])
    assert ok.exit_code == 0, ok.output
    assert "skipped 1 (unknown task): line 2" in ok.output


def test_import_then_run_on_an_s3_run_dir_writes_everything_to_the_bucket(
        tmp_path, humaneval_path, s3_run_uri, monkeypatch):
    from pipeline import results

    monkeypatch.chdir(tmp_path)
    cfg = _config(tmp_path, humaneval_path).model_copy(update={
        "output_dir": s3_run_uri, "sandbox": {"backend": "bwrap", "workers": 1}})
    f = _jsonl(tmp_path / "s.jsonl", [
        {"task_id": t, "completion": c}
        for t in ("HumanEval/0", "HumanEval/1", "HumanEval/2") for c in ("    return 1\n", "    pass\n")])
    importers.import_to_run(cfg, f)
    report = json.loads(storage.read_text(storage.join(s3_run_uri, "imports/theirs-humaneval.json")))
    assert report["imported"] == 6
    outcome = evaluate.run(cfg, progress=False, in_process=True)
    assert outcome.reduced and not outcome.failed
    r = results.load(s3_run_uri)
    assert len(r.samples) == 6 and r.samples.status.notna().all()
    assert set(r.curves.metric) >= {"pass@k", "pass_time"}
    assert storage.exists(storage.join(s3_run_uri, "figures/humaneval_pass_at_k.png"))
    assert storage.exists(storage.join(s3_run_uri, "tables/costs_humaneval.csv"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.jsonl"]  # nothing local but the input
