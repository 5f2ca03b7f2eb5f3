"""Usage, invoices, incidents and the operator's revenue views."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response

from neocloud.adapters import invoice_export
from neocloud.api import schemas
from neocloud.api.deps import (
    Ctx,
    Cursor,
    Limit,
    Operator,
    OperatorOnce,
    TenantParam,
    Who,
    owned,
    paged,
    tenant_scope,
)
from neocloud.app import billing, listings, services
from neocloud.app.views import bill_view, invoice_view, plain
from neocloud.core import bounds
from neocloud.core.billing.periods import month
from neocloud.core.errors import InvalidInput, NotFound, quoted

router = APIRouter(tags=["billing"])
PeriodQuery = Annotated[str, Query(pattern=bounds.PERIOD, examples=["2027-04"])]
InvoiceId = Annotated[str, Path(max_length=bounds.MAX_ID, pattern=bounds.ID)]
PoolsQuery = Annotated[list[Annotated[str, Query(max_length=200, pattern=bounds.ID)]] | None, Query(max_length=100)]


@router.post("/usage", status_code=201, response_model=schemas.UsageAdded)
def add_usage(body: schemas.UsageIn, ctx: Ctx, who: Operator) -> dict[str, int]:
    """Record runs (operator): each run once, whatever is sent again; all of them, or none if any is refused."""
    with ctx.uow() as uow:
        records = [
            billing.run_record(uow, r.contract_id, r.job, r.milli_gpus, r.start, r.end, r.preempted)
            for r in body.records
        ]
        added = billing.ingest_usage(uow, records)
    return {"rows": len(records), "added": len(added)}


@router.get("/usage", response_model=schemas.Page[schemas.UsageOut])
def usage(
    period: PeriodQuery, ctx: Ctx, who: Who, tenant: TenantParam = None, cursor: Cursor = None, limit: Limit = 100
) -> dict[str, Any]:
    """Usage records overlapping a month, by start."""
    span = month(period)
    with ctx.uow() as uow:
        scope = tenant_scope(uow, who, tenant)
        page = listings.USAGE.fetch(
            cursor, limit, lambda a, n: uow.billing.usage_between(span.start, span.end, scope, after=a, limit=n)
        )
    return paged(page)


@router.get("/bill", response_model=schemas.BillOut)
def running_bill(ctx: Ctx, who: Who, tenant: TenantParam = None) -> dict[str, Any]:
    """Usage and cost to date this month (runs still going count up to now), before the invoice. Operators
    name the tenant."""
    with ctx.reader() as uow:
        scope = tenant_scope(uow, who, tenant)
        if scope is None:
            raise InvalidInput("operators must name the tenant whose bill to show", field="tenant")
        return bill_view(billing.bill_to_date(uow, ctx.catalog, scope, ctx.now()))


@router.get("/invoices", response_model=schemas.Page[schemas.InvoiceOut])
def list_invoices(
    ctx: Ctx, who: Who, tenant: TenantParam = None, cursor: Cursor = None, limit: Limit = 100
) -> dict[str, Any]:
    with ctx.uow() as uow:
        scope = tenant_scope(uow, who, tenant)
        page = listings.INVOICES.fetch(cursor, limit, lambda a, n: uow.billing.list_invoices(scope, after=a, limit=n))
    return paged(page, invoice_view)


def _invoice(ctx: Any, who: Any, invoice_id: str) -> tuple[Any, str]:
    with ctx.uow() as uow:
        invoice = billing.get_invoice(uow, invoice_id)
        owned(who, invoice.tenant_id, NotFound(f"unknown invoice {quoted(invoice_id)}", invoice=invoice_id))
        return invoice, services.get_tenant(uow, invoice.tenant_id).name


@router.get("/invoices/{invoice_id}", response_model=schemas.InvoiceOut)
def show_invoice(invoice_id: InvoiceId, ctx: Ctx, who: Who) -> Any:
    return invoice_view(_invoice(ctx, who, invoice_id)[0])


@router.get(
    "/invoices/{invoice_id}/export",
    response_class=Response,
    responses={
        200: {
            "content": {
                media: {"schema": {"type": "object" if media == "application/json" else "string"}}
                for media in invoice_export.FORMATS.values()
            }
        }
    },
)
def export_invoice(
    invoice_id: InvoiceId, ctx: Ctx, who: Who, format: Annotated[str, Query(pattern="^(json|csv|html)$")] = "html"
) -> Response:
    """The invoice as JSON, CSV or a printable HTML page."""
    invoice, tenant = _invoice(ctx, who, invoice_id)
    text, media = invoice_export.render(invoice, format, tenant)
    return Response(text, media_type=media)


@router.post("/invoices", status_code=201, response_model=schemas.InvoiceOut)
async def issue_invoice(body: schemas.InvoiceIn, ctx: Ctx, once: OperatorOnce) -> Response:
    """Rate an ended month for a tenant and issue its invoice (operator); the month then closes to changes."""
    return await once(
        lambda uow: invoice_view(
            billing.generate_invoice(uow, ctx.catalog, body.tenant, body.period, ctx.now(), ctx.new_id)
        )
    )


@router.post("/incidents", status_code=201, response_model=schemas.IncidentOut)
async def add_incident(body: schemas.IncidentIn, ctx: Ctx, once: OperatorOnce) -> Response:
    """Record GPUs out of service by failure: they count against SLA availability."""
    return await once(
        lambda uow: billing.record_incident(
            uow,
            body.pool,
            body.start,
            body.end,
            ctx.new_id,
            gpus=body.gpus,
            contract_id=body.contract_id,
            description=body.description,
        ),
    )


@router.get("/incidents", response_model=schemas.Page[schemas.IncidentOut])
def incidents(
    period: PeriodQuery, ctx: Ctx, who: Operator, pool: PoolsQuery = None, cursor: Cursor = None, limit: Limit = 100
) -> dict[str, Any]:
    """Incidents overlapping a month, on the given pools (default: all), by start (operator)."""
    span = month(period)
    with ctx.uow() as uow:
        pools = pool or [p.name for p in uow.fleet.list_pools()]
        page = listings.INCIDENTS.fetch(
            cursor, limit, lambda a, n: uow.billing.list_incidents(pools, span.start, span.end, after=a, limit=n)
        )
    return paged(page)


@router.get("/revenue", response_model=schemas.Page[schemas.RevenueRowOut])
def revenue(
    ctx: Ctx,
    who: Operator,
    period: Annotated[str | None, Query(pattern=bounds.PERIOD, examples=["2027-04"])] = None,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> dict[str, Any]:
    """Invoiced revenue by period, tenant, contract and pool (operator)."""
    with ctx.uow() as uow:
        return paged(listings.REVENUE.of(cursor, limit, billing.revenue(uow, period)))


@router.get("/availability", response_model=schemas.Page[schemas.AvailabilityOut])
def sla_availability(
    period: PeriodQuery, ctx: Ctx, who: Operator, cursor: Cursor = None, limit: Limit = 100
) -> dict[str, Any]:
    """Each contract with an SLA in a month: its measured availability (to now, in the current month) against
    the uptime it promises (operator)."""
    with ctx.reader() as uow:
        rows = billing.sla_availability(uow, period, ctx.now())
    return paged(listings.AVAILABILITY.of(cursor, limit, rows), lambda a: {**plain(a), "met": a.met})


@router.get("/revenue/capacity", response_model=schemas.Page[schemas.CapacityUseOut])
def capacity_use(period: PeriodQuery, ctx: Ctx, who: Operator, cursor: Cursor = None, limit: Limit = 100) -> Any:
    """Sold versus used reserved GPU-hours of a month per contract, and what the idle part would fetch as spot
    (operator)."""
    with ctx.uow() as uow:
        use = billing.sold_versus_used(uow, period, billing.spot_prices(uow, ctx.catalog))
    return paged(listings.CAPACITY_USE.of(cursor, limit, use), plain)
