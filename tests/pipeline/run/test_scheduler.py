"""The scheduler runs actors on Ray or in this process behind one interface; failures are typed."""

from __future__ import annotations

import pytest

from pipeline.run.scheduler import ActorSpec, CallFailed, InProcessScheduler


class Recorder:
    """A toy actor: records its calls in a shared log."""

    def __init__(self, log: list, name: str):
        self.log, self.name = log, name
        self.closed = False

    def run(self, x):
        self.log.append((self.name, x))
        if x == "boom":
            raise ValueError("bad shard boom")
        return {"rows": 1, "x": x}

    def close(self):
        self.closed = True


def test_in_process_calls_run_when_waited_for_downstream_first_then_in_order():
    log: list = []
    s = InProcessScheduler()
    a = s.start(ActorSpec(Recorder, (log, "a")))
    refs = [s.call(a, "run", "g1", priority=0), s.call(a, "run", "g2", priority=0)]
    assert log == []  # nothing runs before a wait
    first = s.wait(refs, timeout=1)
    assert [s.result(r)["x"] for r in first] == ["g1"]
    refs = [r for r in refs if r not in first] + [s.call(a, "run", "e1", priority=1)]
    second = s.wait(refs, timeout=1)
    assert s.result(second[0])["x"] == "e1"  # the downstream call of g1 goes before g2
    assert log == [("a", "g1"), ("a", "e1")]


def test_in_process_a_raising_call_fails_with_its_traceback():
    s = InProcessScheduler()
    a = s.start(ActorSpec(Recorder, ([], "a")))
    ref = s.call(a, "run", "boom")
    [done] = s.wait([ref], timeout=1)
    with pytest.raises(CallFailed, match="ValueError: bad shard boom"):
        s.result(done)


def test_in_process_stop_closes_the_actor_and_handles_are_hashable():
    s = InProcessScheduler()
    a = s.start(ActorSpec(Recorder, ([], "a")))
    ref = s.call(a, "run", 1)
    assert {ref: "inflight"}[ref] == "inflight"
    s.stop(a)
    assert a.closed


def test_in_process_applies_the_actor_environment(monkeypatch):
    monkeypatch.delenv("BUDGET_REALLOC_TEST_ENV", raising=False)
    s = InProcessScheduler()
    s.start(ActorSpec(Recorder, ([], "a"), env={"BUDGET_REALLOC_TEST_ENV": "1"}))
    import os

    assert os.environ["BUDGET_REALLOC_TEST_ENV"] == "1"
    monkeypatch.delenv("BUDGET_REALLOC_TEST_ENV")
