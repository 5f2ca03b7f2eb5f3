"""The /v1 endpoints. Each opens one unit of work, calls a use case, and returns plain JSON.

Tenants see only their own contracts, usage and invoices (another tenant's answer 404, as if they did not
exist); fleet, pools and capacity quotes are readable by every key; tenants and keys are the operator's.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, generate_latest
from sqlalchemy import text

from neocloud import bootstrap
from neocloud.adapters import invoice_export
from neocloud.adapters.store.uow import SqlUnitOfWork
from neocloud.api import schemas
from neocloud.api.app import context, fingerprint_of, idempotent, operator, principal
from neocloud.app import auth, billing, live, services
from neocloud.app.signing import SigningDesk, SignRequest
from neocloud.app.views import invoice_view, plain, workload_view
from neocloud.core.billing.periods import month
from neocloud.core.contracts import Contract
from neocloud.core.errors import InvalidInput, NotFound, UnknownContract

router = APIRouter(
    prefix="/v1",
    responses={
        400: {"model": schemas.ErrorOut},
        401: {"model": schemas.ErrorOut},
        403: {"model": schemas.ErrorOut},
        404: {"model": schemas.ErrorOut},
        409: {"model": schemas.ErrorOut},
        422: {"model": schemas.ErrorOut},
    },
)
CONTRACTS_SIGNED = Counter("neocloud_contracts_signed_total", "Contracts signed through the API")
Ctx = Depends(context)
Who = Depends(principal)
Operator = Depends(operator)
IdempotencyKey = Header(None, alias="Idempotency-Key", description="Retry-safe key for creating requests")


def _decimal(value: str | None, field: str) -> Decimal | None:
    if value is None:
        return None
    try:
        return Decimal(value)
    except InvalidOperation:
        raise InvalidInput(f"{field} must be a decimal number, got {value!r}", field=field) from None


def _visible(contract: Contract, who: auth.Principal) -> Contract:
    if not who.is_operator and contract.tenant_id != who.tenant_id:
        raise UnknownContract(f"unknown contract {contract.id!r}", contract=contract.id)
    return contract


def _tenant_scope(who: auth.Principal, tenant: str | None, uow: Any) -> str | None:
    """The tenant a request is about: a tenant key's own; an operator's choice (None = all)."""
    if not who.is_operator:
        return who.tenant_id
    return services.get_tenant(uow, tenant).id if tenant else None


@router.get("/health", response_model=schemas.Health, tags=["system"])
def health() -> dict[str, str]:
    """Liveness: the process answers."""
    return {"status": "ok"}


@router.get("/ready", response_model=schemas.Health, tags=["system"])
def ready(ctx: bootstrap.Context = Ctx) -> dict[str, str]:
    """Readiness: the store answers."""
    with ctx.engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    return {"status": "ready"}


@router.get("/metrics", response_class=PlainTextResponse, tags=["system"])
def metrics() -> Response:
    """Prometheus metrics."""
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


# Fleet and capacity ------------------------------------------------------------------------------------


@router.get("/sites", tags=["fleet"])
def sites(ctx: bootstrap.Context = Ctx, who: auth.Principal = Who) -> list[dict[str, Any]]:
    """Sites with their power budget and GPUs."""
    with ctx.uow() as uow:
        return [
            {
                "name": s.name,
                "location": s.location,
                "gpus": s.gpus,
                "power_mw": plain(s.power_mw),
                "facility_power_mw": str(s.facility_power_mw(ctx.catalog).quantize(Decimal("0.001"))),
                "gpus_by_model": s.gpus_by_model(),
            }
            for s in uow.list_sites()
        ]


@router.get("/pools", response_model=list[schemas.PoolOut], tags=["fleet"])
def pools(ctx: bootstrap.Context = Ctx, who: auth.Principal = Who) -> list[Any]:
    """Pools: GPUs of one model at one site, as sold."""
    with ctx.uow() as uow:
        return [plain(p) for p in uow.list_pools()]


@router.get("/capacity/free", response_model=schemas.FreeOut, tags=["capacity"])
def capacity_free(
    pool: str, start: int, end: int, ctx: bootstrap.Context = Ctx, who: auth.Principal = Who
) -> JSONResponse:
    """GPUs free over the whole of [start, end)."""
    with ctx.reader() as uow:
        free = services.free_capacity(uow, pool, start, end)
    # The hottest read: return the response directly (the model above documents it; no re-validation).
    return JSONResponse({"pool": pool, "start": start, "end": end, "free": free})


@router.get("/capacity/profile", response_model=list[schemas.StepOut], tags=["capacity"])
def capacity_profile(
    pool: str, start: int, end: int, ctx: bootstrap.Context = Ctx, who: auth.Principal = Who
) -> list[dict[str, Any]]:
    """The pool's capacity step function over [start, end)."""
    with ctx.reader() as uow:
        steps = services.capacity_profile(uow, pool, start, end)
    return [
        {
            "start": s.start,
            "end": s.end,
            "installed": s.installed,
            "maintenance": s.maintenance,
            "held": s.held,
            "free": s.free,
        }
        for s in steps
    ]


