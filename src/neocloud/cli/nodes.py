"""`neocloud node`: the fleet's nodes, their place in the fabric and their state, and the operator's changes
(drain, resume, down, maintenance), each kept in the node's history."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from neocloud.cli.answers import answer, answer_page
from neocloud.cli.args import PAGE, Cursor, Every, Json, Limit, group
from neocloud.cli.output import out, table
from neocloud.cli.timefmt import show_time
from neocloud.cli.tree import help_of

node_app = group(help=help_of("node"))
PoolOption = Annotated[str | None, typer.Option(help="Only this pool's nodes.")]
Reason = Annotated[str, typer.Option(help="Why, kept in the node's history.")]
COLUMNS = ["node", "pool", "rack", "GPUs", "state", "since", "reason", "tenant", "contract"]


def _rows(nodes: list[Any]) -> list[tuple[object, ...]]:
    return [
        (
            n.name,
            n.pool,
            n.rack,
            n.gpus,
            n.state,
            "" if n.since is None else show_time(n.since),
            n.reason,
            n.tenant or "",
            n.contract or "",
        )
        for n in nodes
    ]


@node_app.command("list")
def node_list(
    ctx: typer.Context,
    pool: PoolOption = None,
    state: Annotated[str | None, typer.Option(help="up | draining | down | maintenance")] = None,
    tenant: Annotated[str | None, typer.Option(help="Only the nodes of this tenant's reservations.")] = None,
    cursor: Cursor = None,
    limit: Limit = PAGE,
    every: Every = False,
    json: Json = False,
) -> None:
    """Nodes by name, with their state and the reservation whose node each is (operator)."""
    answer_page(
        ctx,
        json,
        lambda api: api.nodes.list,
        (cursor, limit, every),
        lambda nodes, _: table("nodes", COLUMNS, _rows(nodes)),
        pool=pool,
        state=state,
        tenant=tenant,
    )


@node_app.command("states")
def node_states(ctx: typer.Context, pool: PoolOption = None, json: Json = False) -> None:
    """Nodes and GPUs by pool and state, as sinfo counts them (operator)."""
    answer(
        ctx,
        json,
        lambda api: list(api.pages(api.nodes.states, pool=pool, limit=1000)),
        lambda counts, _: table(
            "nodes by state",
            ["pool", "state", "nodes", "GPUs"],
            [(c.pool, c.state, f"{c.nodes:,}", f"{c.gpus:,}") for c in counts],
        ),
    )


@node_app.command("show")
def node_show(ctx: typer.Context, name: str, json: Json = False) -> None:
    """A node, its place in the fabric and its changes of state."""

    def render(node: Any, _: Any) -> None:
        out().print(
            f"{node.name}: {node.gpus} x {node.gpu_model}, site {node.site}, block {node.block}, rack {node.rack}, "
            f"NVLink domain {node.nvlink_domain}; {node.state}"
            + (f" ({node.reason})" if node.reason else "")
            + (f"; {node.tenant}'s, contract {node.contract}" if node.contract else ""),
            highlight=False,
        )
        if node.history:
            table("history", ["at", "state", "reason"], [(show_time(e.at), e.state, e.reason) for e in node.history])

    answer(ctx, json, lambda api: api.nodes.get(name), render)


def _change(action: str, done: str, help: str) -> None:
    def command(ctx: typer.Context, name: str, reason: Reason = "", json: Json = False) -> None:
        answer(
            ctx,
            json,
            lambda api: api.nodes.change(name, action, reason),
            lambda node, _: out().print(f"node {node.name} {done}: {node.state}", highlight=False),
        )

    node_app.command(action, help=help)(command)


_change("drain", "drains", "Take no new work on a node; what runs there finishes.")
_change("resume", "resumed", "Put a node back in service.")
_change("down", "marked down", "Mark a node failed: it takes no new work.")
_change("maintenance", "in maintenance", "Take a node out of service on purpose: it takes no new work.")


@node_app.command("spares")
def node_spares(
    ctx: typer.Context,
    pool: str,
    units: Annotated[
        int | None, typer.Option("--set", help="Keep this many units (nodes; NVL72 racks) unsold from now on.")
    ] = None,
    json: Json = False,
) -> None:
    """A pool's spares: units kept unsold so that a reservation's failed node always finds a replacement;
    while idle they run spot and on-demand work (operator)."""

    def render(kept: Any, _: Any) -> None:
        since = "" if kept.since is None else f" since {show_time(kept.since)}"
        out().print(f"{kept.pool}: {kept.units} spare units ({kept.gpus:,} GPUs) kept unsold{since}", highlight=False)

    answer(ctx, json, lambda api: api.nodes.spares(pool, units), render)
