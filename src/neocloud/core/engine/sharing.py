"""A cluster whose GPUs jobs may share: milli-GPUs, CPU and memory per node, placed by the FGD paper's
node-scoring policies (Random, DotProd, GpuClustering, GpuPacking, BestFit, FGD), with departures.

Each node keeps its true per-device free milli-GPUs; policies see the node's `NodeState` (devices sorted by
what is free), so a policy's device choice is mapped back to a physical device. Nodes in equal states are
interchangeable for scoring, so nodes are grouped by state and each state is scored once per decision. Score
ties go to the first node of a random order fixed per cluster, as the FGD artifact's scheduler does.

A gang is placed task by task on a trial basis and undone unless every task finds a node (all-or-nothing).
An allocation lists, per task, (node, milli-CPUs, MiB, milli-GPUs per device, device, device, ...).
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence

from sortedcontainers import SortedList

from neocloud.core.engine.cluster import Allocation
from neocloud.core.errors import InvalidInput, quoted
from neocloud.core.gpushare.fragmentation import Fragmentation, TargetWorkload
from neocloud.core.gpushare.model import NodeState, Pod, PodShape
from neocloud.core.gpushare.policies import POLICIES, Choice, Policy
from neocloud.core.workload import MILLI, Job

_CACHE_LIMIT = 1 << 20  # remembered (state, shape) scores before the memo starts over


def task_pod(job: Job) -> Pod:
    """One task of the job as a pod: what a node must have free to host it."""
    return Pod(
        job.id, job.cpu_milli_per_task, job.memory_mib_per_task, job.gpus_per_task, job.gpu_milli, job.gpu_models
    )


class SharedCluster:
    """Mutable bookkeeping of nodes whose GPUs can be shared. `nodes` are the empty nodes' states."""

    def __init__(self, nodes: Sequence[NodeState], names: Sequence[str] | None = None, seed: int = 0) -> None:
        if not nodes:
            raise InvalidInput("a cluster needs at least one node")
        self.names = list(names) if names is not None else [f"n{i:05d}" for i in range(len(nodes))]
        self.empty = list(nodes)
        self._empty_states = set(nodes)
        self.gpu_free = [[MILLI] * n.gpu_count for n in nodes]  # by physical device
        self.cpu_left = [n.cpu_left for n in nodes]
        self.memory_left = [n.memory_left for n in nodes]
        self.classes: list[Counter[str]] = [Counter() for _ in nodes]  # GPU classes of the tasks placed
        self.state = list(nodes)
        self.models = sorted({n.gpu_type for n in nodes})
        self.model_milli = Counter[str]()
        for n in nodes:
            self.model_milli[n.gpu_type] += n.gpu_count * MILLI
        self.total_milli = sum(self.model_milli.values())
        self.free_milli = self.total_milli
        self._stranded = 0
        # The tie-break order: node ranks shuffled once; nodes grouped by state, each group sorted by rank.
        self.rank = list(range(len(nodes)))
        random.Random(seed).shuffle(self.rank)
        self.node_at = sorted(range(len(nodes)), key=self.rank.__getitem__)
        self.groups: dict[NodeState, SortedList] = {}
        for i, n in enumerate(nodes):
            self.groups.setdefault(n, SortedList()).add(self.rank[i])
        self._scores: dict[tuple[NodeState, PodShape], Choice] = {}

    def holds_ever(self, job: Job) -> bool:
        """Whether the job fits the empty cluster: its GPUs in total, and each task on some empty node."""
        pod = task_pod(job)
        room = sum(self.model_milli[m] for m in self.models if not pod.gpu_types or m in pod.gpu_types)
        return job.milli <= room and any(n.fits(pod) for n in self._empty_states)

    def stranded_milli(self) -> int:
        """Free milli-GPUs on nodes that are partly in use."""
        return self._stranded

    def place(self, job: Job, policy: Policy, rng: random.Random) -> Allocation | None:
        """Where `policy` puts every task of `job` now, or None if some task finds no node. Leaves the
        cluster as it was: the engine takes the allocation when it starts the job."""
        pod = task_pod(job)
        placed: list[tuple[int, ...]] = []
        try:
            for _ in range(job.tasks):
                task = self._place_task(pod, policy, rng)
                if task is None:
                    return None
                self.take((task,))
                placed.append(task)
            return tuple(placed)
        finally:
            self.release(tuple(placed))

    def _place_task(self, pod: Pod, policy: Policy, rng: random.Random) -> tuple[int, ...] | None:
        feasible = [(state, ranks) for state, ranks in self.groups.items() if state.fits(pod)]
        if not feasible:
            return None
        if policy.random_node:
            state, rank = _nth_node(feasible, rng.randrange(sum(len(ranks) for _, ranks in feasible)))
            node = self.node_at[rank]
            choice = policy.choose(state, pod, rng)
        else:
            shape = pod.shape
            best: tuple[int, int, Choice] | None = None  # (score, -first rank, choice)
            for state, ranks in feasible:
                key = (state, shape)
                choice_ = self._scores.get(key)
                if choice_ is None:
                    if len(self._scores) >= _CACHE_LIMIT:
                        self._scores.clear()
                    choice_ = self._scores[key] = policy.choose(state, pod, rng)
                if best is None or (choice_.score, -ranks[0]) > best[:2]:
                    best = (choice_.score, -ranks[0], choice_)
            assert best is not None
            node, choice = self.node_at[-best[1]], best[2]
        # The policy chose devices by their place in the sorted state: map them to physical devices.
        by_free = sorted(range(len(self.gpu_free[node])), key=lambda d: (self.gpu_free[node][d], d))
        devices = sorted(by_free[d] for d in choice.devices)
        return (node, pod.cpu_milli, pod.memory_mib, pod.gpu_milli, *devices)

    def take(self, allocation: Allocation) -> None:
        for node, cpu, memory, milli, *devices in allocation:
            self._update(node, -cpu, -memory, -milli, devices, +1)

    def release(self, allocation: Allocation) -> None:
        for node, cpu, memory, milli, *devices in allocation:
            self._update(node, cpu, memory, milli, devices, -1)

    def _update(self, node: int, cpu: int, memory: int, milli: int, devices: list[int], count: int) -> None:
        free = self.gpu_free[node]
        cpu_left, memory_left = self.cpu_left[node] + cpu, self.memory_left[node] + memory
        if not (0 <= cpu_left <= self.empty[node].cpu_left and 0 <= memory_left <= self.empty[node].memory_left):
            raise InvalidInput(f"node {self.names[node]} would have {cpu_left} milli-CPUs, {memory_left} MiB left")
        if any(not 0 <= free[d] + milli <= MILLI for d in devices):
            raise InvalidInput(f"node {self.names[node]}: devices {devices} cannot change by {milli} milli-GPUs")
        self._stranded -= self._stranded_on(node)
        for d in devices:
            free[d] += milli
        self.cpu_left[node], self.memory_left[node] = cpu_left, memory_left
        self.free_milli += milli * len(devices)
        if devices:
            pod_class = "share" if abs(milli) < MILLI else f"{len(devices)}-gpu"
            self.classes[node][pod_class] += count
        self._stranded += self._stranded_on(node)
        old = self.state[node]
        new = NodeState(
            old.gpu_type,
            old.cpu_capacity,
            cpu_left,
            memory_left,
            tuple(sorted(free)),
            frozenset(c for c, n in self.classes[node].items() if n > 0),
        )
        ranks = self.groups[old]
        ranks.remove(self.rank[node])
        if not ranks:
            del self.groups[old]
        self.groups.setdefault(new, SortedList()).add(self.rank[node])
        self.state[node] = new

    def _stranded_on(self, node: int) -> int:
        left = sum(self.gpu_free[node])
        return left if 0 < left < MILLI * len(self.gpu_free[node]) else 0


def _nth_node(groups: list[tuple[NodeState, SortedList]], n: int) -> tuple[NodeState, int]:
    """The n-th node's state and rank, counting through the groups in order."""
    for state, ranks in groups:
        if n < len(ranks):
            return state, ranks[n]
        n -= len(ranks)
    raise IndexError(n)


class SharingPlacement:
    """A GPU-sharing policy as an engine placement: (cluster, job, rng) -> allocation."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy

    def __call__(self, cluster: SharedCluster, job: Job, rng: random.Random) -> Allocation | None:
        return cluster.place(job, self.policy, rng)


def sharing_placement(name: str, jobs: Sequence[Job]) -> SharingPlacement:
    """The named policy; FGD measures fragmentation against the jobs' typical task shapes."""
    if name not in POLICIES:
        raise InvalidInput(f"unknown GPU-sharing placement {quoted(name)}; known: {', '.join(POLICIES)}")
    return SharingPlacement(POLICIES[name](Fragmentation(TargetWorkload.from_pods(task_pod(j) for j in jobs))))


SHARING_PLACEMENTS = tuple(POLICIES)
"""Placement policies for GPU-sharing clusters, by name (neocloud.core.gpushare.policies)."""
