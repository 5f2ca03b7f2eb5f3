"""The capacity use cases. Each takes a unit of work already entered, reads, calls the core, and saves;
the caller's `with uow:` commits, so a refusal anywhere leaves the store unchanged.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import TypeVar

from neocloud.app.credit import check_credit, commitment, exposure
from neocloud.app.ports import UnitOfWork
from neocloud.core.billing.periods import month
from neocloud.core.bounds import check_name
from neocloud.core.catalog import Catalog
from neocloud.core.contracts import (
    HOLD_KIND,
    Contract,
    ContractKind,
    ContractStatus,
    EnergyTerm,
    PriceAgreement,
    PriceBook,
    Tenant,
    TenantKind,
    Terms,
    terminate,
    validate_contract,
)
from neocloud.core.errors import (
    AlreadyExists,
    InvalidInput,
    InvalidState,
    PeriodClosed,
    PowerOverbooked,
    UnknownContract,
    UnknownHold,
    UnknownPool,
    UnknownTenant,
    quoted,
)
from neocloud.core.fleet import Pool, Site, validate_site
from neocloud.core.ledger import Hold, HoldKind, Ledger, ProfileStep, check_gpus, check_interval
from neocloud.core.money import to_rate
from neocloud.core.power import gpu_power, gpus_for_mw

NewId = Callable[[str], str]  # prefix -> a fresh unique id; injected so that the core stays deterministic
T = TypeVar("T")


# Fleet -------------------------------------------------------------------------------------------------


def add_sites(uow: UnitOfWork, sites: list[Site], catalog: Catalog, *, skip_existing: bool = False) -> list[Site]:
    """Add sites and their pools; returns those added. An existing name is refused unless skipped."""
    added = []
    for site in sites:
        validate_site(site, catalog)
        if uow.fleet.get_site(site.name) is not None:
            if skip_existing:
                continue
            raise AlreadyExists(f"site {site.name} already exists", site=site.name)
        uow.fleet.add_site(site)
        added.append(site)
    return added


def get_pool(uow: UnitOfWork, name: str) -> Pool:
    pool = uow.fleet.get_pool(name)
    if pool is None:
        known = ", ".join(p.name for p in uow.fleet.list_pools()) or "none; run `neocloud init`"
        raise UnknownPool(f"unknown pool {quoted(name)}; known: {known}", pool=name)
    return pool


# Tenants -----------------------------------------------------------------------------------------------


def add_tenant(uow: UnitOfWork, name: str, kind: TenantKind, new_id: NewId) -> Tenant:
    check_name(name, "tenant name")
    if uow.tenants.get(name) is not None:
        raise AlreadyExists(f"tenant {quoted(name)} already exists", tenant=name)
    tenant = Tenant(new_id("t"), name, kind)
    uow.tenants.add(tenant)
    return tenant


def get_tenant(uow: UnitOfWork, key: str) -> Tenant:
    tenant = uow.tenants.get(key)
    if tenant is None:
        raise UnknownTenant(f"unknown tenant {quoted(key)}", tenant=key)
    return tenant


# Contracts ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ContractRequest:
    """What a signer asks for. Terms left at None come from the tenant's price agreement for the pool and
    kind, else from the rate card; only operators may name terms (the API refuses them from tenants)."""

    tenant: str  # id or name
    kind: ContractKind
    pool: str
    start: int
    end: int
    gpus: int = 0
    price_per_gpu_hour: Decimal | None = None
    take_or_pay: bool | None = None
    termination_notice_days: int | None = None
    sla_uptime: Decimal | None = None
    overage_per_gpu_hour: Decimal | None = None
    preemption_notice_s: int | None = None
    cap_w: int | None = None  # the GPUs' power cap; None: their TDP
    mw: Decimal | None = None  # book the GPUs that fit in these facility megawatts at the cap, instead of `gpus`
    energy: EnergyTerm | None = None  # None: bundled in the price


def sign_contract(uow: UnitOfWork, request: ContractRequest, catalog: Catalog, new_id: NewId, now: int) -> Contract:
    """Sign a contract; a reserved or internal one books its hold in the same transaction, or nothing.
    Refused inside an invoiced month, and beyond the tenant's credit limit."""
    tenant, pool = get_tenant(uow, request.tenant), get_pool(uow, request.pool)
    agreement = uow.tenants.get_agreements([(tenant.id, pool.name, request.kind)]).get(
        (tenant.id, pool.name, request.kind)
    )
    contract = draft_contract(request, tenant, pool, catalog, new_id, agreement, site_for(uow, request, pool))
    check_open(
        uow.billing.invoiced_periods([tenant.id]).get(tenant.id, []), contract.start, contract.end, "the contract"
    )
    limits = uow.tenants.get_limits([tenant.id])[tenant.id]
    if limits.credit_limit is not None:
        adding = commitment(contract, contract.start, contract.end)
        check_credit(limits, exposure(uow, tenant.id, now), adding, f"contract {contract.id}")
    # Lock the pool before writing anything that refers to it: a contract row takes a key-share lock on its
    # pool, and taking it before FOR UPDATE would let two signers deadlock on PostgreSQL.
    ledger = uow.ledger.load([contract.pool], lock=True) if contract.books_capacity else None
    return book_contract(uow, ledger, contract)


