"""The engine's view of the fleet: nodes with free GPUs, grouped into NVLink domains and fabric blocks.

Free capacity is indexed by how many GPUs each node has free, so best-fit placement costs O(GPUs per node)
instead of a scan over every node. Jobs here take whole GPUs; totals are in milli-GPUs, the unit the engine
accounts in (neocloud.core.engine.sharing has clusters whose GPUs jobs share).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from neocloud.core.catalog import Catalog
from neocloud.core.errors import InvalidInput
from neocloud.core.fleet import Node, Site
from neocloud.core.workload import MILLI, Job

# Where one job runs, as the cluster that placed it records it; here, (node index, GPUs) pairs.
Allocation = tuple[tuple[int, ...], ...]


class Capacity(Protocol):
    """What the engine needs of a cluster: capacity in milli-GPUs, and taking and giving back allocations
    that the cluster's own placement policies made."""

    total_milli: int
    free_milli: int

    def take(self, allocation: Allocation) -> None: ...

    def release(self, allocation: Allocation) -> None: ...

    def holds_ever(self, job: Job) -> bool: ...

    def stranded_milli(self) -> int: ...


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
        self.total_milli = sum(self.capacity) * MILLI
        self.free_milli = self.total_milli
        self.models = sorted({n.gpu_model for n in nodes})
        self.model_gpus = {m: sum(n.gpus for n in nodes if n.gpu_model == m) for m in self.models}
        # by_free[model][k] = nodes of that model with exactly k GPUs free
        self.by_free: dict[str, list[set[int]]] = {m: [set() for _ in range(self.max_gpus + 1)] for m in self.models}
        # The same buckets as heaps, for their smallest node index (entries that left are dropped when they
        # reach the top). Placements break ties by the smallest index, so what they choose depends on the
        # cluster's state alone, not on the order its nodes were taken and released in: the live engine
        # rebuilds its clusters every step, the simulator keeps one, and both must choose alike.
        self._heaps: dict[str, list[list[int]]] = {m: [[] for _ in range(self.max_gpus + 1)] for m in self.models}
        self._moves = 0
        for i, n in enumerate(nodes):
            self.by_free[n.gpu_model][n.gpus].add(i)
            self._heaps[n.gpu_model][n.gpus].append(i)
        self.domain_of = [n.domain or n.name for n in nodes]
        self.block_of = [n.block or "" for n in nodes]
        self.withheld: set[int] = set()
        self._stranded = sum(map(self._strands, self.capacity))  # see stranded_milli; _move keeps it
        self._candidates: dict[str | None, list[str]] = {}  # a job's gpu_model -> the models here it accepts
        self._room: dict[str | None, int] = {}  # a job's gpu_model -> milli-GPUs of the models it accepts

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

    def holds_ever(self, job: Job) -> bool:
        """Whether the job fits the empty cluster; a job sharing a GPU never fits one of whole GPUs."""
        room = self._room.get(job.gpu_model)
        if room is None:
            room = self._room[job.gpu_model] = MILLI * sum(self.model_gpus[m] for m in self.candidates(job))
        return not job.shares_gpu and job.gpus_per_task <= self.max_gpus and job.milli <= room

    def stranded_milli(self) -> int:
        """Free GPUs on nodes that are partly in use (fewer free than the largest node has): capacity a
        whole-node gang cannot get. Withheld nodes are not counted."""
        return MILLI * self._stranded

    def candidates(self, job: Job) -> list[str]:
        """The cluster's GPU models the job accepts."""
        found = self._candidates.get(job.gpu_model)
        if found is None:
            accepted = job.gpu_models
            found = self._candidates[job.gpu_model] = (
                [m for m in self.models if m in accepted] if accepted else self.models
            )
        return found

    def take(self, allocation: Allocation) -> None:
        for node, gpus in allocation:
            self._move(node, self.free[node] - gpus)
        self.free_milli -= MILLI * self._counted(allocation)

    def release(self, allocation: Allocation) -> None:
        for node, gpus in allocation:
            self._move(node, self.free[node] + gpus)
        self.free_milli += MILLI * self._counted(allocation)

    def _counted(self, allocation: Allocation) -> int:
        """The allocation's GPUs on nodes that are not withheld."""
        if len(allocation) == 1 and not self.withheld:
            return allocation[0][1]
        return sum(g for n, g in allocation if n not in self.withheld)

    def withhold(self, node: int) -> None:
        """Take no new work on `node` (draining, down, in maintenance): placement no longer sees it and its
        free GPUs are not free capacity, including those its running work releases later."""
        if node in self.withheld:
            return
        self.by_free[self.nodes[node].gpu_model][self.free[node]].discard(node)
        self.free_milli -= MILLI * self.free[node]
        self._stranded -= self._strands(self.free[node])
        self.withheld.add(node)

    def restore(self, node: int) -> None:
        """Take work on a withheld node again: its free GPUs are free capacity once more."""
        if node not in self.withheld:
            return
        self.withheld.discard(node)
        free = self.free[node]
        self.by_free[self.nodes[node].gpu_model][free].add(node)
        heapq.heappush(self._heaps[self.nodes[node].gpu_model][free], node)
        self.free_milli += MILLI * free
        self._stranded += self._strands(free)

    def smallest(self, model: str, free: int) -> int:
        """The smallest index of the nodes of `model` with exactly `free` GPUs free (there must be one)."""
        heap, members = self._heaps[model][free], self.by_free[model][free]
        while heap[0] not in members:
            heapq.heappop(heap)
        return heap[0]

    def first(self, model: str, free: int, count: int) -> list[int]:
        """The `count` smallest indices of the nodes of `model` with exactly `free` GPUs free (all of them if
        fewer), in order: popped from the bucket's heap and pushed back, so it costs `count` log n, not n."""
        heap, members = self._heaps[model][free], self.by_free[model][free]
        found: list[int] = []
        while heap and len(found) < count:
            node = heapq.heappop(heap)
            if node in members and (not found or node != found[-1]):  # a node can be in a heap twice
                found.append(node)
        for node in found:
            heapq.heappush(heap, node)
        return found

    def _move(self, node: int, free: int) -> None:
        if not 0 <= free <= self.capacity[node]:
            raise InvalidInput(f"node {self.nodes[node].name} would have {free} of {self.capacity[node]} GPUs free")
        if node in self.withheld:
            self.free[node] = free
            return
        model, was = self.nodes[node].gpu_model, self.free[node]
        buckets = self.by_free[model]
        buckets[was].discard(node)
        buckets[free].add(node)
        heapq.heappush(self._heaps[model][free], node)
        self.free[node] = free
        most = self.max_gpus  # the stranded count, inline: this runs twice for every job
        self._stranded += (free if 0 < free < most else 0) - (was if 0 < was < most else 0)
        self._moves += 1
        if self._moves % 65_536 == 0:  # drop the entries that left, now and then
            self._heaps = {m: [sorted(bucket) for bucket in self.by_free[m]] for m in self.models}

    def _strands(self, free: int) -> int:
        return free if 0 < free < self.max_gpus else 0


def cluster_of(sites: Iterable[Site], catalog: Catalog) -> Cluster:
    """The engine's view of a fleet: every node, with its NVLink domain and fabric block."""
    return Cluster([node_spec(node, catalog) for site in sites for node in site.nodes()])


def nodes_by_pool(sites: Iterable[Site], catalog: Catalog) -> dict[str, list[NodeSpec]]:
    """Every node of the fleet by the pool its GPUs are sold from (site and model, and block where the site
    sells by block)."""
    pools: dict[str, list[NodeSpec]] = {}
    for site in sites:
        for node in site.nodes():
            pools.setdefault(site.pool_of(node), []).append(node_spec(node, catalog))
    return pools


def node_spec(node: Node, catalog: Catalog) -> NodeSpec:
    """A node as the engine sees it: its NVLink domain is the node itself, or the rack when the model's
    domain spans nodes (as NVL72 does)."""
    domain = node.rack if catalog[node.gpu_model].spans_nodes else node.name
    return NodeSpec(node.name, node.gpus, node.gpu_model, domain, node.block)
