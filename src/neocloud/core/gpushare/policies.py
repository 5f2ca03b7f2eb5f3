"""Node-scoring policies for GPU-sharing clusters, as the FGD paper's simulator defines them.

Each policy scores a feasible node for a pod with an integer in [0, 100] (higher is better) and picks the GPU
devices the pod would use there. Scores are whole numbers on purpose: the published results come from a
scheduler that truncates scores to integers and gives ties to the first node in a random order fixed per run,
and the ties shape the outcome (sim/packing.py breaks them the same way). Constants (128 CPUs, 8 GPUs) are
the simulator's normalization maxima.
"""

from __future__ import annotations

import math
import random
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass

from neocloud.core.gpushare.fragmentation import Fragmentation
from neocloud.core.gpushare.model import (
    NodeState,
    Pod,
    best_fit_devices,
    exclusive_devices,
)
from neocloud.core.workload import MILLI

MAX_CPU = 128_000
MAX_GPU = 8 * MILLI
Devices = tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Choice:
    score: int
    devices: Devices


class Policy(ABC):
    """Scores (state, pod) pairs. `random_node` policies skip scoring and pick uniformly among feasible nodes."""

    name = ""
    random_node = False

    @abstractmethod
    def choose(self, state: NodeState, pod: Pod, rng: random.Random) -> Choice:
        """The score of placing `pod` on a node in `state`, and the GPU devices it would use there."""


class RandomFit(Policy):
    """Any feasible node, uniformly; for a shared pod, any GPU that fits, uniformly."""

    name = "random"
    random_node = True

    def choose(self, state: NodeState, pod: Pod, rng: random.Random) -> Choice:
        if not pod.shares_gpu:
            return Choice(0, exclusive_devices(state, pod) if pod.num_gpu else ())
        first = state.gpu_count - state.gpus_that_fit(pod.gpu_milli)
        return Choice(0, (rng.randrange(first, state.gpu_count),))


class BestFit(Policy):
    """Least CPU and GPU left after placement (equal weights, normalized by the largest node)."""

    name = "bestfit"

    def choose(self, state: NodeState, pod: Pod, rng: random.Random) -> Choice:
        waste = 0.5 * (state.cpu_left - pod.cpu_milli) / MAX_CPU
        waste += 0.5 * (state.total_gpu_left - pod.total_gpu_milli) / MAX_GPU
        return Choice(int((1.0 - waste) * 100), best_fit_devices(state, pod))


class DotProduct(Policy):
    """Tetris-style alignment: the smallest dot product of free and requested (CPU, GPU), normalized."""

    name = "dotprod"

    def choose(self, state: NodeState, pod: Pod, rng: random.Random) -> Choice:
        dot = (state.cpu_left / MAX_CPU) * (pod.cpu_milli / MAX_CPU)
        dot += (state.total_gpu_left / MAX_GPU) * (pod.total_gpu_milli / MAX_GPU)
        return Choice(int(100 * (1 - dot / 2)), best_fit_devices(state, pod))


class GpuPacking(Policy):
    """Prefer GPUs already in use, then idle GPUs on busy nodes, then idle nodes."""

    name = "gpupacking"

    def choose(self, state: NodeState, pod: Pod, rng: random.Random) -> Choice:
        devices = best_fit_devices(state, pod)
        if pod.total_gpu_milli <= 0:
            return Choice(0, devices)
        free = state.fully_free_gpus
        if free == state.gpu_count:  # an idle node: last resort, fewer GPUs first
            return Choice(max(100 // 3 - free, free), devices)
        needed, fresh, partial = pod.num_gpu, 0, 0
        for i in sorted(range(state.gpu_count), key=lambda d: state.gpu_left[d]):  # emptiest-left first
            if needed == 0:
                break
            left = state.gpu_left[i]
            if left >= pod.gpu_milli:
                needed -= 1
                if left == MILLI:
                    fresh += 1
                partial += left * 100 // MILLI
        if fresh:
            return Choice(max(100 // 2 - fresh, 100 // 3), devices)
        return Choice(max(100 - partial // 10, 100 // 2), devices)


class GpuClustering(Policy):
    """Keep pods of the same GPU class (shared, 1-GPU, 8-GPU, ...) together on the same nodes."""

    name = "gpuclustering"

    def choose(self, state: NodeState, pod: Pod, rng: random.Random) -> Choice:
        devices = best_fit_devices(state, pod)
        affinity = pod.affinity
        if affinity is None:
            return Choice(0, devices)
        fullness = 25 * (MAX_GPU - state.total_gpu_left) // MAX_GPU
        if affinity in state.affinities:
            tier = 75 if len(state.affinities) == 1 else 50
        else:
            tier = 25 if not state.affinities else 0
        return Choice(fullness + tier, devices)


class FragmentationGradientDescent(Policy):
    """FGD: the node, and for a shared pod the GPU, where fragmentation grows least."""

    name = "fgd"

    def __init__(self, measure: Fragmentation) -> None:
        self.measure = measure

    def _score(self, before: float, after: NodeState) -> int:
        return int(100 / (1 + math.exp(-(before - self.measure(after)) / 1000)))

    def choose(self, state: NodeState, pod: Pod, rng: random.Random) -> Choice:
        before = self.measure(state)
        if not pod.shares_gpu:
            devices = exclusive_devices(state, pod) if pod.num_gpu else ()
            return Choice(self._score(before, state.place(pod, devices)), devices)
        best: Choice | None = None
        for i, left in enumerate(state.gpu_left):
            if left >= pod.gpu_milli:
                score = self._score(before, state.place(pod, (i,)))
                if best is None or score > best.score:
                    best = Choice(score, (i,))
        assert best is not None, "choose is only called on feasible nodes"
        return best


PolicyFactory = Callable[[Fragmentation], Policy]

POLICIES: dict[str, PolicyFactory] = {
    "random": lambda _: RandomFit(),
    "dotprod": lambda _: DotProduct(),
    "gpuclustering": lambda _: GpuClustering(),
    "gpupacking": lambda _: GpuPacking(),
    "bestfit": lambda _: BestFit(),
    "fgd": FragmentationGradientDescent,
}
"""Every GPU-sharing placement policy by name, in the order the FGD paper reports them."""
