"""`neocloud agreement` and `neocloud limit`: the terms an operator agrees with a tenant, and the quotas and
credit limit that bite on what the tenant may start."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

import typer

from neocloud.app import commercial, credit, listings, services
from neocloud.app.pages import Page
from neocloud.app.views import agreement_view, limits_view, plain
from neocloud.cli.context import command
from neocloud.cli.output import console, emit_json, emit_page, more, reported, table
from neocloud.cli.paging import DEFAULT_LIMIT, Cursor, Every, Limit, collect, remote_page
from neocloud.cli.remote import remote
from neocloud.core.bounds import MAX_MONEY, parse_decimal
from neocloud.core.contracts import ContractKind, Limits, Terms
from neocloud.core.errors import InvalidInput

agreement_app = typer.Typer(help="Terms agreed with a tenant for a pool and kind of contract.", no_args_is_help=True)
limit_app = typer.Typer(help="Quotas and credit limits per tenant.", no_args_is_help=True)
Json = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]
Tenant = Annotated[str, typer.Option(help="Tenant id or name.")]
Kind = Annotated[ContractKind, typer.Option(help="reserved | on-demand | spot | internal")]


def _rate(text: str | None, what: str, high: Decimal = Decimal(1_000_000)) -> Decimal | None:
    return None if text is None else parse_decimal(text, what, high=high)


@agreement_app.command("set")
def agreement_set(
    tenant: Tenant,
    pool: Annotated[str, typer.Option(help="Pool, e.g. colossus-1/h100-sxm.")],
    kind: Kind = ContractKind.RESERVED,
    price: Annotated[str | None, typer.Option(help="$/GPU-hour (default: the rate card's).")] = None,
    overage_price: Annotated[str | None, typer.Option(help="Reserved: $/GPU-hour above the commitment.")] = None,
    take_or_pay: Annotated[bool, typer.Option(help="Reserved: bill the commitment used or not.")] = True,
    notice_days: Annotated[int, typer.Option(help="Termination notice, days.")] = 0,
    sla: Annotated[str | None, typer.Option(help="Monthly uptime commitment, e.g. 0.99.")] = None,
    preemption_notice: Annotated[int, typer.Option(help="Spot: preemption notice, seconds.")] = 0,
    json: Json = False,
) -> None:
    """Agree terms with a tenant: its signings on this pool and kind get them instead of the rate card's (no
    price below the floor of the pool's GPU model). Replaces an earlier agreement there."""
    with reported(json):
        terms = Terms(
            price_per_gpu_hour=_rate(price, "--price"),
            overage_per_gpu_hour=_rate(overage_price, "--overage-price"),
            take_or_pay=take_or_pay,
            termination_notice_days=notice_days,
            sla_uptime=_rate(sla, "--sla", Decimal(1)),
            preemption_notice_s=preemption_notice,
        )
        api = remote()
        if api is not None:
            body = {"tenant": tenant, "pool": pool, "kind": kind.value, **plain(terms)}
            view = api.call("PUT", "/agreements", json={k: v for k, v in body.items() if v is not None})
        else:
            with command(json) as ctx, ctx.uow() as uow:
                view = agreement_view(commercial.set_agreement(uow, tenant, pool, kind, terms, ctx.catalog))
        if json:
            emit_json(view)
        else:
            _table("agreement set", [view])


@agreement_app.command("list")
def agreement_list(
    tenant: Annotated[str | None, typer.Option(help="Only this tenant (id or name).")] = None,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
    every: Every = False,
    json: Json = False,
) -> None:
    """Price agreements, by tenant, pool and kind."""
    with reported(json):
        api = remote()
        if api is not None:
            page = collect(remote_page(api, "/agreements", {"tenant": tenant}, dict), cursor, limit, every)
        else:
            with command(json) as ctx, ctx.uow() as uow:
                tenant_id = services.get_tenant(uow, tenant).id if tenant else None
                stored = collect(
                    lambda c, n: listings.AGREEMENTS.fetch(
                        c, n, lambda a, k: uow.list_agreements(tenant_id, after=a, limit=k)
                    ),
                    cursor,
                    limit,
                    every,
                )
                page = Page([agreement_view(a) for a in stored.items], stored.next_cursor)
        if json:
            emit_page(page.items, page.next_cursor)
        else:
            _table("price agreements", page.items)
            more(page.next_cursor, json)


