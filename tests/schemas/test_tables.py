"""The table schemas: round trips keep types, bad tables are rejected with clear messages."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import schemas
from pipeline.run import storage

KEY = {"run_id": "r1", "model": "m", "benchmark": "humaneval", "task_id": "HumanEval/0"}

ROWS = {
    "problems": [
        {
            "benchmark": "humaneval", "task_id": "HumanEval/0", "prompt": "def f():\n",
            "tests": "def check(c): assert c() == 1", "test_setup": "", "entry_point": "f",
            "io_kind": "function", "difficulty": None, "fewshot_ids": [], "stop": ["\ndef"],
            "reference": "    return 1\n", "starter_code": "",
        }
    ],
    "samples": [
        {**KEY, "sample_idx": i, "seed": 7, "temperature": 0.8, "completion": "    return 1\n",
         "n_tokens": 5, "finish_reason": "stop", "gen_seconds": 0.25}
        for i in range(3)
    ],
    "verdicts": [
        {**KEY, "sample_idx": 0, "status": "pass", "tests_passed": 1, "tests_total": 1,
         "detail": "", "exec_ms": 3.5, "cached": False},
        {**KEY, "sample_idx": 1, "status": "timeout", "tests_passed": 0, "tests_total": 1,
         "detail": "timed out after 3 s", "exec_ms": 3000.0, "cached": True},
    ],
    "scores": [
        {**KEY, "sample_idx": 0, "ranker": "m", "mean_nll": 0.42, "n_tokens": 5, "truncated": False}
    ],
    "probes": [
        {**KEY, "sample_idx": 0, "probe_set": "prompt_examples", "outcomes": ["v:1", "raise:KeyError"],
         "matches": [True, None], "exec_ms": 2.5, "cached": False},
        {**KEY, "sample_idx": 0, "probe_set": "generated_tests", "outcomes": ["pass", "timeout"],
         "matches": [True, False], "exec_ms": 4.0, "cached": True},
    ],
    "curves": [
        {"model": "m", "benchmark": "humaneval", "metric": "pass@k", "x": 1.0, "k": 1,
         "value": 0.5, "ci_low": 0.4, "ci_high": 0.6, "n_problems": 164, "ranker": None}
    ],
    "advice": [
        {"benchmark": "humaneval", "setting": "tests", "unit": "flops", "budget": 1.7e13,
         "x": 10.0, "best": "cascade a->b", "best_config": "a x8, then b x1 if none passes",
         "value": 0.6, "ci_low": 0.5, "ci_high": 0.7, "p_best": 0.8, "spent": 1.6e13,
         "capped": False, "runner_up": "single a", "runner_up_config": "a x10", "runner_up_value": 0.55,
         "margin": 0.05, "n_problems": 164, "cost_source": "calflops"},
        {"benchmark": "humaneval", "setting": "tests", "unit": "flops", "budget": 1.7e12,
         "x": 1.0, "best": "single a", "best_config": "a x1", "value": 0.2, "ci_low": None,
         "ci_high": None, "p_best": None, "spent": 1.7e12, "capped": True, "runner_up": None,
         "runner_up_config": None, "runner_up_value": None, "margin": None, "n_problems": 0,
         "cost_source": "paper"},
    ],
    "advice_curves": [
        {"benchmark": "humaneval", "setting": "no-tests", "unit": "dollars", "budget": 0.01,
         "x": 3.0, "strategy": "ranked a", "config": "a best-ranked of 3", "value": 0.3,
         "spent": 0.009, "capped": False},
    ],
    "manifest": [
        {"stage": "generate", "shard": "m/humaneval/sampled-00000", "model": "m",
         "benchmark": "humaneval", "path": "samples/model=m/benchmark=humaneval/sampled-00000.parquet",
         "state": "done", "attempts": 1, "error": "", "rows": 80, "seconds": 12.5}
    ],
}


@pytest.mark.parametrize("name", list(schemas.TABLES))
def test_round_trip_through_parquet_and_pandas_keeps_every_type(name, tmp_path):
    table = schemas.from_rows(ROWS[name], name)
    path = tmp_path / f"{name}.parquet"
    storage.write_table(table, path, name)
    back = storage.read_table(path, name)
    assert back.schema.equals(schemas.TABLES[name], check_metadata=True)
    assert back.to_pylist() == table.to_pylist()
    # through pandas and back: no type drift
    frame = back.to_pandas()
    again = schemas.from_pandas(frame, name)
    assert again.schema.equals(schemas.TABLES[name])
    assert again.to_pylist() == table.to_pylist()


@pytest.mark.parametrize("name", list(schemas.TABLES))
def test_every_schema_carries_its_name_and_version(name):
    meta = schemas.TABLES[name].metadata
    assert meta[b"budget_realloc.table"] == name.encode()
    assert meta[b"budget_realloc.schema_version"] == schemas.SCHEMA_VERSION.encode()


def test_a_wrong_column_type_is_rejected_naming_the_column():
    frame = pd.DataFrame(ROWS["samples"])
    frame["n_tokens"] = frame["n_tokens"].astype(str)
    with pytest.raises(schemas.SchemaError, match=r"column 'n_tokens' has type (large_)?string, expected int32"):
        schemas.from_pandas(frame, "samples")


def test_validate_is_strict_about_types_that_conform_would_cast():
    table = pa.Table.from_pylist([dict(r, reply="") for r in ROWS["samples"]])  # sample_idx: int64
    with pytest.raises(schemas.SchemaError, match="'sample_idx' has type int64, expected int32"):
        schemas.validate(table, "samples")
    assert schemas.conform(table, "samples").schema.field("sample_idx").type == pa.int32()


def test_an_int_that_does_not_fit_is_rejected():
    rows = [dict(ROWS["samples"][0], n_tokens=2**40)]
    with pytest.raises(schemas.SchemaError, match="n_tokens"):
        schemas.conform(pa.Table.from_pylist(rows), "samples")


def test_a_missing_column_is_named():
    frame = pd.DataFrame(ROWS["verdicts"]).drop(columns=["exec_ms"])
    with pytest.raises(schemas.SchemaError, match=r"missing column\(s\) \['exec_ms'\]"):
        schemas.from_pandas(frame, "verdicts")


def test_an_extra_column_is_named():
    frame = pd.DataFrame(ROWS["scores"]).assign(bogus=1)
    with pytest.raises(schemas.SchemaError, match=r"unexpected column\(s\) \['bogus'\]"):
        schemas.from_pandas(frame, "scores")


def test_a_null_in_a_required_column_names_the_row():
    rows = [dict(r) for r in ROWS["samples"]]
    rows[2]["completion"] = None
    with pytest.raises(schemas.SchemaError, match="'completion' is null at row 2"):
        schemas.from_rows(rows, "samples")


def test_an_unknown_verdict_status_names_the_row():
    rows = [dict(r) for r in ROWS["verdicts"]]
    rows[1]["status"] = "passed"
    with pytest.raises(schemas.SchemaError, match="'passed' at row 1"):
        schemas.from_rows(rows, "verdicts")


def test_an_unknown_probe_set_names_the_row_and_the_allowed_sets():
    rows = [dict(r) for r in ROWS["probes"]]
    rows[1]["probe_set"] = "hidden_tests"
    with pytest.raises(schemas.SchemaError, match="'hidden_tests' at row 1; allowed: prompt_examples"):
        schemas.from_rows(rows, "probes")


def test_a_sample_has_one_probes_row_per_probe_set():
    rows = [dict(ROWS["probes"][0]), dict(ROWS["probes"][0])]
    with pytest.raises(schemas.SchemaError, match="duplicate key"):
        schemas.from_rows(rows, "probes")


def test_a_duplicate_sample_key_is_rejected():
    rows = [dict(ROWS["samples"][0]), dict(ROWS["samples"][0])]
    with pytest.raises(schemas.SchemaError, match="duplicate key"):
        schemas.from_rows(rows, "samples")


def test_a_file_of_another_schema_version_is_refused(tmp_path):
    table = schemas.from_rows(ROWS["scores"], "scores")
    meta = dict(table.schema.metadata)
    meta[b"budget_realloc.schema_version"] = b"0"
    path = tmp_path / "old.parquet"
    pq.write_table(table.replace_schema_metadata(meta), path)
    with pytest.raises(storage.StorageError, match="schema version 0"):
        storage.read_table(path, "scores")


def test_a_corrupt_parquet_file_gives_an_error_naming_it(tmp_path):
    path = tmp_path / "shard-00000.parquet"
    path.write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(storage.StorageError, match="shard-00000.parquet: not a readable Parquet"):
        storage.read_table(path, "samples")


def test_writes_are_atomic_and_leave_no_temporary_file(tmp_path):
    table = schemas.from_rows(ROWS["samples"], "samples")
    storage.write_table(table, tmp_path / "a" / "shard.parquet", "samples")
    assert [p.name for p in (tmp_path / "a").iterdir()] == ["shard.parquet"]
    # a stray temporary file from a crashed writer is never listed as part of the dataset
    (tmp_path / "a" / ".tmp-dead-shard2.parquet").write_bytes(b"partial")
    assert storage.list_files(tmp_path / "a") == [str(tmp_path / "a" / "shard.parquet")]
    assert storage.read_dataset(tmp_path / "a", "samples").num_rows == 3


def test_probe_reads_rows_from_the_footer_and_rejects_incomplete_or_foreign_files(tmp_path):
    table = schemas.from_rows(ROWS["samples"], "samples")
    path = tmp_path / "s.parquet"
    storage.write_table(table, path, "samples")
    assert storage.probe(path, "samples") == 3
    assert storage.probe(path, "scores") is None  # another table's schema
    assert storage.probe(tmp_path / "missing.parquet", "samples") is None
    truncated = tmp_path / "t.parquet"
    truncated.write_bytes(path.read_bytes()[:-20])
    assert storage.probe(truncated, "samples") is None


def test_a_samples_file_written_before_the_reply_column_still_reads_and_probes(tmp_path):
    table = schemas.from_rows(ROWS["samples"], "samples")
    assert schemas.optional_fields("samples") == ["reply"]
    assert table.column("reply").null_count == 3
    old = table.drop_columns(["reply"])  # a file of the first version 1
    path = tmp_path / "old.parquet"
    pq.write_table(old, path)
    assert storage.probe(path, "samples") == 3
    back = storage.read_table(path, "samples")
    assert back.schema.names == schemas.SAMPLES.names and back.column("reply").null_count == 3
    # only optional columns may be missing: a file without `completion` is another table
    pq.write_table(table.drop_columns(["completion"]), path)
    assert storage.probe(path, "samples") is None
    with pytest.raises(storage.StorageError, match="missing column"):
        storage.read_table(path, "samples")
