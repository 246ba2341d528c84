"""A run on several Ray nodes (a head and worker nodes on this machine, `cluster.LocalCluster`)
survives losing a worker node: its raylet and workers SIGKILLed while a shard runs on it, or as
the last shard lands (the actors' stop and the reduce), or with no room left for its actor's
replacement, with or without a node joining later. The run finishes on the remaining nodes
without a resume, every shard is written once (its file's first mtime is its last), and the
outputs equal an undisturbed in-process run's (pass_time aside).

The cases run an imported run (6 HumanEval problems x 3 fixed completions, 3 execute shards;
`imported_run`) on two sandbox actors; the `full` case (`make test-full`, about a minute)
generates with the tiny test Llama, executes, scores and probes on the cluster and kills the
node of the generate actor.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

import schemas
from pipeline import config as config_mod
from pipeline import results
from pipeline.run import importers, storage
from tests.pipeline.run.cluster import LocalCluster
from tests.pipeline.run.imported_run import (config_data, equal, generations, outputs,
                                             reference_outputs)

pytestmark = pytest.mark.slow

SHARDS = 3  # imported_run: 6 problems in shards of 2


@pytest.fixture
def hang_marker(tmp_path, monkeypatch, reference) -> Path:
    """The first execute call on the cluster blocks (once) and writes its pid to this file, so
    that the test knows a shard is in flight and on which node. Set after the (in-process)
    reference run and before the nodes start: their workers inherit the raylets' environment."""
    marker = tmp_path / "hung"
    monkeypatch.setenv("BUDGET_REALLOC_ACTOR_HANG", f"execute:{marker}")
    return marker


def start_cluster(request, **kw) -> LocalCluster:
    if not shutil.which("bwrap"):
        pytest.skip("bubblewrap is not installed (make sysdeps)")
    c = LocalCluster(**kw)
    request.addfinalizer(c.shutdown)
    return c


class Run:
    """The driver (`python -m pipeline run`) on the cluster, and the shard files it writes:
    `watch()` records each file's mtime when first seen."""

    def __init__(self, tmp_path: Path, humaneval_path, address: str, **changes):
        self.root = tmp_path / "run"
        data = config_data(str(self.root), humaneval_path, sandbox_actors=2,
                           sandbox_resources={"sandbox": 1},
                           ray={"address": address, "max_retries": 2}, **changes)
        importers.import_to_run(config_mod.parse(data), generations(tmp_path / "g.jsonl"))
        path = tmp_path / "cfg.yaml"
        path.write_text(yaml.safe_dump(data))
        self.first_seen: dict[str, int] = {}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "pipeline", "run", str(path), "--no-progress"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def verdict_files(self) -> dict[str, int]:
        root = self.root / "verdicts"
        return ({str(p.relative_to(self.root)): p.stat().st_mtime_ns for p in root.rglob("*.parquet")}
                if root.exists() else {})

    def watch(self) -> None:
        for path, mtime in self.verdict_files().items():
            self.first_seen.setdefault(path, mtime)

    def until(self, ready, timeout: float = 300) -> None:
        """Watch until `ready()` holds; fail if the run ends first."""
        deadline = time.monotonic() + timeout
        while not ready():
            self.watch()
            assert self.proc.poll() is None, f"the run ended first:\n{self.proc.communicate()[0]}"
            assert time.monotonic() < deadline, "never happened"
            time.sleep(0.02)

    def finish(self, timeout: float = 300) -> str:
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None and time.monotonic() < deadline:
            self.watch()
            time.sleep(0.02)
        if self.proc.poll() is None:
            self.proc.kill()
        out = self.proc.communicate()[0]
        assert self.proc.returncode == 0, out
        return out

    def check(self, reference) -> pd.DataFrame:
        """The run's outputs equal the reference's; every shard was written exactly once."""
        final = self.verdict_files()
        assert len(final) == SHARDS
        assert final == {k: self.first_seen[k] for k in final}, "a shard was written twice"
        r = results.load(str(self.root))
        assert not r.samples[list(schemas.KEY)].duplicated().any()
        equal(outputs(str(self.root)), reference)
        manifest = storage.read_table(self.root / "manifest.parquet", "manifest").to_pandas()
        assert (manifest.state == "done").all(), manifest
        assert (self.root / "curves.parquet").exists()
        return manifest


