"""GPU fragmentation as the FGD paper defines it.

For a target workload (the typical pod shapes with their frequencies), a node's idle GPU capacity counts as
fragment for a shape when that shape cannot use it: the node cannot host the pod at all (not enough GPUs,
CPU, or the wrong GPU model), or, when it can, the individual GPUs too small for the pod's per-GPU request.
A node's fragmentation is the frequency-weighted sum over the target workload. FGD places each pod where
it increases fragmentation least.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import accumulate

from neocloud.core.gpushare.model import NodeState, Pod, PodShape


@dataclass(frozen=True, slots=True)
class TargetWorkload:
    """Typical pod shapes and their frequencies (summing to 1)."""

    shapes: tuple[tuple[PodShape, float], ...]

    @classmethod
    def from_pods(cls, pods: Iterable[Pod], coverage: float = 0.95) -> TargetWorkload:
        """The most popular shapes that together cover `coverage` of the pods (95 %, as the FGD artifact
        configures it), renormalized. Ties in popularity go to the larger shape first, so input order does not
        matter."""
        counts = Counter(p.shape for p in pods)
        total = sum(counts.values())
        ranked = sorted(counts.items(), key=lambda kv: (kv[1], kv[0]), reverse=True)
        chosen: list[tuple[PodShape, int]] = []
        covered = 0
        for shape, count in ranked:
            if covered >= coverage * total:
                break
            chosen.append((shape, count))
            covered += count
        return cls(tuple((shape, count / covered) for shape, count in chosen))


class Fragmentation:
    """Measures nodes against one target workload, remembering each distinct node shape it has seen."""

    def __init__(self, target: TargetWorkload) -> None:
        self.target = target
        self._memo: dict[tuple[str, int, tuple[int, ...]], float] = {}
        self._by_type: dict[str, tuple[float, list[tuple[int, int, int, float]]]] = {}

    def __call__(self, state: NodeState) -> float:
        """Expected milli-GPUs of this node that the target workload cannot use."""
        key = (state.gpu_type, state.cpu_left, state.gpu_left)
        frag = self._memo.get(key)
        if frag is None:
            frag = self._memo[key] = self._measure(*key)
        return frag

    def _shapes_for(self, gpu_type: str) -> tuple[float, list[tuple[int, int, int, float]]]:
        """For one GPU model: the frequency of shapes that can use none of its GPUs (CPU-only pods, pods
        for other models), and the (cpu, milli-GPU, GPUs, frequency) of those that can."""
        cached = self._by_type.get(gpu_type)
        if cached is None:
            blind, usable = 0.0, []
            for shape, freq in self.target.shapes:
                if shape.gpu_milli == 0 or (shape.gpu_types and gpu_type not in shape.gpu_types):
                    blind += freq
                else:
                    usable.append((shape.cpu_milli, shape.gpu_milli, shape.num_gpu, freq))
            cached = self._by_type[gpu_type] = (blind, usable)
        return cached

    def _measure(self, gpu_type: str, cpu_left: int, gpu_left: tuple[int, ...]) -> float:
        # gpu_left is ascending, so "the GPUs too small for a shape" are a prefix found by bisection.
        total = sum(gpu_left)
        if total == 0:
            return 0.0
        prefix = list(accumulate(gpu_left, initial=0))
        count = len(gpu_left)
        blind, usable = self._shapes_for(gpu_type)
        frag = blind * total
        for cpu, milli, num, freq in usable:
            too_small = bisect_left(gpu_left, milli)
            if count - too_small >= num and cpu_left >= cpu:
                frag += freq * prefix[too_small]  # the shape fits: only the too-small GPUs are lost to it
            else:
                frag += freq * total
        return frag


def fragmentation_ratio(states: Iterable[tuple[NodeState, int]], measure: Fragmentation) -> float:
    """Fragmented share of all idle GPU capacity in a cluster (0 when nothing is idle)."""
    idle = frag = 0.0
    for state, count in states:
        idle += count * state.total_gpu_left
        frag += count * measure(state)
    return frag / idle if idle else 0.0
