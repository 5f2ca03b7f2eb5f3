"""Arrival-only packing on a GPU-sharing cluster: the experiment behind the FGD paper's allocation curves.

Pods arrive one by one and never leave; each goes to the best-scored feasible node (ties broken uniformly at
random), or is dropped when no node fits. The result is the GPU allocation rate against the GPU demand that
has arrived so far, both as % of the cluster's GPU capacity.
"""

from __future__ import annotations

import heapq
import random
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from neocloud.core.gpushare.fragmentation import Fragmentation, TargetWorkload, fragmentation_ratio
from neocloud.core.gpushare.model import NodeState, Pod, PodShape
from neocloud.core.gpushare.policies import POLICIES, Choice, Policy
from neocloud.core.workload import MILLI


@dataclass(frozen=True, slots=True)
class PackingResult:
    policy: str
    seed: int
    capacity_milli: int
    pods: int
    placed: int
    allocated_milli: int
    arrived_milli: int
    # allocation % of capacity when arrived demand first reaches k % of capacity, for k = 0, 1, 2, ...
    allocation_at: tuple[float, ...] = field(default=())
    final_fragmentation_ratio: float = 0.0
    # milli-GPUs of dropped pods by GPU class ("share", "1-gpu", "8-gpu", ...; "cpu" counts pods)
    dropped: tuple[tuple[str, int], ...] = ()

    @property
    def allocation_pct(self) -> float:
        return 100 * self.allocated_milli / self.capacity_milli

    def allocation_at_arrived(self, pct: int) -> float:
        """Allocation % once arrived demand reached `pct` % (the last value if it never did)."""
        return self.allocation_at[min(pct, len(self.allocation_at) - 1)]


def tuned_workload(pods: Sequence[Pod], capacity_milli: int, seed: int, ratio: float = 1.3) -> list[Pod]:
    """The FGD experiments' workload: pods in name order, shuffled by `seed`, then topped up with pods drawn
    (with replacement) from the same list until their GPU requests would pass `ratio` x capacity."""
    rng = random.Random(seed)
    ordered = sorted(pods, key=lambda p: p.name)
    rng.shuffle(ordered)
    total = sum(p.total_gpu_milli for p in ordered)
    limit = ratio * capacity_milli
    extra = 0
    while True:
        pod = rng.choice(ordered)
        if total + pod.total_gpu_milli > limit:
            break
        extra += 1
        ordered.append(replace(pod, name=f"{pod.name}-x{extra}"))
        total += pod.total_gpu_milli
    return ordered


@dataclass(frozen=True, slots=True)
class SeedSweep:
    """One policy over several seeds: the mean allocation curve and the per-seed results."""

    policy: str
    runs: tuple[PackingResult, ...]

    def mean_allocation_at(self, pct: int) -> float:
        return sum(r.allocation_at_arrived(pct) for r in self.runs) / len(self.runs)

    @property
    def curve(self) -> list[float]:
        """Mean allocation % at arrived % = 0, 1, ..., as far as every run got."""
        longest = max(len(r.allocation_at) for r in self.runs) - 1
        return [round(self.mean_allocation_at(k), 4) for k in range(longest)]


def sweep_seeds(
    nodes: Sequence[NodeState], pods: Sequence[Pod], policy: str, seeds: Sequence[int], ratio: float = 1.3
) -> SeedSweep:
    """The FGD experiment: per seed, tune the workload to `ratio` x capacity and pack it."""
    capacity = sum(n.gpu_count for n in nodes) * MILLI
    target = TargetWorkload.from_pods(pods)  # the typical shapes come from the trace as published
    runs = tuple(run_packing(nodes, tuned_workload(pods, capacity, s, ratio), policy, s, target) for s in seeds)
    return SeedSweep(policy, runs)


def _nth_node(states: list[tuple[NodeState, list[int]]], n: int) -> tuple[NodeState, list[int], int]:
    """The n-th node across the states' node lists: (its state, that state's list, its index there)."""
    for state, heap in states:
        if n < len(heap):
            return state, heap, n
        n -= len(heap)
    raise IndexError(n)


def run_packing(
    nodes: Sequence[NodeState], pods: Sequence[Pod], policy_name: str, seed: int, target: TargetWorkload | None = None
) -> PackingResult:
    """Place `pods` in order with the named policy. `target` defaults to the pods' own typical shapes.

    Ties between equally scored nodes go to the first node in a random order fixed for the run, as in the FGD
    artifact's scheduler (which names nodes with a random prefix and keeps the first best one); Random picks
    uniformly among feasible nodes. Nodes in equal states are interchangeable, so the cluster is kept as
    state -> heap of those nodes' ranks.
    """
    measure = Fragmentation(target or TargetWorkload.from_pods(pods))
    policy: Policy = POLICIES[policy_name](measure)
    rng = random.Random(seed)
    ranks = list(range(len(nodes)))
    rng.shuffle(ranks)
    cluster: dict[NodeState, list[int]] = defaultdict(list)
    for node, rank in zip(nodes, ranks, strict=True):
        cluster[node].append(rank)
    for heap in cluster.values():
        heapq.heapify(heap)
    capacity = sum(s.gpu_count for s in nodes) * MILLI
    allocated = arrived = placed = 0
    choices: dict[tuple[NodeState, PodShape], Choice] = {}
    dropped: Counter[str] = Counter()
    curve = [0.0]
    for pod in pods:
        arrived += pod.total_gpu_milli
        feasible = [(s, heap) for s, heap in cluster.items() if s.fits(pod)]
        if feasible:
            if policy.random_node:
                state, heap, draw = _nth_node(feasible, rng.randrange(sum(len(h) for _, h in feasible)))
                rank = heap.pop(draw)
                heapq.heapify(heap)
                devices = policy.choose(state, pod, rng).devices
            else:
                shape = pod.shape
                best: tuple[Choice, NodeState, list[int]] | None = None
                for s, heap in feasible:
                    # Scores depend only on the node state and the pod's shape: both repeat a lot.
                    choice = choices.get((s, shape))
                    if choice is None:
                        choice = choices[(s, shape)] = policy.choose(s, pod, rng)
                    if best is None or (choice.score, -heap[0]) > (best[0].score, -best[2][0]):
                        best = (choice, s, heap)
                assert best is not None
                choice, state, heap = best
                rank = heapq.heappop(heap)
                devices = choice.devices
            if not heap:
                del cluster[state]
            heapq.heappush(cluster[state.place(pod, devices)], rank)
            allocated += pod.total_gpu_milli
            placed += 1
        else:
            dropped[pod.affinity or "cpu"] += pod.total_gpu_milli or 1
        while len(curve) * capacity <= 100 * arrived:
            curve.append(100 * allocated / capacity)
    return PackingResult(
        policy=policy_name,
        seed=seed,
        capacity_milli=capacity,
        pods=len(pods),
        placed=placed,
        allocated_milli=allocated,
        arrived_milli=arrived,
        allocation_at=(*curve, 100 * allocated / capacity),
        final_fragmentation_ratio=fragmentation_ratio(((s, len(h)) for s, h in cluster.items()), measure),
        dropped=tuple(sorted(dropped.items())),
    )
