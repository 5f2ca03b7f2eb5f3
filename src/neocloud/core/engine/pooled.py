"""A cluster without node boundaries: one pool of GPUs (milli-GPUs, so fractions add up) and, optionally, of
CPUs. It is the cluster model of simulators that count GPUs rather than place them, such as the Alibaba PAI
2020 simulator's default setting; a gang fits when the pool holds all of it. Placement does not apply: every
job is placed by `pooled_fit`, whatever placement policy is named (`pooled` says so in results).
"""

from __future__ import annotations

import random

from neocloud.core.engine.cluster import Allocation
from neocloud.core.errors import InvalidInput
from neocloud.core.workload import MILLI, Job

POOLED = "pooled"  # the placement name for a pooled cluster


class PooledCluster:
    """Free GPUs and CPUs as two counters. An allocation is ((milli-GPUs, milli-CPUs),)."""

    def __init__(self, gpus: int, cpus: int | None = None) -> None:
        if gpus <= 0 or (cpus is not None and cpus <= 0):
            raise InvalidInput("a pooled cluster needs a positive number of GPUs (and of CPUs, when given)")
        self.total_milli = self.free_milli = gpus * MILLI
        self.cpu_milli: int | None = None if cpus is None else cpus * MILLI  # None: CPUs are not counted
        self.free_cpu_milli = self.cpu_milli or 0

    def holds_ever(self, job: Job) -> bool:
        return job.milli <= self.total_milli and (self.cpu_milli is None or _cpu(job) <= self.cpu_milli)

    def take(self, allocation: Allocation) -> None:
        (gpus, cpus), *_ = allocation
        if gpus > self.free_milli or (self.cpu_milli is not None and cpus > self.free_cpu_milli):
            free = f"{self.free_milli} milli-GPUs" + (
                f" and {self.free_cpu_milli} milli-CPUs" if self.cpu_milli else ""
            )
            raise InvalidInput(f"the pool has {free} free, not {gpus} and {cpus}")
        self.free_milli -= gpus
        self.free_cpu_milli -= cpus if self.cpu_milli is not None else 0

    def release(self, allocation: Allocation) -> None:
        (gpus, cpus), *_ = allocation
        self.free_milli += gpus
        self.free_cpu_milli += cpus if self.cpu_milli is not None else 0

    def stranded_milli(self) -> int:
        return 0  # no nodes, so nothing is stranded on one


def _cpu(job: Job) -> int:
    return job.cpu_milli_per_task * job.tasks


def pooled_fit(cluster: PooledCluster, job: Job, rng: random.Random) -> Allocation | None:
    """The whole gang from the pool, or nothing."""
    cpus = _cpu(job)
    if job.milli > cluster.free_milli or (cluster.cpu_milli is not None and cpus > cluster.free_cpu_milli):
        return None
    return ((job.milli, cpus),)
