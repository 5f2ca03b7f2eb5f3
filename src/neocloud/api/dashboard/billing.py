"""The dashboard's money pages. The operator: revenue by month, tenant and pool, SLA availability and the
month's incidents. A tenant: its running bill (this month to now) and its invoices, to view and download."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from neocloud import bootstrap
from neocloud.adapters import invoice_export
from neocloud.api import charts
from neocloud.api.dashboard.common import ROWS, signed_in, signed_page, to_sign_in
from neocloud.app import billing, services
from neocloud.app.auth import Principal
from neocloud.app.ports import UnitOfWork
from neocloud.core import bounds
from neocloud.core.billing.periods import month, month_of
from neocloud.core.errors import NeocloudError, NotFound, quoted

router = APIRouter(include_in_schema=False)
InvoiceId = Annotated[str, Path(max_length=bounds.MAX_ID, pattern=bounds.ID)]
MONTHS = 24  # months the revenue chart shows at most, the latest


@router.get("/billing")
def billing_page(
    request: Request, period: Annotated[str | None, Query(pattern=bounds.PERIOD, max_length=7)] = None
) -> Response:
    def gather(uow: UnitOfWork, who: Principal, ctx: bootstrap.Context, now: int) -> dict[str, Any]:
        if not who.is_operator:
            assert who.tenant_id is not None
            bill = billing.bill_to_date(uow, ctx.catalog, who.tenant_id, now)
            invoices = uow.billing.list_invoices(who.tenant_id)[-ROWS:][::-1]
            return {"bill": bill, "invoices": invoices}
        key = period or month_of(now).key
        span = month(key)
        by_month: dict[str, Decimal] = defaultdict(Decimal)
        by_tenant: dict[str, Decimal] = defaultdict(Decimal)
        by_pool: dict[str, Decimal] = defaultdict(Decimal)
        for month_key, tenant_id, total in uow.billing.invoiced_totals():  # totals as issued: no lines read
            by_month[month_key] += total
            if month_key == key:
                by_tenant[tenant_id] += total
        for r in billing.revenue(uow, key):  # the month's lines, for its pools
            by_pool[r.pool] += r.amount
        months = sorted(by_month)[-MONTHS:]
        pools = [p.name for p in uow.fleet.list_pools()]
        return {
            "period": key,
            "chart": charts.bar_chart(
                [(m, by_month[m]) for m in months], "Invoiced revenue by month, US dollars", highlight=key
            ),
            "by_tenant": sorted(by_tenant.items(), key=lambda kv: -kv[1]),
            "by_pool": sorted(by_pool.items(), key=lambda kv: -kv[1]),
            "names": {t.id: t.name for t in uow.tenants.page()},
            "availability": billing.sla_availability(uow, key, now),
            "use": billing.sold_versus_used(uow, key, billing.spot_prices(uow, ctx.catalog))[:ROWS],
            "incidents": uow.billing.list_incidents(pools, span.start, span.end, limit=ROWS),
        }

    return signed_page(request, "billing.html", gather)


@router.get("/billing/invoices/{invoice_id}")
def invoice_page(request: Request, invoice_id: InvoiceId) -> Response:
    def gather(uow: UnitOfWork, who: Principal, ctx: bootstrap.Context, now: int) -> dict[str, Any]:
        invoice, tenant = _visible_invoice(uow, who, invoice_id)
        return {"invoice": invoice, "tenant": tenant}

    return signed_page(request, "invoice.html", gather)


@router.get("/billing/invoices/{invoice_id}/download")
def invoice_download(
    request: Request, invoice_id: InvoiceId, format: Annotated[str, Query(pattern="^(csv|html|json)$")] = "csv"
) -> Response:
    """The invoice as a file (the API's export), for the signed-in caller if it may see it."""
    signed = signed_in(request)
    if signed is None:
        return to_sign_in()
    ctx = request.app.state.ctx
    try:
        with ctx.reader() as uow:
            invoice, tenant = _visible_invoice(uow, signed[0], invoice_id)
    except NeocloudError:  # whatever the reason, show the same page: a tenant learns nothing of others'
        return signed_page(request, "error.html", _unknown(invoice_id), 404)
    text, media = invoice_export.render(invoice, format, tenant)
    name = f"{invoice.id}-{invoice.period}.{format}"
    return Response(
        text,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
    )


def _visible_invoice(uow: UnitOfWork, who: Principal, invoice_id: str) -> tuple[Any, str]:
    """The invoice and its tenant's name; another tenant's is as unknown as one that does not exist."""
    invoice = uow.billing.get_invoice(invoice_id)
    if invoice is None or not (who.is_operator or invoice.tenant_id == who.tenant_id):
        raise NotFound(f"unknown invoice {quoted(invoice_id)}", invoice=invoice_id)
    return invoice, services.get_tenant(uow, invoice.tenant_id).name


def _unknown(invoice_id: str) -> Any:
    def gather(uow: UnitOfWork, who: Principal, ctx: bootstrap.Context, now: int) -> dict[str, Any]:
        return {"message": f"unknown invoice {quoted(invoice_id)}"}

    return gather