@router.get("/capacity/earliest", response_model=schemas.EarliestOut, tags=["capacity"])
def capacity_earliest(
    pool: str, gpus: int, duration: int, not_before: int, ctx: bootstrap.Context = Ctx, who: auth.Principal = Who
) -> dict[str, Any]:
    """The earliest start for `gpus` GPUs during `duration` seconds, not before `not_before`."""
    with ctx.reader() as uow:
        start = services.earliest_start(uow, pool, gpus, duration, not_before)
    return {"pool": pool, "gpus": gpus, "duration": duration, "start": start, "end": start + duration}


# Contracts ---------------------------------------------------------------------------------------------


@router.post("/contracts", status_code=201, response_model=schemas.ContractOut, tags=["contracts"])
async def sign(
    body: schemas.ContractIn,
    request: Request,
    ctx: bootstrap.Context = Ctx,
    who: auth.Principal = Who,
    idempotency_key: str | None = IdempotencyKey,
) -> Response:
    """Sign a contract; reserved and internal ones book their GPUs, or the request is refused (409)."""
    if who.is_operator and not body.tenant:
        raise InvalidInput("operators must name the tenant the contract is for", field="tenant")
    tenant = body.tenant if who.is_operator else who.tenant_id
    assert tenant is not None
    req = services.ContractRequest(
        tenant=tenant,
        kind=body.kind,
        pool=body.pool,
        start=body.start,
        end=body.end,
        gpus=body.gpus,
        price_per_gpu_hour=_decimal(body.price_per_gpu_hour, "price_per_gpu_hour"),
        take_or_pay=body.take_or_pay,
        termination_notice_days=body.termination_notice_days,
        sla_uptime=_decimal(body.sla_uptime, "sla_uptime"),
        overage_per_gpu_hour=_decimal(body.overage_per_gpu_hour, "overage_per_gpu_hour"),
        preemption_notice_s=body.preemption_notice_s,
    )

    # Signed in batches with whatever else arrives meanwhile (one pool lock, one commit; app/signing.py).
    fingerprint = await fingerprint_of(request) if idempotency_key is not None else ""
    desk: SigningDesk = request.app.state.signing
    signed = await desk.sign(SignRequest(req, who.key_id, idempotency_key, fingerprint))
    if not signed.replay:
        CONTRACTS_SIGNED.inc()
    headers = {"Idempotent-Replay": "true"} if signed.replay else None
    return Response(signed.body, status_code=signed.status, media_type="application/json", headers=headers)


@router.get("/contracts", response_model=list[schemas.ContractOut], tags=["contracts"])
def list_contracts(tenant: str | None = None, ctx: bootstrap.Context = Ctx, who: auth.Principal = Who) -> list[Any]:
    """Contracts: a tenant's own; for operators, all or one tenant's."""
    with ctx.uow() as uow:
        return [plain(c) for c in uow.list_contracts(_tenant_scope(who, tenant, uow))]


@router.get("/contracts/{contract_id}", response_model=schemas.ContractOut, tags=["contracts"])
def show_contract(contract_id: str, ctx: bootstrap.Context = Ctx, who: auth.Principal = Who) -> Any:
    with ctx.uow() as uow:
        return plain(_visible(services.get_contract(uow, contract_id), who))


@router.post("/contracts/{contract_id}/cancel", response_model=schemas.ContractOut, tags=["contracts"])
def cancel_contract(contract_id: str, ctx: bootstrap.Context = Ctx, who: auth.Principal = Who) -> Any:
    """Cancel; the GPUs stay booked (and billed) until the termination notice runs out."""
    with ctx.uow() as uow:
        _visible(services.get_contract(uow, contract_id), who)
        return plain(services.cancel_contract(uow, contract_id, ctx.now()))