@pytest.fixture
def reference(tmp_path, humaneval_path):
    return reference_outputs(tmp_path / "reference", tmp_path, humaneval_path)


def test_a_node_killed_with_a_shard_in_flight_is_survived_on_the_other_node(
        request, tmp_path, humaneval_path, hang_marker, reference):
    cluster = start_cluster(request, workers=2, sandbox=2)
    run = Run(tmp_path, humaneval_path, cluster.address)
    run.until(hang_marker.exists)  # a shard is running (blocked) on an execute actor
    pid = int(hang_marker.read_text().split()[2])
    node = cluster.node_of(pid)
    survivor = next(n for n in cluster.workers if n is not node)
    killed = cluster.kill(node)
    assert pid in killed
    run.finish()
    manifest = run.check(reference)
    # the shard in flight ran again (2 attempts); no shard needed more
    assert manifest[manifest.stage == "execute"].attempts.max() == 2
    assert cluster.actors_on(survivor, "ExecuteActor") == []  # stopped at the end


def test_a_node_killed_as_the_last_shard_lands_does_not_stop_the_run_or_its_reduce(
        request, tmp_path, humaneval_path, reference):
    cluster = start_cluster(request, workers=2, sandbox=2)
    run = Run(tmp_path, humaneval_path, cluster.address)
    run.until(lambda: len(run.verdict_files()) == SHARDS)
    node = next(n for n in cluster.workers if cluster.actors_on(n, "ExecuteActor"))
    cluster.kill(node)  # while the driver stops its actors and reduces
    run.finish()
    manifest = run.check(reference)
    assert (manifest[manifest.stage == "execute"].attempts == 1).all()  # nothing was redone


@pytest.mark.parametrize("joins", [False, True], ids=["no-node-joins", "a-node-joins-at-once"])
def test_a_shard_whose_replacement_actor_has_no_place_finishes_on_the_surviving_actor(
        request, tmp_path, humaneval_path, hang_marker, reference, joins):
    # one sandbox slot per node, two sandbox actors: once a node is gone, its actor's
    # replacement fits nowhere; the shard retried after the kill goes to the surviving actor,
    # the one that is up (`_Pool.next`), and the run ends without waiting for a node. A node
    # that joins at once (room for the replacement again) does not disturb that.
    cluster = start_cluster(request, workers=2, sandbox=1)
    run = Run(tmp_path, humaneval_path, cluster.address)
    run.until(hang_marker.exists)
    cluster.kill(cluster.node_of(int(hang_marker.read_text().split()[2])))
    if joins:
        cluster.add_worker()
    run.finish()
    manifest = run.check(reference)
    # the shard in flight ran again, once
    assert manifest[manifest.stage == "execute"].attempts.max() == 2


# -- the whole pipeline on the cluster (generate, execute, score, probe) --------------------------
def generation_config(out: Path, model: str, humaneval_path, **changes) -> dict:
    engine = {"dtype": "float32", "max_model_len": 1024, "kv_cache_space_gb": 1}
    return {
        "run_id": "multinode", "output_dir": str(out), "seed": 7, "shard_size": 2,
        "models": [{"name": "tiny", "path": model, "engine": engine, "num_cpus": 1,
                    "cost": {"flops_per_pass": 1.0e9}}],
        "benchmarks": [{"name": "humaneval", "data": str(humaneval_path), "subset": {"limit": 4},
                        "n": 3, "max_new_tokens": 24, "greedy": True}],
        "ranker": {"name": "tiny", "path": model, "engine": engine, "num_cpus": 1},
        "probes": {"prompt_examples": True},
        "sandbox": {"backend": "bwrap", "workers": 1},
        "reduce": {"n_boot": 50, "k_range": "full"},
        **changes,
    }


