"""Contracts: signing (in batches, app/signing.py), listing, cancelling, extending, money terms."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from neocloud.api import metrics, schemas
from neocloud.api.deps import (
    REPLAY_HEADERS,
    Ctx,
    Cursor,
    IdempotencyKey,
    Limit,
    Operator,
    PoolQuery,
    TenantParam,
    TimeQuery,
    Who,
    fingerprint_of,
    owned,
    paged,
    tenant_scope,
)
from neocloud.app import auth, billing, listings, services
from neocloud.app.signing import SigningDesk, SignRequest
from neocloud.app.views import plain
from neocloud.core import bounds
from neocloud.core.contracts import Contract, ContractKind
from neocloud.core.errors import InvalidInput, UnknownContract, quoted

router = APIRouter(tags=["contracts"])
ContractId = Annotated[str, Path(max_length=bounds.MAX_ID, pattern=bounds.ID)]


def created(contract: Contract) -> tuple[int, str]:
    """How a signing is answered; the desk stores it with the contract, for the request's retries."""
    return 201, json.dumps(plain(contract))


def _visible(uow: Any, who: auth.Principal, contract_id: str) -> Contract:
    contract = services.get_contract(uow, contract_id)
    owned(who, contract.tenant_id, UnknownContract(f"unknown contract {quoted(contract_id)}", contract=contract_id))
    return contract


@router.post("/contracts", status_code=201, response_model=schemas.ContractOut)
async def sign(
    body: schemas.ContractIn, request: Request, ctx: Ctx, who: Who, idempotency_key: IdempotencyKey = None
) -> Response:
    """Sign a contract; reserved and internal ones book their GPUs, or the request is refused (409).

    Tenants sign for themselves, from now on, at the terms of their price agreement for the pool and kind or
    at the rate card: a tenant key that names terms is refused (403 `terms_not_allowed`)."""
    if who.is_operator:
        if not body.tenant:
            raise InvalidInput("operators must name the tenant the contract is for", field="tenant")
        tenant = body.tenant
    else:
        named = sorted(schemas.TERMS & body.model_fields_set)
        if named:
            raise auth.TermsNotAllowed(
                f"commercial terms are agreed with the operator, not set when signing: {', '.join(named)}",
                fields=named,
            )
        if body.tenant is not None and body.tenant != who.tenant_id:
            with ctx.uow() as uow:
                tenant_scope(uow, who, body.tenant)
        ctx.settings.policy.check_start(body.start, ctx.now())
        assert who.tenant_id is not None
        tenant = who.tenant_id
    req = services.ContractRequest(
        tenant=tenant,
        kind=body.kind,
        pool=body.pool,
        start=body.start,
        end=body.end,
        gpus=body.gpus,
        price_per_gpu_hour=body.price_per_gpu_hour,
        take_or_pay=body.take_or_pay,
        termination_notice_days=body.termination_notice_days,
        sla_uptime=body.sla_uptime,
        overage_per_gpu_hour=body.overage_per_gpu_hour,
        preemption_notice_s=body.preemption_notice_s,
        cap_w=body.cap_w,
        mw=body.mw,
        energy=body.energy,
    )
    # Signed in batches with whatever else arrives meanwhile (one pool lock, one commit; app/signing.py).
    fingerprint = await fingerprint_of(request) if idempotency_key is not None else ""
    desk: SigningDesk = request.app.state.signing
    signed = await desk.sign(SignRequest(req, who.key_id, idempotency_key, fingerprint))
    if not signed.replay:
        metrics.CONTRACTS_SIGNED.inc()
    headers = REPLAY_HEADERS if signed.replay else None
    return Response(signed.body, status_code=signed.status, media_type="application/json", headers=headers)


