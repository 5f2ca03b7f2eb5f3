"""The capacity use cases. Each takes a unit of work already entered, reads, calls the core, and saves;
the caller's `with uow:` commits, so a refusal anywhere leaves the store unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from decimal import Decimal

from neocloud.app.ports import UnitOfWork
from neocloud.core.catalog import Catalog
from neocloud.core.contracts import (
    Contract,
    ContractKind,
    ContractStatus,
    PriceBook,
    Tenant,
    TenantKind,
    terminate,
    validate_contract,
)
from neocloud.core.errors import (
    AlreadyExists,
    InvalidState,
    UnknownContract,
    UnknownHold,
    UnknownPool,
    UnknownTenant,
)
from neocloud.core.fleet import Pool, Site, validate_site
from neocloud.core.ledger import Hold, HoldKind, Ledger, ProfileStep, check_gpus, check_interval
from neocloud.core.money import to_rate

NewId = Callable[[str], str]  # prefix -> a fresh unique id; injected so that the core stays deterministic


# Fleet -------------------------------------------------------------------------------------------------


def add_sites(uow: UnitOfWork, sites: list[Site], catalog: Catalog, *, skip_existing: bool = False) -> list[Site]:
    """Add sites and their pools; returns those added. An existing name is refused unless skipped."""
    added = []
    for site in sites:
        validate_site(site, catalog)
        if uow.get_site(site.name) is not None:
            if skip_existing:
                continue
            raise AlreadyExists(f"site {site.name} already exists", site=site.name)
        uow.add_site(site)
        added.append(site)
    return added


def get_pool(uow: UnitOfWork, name: str) -> Pool:
    pool = uow.get_pool(name)
    if pool is None:
        known = ", ".join(p.name for p in uow.list_pools()) or "none; run `neocloud init`"
        raise UnknownPool(f"unknown pool {name!r}; known: {known}", pool=name)
    return pool


# Tenants -----------------------------------------------------------------------------------------------


def add_tenant(uow: UnitOfWork, name: str, kind: TenantKind, new_id: NewId) -> Tenant:
    if uow.get_tenant(name) is not None:
        raise AlreadyExists(f"tenant {name!r} already exists", tenant=name)
    tenant = Tenant(new_id("t"), name, kind)
    uow.add_tenant(tenant)
    return tenant


def get_tenant(uow: UnitOfWork, key: str) -> Tenant:
    tenant = uow.get_tenant(key)
    if tenant is None:
        raise UnknownTenant(f"unknown tenant {key!r}", tenant=key)
    return tenant


# Contracts ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ContractRequest:
    tenant: str  # id or name
    kind: ContractKind
    pool: str
    start: int
    end: int
    gpus: int = 0
    price_per_gpu_hour: Decimal | None = None  # None: the price book's
    take_or_pay: bool = True
    termination_notice_days: int = 0
    sla_uptime: Decimal | None = None
    overage_per_gpu_hour: Decimal | None = None
    preemption_notice_s: int = 0


def sign_contract(uow: UnitOfWork, request: ContractRequest, catalog: Catalog, new_id: NewId) -> Contract:
    """Sign a contract; a reserved or internal one books its hold in the same transaction, or nothing."""
    contract = draft_contract(request, get_tenant(uow, request.tenant), get_pool(uow, request.pool), catalog, new_id)
    # Lock the pool before writing anything that refers to it: a contract row takes a key-share lock on its
    # pool, and taking it before FOR UPDATE would let two signers deadlock on PostgreSQL.
    ledger = uow.load_ledger([contract.pool], lock=True) if contract.books_capacity else None
    return book_contract(uow, ledger, contract)


def draft_contract(request: ContractRequest, tenant: Tenant, pool: Pool, catalog: Catalog, new_id: NewId) -> Contract:
    """The contract a request asks for, from its tenant and pool as stored, priced and validated."""
    model = catalog[pool.gpu_model]
    price = request.price_per_gpu_hour
    overage = request.overage_per_gpu_hour
    if request.kind is ContractKind.RESERVED and overage is None:
        overage = PriceBook().price(model, ContractKind.ON_DEMAND)
    contract = Contract(
        id=new_id("c"),
        tenant_id=tenant.id,
        kind=request.kind,
        pool=pool.name,
        start=request.start,
        end=request.end,
        gpus=request.gpus,
        price_per_gpu_hour=PriceBook().price(model, request.kind) if price is None else to_rate(price),
        take_or_pay=request.take_or_pay,
        termination_notice_days=request.termination_notice_days,
        sla_uptime=request.sla_uptime,
        overage_per_gpu_hour=None if overage is None else to_rate(overage),
        preemption_notice_s=request.preemption_notice_s,
    )
    validate_contract(contract)
    return contract


def book_contract(uow: UnitOfWork, ledger: Ledger | None, contract: Contract) -> Contract:
    """Write a drafted contract, booking its hold in `ledger` (locked, holding the contract's pool) when it
    books capacity; refused (Overbooked), writing nothing, when the GPUs are not free."""
    hold = book_hold(ledger, contract)
    uow.add_contracts([contract], [hold] if hold else [])
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
    contract = uow.get_contract(contract_id)
    if contract is None:
        raise UnknownContract(f"unknown contract {contract_id!r}", contract=contract_id)
    return contract


def cancel_contract(uow: UnitOfWork, contract_id: str, now: int) -> Contract:
    """Cancel with the contract's notice: its hold ends when the notice runs out, or goes at once."""
    contract = terminate(get_contract(uow, contract_id), now)
    if contract.books_capacity:
        ledger = uow.load_ledger([contract.pool], lock=True)
        if contract.end <= ledger.hold(contract.hold_id).start:
            ledger.cancel(contract.hold_id)
            uow.delete_hold(contract.hold_id)
        else:
            uow.save_hold(ledger.shrink(contract.hold_id, end=contract.end))
    uow.save_contract(contract)
    return contract


def extend_contract(uow: UnitOfWork, contract_id: str, end: int) -> Contract:
    """Move a contract's end later; its hold grows with it, or the extension is refused."""
    contract = get_contract(uow, contract_id)
    if contract.status is not ContractStatus.ACTIVE:
        raise InvalidState(f"contract {contract_id} is {contract.status}", contract=contract_id)
    extended = replace(contract, end=end)
    validate_contract(extended)
    if contract.books_capacity:
        ledger = uow.load_ledger([contract.pool], lock=True)
        uow.save_hold(ledger.extend(contract.hold_id, end=end))
    uow.save_contract(extended)
    return extended


# Capacity ----------------------------------------------------------------------------------------------


def snapshot(uow: UnitOfWork, pool: str) -> Ledger:
    """The pool's ledger to read (one query when the store keeps it in memory), or UnknownPool."""
    try:
        return uow.load_ledger([pool], lock=False)
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
    get_pool(uow, pool)
    ledger = uow.load_ledger([pool], lock=True)
    hold = ledger.book(Hold(new_id("m"), pool, gpus, start, end, HoldKind.MAINTENANCE))
    uow.save_hold(hold)
    return hold


def list_holds(uow: UnitOfWork, pool: str) -> list[Hold]:
    return sorted(snapshot(uow, pool).holds(pool), key=lambda h: (h.start, h.id))


def cancel_maintenance(uow: UnitOfWork, pool: str, hold_id: str) -> Hold:
    ledger = uow.load_ledger([get_pool(uow, pool).name], lock=True)
    hold = ledger.hold(hold_id)
    if hold.kind is not HoldKind.MAINTENANCE:
        raise UnknownHold(f"{hold_id} is not a maintenance hold; cancel its contract instead", hold=hold_id)
    ledger.cancel(hold_id)
    uow.delete_hold(hold_id)
    return hold