@dataclass(frozen=True, slots=True)
class Quote:
    """What a contract would cost and whether it fits, before it is signed."""

    pool: str
    kind: ContractKind
    gpus: int
    start: int
    end: int
    price_per_gpu_hour: Decimal  # the agreement's or the rate card's
    commitment: Decimal | None  # a take-or-pay reservation's whole price; None: billed by use
    free: int  # GPUs that can be booked over all of [start, end) at the cap: free, with power for them
    earliest_start: int | None  # for a booking contract: the earliest start of the same length that fits
    cap_w: int | None  # the GPUs' power cap; None: their TDP


def quote(uow: UnitOfWork, request: ContractRequest, catalog: Catalog) -> Quote:
    """The terms the tenant would sign at (its agreement for the pool and kind, else the rate card), the GPUs
    free over the window and, for a booking contract, its earliest start; nothing is written."""
    tenant, pool = get_tenant(uow, request.tenant), get_pool(uow, request.pool)
    agreement = uow.tenants.get_agreements([(tenant.id, pool.name, request.kind)]).get(
        (tenant.id, pool.name, request.kind)
    )
    site = site_for(uow, request, pool)
    draft = draft_contract(request, tenant, pool, catalog, lambda prefix: f"{prefix}-quote", agreement, site)
    ledger = snapshot(uow, pool.name)
    earliest = None
    if draft.books_capacity and draft.gpus <= ledger.pool(pool.name).installed:
        with contextlib.suppress(PowerOverbooked):  # more power than the site has: it never fits
            earliest = ledger.earliest_start(pool.name, draft.gpus, draft.end - draft.start, draft.start, draft.cap_w)
    take_or_pay = draft.kind is ContractKind.RESERVED and draft.take_or_pay
    return Quote(
        pool.name,
        draft.kind,
        draft.gpus,
        draft.start,
        draft.end,
        draft.price_per_gpu_hour,
        commitment(draft, draft.start, draft.end) if take_or_pay else None,
        ledger.bookable(pool.name, draft.start, draft.end, draft.cap_w),
        earliest,
        draft.cap_w,
    )


