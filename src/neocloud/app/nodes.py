"""The node inventory: every node of the fleet with its place in the fabric and its state, and the changes
an operator makes (drain, resume, down, maintenance), each kept in the node's history."""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, replace

from neocloud.app.ports import UnitOfWork
from neocloud.core.catalog import Catalog
from neocloud.core.engine.cluster import node_spec, nvlink_domain
from neocloud.core.errors import quoted
from neocloud.core.fleet import Node, Site, pool_name
from neocloud.core.nodes import NodeEvent, NodeState, UnknownNode, transition


@dataclass(frozen=True, slots=True)
class NodeView:
    name: str
    site: str
    pool: str
    block: str
    rack: str
    nvlink_domain: str  # the node itself, or its rack where the GPU model's NVLink domain spans nodes
    gpu_model: str
    gpus: int
    state: NodeState
    since: int | None  # when it entered its state; None: up since the fleet was loaded
    reason: str


def inventory(
    uow: UnitOfWork, catalog: Catalog, pool: str | None = None, state: NodeState | None = None
) -> list[NodeView]:
    """Every node (of `pool`, in `state`), by name. Nodes that are not up are found from their history;
    the others come from the fleet's nodes, made once per fleet (30,028 for colossus-1)."""
    states = uow.nodes.current()
    sites = tuple(uow.fleet.list_sites())
    if state is not None and state is not NodeState.UP:
        found = [
            _view(site, node, catalog, event)
            for name, event in states.items()
            if event.state is state
            for site in sites
            if (node := site.node(name)) is not None
        ]
        return sorted((v for v in found if pool is None or v.pool == pool), key=lambda v: v.name)
    spanning = frozenset(  # GPU models whose NVLink domain is the rack (NVL72)
        g.node.gpu_model
        for site in sites
        for g in site.blocks
        if nvlink_domain(catalog, g.node.gpu_model, "rack", "node") == "rack"
    )
    views = (v for v in _fleet(sites, spanning) if pool is None or v.pool == pool)
    if state is NodeState.UP:
        return [v for v in views if v.name not in states or states[v.name].state is NodeState.UP]
    return [v if v.name not in states else _changed(v, states[v.name]) for v in views]


@functools.lru_cache(maxsize=8)
def _fleet(sites: tuple[Site, ...], spanning: frozenset[str]) -> tuple[NodeView, ...]:
    """Every node of these sites as if up, by name (the sites are values: a changed fleet is another key)."""
    return tuple(sorted((v for site in sites for v in _made(site, spanning)), key=lambda v: v.name))


def _changed(view: NodeView, event: NodeEvent) -> NodeView:
    return replace(view, state=event.state, since=event.at, reason=event.reason)


def _made(site: Site, spanning: frozenset[str]) -> Iterator[NodeView]:
    """A site's nodes, up, with what is the same for a whole block group worked out once."""
    for group in site.blocks:
        spec = group.node
        for block in group.block_names():
            pool = pool_name(site.name, spec.gpu_model, block if site.pool_by_block else None)
            for r in range(group.racks):
                rack = f"{block}-r{r:02d}"
                for k in range(group.nodes_per_rack):
                    name = f"{rack}-n{k:02d}"
                    domain = rack if spec.gpu_model in spanning else name
                    yield NodeView(
                        name, site.name, pool, block, rack, domain, spec.gpu_model, spec.gpus, NodeState.UP, None, ""
                    )


def _view(site: Site, node: Node, catalog: Catalog, event: NodeEvent | None) -> NodeView:
    return NodeView(
        node.name,
        site.name,
        site.pool_of(node),
        node.block,
        node.rack,
        node_spec(node, catalog).domain,
        node.gpu_model,
        node.gpus,
        NodeState.UP if event is None else event.state,
        None if event is None else event.at,
        "" if event is None else event.reason,
    )


def get_node(uow: UnitOfWork, catalog: Catalog, name: str) -> tuple[NodeView, list[NodeEvent]]:
    """A node and its history."""
    for site in uow.fleet.list_sites():
        node = site.node(name)
        if node is not None:
            history = uow.nodes.history(name)
            return _view(site, node, catalog, history[-1] if history else None), history
    raise UnknownNode(f"unknown node {quoted(name)}", node=name)


def set_state(uow: UnitOfWork, catalog: Catalog, name: str, state: NodeState, reason: str, now: int) -> NodeView:
    """Put a node in `state` (refused if it is in it already, or drains when not up)."""
    node, _ = get_node(uow, catalog, name)
    transition(name, node.state, state)
    uow.nodes.add(NodeEvent(name, state, now, reason))
    return replace(node, state=state, since=now, reason=reason)


def unavailable(uow: UnitOfWork) -> set[str]:
    """Nodes that take no new work now."""
    return {name for name, event in uow.nodes.current().items() if event.state is not NodeState.UP}


@dataclass(frozen=True, slots=True)
class StateCount:
    """Nodes of a pool in one state, as `sinfo` counts them."""

    pool: str
    state: NodeState
    nodes: int
    gpus: int


def summary(uow: UnitOfWork, pool: str | None = None) -> list[StateCount]:
    """Nodes and GPUs by pool and state: the fleet's counts, less the nodes that are not up."""
    nodes: Counter[tuple[str, NodeState]] = Counter()
    gpus: Counter[tuple[str, NodeState]] = Counter()
    sites = uow.fleet.list_sites()
    for site in sites:
        for group in site.blocks:
            for block in group.block_names() if site.pool_by_block else [group.name]:
                key = (pool_name(site.name, group.node.gpu_model, block if site.pool_by_block else None), NodeState.UP)
                per = group.nodes // group.count if site.pool_by_block else group.nodes
                nodes[key] += per
                gpus[key] += per * group.node.gpus
    for name, event in uow.nodes.current().items():
        if event.state is NodeState.UP:
            continue
        found = next(((site, n) for site in sites if (n := site.node(name)) is not None), None)
        if found is None:
            continue  # a node of a fleet no longer loaded
        site, node = found
        for state, sign in ((NodeState.UP, -1), (event.state, 1)):
            nodes[site.pool_of(node), state] += sign
            gpus[site.pool_of(node), state] += sign * node.gpus
    order = list(NodeState)
    return [
        StateCount(p, state, nodes[p, state], gpus[p, state])
        for p, state in sorted(nodes, key=lambda k: (k[0], order.index(k[1])))
        if nodes[p, state] and (pool is None or p == pool)
    ]
