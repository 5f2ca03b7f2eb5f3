"""Placement: which nodes a gang of tasks lands on. All-or-nothing: a policy returns a whole allocation or
None (the job waits). Each policy is a function of the cluster's free state and the job, registered by name.
Whole tasks never straddle nodes.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import TypeVar

from neocloud.core.engine.cluster import Allocation, Capacity, Cluster
from neocloud.core.workload import Job

C = TypeVar("C", bound=Capacity)
Placement = Callable[[C, Job, random.Random], Allocation | None]


def best_fit(cluster: Cluster, job: Job, rng: random.Random) -> Allocation | None:
    """Consolidated best fit: a gang one node can hold goes to the node with the least free GPUs that holds
    it; a larger gang takes the emptiest nodes, and waits rather than spread over more nodes than it needs."""
    size = cluster.max_gpus
    for model in cluster.candidates(job):
        buckets = cluster.by_free[model]
        if job.gpus <= size:  # ties go to the smallest node index (see Cluster.smallest)
            for k in range(job.gpus, size + 1):
                if buckets[k]:
                    return ((cluster.smallest(model, k), job.gpus),)
            continue
        # Emptiest first, the smallest index among equals: at most `tasks` nodes of any one bucket are needed.
        emptiest_first = (
            n for k in range(size, job.gpus_per_task - 1, -1) if buckets[k] for n in cluster.first(model, k, job.tasks)
        )
        allocation = _fill(cluster, emptiest_first, job)
        tasks_per_node = size // job.gpus_per_task
        if allocation and len(allocation) <= -(-job.tasks // tasks_per_node):
            return allocation
    return None


def worst_fit(cluster: Cluster, job: Job, rng: random.Random) -> Allocation | None:
    """Spread: tasks go to the emptiest nodes first (load balancing, the opposite of packing)."""
    for model in cluster.candidates(job):
        nodes = [
            n for k in range(cluster.max_gpus, job.gpus_per_task - 1, -1) for n in sorted(cluster.by_free[model][k])
        ]
        allocation = _fill(cluster, nodes, job)
        if allocation:
            return allocation
    return None


def random_fit(cluster: Cluster, job: Job, rng: random.Random) -> Allocation | None:
    """Tasks on random nodes that have room."""
    for model in cluster.candidates(job):
        nodes = sorted(n for k in range(job.gpus_per_task, cluster.max_gpus + 1) for n in cluster.by_free[model][k])
        rng.shuffle(nodes)
        allocation = _fill(cluster, nodes, job)
        if allocation:
            return allocation
    return None


def topology_aware(cluster: Cluster, job: Job, rng: random.Random) -> Allocation | None:
    """Fill an NVLink domain, then a fabric block, before spreading across the site.

    The gang goes to the smallest topology unit that can hold it whole; among units of that level, to the one
    with the least free capacity that suffices (best fit), and inside it to the fullest nodes first.
    """
    for model in cluster.candidates(job):
        members = [
            i
            for i, n in enumerate(cluster.nodes)
            if n.gpu_model == model and cluster.free[i] and i not in cluster.withheld
        ]
        for level in (cluster.domain_of, cluster.block_of):
            units: dict[str, list[int]] = defaultdict(list)
            for i in members:
                units[level[i]].append(i)
            fitting = [
                (sum(cluster.free[i] for i in nodes), name, nodes)
                for name, nodes in units.items()
                if sum(cluster.free[i] // job.gpus_per_task for i in nodes) >= job.tasks
            ]
            if fitting:
                _, _, nodes = min(fitting)
                return _fill(cluster, sorted(nodes, key=lambda i: (cluster.free[i], i)), job)
        allocation = _fill(cluster, sorted(members, key=lambda i: (cluster.free[i], i)), job)
        if allocation:
            return allocation
    return None


def _fill(cluster: Cluster, nodes: Iterable[int], job: Job) -> Allocation | None:
    """Put as many tasks as fit on each node in order until the gang is placed."""
    allocation, left = [], job.tasks
    for node in nodes:
        take = min(left, cluster.free[node] // job.gpus_per_task)
        if take:
            allocation.append((node, take * job.gpus_per_task))
            left -= take
            if not left:
                return tuple(sorted(allocation))
    return None


PLACEMENTS: dict[str, Placement[Cluster]] = {
    "bestfit": best_fit,
    "worstfit": worst_fit,
    "random": random_fit,
    "topology": topology_aware,
}
"""Every gang placement policy by name. The GPU-sharing policies of the FGD paper, which place fractions of
GPUs, are in neocloud.core.gpushare.policies."""
