"""Nodes and pods measured in milli-CPUs, MiB and milli-GPUs (1000 = one whole GPU).

A node's state is a value: identical nodes are interchangeable, so a cluster is a count of node states
rather than a list of nodes. That keeps scoring proportional to the number of *distinct* states, which stays
small even on clusters of thousands of nodes. For the same reason a state lists its GPUs' free milli-GPUs in
ascending order rather than by device index: which physical device a pod lands on changes no score.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass, field, replace

from neocloud.core.workload import MILLI


@dataclass(frozen=True, slots=True)
class Pod:
    """What one pod asks for. `gpu_milli` is per GPU; a shared pod asks for one GPU with gpu_milli < 1000."""

    name: str
    cpu_milli: int
    memory_mib: int
    num_gpu: int = 0
    gpu_milli: int = 0
    gpu_types: tuple[str, ...] = ()  # acceptable GPU models; empty means any

    @property
    def total_gpu_milli(self) -> int:
        return self.num_gpu * self.gpu_milli

    @property
    def shares_gpu(self) -> bool:
        return self.num_gpu == 1 and self.gpu_milli < MILLI

    @property
    def shape(self) -> PodShape:
        return PodShape(self.cpu_milli, self.gpu_milli, self.num_gpu, self.gpu_types)

    @property
    def affinity(self) -> str | None:
        """The pod's GPU class for clustering: None (no GPU), "share", or "<n>-gpu"."""
        if self.num_gpu == 0:
            return None
        return "share" if self.shares_gpu else f"{self.num_gpu}-gpu"


@dataclass(frozen=True, slots=True, order=True)
class PodShape:
    """A pod without its name: what fragmentation is measured against."""

    cpu_milli: int
    gpu_milli: int
    num_gpu: int
    gpu_types: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class NodeState:
    """What is left on a node; `gpu_left` is each GPU's free milli-GPUs, ascending."""

    gpu_type: str
    cpu_capacity: int
    cpu_left: int
    memory_left: int
    gpu_left: tuple[int, ...]
    affinities: frozenset[str] = frozenset()  # GPU classes of the pods placed here
    # States are dictionary keys on the hot path: hash once.
    _hash: int = field(init=False, repr=False, compare=False, default=0)

    def __post_init__(self) -> None:
        key = (self.gpu_type, self.cpu_capacity, self.cpu_left, self.memory_left, self.gpu_left, self.affinities)
        object.__setattr__(self, "_hash", hash(key))

    def __hash__(self) -> int:
        return self._hash

    @property
    def gpu_count(self) -> int:
        return len(self.gpu_left)

    @property
    def total_gpu_left(self) -> int:
        return sum(self.gpu_left)

    @property
    def fully_free_gpus(self) -> int:
        return self.gpus_that_fit(MILLI)

    def accepts_type(self, pod: Pod | PodShape) -> bool:
        return not pod.gpu_types or self.gpu_type in pod.gpu_types

    def gpus_that_fit(self, gpu_milli: int) -> int:
        return len(self.gpu_left) - bisect_left(self.gpu_left, gpu_milli)

    def fits(self, pod: Pod) -> bool:
        if pod.cpu_milli > self.cpu_left or pod.memory_mib > self.memory_left:
            return False
        if pod.num_gpu == 0:
            return True
        return self.accepts_type(pod) and self.gpus_that_fit(pod.gpu_milli) >= pod.num_gpu

    def place(self, pod: Pod, devices: tuple[int, ...]) -> NodeState:
        """The state after `pod` lands on these GPU devices (empty for a CPU-only pod)."""
        left = list(self.gpu_left)
        for d in devices:
            left[d] -= pod.gpu_milli
            if left[d] < 0:
                raise ValueError(f"device {d} cannot hold {pod.gpu_milli} milli-GPU")
        affinity = pod.affinity
        return replace(
            self,
            cpu_left=self.cpu_left - pod.cpu_milli,
            memory_left=self.memory_left - pod.memory_mib,
            gpu_left=tuple(sorted(left)),
            affinities=self.affinities | {affinity} if affinity else self.affinities,
        )


def exclusive_devices(state: NodeState, pod: Pod) -> tuple[int, ...]:
    """Whole GPUs for a pod: fully free ones (they sort last)."""
    return tuple(range(state.gpu_count - pod.num_gpu, state.gpu_count))


def tightest_device(state: NodeState, pod: Pod) -> tuple[int, ...]:
    """Best-fit GPU for a shared pod: the one with the least milli-GPU left that still fits."""
    return (bisect_left(state.gpu_left, pod.gpu_milli),)


def best_fit_devices(state: NodeState, pod: Pod) -> tuple[int, ...]:
    if pod.num_gpu == 0:
        return ()
    return tightest_device(state, pod) if pod.shares_gpu else exclusive_devices(state, pod)
