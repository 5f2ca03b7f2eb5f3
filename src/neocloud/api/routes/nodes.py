"""Nodes (operator): the inventory with each node's place and state, counts by pool and state, and the
state changes an operator makes, each kept in the node's history."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from neocloud.api import schemas
from neocloud.api.deps import Ctx, Cursor, Limit, Operator, paged
from neocloud.app import assignment, listings, nodes
from neocloud.app.services import get_tenant
from neocloud.app.views import plain
from neocloud.core import bounds
from neocloud.core.nodes import NodeState

router = APIRouter(tags=["nodes"])
NodeName = Annotated[str, Path(max_length=200, pattern=bounds.ID)]
PoolFilter = Annotated[str | None, Query(max_length=200, pattern=bounds.ID, description="Only this pool's nodes.")]
StateFilter = Annotated[schemas.NodeStateName | None, Query(description="Only nodes in this state.")]
TenantFilter = Annotated[
    str | None, Query(max_length=200, pattern=bounds.ID, description="Only the nodes of this tenant's reservations.")
]


@router.get("/nodes", response_model=schemas.Page[schemas.NodeOut])
def list_nodes(
    ctx: Ctx,
    who: Operator,
    pool: PoolFilter = None,
    state: StateFilter = None,
    tenant: TenantFilter = None,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> dict[str, Any]:
    """Every node by name, with its place in the fabric, its state and the reservation whose node it is
    (operator)."""
    with ctx.uow() as uow:
        tenant_id = get_tenant(uow, tenant).id if tenant else None
        views = nodes.inventory(uow, ctx.catalog, pool, None if state is None else NodeState(state), tenant_id)
    return paged(listings.NODES.of(cursor, limit, views))


@router.get("/nodes/states", response_model=schemas.Page[schemas.StateCountOut])
def node_states(
    ctx: Ctx, who: Operator, pool: PoolFilter = None, cursor: Cursor = None, limit: Limit = 100
) -> dict[str, Any]:
    """Nodes and their GPUs by pool and state, as `sinfo` counts them (operator)."""
    with ctx.uow() as uow:
        return paged(listings.NODE_STATES.of(cursor, limit, nodes.summary(nodes.inventory(uow, ctx.catalog, pool))))


@router.get("/nodes/{name}", response_model=schemas.NodeDetailOut)
def show_node(name: NodeName, ctx: Ctx, who: Operator) -> dict[str, Any]:
    """A node and its changes of state (operator)."""
    with ctx.uow() as uow:
        node, history = nodes.get_node(uow, ctx.catalog, name)
    return {**plain(node), "history": plain(history)}


@router.get("/spares", response_model=schemas.SparesOut)
def show_spares(ctx: Ctx, who: Operator, pool: Annotated[str, Query(max_length=200, pattern=bounds.ID)]) -> Any:
    """The pool's spares: assignment units kept unsold so that a reservation's failed node always finds a
    replacement (operator)."""
    with ctx.uow() as uow:
        return plain(assignment.spares(uow, ctx.catalog, pool, ctx.now()))


@router.put("/spares", response_model=schemas.SparesOut)
def set_spares(body: schemas.SparesIn, ctx: Ctx, who: Operator) -> Any:
    """Keep this many units of the pool unsold from now on; they run spot and on-demand work while idle.
    409 `overbooked` where the capacity is sold already (operator)."""
    with ctx.uow() as uow:
        return plain(assignment.set_spares(uow, ctx.catalog, body.pool, body.units, ctx.now(), ctx.new_id))


def _state_route(action: str, state: NodeState, doc: str) -> None:
    """POST /nodes/{name}/<action>: put the node in `state`, its reason kept in its history."""

    def change(name: NodeName, ctx: Ctx, who: Operator, body: schemas.NodeStateIn | None = None) -> Any:
        with ctx.uow() as uow:
            return plain(nodes.set_state(uow, ctx.catalog, name, state, body.reason if body else "", ctx.now()))

    change.__doc__ = doc
    router.post(f"/nodes/{{name}}/{action}", response_model=schemas.NodeOut, name=f"{action}_node")(change)


_state_route("drain", NodeState.DRAINING, "No new work on the node; what runs there finishes (409 unless it is up).")
_state_route("resume", NodeState.UP, "Back in service: the node takes work again (409 if it is up).")
_state_route("down", NodeState.DOWN, "The node has failed: it takes no new work (409 if it is down).")
_state_route("maintenance", NodeState.MAINTENANCE, "Out of service on purpose: no new work (409 if it is already).")
