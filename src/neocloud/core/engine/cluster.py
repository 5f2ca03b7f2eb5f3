"""The engine's view of the fleet: nodes with free GPUs, grouped into NVLink domains and fabric blocks.

Free capacity is indexed by how many GPUs each node has free, so best-fit placement costs O(GPUs per node)
instead of a scan over every node.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from neocloud.core.catalog import Catalog
from neocloud.core.errors import InvalidInput
from neocloud.core.fleet import Site

Allocation = tuple[tuple[int, int], ...]  # (node index, GPUs) pairs of one job


@dataclass(frozen=True, slots=True)
class NodeSpec:
    name: str
    gpus: int
    gpu_model: str = "gpu"
    domain: str = ""  # NVLink domain: the node itself for 8-GPU servers, the rack for NVL72
    block: str = ""  # fabric block


class Cluster:
    """Mutable free-GPU bookkeeping for one scheduling domain."""

    def __init__(self, nodes: Sequence[NodeSpec]) -> None:
        if not nodes:
            raise InvalidInput("a cluster needs at least one node")
        self.nodes = list(nodes)
        self.capacity = [n.gpus for n in nodes]
        self.free = list(self.capacity)
        self.max_gpus = max(self.capacity)
        self.total = sum(self.capacity)
        self.total_free = self.total
        self.models = sorted({n.gpu_model for n in nodes})
        # by_free[model][k] = nodes of that model with exactly k GPUs free
        self.by_free: dict[str, list[set[int]]] = {m: [set() for _ in range(self.max_gpus + 1)] for m in self.models}
        for i, n in enumerate(nodes):
            self.by_free[n.gpu_model][n.gpus].add(i)
        self.domain_of = [n.domain or n.name for n in nodes]
        self.block_of = [n.block or "" for n in nodes]

    @classmethod
    def uniform(cls, nodes: int, gpus_per_node: int, gpu_model: str = "gpu", nodes_per_block: int = 0) -> Cluster:
        return cls(
            [
                NodeSpec(
                    f"n{i:05d}", gpus_per_node, gpu_model, block=f"b{i // nodes_per_block}" if nodes_per_block else ""
                )
                for i in range(nodes)
            ]
        )

    def free_gpus(self, model: str | None = None) -> int:
        if model is None:
            return self.total_free
        buckets = self.by_free.get(model)
        return sum(k * len(b) for k, b in enumerate(buckets)) if buckets else 0

    def stranded_gpus(self) -> int:
        """Free GPUs on nodes that are partly in use: capacity a whole-node gang cannot get."""
        return sum(k * len(b) for buckets in self.by_free.values() for k, b in enumerate(buckets[:-1]) if k)

    def candidates(self, model: str | None) -> Iterable[str]:
        return self.models if model is None else [m for m in self.models if m == model]

    def take(self, allocation: Allocation) -> None:
        for node, gpus in allocation:
            self._move(node, self.free[node] - gpus)
        self.total_free -= sum(g for _, g in allocation)

    def release(self, allocation: Allocation) -> None:
        for node, gpus in allocation:
            self._move(node, self.free[node] + gpus)
        self.total_free += sum(g for _, g in allocation)

    def _move(self, node: int, free: int) -> None:
        if not 0 <= free <= self.capacity[node]:
            raise InvalidInput(f"node {self.nodes[node].name} would have {free} of {self.capacity[node]} GPUs free")
        buckets = self.by_free[self.nodes[node].gpu_model]
        buckets[self.free[node]].discard(node)
        buckets[free].add(node)
        self.free[node] = free


def cluster_of(sites: Iterable[Site], catalog: Catalog) -> Cluster:
    """The engine's view of a fleet: every node, with its NVLink domain (the node itself, or the rack when the
    model's domain spans nodes, as NVL72 does) and its fabric block."""
    specs = []
    for site in sites:
        for node in site.nodes():
            model = catalog[node.gpu_model]
            domain = node.rack if model.nvlink_domain > model.gpus_per_node else node.name
            specs.append(NodeSpec(node.name, node.gpus, node.gpu_model, domain, node.block))
    return Cluster(specs)
