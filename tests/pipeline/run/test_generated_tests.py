"""A run's copy of its model-written tests: made once at the start, read by every later step."""

from __future__ import annotations

import gzip
import hashlib
import json

import numpy as np
import pytest

from pipeline.rank.base import TestPool
from pipeline.run.generated_tests import freeze, frozen_path, run_tests


def _humaneval(humaneval_path, n=2):
    opener = gzip.open if str(humaneval_path).endswith(".gz") else open
    with opener(humaneval_path, "rt") as handle:
        return [json.loads(line) for line, _ in zip(handle, range(n))]


def _codet_file(path, problems, variant=""):
    """CodeT's test-case format: per task its prompt and test samples (each continues
    "assert ")."""
    lines = []
    for p in problems:
        f = p["entry_point"]
        samples = [f"{f}([1.0]) == 1{variant}\nassert {f}([2.0]) == 2\n",
                   f"{f}([1.0]) == 1{variant}\n", f"{f}([3.0]) == 3\n"]
        lines.append(json.dumps({"prompt": p["prompt"], "samples": samples}))
    path.write_text("\n".join(lines) + "\n")
    return path


def _freeze(run_root, source, humaneval_path):
    return freeze(str(run_root), {"generated_tests": {"humaneval": str(source)},
                                  "max_tests_per_sample": 5},
                  [{"name": "humaneval", "data": str(humaneval_path), "n": 1}])


def test_the_run_keeps_a_copy_with_the_sources_hash_and_who_wrote_each_test(tmp_path,
                                                                           humaneval_path):
    problems = _humaneval(humaneval_path)
    source = _codet_file(tmp_path / "tests.jsonl", problems)
    copies = _freeze(tmp_path / "run", source, humaneval_path)
    assert copies == {"humaneval": frozen_path(str(tmp_path / "run"), "humaneval")}
    kept = json.loads((tmp_path / "run/inputs/generated_tests/humaneval.json").read_text())
    assert kept["sha256"] == hashlib.sha256(source.read_bytes()).hexdigest()
    assert kept["source"] == str(source) and kept["max_tests_per_sample"] == 5
    source.unlink()  # the run no longer needs it
    tests = run_tests(str(tmp_path / "run"))
    first = tests[("humaneval", "HumanEval/0")]
    f = problems[0]["entry_point"]
    assert first.tests == (f"assert {f}([1.0]) == 1", f"assert {f}([2.0]) == 2",
                           f"assert {f}([3.0]) == 3")
    assert first.written == ((0, 1), (0,), (2,)) and first.counts == (2, 1, 1)
    pool = TestPool.of(first)
    assert pool.samples == 3 and pool.weights.tolist() == [2, 1, 1]
    assert np.array_equal(pool.written, [[1, 1, 0], [1, 0, 0], [0, 0, 1]])


def test_an_edited_source_changes_nothing_of_a_started_run(tmp_path, humaneval_path):
    problems = _humaneval(humaneval_path)
    source = _codet_file(tmp_path / "tests.jsonl", problems)
    _freeze(tmp_path / "run", source, humaneval_path)
    before = run_tests(str(tmp_path / "run"))
    _codet_file(source, problems, variant=" or True")  # same test count, other tests
    with pytest.warns(UserWarning, match="changed since this run copied it"):
        _freeze(tmp_path / "run", source, humaneval_path)
    assert run_tests(str(tmp_path / "run")) == before


def test_a_damaged_copy_is_an_error_naming_it_and_the_fix(tmp_path, humaneval_path):
    from pipeline.benchmarks.base import DataError

    source = _codet_file(tmp_path / "tests.jsonl", _humaneval(humaneval_path))
    _freeze(tmp_path / "run", source, humaneval_path)
    copy = tmp_path / "run/inputs/generated_tests/humaneval.json"
    copy.write_text("{not json")
    with pytest.raises(DataError, match=r"humaneval.json: not a readable copy.*resume"):
        run_tests(str(tmp_path / "run"))


def test_reduce_reads_the_copy_from_any_working_directory(tmp_path, humaneval_path, monkeypatch,
                                                          write_run, config_yaml):
    import schemas
    from pipeline.reduce.curves import reduce_run, reduce_tables
    from pipeline.run import storage

    problems = _humaneval(humaneval_path)
    source = _codet_file(tmp_path / "tests.jsonl", problems)
    run = tmp_path / "run"
    _freeze(run, source, humaneval_path)
    source.unlink()
    s, v, p = [], [], []
    rng = np.random.default_rng(0)
    for prob in problems:
        for i in range(6):
            key = dict(run_id="r", model="m", benchmark="humaneval", task_id=prob["task_id"],
                       sample_idx=i)
            s.append({**key, "seed": i, "temperature": 0.8, "completion": "x", "n_tokens": 1,
                      "finish_reason": "stop", "gen_seconds": 1.0})
            bits = [bool(b) for b in rng.random(3) < 0.5]
            v.append({**key, "status": "pass" if bits[0] else "fail", "tests_passed": 0,
                      "tests_total": 1, "detail": "", "exec_ms": 1.0, "cached": False})
            p.append({**key, "probe_set": "generated_tests", "outcomes": ["x"] * 3,
                      "matches": bits, "exec_ms": 1.0, "cached": False})
    samples, verdicts = schemas.from_rows(s, "samples"), schemas.from_rows(v, "verdicts")
    probes = schemas.from_rows(p, "probes")
    write_run(run, samples, verdicts, schemas.empty("scores"))
    (run / "config.yaml").write_text(config_yaml([("m", {"seconds_per_sample": 1.0})],
                                                 ["humaneval"], n=6))
    storage.write_table(probes, run / "probes/model=m/benchmark=humaneval/shard-0.parquet",
                        "probes")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    got = reduce_run(str(run), n_boot=0, k_range="full").curves.to_pandas()
    pools = {key: TestPool.of(t) for key, t in run_tests(str(run)).items()}
    want = reduce_tables(samples, verdicts, probes=probes, test_pools=pools, n_boot=0,
                         k_range="full").to_pandas()
    dual = (got.metric == "rank_score") & (got.ranker == "dual_agreement")
    assert dual.sum() == 6
    assert got[dual]["value"].tolist() == want[(want.metric == "rank_score")
                                               & (want.ranker == "dual_agreement")]["value"].tolist()