@router.post("/contracts/{contract_id}/extend", response_model=schemas.ContractOut, tags=["contracts"])
def extend_contract(
    contract_id: str, body: schemas.ExtendIn, ctx: bootstrap.Context = Ctx, who: auth.Principal = Who
) -> Any:
    """Extend the term; refused (409) if the GPUs are not free for the extra time."""
    with ctx.uow() as uow:
        _visible(services.get_contract(uow, contract_id), who)
        return plain(services.extend_contract(uow, contract_id, body.end))


@router.put("/contracts/{contract_id}/terms", response_model=schemas.TermsOut, tags=["contracts"])
def set_terms(
    contract_id: str, body: schemas.TermsIn, ctx: bootstrap.Context = Ctx, who: auth.Principal = Operator
) -> dict[str, Any]:
    """Money terms: a minimum spend per month and a prepaid balance (operator)."""
    minimum = _decimal(body.minimum_per_period, "minimum_per_period") or Decimal(0)
    prepaid = _decimal(body.prepaid_balance, "prepaid_balance") or Decimal(0)
    with ctx.uow() as uow:
        terms = billing.set_billing_terms(uow, contract_id, minimum, prepaid)
    return {"contract_id": contract_id, **plain(terms)}


# Maintenance and incidents (operator) ------------------------------------------------------------------


@router.post("/maintenance", status_code=201, response_model=schemas.HoldOut, tags=["fleet"])
async def add_maintenance(
    body: schemas.MaintenanceIn,
    request: Request,
    ctx: bootstrap.Context = Ctx,
    who: auth.Principal = Operator,
    idempotency_key: str | None = IdempotencyKey,
) -> Response:
    """Take GPUs out of service; refused (409) where they are already sold."""
    return await idempotent(
        request,
        who,
        ctx,
        idempotency_key,
        lambda uow: services.schedule_maintenance(uow, body.pool, body.gpus, body.start, body.end, ctx.new_id),
    )


@router.get("/holds", response_model=list[schemas.HoldOut], tags=["fleet"])
def holds(pool: str, ctx: bootstrap.Context = Ctx, who: auth.Principal = Operator) -> list[Any]:
    """Every hold on a pool: contracts' and maintenance (operator)."""
    with ctx.reader() as uow:
        return [plain(h) for h in services.list_holds(uow, pool)]


@router.post("/maintenance/{hold_id}/cancel", response_model=schemas.HoldOut, tags=["fleet"])
def cancel_maintenance(hold_id: str, pool: str, ctx: bootstrap.Context = Ctx, who: auth.Principal = Operator) -> Any:
    """Put GPUs back in service."""
    with ctx.uow() as uow:
        return plain(services.cancel_maintenance(uow, pool, hold_id))


