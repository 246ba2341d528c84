"""The one scheduler: start actors and call them on Ray, or in this process, behind one interface.

Role in the pipeline: the orchestrator (`pipeline.run.orchestrator`) only says "start an actor
like this" (`ActorSpec`), "call this method", "wait for any call", "give me its result". On Ray
(`RayScheduler`, the default) actors are Ray actors with their CPUs, GPUs, custom resources and
environment; a dead actor surfaces as `ActorDied` and is replaced by the orchestrator. In
process (`InProcessScheduler`, `run --in-process`) the same classes are plain objects and calls
run one at a time when waited for, downstream stages first, so a shard's execution and scoring
follow its generation as on Ray. Both write the same files, so either can resume the other.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import traceback
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ActorSpec:
    """How to start one actor: its class and arguments, and what it needs from the cluster."""

    cls: type
    args: tuple = ()
    num_cpus: float = 1
    num_gpus: float = 0
    resources: dict[str, float] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    replicas: int = 1


class ActorDied(RuntimeError):
    """The actor's process is gone (replace it and retry); `error` is the underlying exception."""

    def __init__(self, error: BaseException):
        super().__init__(str(error))
        self.error = error


class CallFailed(RuntimeError):
    """The call raised inside the actor; `error` is the underlying exception (or its traceback)."""

    def __init__(self, error: BaseException | str):
        super().__init__(str(error))
        self.error = error


class RayScheduler:
    """Actors on Ray: joins RAY_ADDRESS / ray.address if set, else starts a local Ray."""

    def __init__(self, address: str | None = None, num_cpus: int | None = None, needed_cpus: float = 1):
        import ray

        self.ray = ray
        self.started = False
        self._ready: dict[int, Any] = {}
        if ray.is_initialized():
            return
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        address = address or os.environ.get("RAY_ADDRESS")
        if address:
            with _loopback_join(ray, address):
                ray.init(address=address, log_to_driver=False)
            return
        cpus = num_cpus or max(os.cpu_count() or 1, int(needed_cpus + 0.999))
        ray.init(num_cpus=cpus, include_dashboard=False, log_to_driver=False)
        self.started = True

    def start(self, spec: ActorSpec):
        from pipeline.run import storage

        # actors see only the environment passed to them: the run directory's credentials and
        # endpoint (AWS_*, ...) go along with the actor's own settings
        env = {**storage.actor_env(), **spec.env}
        cls = self.ray.remote(spec.cls).options(
            num_cpus=spec.num_cpus, num_gpus=spec.num_gpus, resources=spec.resources or None,
            runtime_env={"env_vars": env} if env else None,
        )
        actor = cls.remote(*spec.args)
        self._ready[id(actor)] = actor.__ray_ready__.remote()  # done once constructed
        return actor

    def is_ready(self, actor) -> bool:
        """Whether the actor has been constructed (an engine load is not a hang)."""
        ref = self._ready.get(id(actor))
        if ref is None:
            return True
        done, _ = self.ray.wait([ref], timeout=0)
        if done:
            del self._ready[id(actor)]
        return bool(done)

    def call(self, actor, method: str, *args, priority: int = 0):
        return getattr(actor, method).remote(*args)

    def wait(self, refs: list, timeout: float) -> list:
        ready, _ = self.ray.wait(refs, num_returns=1, timeout=timeout)
        return ready

    def result(self, ref) -> Any:
        ex = self.ray.exceptions
        try:
            return self.ray.get(ref)
        except (ex.RayActorError, ex.WorkerCrashedError) as exc:
            raise ActorDied(exc) from None
        except ex.RayTaskError as exc:
            raise CallFailed(exc) from None

    def stop(self, actor) -> None:
        """Close and kill an actor; one not yet constructed (waiting for room on the cluster)
        is only killed: its close would wait for a place it may never get."""
        if hasattr(actor, "close") and self.is_ready(actor):
            try:
                self.ray.get(actor.close.remote(), timeout=30)
            except Exception:  # noqa: BLE001  (an actor without close, or already dead)
                pass
        try:
            self.ray.kill(actor, no_restart=True)
        except Exception:  # noqa: BLE001  (already gone)
            pass

    def kill(self, actor) -> None:
        """Kill a (hung) actor at once: its calls in flight fail as ActorDied."""
        try:
            self.ray.kill(actor, no_restart=True)
        except Exception:  # noqa: BLE001  (already gone)
            pass

    def shutdown(self) -> None:
        if self.started:
            self.ray.shutdown()


@contextlib.contextmanager
def _loopback_join(ray, address: str):
    """Join a cluster bound to 127.0.0.1 (`ray start --node-ip-address=127.0.0.1`: nodes of one
    machine, nothing listening outside it) at its loopback address.

    Ray replaces a loopback host with this machine's network address before joining
    (`ray._private.services.resolve_ip_for_localhost`), where such a cluster does not listen;
    with its cluster flag off for the join, the local address stays 127.0.0.1. Other addresses
    are joined as given."""
    host = address.rsplit(":", 1)[0].strip("[]")
    if host not in ("127.0.0.1", "localhost", "::1"):
        yield
        return
    constants = ray._private.ray_constants
    before = constants.ENABLE_RAY_CLUSTER
    constants.ENABLE_RAY_CLUSTER = False
    try:
        yield
    finally:
        constants.ENABLE_RAY_CLUSTER = before


@dataclass(eq=False)  # a handle: hashed and compared by identity, like a Ray ObjectRef
class _Call:
    seq: int
    priority: int
    actor: Any
    method: str
    args: tuple
    done: bool = False
    value: Any = None
    error: BaseException | None = None


class InProcessScheduler:
    """The same actors as plain objects in this process; no Ray at all.

    For a laptop or a shared machine where a Ray cannot be kept alive. The CPU engine settings
    an actor would get as its Ray environment are applied to this process when it starts.
    """

    def __init__(self) -> None:
        self._seq = itertools.count()
        self._pending: dict[int, _Call] = {}

    def start(self, spec: ActorSpec):
        if spec.env:
            from workers.engine import apply_env

            apply_env(spec.env)
        return spec.cls(*spec.args)

    def call(self, actor, method: str, *args, priority: int = 0) -> _Call:
        c = _Call(next(self._seq), priority, actor, method, args)
        self._pending[c.seq] = c
        return c

    def wait(self, refs: list, timeout: float) -> list:
        done = [r for r in refs if r.done]
        if done:
            return done[:1]
        todo = [r for r in refs if r.seq in self._pending]
        if not todo:
            return []
        c = max(todo, key=lambda r: (r.priority, -r.seq))  # downstream first, then in order
        del self._pending[c.seq]
        try:
            c.value = getattr(c.actor, c.method)(*c.args)
        except Exception as exc:  # noqa: BLE001  (reported like a failed Ray task)
            c.error = CallFailed("".join(traceback.format_exception(exc)))
        c.done = True
        return [c]

    def result(self, ref: _Call) -> Any:
        if ref.error is not None:
            raise ref.error
        return ref.value

    def is_ready(self, actor) -> bool:
        return True

    def stop(self, actor) -> None:
        close = getattr(actor, "close", None)
        if close is not None:
            close()

    def shutdown(self) -> None:
        self._pending.clear()