def draft_contract(
    request: ContractRequest,
    tenant: Tenant,
    pool: Pool,
    catalog: Catalog,
    new_id: NewId,
    agreement: PriceAgreement | None = None,
    site: Site | None = None,
) -> Contract:
    """The contract a request asks for, from its tenant and pool as stored, priced and validated. A term the
    request names wins over the agreement's, which wins over the rate card's; no price is below the floor.
    A request in megawatts books the GPUs that fit in them at its cap, at the pool's `site`."""
    model, book = catalog[pool.gpu_model], PriceBook()
    gpus = request.gpus
    if request.cap_w is not None:
        gpu_power(model).check(request.cap_w)
    if request.mw is not None:
        if gpus or request.kind not in HOLD_KIND:
            raise InvalidInput("a contract in megawatts reserves GPUs: give mw or gpus, not both", field="mw")
        assert site is not None, "a contract in megawatts needs its pool's site"
        gpus = gpus_for_mw(request.mw, model, site, request.cap_w)
    agreed = agreement.terms if agreement is not None else Terms()
    price = _first(request.price_per_gpu_hour, agreed.price_per_gpu_hour)
    overage = _first(request.overage_per_gpu_hour, agreed.overage_per_gpu_hour)
    if request.kind is ContractKind.RESERVED and overage is None:
        overage = book.price(model, ContractKind.ON_DEMAND)
    contract = Contract(
        id=new_id("c"),
        tenant_id=tenant.id,
        kind=request.kind,
        pool=pool.name,
        start=request.start,
        end=request.end,
        gpus=gpus,
        cap_w=request.cap_w,
        energy=_first(request.energy, EnergyTerm.BUNDLED),
        price_per_gpu_hour=book.price(model, request.kind) if price is None else price,
        take_or_pay=_first(request.take_or_pay, agreed.take_or_pay),
        termination_notice_days=_first(request.termination_notice_days, agreed.termination_notice_days),
        sla_uptime=_first(request.sla_uptime, agreed.sla_uptime),
        overage_per_gpu_hour=overage,
        preemption_notice_s=_first(request.preemption_notice_s, agreed.preemption_notice_s),
    )
    validate_contract(contract)  # before the floor: a price must be a number before it is compared
    book.check_floor(model, contract.kind, contract.price_per_gpu_hour, "price_per_gpu_hour")
    if contract.overage_per_gpu_hour is not None:
        book.check_floor(model, contract.kind, contract.overage_per_gpu_hour, "overage_per_gpu_hour")
    return replace(
        contract,
        price_per_gpu_hour=to_rate(contract.price_per_gpu_hour),
        overage_per_gpu_hour=None if overage is None else to_rate(overage),
    )


def site_for(uow: UnitOfWork, request: ContractRequest, pool: Pool) -> Site | None:
    """The pool's site, when drafting the request needs it (a contract in megawatts)."""
    return None if request.mw is None else uow.fleet.get_site(pool.site)


def _first(given: T | None, otherwise: T) -> T:
    return otherwise if given is None else given


def check_open(invoiced: Iterable[str], start: int, end: int, what: str) -> None:
    """Refuse a change over [start, end) that reaches into an invoiced month: its invoice could not show it."""
    for key in sorted(invoiced):
        if month(key).overlap(start, end):
            raise PeriodClosed(f"{what} reaches into {key}, which is already invoiced", period=key)


def book_contract(uow: UnitOfWork, ledger: Ledger | None, contract: Contract) -> Contract:
    """Write a drafted contract, booking its hold in `ledger` (locked, holding the contract's pool) when it
    books capacity; refused (Overbooked), writing nothing, when the GPUs are not free."""
    hold = book_hold(ledger, contract)
    uow.contracts.add([contract])
    uow.ledger.add([hold] if hold else [])
    return contract


def book_hold(ledger: Ledger | None, contract: Contract) -> Hold | None:
    """Book a drafted contract's hold in `ledger` (locked, holding its pool), if it books capacity: the hold
    to write with it. Refused (Overbooked), booking nothing, when the GPUs are not free."""
    if not contract.books_capacity:
        return None
    if ledger is None:
        raise ValueError(f"contract {contract.id} books capacity: it needs its pool's locked ledger")
    return ledger.book(contract.hold())


def get_contract(uow: UnitOfWork, contract_id: str) -> Contract:
    contract = uow.contracts.get(contract_id)
    if contract is None:
        raise UnknownContract(f"unknown contract {quoted(contract_id)}", contract=contract_id)
    return contract


def cancel_contract(uow: UnitOfWork, contract_id: str, now: int) -> Contract:
    """Cancel with the contract's notice: its hold ends when the notice runs out, or goes at once."""
    contract = _locked(uow, contract_id)
    cancelled = terminate(contract, now)
    _check_open_for(uow, cancelled.tenant_id, cancelled.end, contract.end, "cancelling")
    if cancelled.books_capacity:
        ledger = uow.ledger.load([cancelled.pool], lock=True)
        if cancelled.end <= ledger.hold(cancelled.hold_id).start:
            ledger.cancel(cancelled.hold_id)
            uow.ledger.delete(cancelled.hold_id)
        else:
            uow.ledger.save(ledger.shrink(cancelled.hold_id, end=cancelled.end))
    uow.contracts.save(cancelled)
    return cancelled