@router.post("/incidents", status_code=201, response_model=schemas.OutageOut, tags=["billing"])
async def add_incident(
    body: schemas.IncidentIn,
    request: Request,
    ctx: bootstrap.Context = Ctx,
    who: auth.Principal = Operator,
    idempotency_key: str | None = IdempotencyKey,
) -> Response:
    """Record GPUs out of service by failure: they count against SLA availability."""
    return await idempotent(
        request,
        who,
        ctx,
        idempotency_key,
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


@router.get("/incidents", response_model=list[schemas.OutageOut], tags=["billing"])
def incidents(
    period: str = Query(pattern=r"^\d{4}-\d{2}$", examples=["2027-04"]),
    pool: list[str] | None = Query(None),
    ctx: bootstrap.Context = Ctx,
    who: auth.Principal = Operator,
) -> list[Any]:
    """Incidents overlapping a month, on the given pools (default: all)."""
    span = month(period)
    with ctx.uow() as uow:
        pools = pool or [p.name for p in uow.list_pools()]
        return [plain(o) for o in uow.incidents_between(pools, span.start, span.end)]


# Usage and invoices ------------------------------------------------------------------------------------


@router.post("/usage", status_code=201, response_model=schemas.UsageAdded, tags=["billing"])
def add_usage(body: schemas.UsageIn, ctx: bootstrap.Context = Ctx, who: auth.Principal = Operator) -> dict[str, int]:
    """Record runs (operator): each run once, whatever is sent again; all of them, or none if any is refused."""
    with ctx.uow() as uow:
        records = [
            billing.run_record(uow, r.contract_id, r.job, r.milli_gpus, r.start, r.end, r.preempted)
            for r in body.records
        ]
        added = billing.ingest_usage(uow, records)
    return {"rows": len(records), "added": len(added)}


@router.get("/revenue", response_model=schemas.RevenueOut, tags=["billing"])
def revenue(
    period: str | None = Query(None, pattern=r"^\d{4}-\d{2}$", examples=["2027-04"]),
    capacity: bool = False,
    ctx: bootstrap.Context = Ctx,
    who: auth.Principal = Operator,
) -> dict[str, Any]:
    """Invoiced revenue by period, tenant, contract and pool; with `capacity`, sold versus used reserved
    GPU-hours of `period` and what the idle part would fetch as spot (operator)."""
    with ctx.uow() as uow:
        rows = billing.revenue(uow, period)
        use = []
        if capacity:
            if period is None:
                raise InvalidInput("capacity needs a period", field="period")
            use = billing.sold_versus_used(uow, period, billing.spot_prices(uow, ctx.catalog))
    return {"revenue": plain(rows), "capacity": plain(use)}


@router.get("/usage", response_model=list[schemas.UsageOut], tags=["billing"])
def usage(
    period: str = Query(pattern=r"^\d{4}-\d{2}$", examples=["2027-04"]),
    tenant: str | None = None,
    ctx: bootstrap.Context = Ctx,
    who: auth.Principal = Who,
) -> list[Any]:
    """Usage records overlapping a month."""
    span = month(period)
    with ctx.uow() as uow:
        return [plain(r) for r in uow.usage_between(span.start, span.end, _tenant_scope(who, tenant, uow))]


@router.get("/invoices", response_model=list[schemas.InvoiceOut], tags=["billing"])
def list_invoices(tenant: str | None = None, ctx: bootstrap.Context = Ctx, who: auth.Principal = Who) -> list[Any]:
    with ctx.uow() as uow:
        return [invoice_view(i) for i in uow.list_invoices(_tenant_scope(who, tenant, uow))]


@router.get("/invoices/{invoice_id}", response_model=schemas.InvoiceOut, tags=["billing"])
def show_invoice(invoice_id: str, ctx: bootstrap.Context = Ctx, who: auth.Principal = Who) -> Any:
    with ctx.uow() as uow:
        invoice = billing.get_invoice(uow, invoice_id)
        if not who.is_operator and invoice.tenant_id != who.tenant_id:
            raise NotFound(f"unknown invoice {invoice_id!r}", invoice=invoice_id)  # as if it did not exist
        return invoice_view(invoice)


@router.get(
    "/invoices/{invoice_id}/export",
    tags=["billing"],
    response_class=Response,
    responses={200: {"content": {media: {"schema": {"type": "string"}} for media in invoice_export.FORMATS.values()}}},
)
def export_invoice(
    invoice_id: str,
    format: str = Query("html", pattern="^(json|csv|html)$"),
    ctx: bootstrap.Context = Ctx,
    who: auth.Principal = Who,
) -> Response:
    """The invoice as JSON, CSV or a printable HTML page."""
    with ctx.uow() as uow:
        invoice = billing.get_invoice(uow, invoice_id)
        if not who.is_operator and invoice.tenant_id != who.tenant_id:
            raise NotFound(f"unknown invoice {invoice_id!r}", invoice=invoice_id)
        tenant = services.get_tenant(uow, invoice.tenant_id).name
    text, media = invoice_export.render(invoice, format, tenant)
    return Response(text, media_type=media)


@router.post("/invoices", status_code=201, response_model=schemas.InvoiceOut, tags=["billing"])
async def issue_invoice(
    body: schemas.InvoiceIn,
    request: Request,
    ctx: bootstrap.Context = Ctx,
    who: auth.Principal = Operator,
    idempotency_key: str | None = IdempotencyKey,
) -> Response:
    """Rate an ended month for a tenant and issue its invoice (operator)."""
    return await idempotent(
        request,
        who,
        ctx,
        idempotency_key,
        lambda uow: invoice_view(billing.generate_invoice(uow, body.tenant, body.period, ctx.now(), ctx.new_id)),
    )


# Tenants and keys (operator) ---------------------------------------------------------------------------


@router.post("/tenants", status_code=201, response_model=schemas.TenantOut, tags=["tenants"])
async def add_tenant(
    body: schemas.TenantIn,
    request: Request,
    ctx: bootstrap.Context = Ctx,
    who: auth.Principal = Operator,
    idempotency_key: str | None = IdempotencyKey,
) -> Response:
    return await idempotent(
        request, who, ctx, idempotency_key, lambda uow: services.add_tenant(uow, body.name, body.kind, ctx.new_id)
    )


@router.get("/tenants", response_model=list[schemas.TenantOut], tags=["tenants"])
def list_tenants(ctx: bootstrap.Context = Ctx, who: auth.Principal = Operator) -> list[Any]:
    with ctx.uow() as uow:
        return [plain(t) for t in uow.list_tenants()]


@router.post("/tenants/{tenant}/keys", status_code=201, response_model=schemas.KeyOut, tags=["tenants"])
async def create_key(
    tenant: str,
    request: Request,
    ctx: bootstrap.Context = Ctx,
    who: auth.Principal = Operator,
    idempotency_key: str | None = IdempotencyKey,
) -> Response:
    """A new API key for the tenant; the secret is in this response only."""

    def create(uow: SqlUnitOfWork) -> dict[str, Any]:
        key, secret = auth.create_key(uow, ctx.now(), ctx.new_id, tenant)
        return {"id": key.id, "role": key.role, "tenant_id": key.tenant_id, "secret": secret}

    return await idempotent(request, who, ctx, idempotency_key, create)


@router.post("/keys/{key_id}/revoke", response_model=schemas.KeyOut, tags=["tenants"])
def revoke_key(
    key_id: str, request: Request, ctx: bootstrap.Context = Ctx, who: auth.Principal = Operator
) -> dict[str, Any]:
    """Revoke a key: refused from now on in this worker, within 2 s in the server's other workers."""
    with ctx.uow() as uow:
        key = auth.revoke_key(uow, key_id, ctx.now())
    request.app.state.keys.forget(key_id)
    return {"id": key.id, "role": key.role, "tenant_id": key.tenant_id, "revoked_at": key.revoked_at}


# Workloads ---------------------------------------------------------------------------------------------


@router.post("/workloads", status_code=201, response_model=schemas.WorkloadOut, tags=["workloads"])
async def submit(
    body: schemas.WorkloadIn,
    request: Request,
    ctx: bootstrap.Context = Ctx,
    who: auth.Principal = Who,
    idempotency_key: str | None = IdempotencyKey,
) -> Response:
    """Queue work under one of your contracts; the live engine places it, runs it and meters it."""
    return await idempotent(
        request,
        who,
        ctx,
        idempotency_key,
        lambda uow: workload_view(
            live.submit_workload(
                uow,
                body.contract_id,
                body.gpus_per_task,
                body.tasks,
                body.duration,
                ctx.now(),
                ctx.new_id,
                tenant_id=None if who.is_operator else who.tenant_id,
            )
        ),
    )


@router.get("/workloads", response_model=list[schemas.WorkloadOut], tags=["workloads"])
def list_workloads(tenant: str | None = None, ctx: bootstrap.Context = Ctx, who: auth.Principal = Who) -> list[Any]:
    with ctx.uow() as uow:
        return [workload_view(w) for w in uow.list_workloads(_tenant_scope(who, tenant, uow))]


@router.get("/workloads/{workload_id}", response_model=schemas.WorkloadOut, tags=["workloads"])
def showworkload_view(workload_id: str, ctx: bootstrap.Context = Ctx, who: auth.Principal = Who) -> Any:
    with ctx.uow() as uow:
        w = uow.get_workload(workload_id)
        if w is None or (not who.is_operator and w.job.tenant != who.tenant_id):
            raise NotFound(f"unknown workload {workload_id!r}", workload=workload_id)
        return workload_view(w)


@router.post("/workloads/{workload_id}/cancel", response_model=schemas.WorkloadOut, tags=["workloads"])
def cancel_workload(workload_id: str, ctx: bootstrap.Context = Ctx, who: auth.Principal = Who) -> Any:
    with ctx.uow() as uow:
        return workload_view(
            live.cancel_workload(uow, workload_id, ctx.now(), tenant_id=None if who.is_operator else who.tenant_id)
        )