@agreement_app.command("end")
def agreement_end(tenant: Tenant, pool: Annotated[str, typer.Option()], kind: Kind = ContractKind.RESERVED) -> None:
    """End an agreement: the tenant signs at the rate card again (signed contracts keep their terms)."""
    with reported(False):
        api = remote()
        if api is not None:
            api.call("DELETE", "/agreements", params={"tenant": tenant, "pool": pool, "kind": kind.value})
        else:
            with command(False) as ctx, ctx.uow() as uow:
                commercial.end_agreement(uow, tenant, pool, kind)
        console.print(f"{kind} agreement with {tenant} on {pool} ended")


def _table(title: str, views: list[dict[str, Any]]) -> None:
    table(
        title,
        ["tenant", "pool", "kind", "$/GPU-h", "overage", "take-or-pay", "notice days", "SLA", "preemption s"],
        [
            (
                v["tenant_id"],
                v["pool"],
                v["kind"],
                v["price_per_gpu_hour"] or "rate card",
                v["overage_per_gpu_hour"] or "",
                "yes" if v["take_or_pay"] else "no",
                v["termination_notice_days"],
                v["sla_uptime"] or "",
                v["preemption_notice_s"],
            )
            for v in views
        ],
    )


# Limits --------------------------------------------------------------------------------------------------


@limit_app.command("show")
def limit_show(tenant: Tenant, json: Json = False) -> None:
    """A tenant's quotas, credit limit and exposure now (owed or committed, not yet invoiced)."""
    with reported(json):
        api = remote()
        if api is not None:
            view = api.call("GET", f"/tenants/{tenant}/limits")
        else:
            with command(json) as ctx, ctx.uow() as uow:
                tenant_id = services.get_tenant(uow, tenant).id
                view = _limits(uow, commercial.limits_of(uow, tenant_id), ctx)
        _show_limits(view, json)


@limit_app.command("credit")
def limit_credit(
    tenant: Tenant,
    usd: Annotated[str | None, typer.Option(help="Exposure allowed, USD.")] = None,
    none: Annotated[bool, typer.Option("--none", help="No credit limit.")] = False,
    json: Json = False,
) -> None:
    """Set a tenant's credit limit: beyond it, new contracts and work are refused."""
    with reported(json):
        if (usd is None) == (not none):
            raise InvalidInput("give --usd AMOUNT or --none")
        amount = None if usd is None else parse_decimal(usd, "--usd", high=MAX_MONEY, places=2)
        api = remote()
        if api is not None:
            view = api.call("PUT", f"/tenants/{tenant}/credit-limit", json={"usd": plain(amount)})
        else:
            with command(json) as ctx, ctx.uow() as uow:
                view = _limits(uow, commercial.set_credit_limit(uow, tenant, amount), ctx)
        _show_limits(view, json)


@limit_app.command("quota")
def limit_quota(
    tenant: Tenant,
    pool: Annotated[str, typer.Option(help="Pool, e.g. colossus-1/h100-sxm.")],
    gpus: Annotated[int | None, typer.Option(help="GPUs beyond the tenant's reservations.")] = None,
    default: Annotated[bool, typer.Option("--default", help="Back to the operator's default quota.")] = False,
    json: Json = False,
) -> None:
    """Set how many GPUs a tenant's work may use in a pool beyond what its reservations hold."""
    with reported(json):
        if (gpus is None) == (not default):
            raise InvalidInput("give --gpus N or --default")
        api = remote()
        if api is not None:
            view = api.call("PUT", f"/tenants/{tenant}/quotas", json={"pool": pool, "gpus": gpus})
        else:
            with command(json) as ctx, ctx.uow() as uow:
                view = _limits(uow, commercial.set_quota(uow, tenant, pool, gpus), ctx)
        _show_limits(view, json)


def _limits(uow: Any, limits: Limits, ctx: Any) -> dict[str, Any]:
    return limits_view(limits, credit.exposure(uow, limits.tenant_id, ctx.now()), ctx.settings.default_quota_gpus)


def _show_limits(view: dict[str, Any], json: bool) -> None:
    if json:
        emit_json(view)
        return
    limit = "none" if view["credit_limit"] is None else f"${Decimal(view['credit_limit']):,}"
    default = "none" if view["default_quota"] is None else f"{view['default_quota']:,} GPUs"
    console.print(
        f"{view['tenant_id']}: exposure ${Decimal(view['exposure']):,} of credit limit {limit}; "
        f"quota beyond reservations {default} per pool unless set below"
    )
    if view["quotas"]:
        table("quotas", ["pool", "GPUs beyond reservations"], [(p, f"{g:,}") for p, g in view["quotas"].items()])