def extend_contract(uow: UnitOfWork, contract_id: str, end: int) -> Contract:
    """Move a contract's end later; its hold grows with it, or the extension is refused."""
    contract = _locked(uow, contract_id)
    if contract.status is not ContractStatus.ACTIVE:
        raise InvalidState(f"contract {contract_id} is {contract.status}", contract=contract_id)
    extended = replace(contract, end=end)
    validate_contract(extended)
    _check_open_for(uow, contract.tenant_id, contract.end, end, "extending")
    if contract.books_capacity:
        ledger = uow.ledger.load([contract.pool], lock=True)
        uow.ledger.save(ledger.extend(contract.hold_id, end=end))
    uow.contracts.save(extended)
    return extended


def _locked(uow: UnitOfWork, contract_id: str) -> Contract:
    """The contract as it stands once its pool is locked: a cancel or extend that raced this one has either
    committed (and is seen here) or waits for us. (Reading it before the lock could act on a stale status.)"""
    contract = get_contract(uow, contract_id)
    if contract.books_capacity:
        uow.ledger.load([contract.pool], lock=True)
        contract = get_contract(uow, contract_id)
    return contract


def _check_open_for(uow: UnitOfWork, tenant_id: str, start: int, end: int, what: str) -> None:
    if start < end:
        check_open(uow.billing.invoiced_periods([tenant_id]).get(tenant_id, []), start, end, what)


# Capacity ----------------------------------------------------------------------------------------------


def snapshot(uow: UnitOfWork, pool: str) -> Ledger:
    """The pool's ledger to read (one query when the store keeps it in memory), or UnknownPool."""
    try:
        return uow.ledger.load([pool], lock=False)
    except UnknownPool:
        get_pool(uow, pool)  # the same error, listing the known pools
        raise


def free_capacity(uow: UnitOfWork, pool: str, start: int, end: int) -> int:
    check_interval(start, end)
    return snapshot(uow, pool).free(pool, start, end)


def capacity_profile(uow: UnitOfWork, pool: str, start: int, end: int) -> list[ProfileStep]:
    check_interval(start, end)
    return snapshot(uow, pool).profile(pool, start, end)


def earliest_start(uow: UnitOfWork, pool: str, gpus: int, duration: int, not_before: int) -> int:
    return snapshot(uow, pool).earliest_start(pool, gpus, duration, not_before)


def schedule_maintenance(uow: UnitOfWork, pool: str, gpus: int, start: int, end: int, new_id: NewId) -> Hold:
    """Take GPUs out of service; refused if they are already sold for that time."""
    check_gpus(gpus)
    check_interval(start, end)
    get_pool(uow, pool)
    check_open(uow.billing.invoiced_periods_on_pool(pool), start, end, "maintenance")
    ledger = uow.ledger.load([pool], lock=True)
    hold = ledger.book(Hold(new_id("m"), pool, gpus, start, end, HoldKind.MAINTENANCE))
    uow.ledger.save(hold)
    return hold


def list_holds(uow: UnitOfWork, pool: str) -> list[Hold]:
    return sorted(snapshot(uow, pool).holds(pool), key=lambda h: (h.start, h.id))


def cancel_maintenance(uow: UnitOfWork, pool: str, hold_id: str) -> Hold:
    ledger = uow.ledger.load([get_pool(uow, pool).name], lock=True)
    hold = ledger.hold(hold_id)
    if hold.kind is not HoldKind.MAINTENANCE:
        raise UnknownHold(f"{hold_id} is not a maintenance hold; cancel its contract instead", hold=hold_id)
    check_open(uow.billing.invoiced_periods_on_pool(pool), hold.start, hold.end, "cancelling the maintenance")
    ledger.cancel(hold_id)
    uow.ledger.delete(hold_id)
    return hold
