"""Tenants and what the operator sets for them: API keys, price agreements, quotas and credit limits."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from neocloud.api import schemas
from neocloud.api.deps import (
    Ctx,
    Cursor,
    Limit,
    Operator,
    OperatorOnce,
    TenantParam,
    Who,
    paged,
    tenant_scope,
)
from neocloud.app import auth, commercial, credit, listings, services
from neocloud.app.ports import UnitOfWork
from neocloud.app.views import agreement_view, key_view, limits_view
from neocloud.core import bounds
from neocloud.core.contracts import ContractKind, Limits, Terms

router = APIRouter(tags=["tenants"])
TenantPath = Annotated[str, Path(max_length=bounds.MAX_NAME, pattern=bounds.NAME, description="Tenant id or name")]
KeyId = Annotated[str, Path(max_length=bounds.MAX_ID, pattern=bounds.ID)]


def _forget(request: Request, tenant_id: str) -> None:
    """This worker's signing desk reads the tenant's limits and agreements again (others within 2 s)."""
    request.app.state.signing.forget(tenant_id)


def _limits(uow: UnitOfWork, limits: Limits, ctx: Any) -> dict[str, Any]:
    return limits_view(limits, credit.exposure(uow, limits.tenant_id, ctx.now()), ctx.settings.default_quota_gpus)


@router.post("/tenants", status_code=201, response_model=schemas.TenantOut)
async def add_tenant(body: schemas.TenantIn, ctx: Ctx, once: OperatorOnce) -> Response:
    return await once(lambda uow: services.add_tenant(uow, body.name, body.kind, ctx.new_id))


@router.get("/tenants", response_model=schemas.Page[schemas.TenantOut])
def list_tenants(ctx: Ctx, who: Operator, cursor: Cursor = None, limit: Limit = 100) -> dict[str, Any]:
    """Tenants by name (operator)."""
    with ctx.uow() as uow:
        return paged(listings.TENANTS.fetch(cursor, limit, lambda a, n: uow.tenants.page(after=a, limit=n)))


# Keys ------------------------------------------------------------------------------------------------------


@router.post("/tenants/{tenant}/keys", status_code=201, response_model=schemas.KeyOut)
async def create_key(tenant: TenantPath, ctx: Ctx, once: OperatorOnce, body: schemas.KeyIn | None = None) -> Response:
    """A new API key for the tenant, valid until revoked or until `expires_at`; the secret is in this response
    only."""
    expires_at = body.expires_at if body is not None else None

    def create(uow: UnitOfWork) -> dict[str, Any]:
        key, secret = auth.create_key(uow, ctx.now(), ctx.new_id, tenant, expires_at)
        return key_view(key, secret)

    return await once(create)


@router.get("/keys", response_model=schemas.Page[schemas.KeyOut])
def list_keys(ctx: Ctx, who: Who, tenant: TenantParam = None, cursor: Cursor = None, limit: Limit = 100) -> Any:
    """API keys by creation, with their expiry and last use (never a secret): a tenant's own; for operators,
    every key or one tenant's."""
    with ctx.uow() as uow:
        scope = tenant_scope(uow, who, tenant)
        page = listings.KEYS.fetch(cursor, limit, lambda a, n: uow.keys.page(scope, after=a, limit=n))
    return paged(page, key_view)


@router.post("/keys/{key_id}/revoke", response_model=schemas.KeyOut)
def revoke_key(key_id: KeyId, request: Request, ctx: Ctx, who: Operator) -> dict[str, Any]:
    """Revoke a key: refused from now on in this worker, within 2 s in the server's other workers."""
    with ctx.uow() as uow:
        key = auth.revoke_key(uow, key_id, ctx.now())
    request.app.state.keys.forget(key_id)
    return key_view(key)


# Price agreements ------------------------------------------------------------------------------------------


@router.put("/agreements", response_model=schemas.AgreementOut)
def set_agreement(body: schemas.AgreementIn, request: Request, ctx: Ctx, who: Operator) -> dict[str, Any]:
    """Agree terms with a tenant for a pool and kind of contract (operator): its signings there get them
    instead of the rate card's. No price below the floor of the pool's GPU model."""
    terms = Terms(
        price_per_gpu_hour=body.price_per_gpu_hour,
        overage_per_gpu_hour=body.overage_per_gpu_hour,
        take_or_pay=body.take_or_pay,
        termination_notice_days=body.termination_notice_days,
        sla_uptime=body.sla_uptime,
        preemption_notice_s=body.preemption_notice_s,
    )
    with ctx.uow() as uow:
        agreement = commercial.set_agreement(uow, body.tenant, body.pool, body.kind, terms, ctx.catalog)
    _forget(request, agreement.tenant_id)
    return agreement_view(agreement)


@router.get("/agreements", response_model=schemas.Page[schemas.AgreementOut])
def list_agreements(ctx: Ctx, who: Who, tenant: TenantParam = None, cursor: Cursor = None, limit: Limit = 100) -> Any:
    """Price agreements: a tenant's own; for operators, all or one tenant's."""
    with ctx.uow() as uow:
        scope = tenant_scope(uow, who, tenant)
        page = listings.AGREEMENTS.fetch(
            cursor, limit, lambda a, n: uow.tenants.list_agreements(scope, after=a, limit=n)
        )
    return paged(page, agreement_view)


@router.delete("/agreements", status_code=204, response_class=Response)
def end_agreement(
    tenant: Annotated[str, Query(max_length=bounds.MAX_NAME, pattern=bounds.NAME)],
    pool: Annotated[str, Query(max_length=200, pattern=bounds.ID)],
    kind: ContractKind,
    request: Request,
    ctx: Ctx,
    who: Operator,
) -> Response:
    """End an agreement (operator): the tenant signs at the rate card again; signed contracts keep their terms."""
    with ctx.uow() as uow:
        _forget(request, commercial.end_agreement(uow, tenant, pool, kind))
    return Response(status_code=204)


# Limits ----------------------------------------------------------------------------------------------------


@router.get("/tenants/{tenant}/limits", response_model=schemas.LimitsOut)
def limits(tenant: TenantPath, ctx: Ctx, who: Who) -> dict[str, Any]:
    """A tenant's quotas and credit limit, and its exposure now (a tenant key: its own)."""
    with ctx.uow() as uow:
        tenant_id = tenant_scope(uow, who, tenant)
        assert tenant_id is not None
        return _limits(uow, commercial.limits_of(uow, tenant_id), ctx)


@router.put("/tenants/{tenant}/credit-limit", response_model=schemas.LimitsOut)
def set_credit_limit(
    tenant: TenantPath, body: schemas.CreditLimitIn, request: Request, ctx: Ctx, who: Operator
) -> dict[str, Any]:
    """Exposure allowed (USD); beyond it, new contracts (402) and work are refused. null: no limit."""
    with ctx.uow() as uow:
        limits = commercial.set_credit_limit(uow, tenant, body.usd)
        _forget(request, limits.tenant_id)
        return _limits(uow, limits, ctx)


@router.put("/tenants/{tenant}/quotas", response_model=schemas.LimitsOut)
def set_quota(tenant: TenantPath, body: schemas.QuotaIn, request: Request, ctx: Ctx, who: Operator) -> dict[str, Any]:
    """GPUs the tenant's work may use in a pool beyond its reservations (null: back to the default)."""
    with ctx.uow() as uow:
        limits = commercial.set_quota(uow, tenant, body.pool, body.gpus)
        _forget(request, limits.tenant_id)
        return _limits(uow, limits, ctx)