@router.get("/quote", response_model=schemas.QuoteOut)
def quote(
    pool: PoolQuery,
    start: TimeQuery,
    end: TimeQuery,
    ctx: Ctx,
    who: Who,
    kind: ContractKind = ContractKind.RESERVED,
    gpus: Annotated[int, Query(ge=0, le=bounds.MAX_GPUS)] = 0,
    tenant: TenantParam = None,
    cap_w: Annotated[int | None, Query(ge=1, le=bounds.MAX_CAP_W, description="Power cap per GPU, W")] = None,
    mw: Annotated[
        Decimal | None, Query(gt=0, le=bounds.MAX_MW, allow_inf_nan=False, description="Instead of gpus")
    ] = None,
) -> Any:
    """What signing would cost and whether it fits now: the price the tenant signs at, a take-or-pay
    reservation's whole price, the GPUs free over the window and the earliest start that fits. Writes
    nothing; operators name the tenant."""
    with ctx.reader() as uow:
        scope = tenant_scope(uow, who, tenant)
        if scope is None:
            raise InvalidInput("operators must name the tenant the quote is for", field="tenant")
        req = services.ContractRequest(
            tenant=scope, kind=kind, pool=pool, start=start, end=end, gpus=gpus, cap_w=cap_w, mw=mw
        )
        return plain(services.quote(uow, req, ctx.catalog))


@router.get("/contracts", response_model=schemas.Page[schemas.ContractOut])
def list_contracts(
    ctx: Ctx, who: Who, tenant: TenantParam = None, cursor: Cursor = None, limit: Limit = 100
) -> dict[str, Any]:
    """Contracts by start: a tenant's own; for operators, all or one tenant's."""
    with ctx.uow() as uow:
        scope = tenant_scope(uow, who, tenant)
        page = listings.CONTRACTS.fetch(cursor, limit, lambda a, n: uow.contracts.page(scope, after=a, limit=n))
    return paged(page)


@router.get("/contracts/{contract_id}", response_model=schemas.ContractOut)
def show_contract(contract_id: ContractId, ctx: Ctx, who: Who) -> Any:
    with ctx.uow() as uow:
        return plain(_visible(uow, who, contract_id))


@router.get("/contracts/{contract_id}/nodes", response_model=list[schemas.AssignmentOut])
def contract_nodes(contract_id: ContractId, ctx: Ctx, who: Who) -> Any:
    """The nodes of a reservation, span by span, oldest first: given at its start, a failed one's span ending
    where its replacement's begins, all given back at its end. Empty for contracts without nodes of their own
    (rate agreements, and reservations that are not whole nodes or NVLink domains)."""
    with ctx.uow() as uow:
        _visible(uow, who, contract_id)
        return plain(uow.assignments.of_contract(contract_id))


@router.post("/contracts/{contract_id}/cancel", response_model=schemas.ContractOut)
def cancel_contract(contract_id: ContractId, ctx: Ctx, who: Who) -> Any:
    """Cancel; the GPUs stay booked (and billed) until the termination notice runs out."""
    with ctx.uow() as uow:
        _visible(uow, who, contract_id)
        return plain(services.cancel_contract(uow, contract_id, ctx.now()))


@router.post("/contracts/{contract_id}/extend", response_model=schemas.ContractOut)
def extend_contract(contract_id: ContractId, body: schemas.ExtendIn, ctx: Ctx, who: Who) -> Any:
    """Extend the term; refused (409) if the GPUs are not free for the extra time."""
    with ctx.uow() as uow:
        _visible(uow, who, contract_id)
        return plain(services.extend_contract(uow, contract_id, body.end))


@router.put("/contracts/{contract_id}/terms", response_model=schemas.TermsOut)
def set_terms(contract_id: ContractId, body: schemas.TermsIn, ctx: Ctx, who: Operator) -> dict[str, Any]:
    """Money terms: a minimum spend per month and a prepaid balance (operator)."""
    with ctx.uow() as uow:
        terms = billing.set_billing_terms(uow, contract_id, body.minimum_per_period, body.prepaid_balance)
    return {"contract_id": contract_id, **plain(terms)}
