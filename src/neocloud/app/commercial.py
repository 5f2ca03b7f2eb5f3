"""What an operator sets per tenant: the terms agreed for a pool and kind of contract (instead of the rate
card's), quotas per pool and a credit limit (enforced by app/credit.py)."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from neocloud.app.ports import UnitOfWork
from neocloud.app.services import get_pool, get_tenant
from neocloud.core.bounds import MAX_GPUS, MAX_MONEY, check_count, check_decimal
from neocloud.core.catalog import Catalog
from neocloud.core.contracts import (
    Contract,
    ContractKind,
    Limits,
    PriceAgreement,
    PriceBook,
    Terms,
    validate_contract,
)
from neocloud.core.errors import NotFound
from neocloud.core.money import to_rate

# Agreements ----------------------------------------------------------------------------------------------


def set_agreement(
    uow: UnitOfWork, tenant: str, pool: str, kind: ContractKind, terms: Terms, catalog: Catalog
) -> PriceAgreement:
    """Agree terms with a tenant for a pool and kind (replacing any earlier agreement there). Its prices must
    be within bounds and at or above the pool model's floor."""
    tenant_id, found = get_tenant(uow, tenant).id, get_pool(uow, pool)
    model, book = catalog[found.gpu_model], PriceBook()
    price = terms.price_per_gpu_hour if terms.price_per_gpu_hour is not None else book.price(model, kind)
    probe = Contract(
        "agreement",
        tenant_id,
        kind,
        found.name,
        0,
        1,
        price,
        gpus=1 if kind is ContractKind.RESERVED else 0,
        take_or_pay=terms.take_or_pay,
        termination_notice_days=terms.termination_notice_days,
        sla_uptime=terms.sla_uptime,
        overage_per_gpu_hour=terms.overage_per_gpu_hour,
        preemption_notice_s=terms.preemption_notice_s,
    )
    validate_contract(probe)  # the same bounds as a contract signed on these terms
    for field, value in (("price_per_gpu_hour", price), ("overage_per_gpu_hour", terms.overage_per_gpu_hour)):
        if value is not None:
            book.check_floor(model, kind, value, field)
    kept = replace(  # to six places, as stored
        terms,
        price_per_gpu_hour=None if terms.price_per_gpu_hour is None else to_rate(terms.price_per_gpu_hour),
        overage_per_gpu_hour=None if terms.overage_per_gpu_hour is None else to_rate(terms.overage_per_gpu_hour),
    )
    agreement = PriceAgreement(tenant_id, found.name, kind, kept)
    uow.tenants.save_agreement(agreement)
    return agreement


def end_agreement(uow: UnitOfWork, tenant: str, pool: str, kind: ContractKind) -> str:
    """The tenant signs at the rate card again (contracts signed meanwhile keep their terms). Returns the
    tenant's id."""
    tenant_id = get_tenant(uow, tenant).id
    if not uow.tenants.delete_agreement((tenant_id, pool, kind)):
        raise NotFound(f"no {kind} agreement with {tenant_id} on {pool}", tenant=tenant_id, pool=pool)
    return tenant_id


# Limits --------------------------------------------------------------------------------------------------


def limits_of(uow: UnitOfWork, tenant_id: str) -> Limits:
    return uow.tenants.get_limits([tenant_id])[tenant_id]


def set_credit_limit(uow: UnitOfWork, tenant: str, usd: Decimal | None) -> Limits:
    """A tenant's credit limit in USD of exposure (None: no limit)."""
    tenant_id = get_tenant(uow, tenant).id
    if usd is not None:
        check_decimal(usd, "credit_limit", high=MAX_MONEY, places=2)
    uow.tenants.save_credit_limit(tenant_id, usd)
    return limits_of(uow, tenant_id)


def set_quota(uow: UnitOfWork, tenant: str, pool: str, gpus: int | None) -> Limits:
    """GPUs a tenant may use in a pool beyond what its reservations hold (None: the operator's default)."""
    tenant_id, found = get_tenant(uow, tenant).id, get_pool(uow, pool)
    if gpus is not None:
        check_count(gpus, "gpus", 0, MAX_GPUS)
    uow.tenants.save_quota(tenant_id, found.name, gpus)
    return limits_of(uow, tenant_id)
