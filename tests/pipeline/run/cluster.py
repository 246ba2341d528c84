"""Several Ray nodes on one machine, for the multi-node tests: a head and worker nodes, each its
own set of processes (GCS, raylet, its Ray workers), on 127.0.0.1, with their own temp dir.

The head has no CPUs: every actor lands on a worker node (the driver, started by the test as a
`pipeline` CLI process, joins through the head's GCS address). Worker nodes carry a `sandbox`
resource, which the run's sandbox actors ask for. `kill` SIGKILLs a node's raylet and every
process under it at once (its Ray workers, their sandboxes, its agents), as a machine that
loses power would; the GCS notices within about 2 s (its health check is tightened here).
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile

from bench.proctree import cmdline, descendants, ppids

#: the GCS marks a node dead after 4 missed health checks 500 ms apart (defaults: 5 x 3 s)
HEALTH_CHECK = {"health_check_initial_delay_ms": 0, "health_check_period_ms": 500,
                "health_check_timeout_ms": 500, "health_check_failure_threshold": 4}


class LocalCluster:
    """A head and `workers` worker nodes (`cpus` CPUs and `sandbox` sandbox slots each)."""

    def __init__(self, workers: int = 2, *, cpus: int = 2, sandbox: int = 2):
        from ray._common.utils import get_default_ray_temp_dir
        from ray.cluster_utils import Cluster

        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        # Cluster writes the head's address to <Ray's temp dir>/ray_current_cluster without
        # making the directory: on a machine where Ray has never run, the first cluster failed
        os.makedirs(get_default_ray_temp_dir(), exist_ok=True)
        self.cpus, self.sandbox = cpus, sandbox
        # a short path: Ray's unix sockets live under it (108-byte limit)
        self.temp = tempfile.mkdtemp(prefix="rayc-", dir="/tmp")
        self.cluster = Cluster(initialize_head=True, head_node_args={
            "num_cpus": 0, "node_ip_address": "127.0.0.1", "include_dashboard": False,
            "temp_dir": self.temp, "_system_config": HEALTH_CHECK})
        self.workers = [self.add_worker() for _ in range(workers)]

    @property
    def address(self) -> str:
        return self.cluster.address

    def add_worker(self):
        node = self.cluster.add_node(num_cpus=self.cpus, resources={"sandbox": self.sandbox},
                                     node_ip_address="127.0.0.1", temp_dir=self.temp)
        return node

    @staticmethod
    def raylet_pid(node) -> int:
        return node.all_processes["raylet"][0].process.pid

    def node_of(self, pid: int):
        """The worker node whose raylet `pid` runs under."""
        parents = ppids()
        raylets = {self.raylet_pid(n): n for n in self.workers}
        while pid in parents and pid not in raylets:
            pid = parents[pid]
        if pid not in raylets:
            raise LookupError("the process is under no worker node of this cluster")
        return raylets[pid]

    def actors_on(self, node, cls: str) -> list[int]:
        """Pids of the Ray workers on `node` that hold an actor of class `cls`."""
        return [p for p in descendants(self.raylet_pid(node))
                if cmdline(p).startswith(f"ray::{cls}")]

    def kill(self, node) -> list[int]:
        """SIGKILL the node's raylet and everything under it, all at once; returns their pids."""
        raylet = self.raylet_pid(node)
        victims = [raylet, *descendants(raylet)]
        for pid in victims:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.cluster.remove_node(node, allow_graceful=False)  # reaps it, ends what is left
        self.workers.remove(node)
        return victims

    def shutdown(self) -> None:
        try:
            self.cluster.shutdown()
        finally:
            shutil.rmtree(self.temp, ignore_errors=True)
