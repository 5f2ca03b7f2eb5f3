"""`neocloud agreement` and `neocloud limit`: the terms an operator agrees with a tenant, and the quotas and
credit limit that bite on what the tenant may start."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any

import typer

from neocloud.cli.answers import answer, owned_list
from neocloud.cli.args import Json, Tenant, group
from neocloud.cli.context import connect
from neocloud.cli.output import out, table
from neocloud.cli.tree import help_of
from neocloud.core.errors import InvalidInput

if TYPE_CHECKING:
    from neocloud.client import Client

agreement_app = group(help=help_of("agreement"))
limit_app = group(help=help_of("limit"))
Kind = Annotated[str, typer.Option(help="reserved | on-demand | spot | internal")]
Pool = Annotated[str, typer.Option(help="Pool, e.g. colossus-1/h100-sxm.")]


@agreement_app.command("set")
def agreement_set(
    ctx: typer.Context,
    tenant: Tenant,
    pool: Pool,
    kind: Kind = "reserved",
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
    answer(
        ctx,
        json,
        lambda api: api.agreements.set(
            tenant=tenant,
            pool=pool,
            kind=kind,
            price_per_gpu_hour=price,
            overage_per_gpu_hour=overage_price,
            take_or_pay=take_or_pay,
            termination_notice_days=notice_days,
            sla_uptime=sla,
            preemption_notice_s=preemption_notice,
        ),
        lambda agreement, shown: _table("agreement set", [agreement], shown),
        names=True,
    )


owned_list(
    agreement_app,
    "Price agreements, by tenant, pool and kind.",
    lambda api: api.agreements.list,
    lambda agreements, shown: _table("price agreements", agreements, shown),
)


@agreement_app.command("end")
def agreement_end(ctx: typer.Context, tenant: Tenant, pool: Pool, kind: Kind = "reserved") -> None:
    """End an agreement: the tenant signs at the rate card again (signed contracts keep their terms)."""
    with connect(ctx, False) as api:
        api.agreements.end(tenant, pool, kind)
    out().print(f"{kind} agreement with {tenant} on {pool} ended")


def _table(title: str, agreements: list[Any], tenants: dict[str, str]) -> None:
    table(
        title,
        ["tenant", "pool", "kind", "$/GPU-h", "overage", "take-or-pay", "notice days", "SLA", "preemption s"],
        [
            (
                tenants.get(a.tenant_id, a.tenant_id),
                a.pool,
                a.kind.value,
                a.price_per_gpu_hour or "rate card",
                a.overage_per_gpu_hour or "",
                "yes" if a.take_or_pay else "no",
                a.termination_notice_days,
                a.sla_uptime or "",
                a.preemption_notice_s,
            )
            for a in agreements
        ],
    )


@limit_app.command("show")
def limit_show(ctx: typer.Context, tenant: Tenant, json: Json = False) -> None:
    """A tenant's quotas, credit limit and exposure now (owed or committed, not yet invoiced)."""
    answer(ctx, json, lambda api: api.limits.get(tenant), lambda limits, _: _show(limits, tenant))


@limit_app.command("credit")
def limit_credit(
    ctx: typer.Context,
    tenant: Tenant,
    usd: Annotated[str | None, typer.Option(help="Exposure allowed, USD.")] = None,
    none: Annotated[bool, typer.Option("--none", help="No credit limit.")] = False,
    json: Json = False,
) -> None:
    """Set a tenant's credit limit: beyond it, new contracts and work are refused."""

    def set_credit(api: Client) -> Any:
        from neocloud.core.bounds import MAX_MONEY, parse_decimal

        if (usd is None) == (not none):
            raise InvalidInput("give --usd AMOUNT or --none")
        amount = None if usd is None else parse_decimal(usd, "--usd", high=MAX_MONEY, places=2)
        return api.limits.set_credit(tenant, amount)

    answer(ctx, json, set_credit, lambda limits, _: _show(limits, tenant))


@limit_app.command("quota")
def limit_quota(
    ctx: typer.Context,
    tenant: Tenant,
    pool: Pool,
    gpus: Annotated[int | None, typer.Option(help="GPUs beyond the tenant's reservations.")] = None,
    default: Annotated[bool, typer.Option("--default", help="Back to the operator's default quota.")] = False,
    json: Json = False,
) -> None:
    """Set how many GPUs a tenant's work may use in a pool beyond what its reservations hold."""

    def set_quota(api: Client) -> Any:
        if (gpus is None) == (not default):
            raise InvalidInput("give --gpus N or --default")
        return api.limits.set_quota(tenant, pool, gpus)

    answer(ctx, json, set_quota, lambda limits, _: _show(limits, tenant))


def _show(limits: Any, tenant: str) -> None:
    credit = "none" if limits.credit_limit is None else f"${Decimal(limits.credit_limit):,}"
    default = "none" if limits.default_quota is None else f"{limits.default_quota:,} GPUs"
    out().print(
        f"{tenant}: exposure ${Decimal(limits.exposure):,} of credit limit {credit}; "
        f"quota beyond reservations {default} per pool unless set below"
    )
    if limits.quotas:
        table("quotas", ["pool", "GPUs beyond reservations"], [(p, f"{g:,}") for p, g in limits.quotas.items()])
