"""The node inventory: every node of the fleet with its place in the fabric and its state, and the changes
an operator makes (drain, resume, down, maintenance), each kept in the node's history."""

from __future__ import annotations

import functools
from collections import Counter, defaultdict
from dataclasses import dataclass, replace

from neocloud.app.ports import UnitOfWork
from neocloud.core.assignment import Unit, units_of
from neocloud.core.catalog import Catalog
from neocloud.core.errors import UnknownNode, quoted
from neocloud.core.fleet import Node, Site
from neocloud.core.nodes import NodeEvent, NodeState, transition


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
    contract: str | None = None  # the reservation whose node it is now (app/assignment.py)
    tenant: str | None = None


def inventory(
    uow: UnitOfWork,
    catalog: Catalog,
    pool: str | None = None,
    state: NodeState | None = None,
    tenant: str | None = None,
) -> list[NodeView]:
    """Every node (of `pool`, in `state`, of `tenant`'s reservations), by name, with the reservation whose
    node it is. Nodes that are not up are found from their history; the others come from the fleet's nodes,
    made once per fleet and process (30,028 for colossus-1)."""
    states = uow.nodes.current()
    sites = tuple(uow.fleet.list_sites())
    holders = _holders(uow)
    if tenant is not None:
        views = (_view_at(site, name, catalog, states.get(name)) for name in holders for site in sites)
        found = (v for v in views if v is not None and (pool is None or v.pool == pool))
        mine = (v for v in found if holders[v.name][1] == tenant and (state is None or v.state is state))
    elif state is not None and state is not NodeState.UP:
        views = (_view_at(site, name, catalog, event) for name, event in states.items() for site in sites)
        mine = (v for v in views if v is not None and v.state is state and (pool is None or v.pool == pool))
    else:
        every = (v for v in _fleet(*_key(sites, catalog)) if pool is None or v.pool == pool)
        if state is NodeState.UP:
            mine = (v for v in every if v.name not in states or states[v.name].state is NodeState.UP)
        else:
            mine = (v if v.name not in states else _view_in(v, states[v.name]) for v in every)
    return sorted((_held(v, holders) for v in mine), key=lambda v: v.name)


def _holders(uow: UnitOfWork) -> dict[str, tuple[str, str]]:
    """Node -> (contract, tenant) of the reservations' nodes now."""
    spans = uow.assignments.current()
    tenants = {c.id: c.tenant_id for c in uow.contracts.get_many({s.contract_id for s in spans}).values()}
    return {s.node: (s.contract_id, tenants[s.contract_id]) for s in spans}


def _held(view: NodeView, holders: dict[str, tuple[str, str]]) -> NodeView:
    held = holders.get(view.name)
    return view if held is None else replace(view, contract=held[0], tenant=held[1])


def _view_at(site: Site, name: str, catalog: Catalog, event: NodeEvent | None) -> NodeView | None:
    node = site.node(name)
    return None if node is None else _view(site, node, catalog[node.gpu_model].spans_nodes, event)


@dataclass(frozen=True, slots=True)
class PoolUnits:
    """A pool's assignment units (NVLink domains) by name, and the unit of each of its nodes."""

    units: tuple[Unit, ...]
    of_node: dict[str, Unit]
    size: int | None  # the GPUs of one unit, if all are alike (else the pool's reservations are not assigned)


def units_by_pool(uow: UnitOfWork, catalog: Catalog) -> dict[str, PoolUnits]:
    """Each pool's assignment units; made once per fleet and process."""
    return _units(*_key(tuple(uow.fleet.list_sites()), catalog))


def _key(sites: tuple[Site, ...], catalog: Catalog) -> tuple[tuple[Site, ...], frozenset[str]]:
    """What the fleet's node views are made from: the sites, and the GPU models whose NVLink domain is the rack."""
    spanning = frozenset(
        g.node.gpu_model for site in sites for g in site.blocks if catalog[g.node.gpu_model].spans_nodes
    )
    return sites, spanning


@functools.lru_cache(maxsize=8)
def _units(sites: tuple[Site, ...], spanning: frozenset[str]) -> dict[str, PoolUnits]:
    by_pool: dict[str, list[NodeView]] = defaultdict(list)
    for view in _fleet(sites, spanning):
        by_pool[view.pool].append(view)
    made = {pool: tuple(units_of(views)) for pool, views in by_pool.items()}
    return {
        pool: PoolUnits(units, {n: u for u in units for n in u.nodes}, _alike({u.gpus for u in units}))
        for pool, units in made.items()
    }


def _alike(sizes: set[int]) -> int | None:
    return sizes.pop() if len(sizes) == 1 else None


@functools.lru_cache(maxsize=8)
def _fleet(sites: tuple[Site, ...], spanning: frozenset[str]) -> tuple[NodeView, ...]:
    """Every node of these sites as if up, by name (the sites are values: a changed fleet is another key;
    `spanning`: the GPU models whose NVLink domain is the rack)."""
    views = (_view(site, node, node.gpu_model in spanning, None) for site in sites for node in site.nodes())
    return tuple(sorted(views, key=lambda v: v.name))


def _view(site: Site, node: Node, spans_nodes: bool, event: NodeEvent | None) -> NodeView:
    view = NodeView(
        node.name,
        site.name,
        site.pool_of(node),
        node.block,
        node.rack,
        node.rack if spans_nodes else node.name,
        node.gpu_model,
        node.gpus,
        NodeState.UP,
        None,
        "",
    )
    return view if event is None else _view_in(view, event)


def _view_in(view: NodeView, event: NodeEvent) -> NodeView:
    return replace(view, state=event.state, since=event.at, reason=event.reason)


def get_node(uow: UnitOfWork, catalog: Catalog, name: str) -> tuple[NodeView, list[NodeEvent]]:
    """A node, the reservation whose node it is, and its history."""
    for site in uow.fleet.list_sites():
        history = uow.nodes.history(name) if site.node(name) is not None else []
        view = _view_at(site, name, catalog, history[-1] if history else None)
        if view is not None:
            return _held(view, _holders(uow)), history
    raise UnknownNode(f"unknown node {quoted(name)}", node=name)


def set_state(uow: UnitOfWork, catalog: Catalog, name: str, state: NodeState, reason: str, now: int) -> NodeView:
    """Put a node in `state` (refused if it is in it already, or drains when not up)."""
    node, _ = get_node(uow, catalog, name)
    transition(name, node.state, state)
    event = NodeEvent(name, state, now, reason)
    uow.nodes.add(event)
    return _view_in(node, event)


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


def summary(views: list[NodeView]) -> list[StateCount]:
    """Nodes and GPUs by pool and state."""
    nodes: Counter[tuple[str, NodeState]] = Counter()
    gpus: Counter[tuple[str, NodeState]] = Counter()
    for v in views:
        nodes[v.pool, v.state] += 1
        gpus[v.pool, v.state] += v.gpus
    order = list(NodeState)
    return [
        StateCount(pool, state, nodes[pool, state], gpus[pool, state])
        for pool, state in sorted(nodes, key=lambda k: (k[0], order.index(k[1])))
    ]
