"""`neocloud tenant` and `neocloud contract`: tenants, and what they bought."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any

import typer

from neocloud.cli.answers import Render, answer, answer_page, owned_list
from neocloud.cli.args import PAGE, Cursor, Every, Json, Limit, group
from neocloud.cli.context import connect
from neocloud.cli.output import emit_json, out, table
from neocloud.cli.timefmt import after, parse_end, parse_time, show_time
from neocloud.cli.tree import help_of
from neocloud.core.errors import InvalidInput

if TYPE_CHECKING:
    from neocloud.client import Client

tenant_app = group(help=help_of("tenant"))
contract_app = group(help=help_of("contract"))
KINDS = "reserved | on-demand | spot | internal"
COLUMNS = ["id", "tenant", "kind", "pool", "GPUs", "cap W", "start", "end", "$/GPU-h", "energy", "status"]


@tenant_app.command("add")
def tenant_add(
    ctx: typer.Context,
    name: str,
    internal: Annotated[bool, typer.Option("--internal", help="An internal team (default: external).")] = False,
    json: Json = False,
) -> None:
    """Add a tenant."""
    answer(
        ctx,
        json,
        lambda api: api.tenants.add(name, "internal" if internal else "external"),
        lambda tenant, _: out().print(f"tenant {tenant.name} ({tenant.kind.value}) added as {tenant.id}"),
    )


@tenant_app.command("list")
def tenant_list(
    ctx: typer.Context, cursor: Cursor = None, limit: Limit = PAGE, every: Every = False, json: Json = False
) -> None:
    """List tenants, by name."""
    answer_page(
        ctx,
        json,
        lambda api: api.tenants.list,
        (cursor, limit, every),
        lambda tenants, _: table("tenants", ["id", "name", "kind"], [(t.id, t.name, t.kind.value) for t in tenants]),
    )


def rows(contracts: list[Any], tenants: dict[str, str]) -> list[tuple[object, ...]]:
    return [
        (
            c.id,
            tenants.get(c.tenant_id, c.tenant_id),
            c.kind.value,
            c.pool,
            f"{c.gpus:,}" if c.gpus else "",
            "" if c.cap_w is None else f"{c.cap_w:,}",
            show_time(c.start),
            show_time(c.end),
            c.price_per_gpu_hour.rstrip("0").rstrip("."),
            "" if c.energy == "bundled" else c.energy,
            c.status,
        )
        for c in contracts
    ]


@contract_app.command("sign")
def contract_sign(
    ctx: typer.Context,
    tenant: Annotated[str, typer.Option(help="Tenant id or name.")],
    pool: Annotated[str, typer.Option(help="Pool, e.g. colossus-1/h100-sxm.")],
    start: Annotated[str, typer.Option(help="now, +7d, Unix seconds or ISO date (UTC).")],
    end: Annotated[str, typer.Option(help="Same forms as --start; +TERM counts from the start.")] = "",
    term: Annotated[str | None, typer.Option(help="Length instead of --end: 30d, 6mo, 3y (calendar).")] = None,
    kind: Annotated[str, typer.Option(help=KINDS)] = "reserved",
    gpus: Annotated[int, typer.Option(help="Committed GPUs (reserved, internal).")] = 0,
    mw: Annotated[str | None, typer.Option(help="Instead of --gpus: the GPUs that fit in these facility MW.")] = None,
    cap: Annotated[int | None, typer.Option(help="The GPUs' power cap, watts (default: their TDP).")] = None,
    price: Annotated[str | None, typer.Option(help="$/GPU-hour (default: agreement, else rate card).")] = None,
    take_or_pay: Annotated[bool | None, typer.Option(help="Reserved: bill the commitment used or not.")] = None,
    notice_days: Annotated[int | None, typer.Option(help="Termination notice, days.")] = None,
    sla: Annotated[str | None, typer.Option(help="Monthly uptime commitment, e.g. 0.99.")] = None,
    overage_price: Annotated[str | None, typer.Option(help="Reserved: $/GPU-hour above the commitment.")] = None,
    preemption_notice: Annotated[int | None, typer.Option(help="Spot: preemption notice, seconds.")] = None,
    energy: Annotated[
        str | None, typer.Option(help="bundled (in the price, default) or pass-through (kWh at the site's $/MWh).")
    ] = None,
    json: Json = False,
) -> None:
    """Sign a contract. Reserved and internal contracts book their GPUs in the ledger, or are refused.

    Terms not given come from the tenant's price agreement for the pool and kind, else from the rate card
    (against a server, only operator keys may give terms)."""

    def sign(api: Client) -> Any:
        from neocloud.bootstrap import wall_clock

        start_s, end_s = _window(start, end, term, wall_clock())
        return api.contracts.sign(
            tenant=tenant,
            kind=kind,
            pool=pool,
            start=start_s,
            end=end_s,
            gpus=gpus,
            mw=mw,
            cap_w=cap,
            price_per_gpu_hour=price,
            take_or_pay=take_or_pay,
            termination_notice_days=notice_days,
            sla_uptime=sla,
            overage_per_gpu_hour=overage_price,
            preemption_notice_s=preemption_notice,
            energy=energy,
        )

    answer(ctx, json, sign, shown_as("contract signed"), names=True)


def _window(start: str, end: str, term: str | None, now: int) -> tuple[int, int]:
    start_s = parse_time(start, now)
    if term is not None:
        return start_s, after(start_s, term)
    if end:
        return start_s, parse_end(end, start_s, now)
    raise InvalidInput("give --end or --term")


@contract_app.command("quote")
def contract_quote(
    ctx: typer.Context,
    pool: Annotated[str, typer.Option(help="Pool, e.g. colossus-1/h100-sxm.")],
    start: Annotated[str, typer.Option(help="now, +7d, Unix seconds or ISO date (UTC).")] = "now",
    end: Annotated[str, typer.Option(help="Same forms as --start; +TERM counts from the start.")] = "",
    term: Annotated[str | None, typer.Option(help="Length instead of --end: 30d, 6mo, 3y (calendar).")] = None,
    kind: Annotated[str, typer.Option(help=KINDS)] = "reserved",
    gpus: Annotated[int, typer.Option(help="GPUs (reserved, internal).")] = 0,
    tenant: Annotated[str | None, typer.Option(help="Tenant id or name (operators; a tenant key: its own).")] = None,
    mw: Annotated[str | None, typer.Option(help="Instead of --gpus: the GPUs that fit in these facility MW.")] = None,
    cap: Annotated[int | None, typer.Option(help="The GPUs' power cap, watts (default: their TDP).")] = None,
    json: Json = False,
) -> None:
    """What signing would cost and whether it fits now: the price the tenant signs at, a take-or-pay
    reservation's whole price, GPUs free over the window and the earliest start that fits. Signs nothing."""

    def ask(api: Client) -> Any:
        from neocloud.bootstrap import wall_clock

        start_s, end_s = _window(start, end, term, wall_clock())
        return api.contracts.quote(pool, start_s, end_s, kind=kind, gpus=gpus, tenant=tenant, cap_w=cap, mw=mw)

    def show(q: Any, _: dict[str, str]) -> None:
        earliest = (
            "never (more than the pool or its power holds)" if q.earliest_start is None else show_time(q.earliest_start)
        )
        capped = "" if q.cap_w is None else f" capped to {q.cap_w:,} W"
        table(
            f"quote: {q.gpus:,} GPUs{capped} {q.kind}, {q.pool}",
            ["start", "end", "$/GPU-hour", "commitment", "free GPUs", "earliest start"],
            [
                (
                    show_time(q.start),
                    show_time(q.end),
                    q.price_per_gpu_hour,
                    "billed by use" if q.commitment is None else f"${Decimal(q.commitment):,}",
                    f"{q.free:,}",
                    earliest if q.kind in ("reserved", "internal") else "",
                )
            ],
        )

    answer(ctx, json, ask, show)