def comparable(root: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    r = results.load(str(root))
    samples = r.samples.sort_values(["task_id", "sample_idx"])[
        ["task_id", "sample_idx", "completion", "status", "tests_passed", "mean_nll"]
    ].reset_index(drop=True)
    curves = r.curves[~r.curves.metric.isin(["pass_time", "rank_score_time"])]
    curves = curves.sort_values(["model", "benchmark", "metric", "ranker", "x"]).reset_index(drop=True)
    probes = r.probes.sort_values(list(r.probes.columns[:6])).reset_index(drop=True)
    return samples, curves.drop(columns=["mc_se"], errors="ignore"), probes


@pytest.mark.full
def test_the_whole_pipeline_survives_losing_the_node_of_its_generator(
        request, tmp_path, humaneval_path, monkeypatch):
    from pipeline.jobs import evaluate
    from workers.tiny_model import build_tiny_llama

    model = build_tiny_llama(str(tmp_path / "tiny"), seed=0)
    ref = config_mod.parse(generation_config(tmp_path / "reference", model, humaneval_path))
    assert evaluate.run(ref, progress=False, in_process=True).reduced

    marker = tmp_path / "hung"
    monkeypatch.setenv("BUDGET_REALLOC_ACTOR_HANG", f"generate:{marker}")
    # 2 CPUs a node, 5 actors (generate, 2 execute, 2 probe; the ranker is the generator):
    # never all placed at once, and after the kill the surviving node holds 2. The run gets
    # through because finished pools give their places back (`Runner._retire_finished_pools`)
    # and calls queued on an actor that has no place move to one that is up (`_unstick`).
    cluster = start_cluster(request, workers=2, sandbox=4)
    run = tmp_path / "run"
    data = generation_config(run, model, humaneval_path, sandbox_actors=2,
                             sandbox_resources={"sandbox": 1}, ray={"address": cluster.address})
    (tmp_path / "cfg.yaml").write_text(yaml.safe_dump(data))
    proc = subprocess.Popen([sys.executable, "-m", "pipeline", "run", str(tmp_path / "cfg.yaml"),
                             "--no-progress"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    deadline = time.monotonic() + 300
    while not marker.exists():  # the first generate call blocks on its node
        assert proc.poll() is None, proc.communicate()[0]
        assert time.monotonic() < deadline, "the generate actor never got a shard"
        time.sleep(0.05)
    killed = cluster.kill(cluster.node_of(int(marker.read_text().split()[2])))
    assert int(marker.read_text().split()[2]) in killed
    out, _ = proc.communicate(timeout=600)
    assert proc.returncode == 0, out

    manifest = storage.read_table(run / "manifest.parquet", "manifest").to_pandas()
    assert (manifest.state == "done").all(), manifest
    assert set(manifest.stage) == {"generate", "execute", "score", "probe"}
    assert manifest[manifest.stage == "generate"].attempts.max() == 2
    r = results.load(str(run))
    assert not r.samples[list(schemas.KEY)].duplicated().any()
    got, want = comparable(run), comparable(tmp_path / "reference")
    pd.testing.assert_frame_equal(got[0].drop(columns=["mean_nll"]), want[0].drop(columns=["mean_nll"]))
    assert got[0].mean_nll.to_numpy() == pytest.approx(want[0].mean_nll.to_numpy(), rel=1e-4)
    pd.testing.assert_frame_equal(got[1], want[1], check_exact=False, rtol=1e-6)
    pd.testing.assert_frame_equal(got[2].drop(columns=["exec_ms"], errors="ignore"),
                                  want[2].drop(columns=["exec_ms"], errors="ignore"))