owned_list(
    contract_app,
    "List contracts, by start.",
    lambda api: api.contracts.list,
    lambda contracts, shown: table("contracts", COLUMNS, rows(contracts, shown)),
)


def shown_as(title: str) -> Render:
    return lambda contract, shown: table(title, COLUMNS, rows([contract], shown))


@contract_app.command("cancel")
def contract_cancel(ctx: typer.Context, contract_id: str, json: Json = False) -> None:
    """Cancel a contract; its GPUs go back when the termination notice runs out."""
    answer(ctx, json, lambda api: api.contracts.cancel(contract_id), shown_as("contract cancelled"), names=True)


@contract_app.command("nodes")
def contract_nodes(ctx: typer.Context, contract_id: str, json: Json = False) -> None:
    """A reservation's own nodes, span by span: given at its start, replaced when one fails, given back at its end."""

    def render(spans: list[Any], _: Any) -> None:
        rows = [
            (
                a.node,
                show_time(a.since),
                "" if a.until is None else show_time(a.until),
                "" if a.down_since is None else f"down since {show_time(a.down_since)}",
            )
            for a in spans
        ]
        table(f"nodes of {contract_id}", ["node", "since", "until", "note"], rows)

    answer(ctx, json, lambda api: api.contracts.nodes(contract_id), render)


@contract_app.command("extend")
def contract_extend(
    ctx: typer.Context,
    contract_id: str,
    end: Annotated[str, typer.Option(help="New end: ISO date, Unix seconds or +DURATION.")],
    json: Json = False,
) -> None:
    """Extend a contract's term; refused if its GPUs are not free for the extra time."""

    def extend(api: Client) -> Any:
        from neocloud.bootstrap import wall_clock

        current = api.contracts.get(contract_id)
        return api.contracts.extend(contract_id, parse_end(end, current.end, wall_clock()))

    answer(ctx, json, extend, shown_as("contract extended"), names=True)


@contract_app.command("terms")
def contract_terms(
    ctx: typer.Context,
    contract_id: str,
    minimum: Annotated[str, typer.Option(help="Minimum spend per month, USD.")] = "0",
    prepaid: Annotated[str, typer.Option(help="Prepaid balance to draw down, USD.")] = "0",
    json: Json = False,
) -> None:
    """Set a contract's money terms: a monthly minimum and a prepaid balance."""
    with connect(ctx, json) as api:
        from neocloud.core.bounds import MAX_MONEY, parse_decimal

        low = parse_decimal(minimum, "--minimum", high=MAX_MONEY, places=2)
        ahead = parse_decimal(prepaid, "--prepaid", high=MAX_MONEY, places=2)
        terms = api.contracts.set_terms(contract_id, low, ahead)
    if json:
        emit_json(terms)
    else:
        out().print(
            f"contract {contract_id}: minimum ${Decimal(terms.minimum_per_period):,}/month, "
            f"prepaid ${Decimal(terms.prepaid_balance):,}"
        )
