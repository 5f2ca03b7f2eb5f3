"""Capacity use cases on the in-memory store (tests/memory_store.py). Every refusal leaves the store as it was;
that the real store keeps its part of this is tests/store/test_store.py."""

from __future__ import annotations

from decimal import Decimal

import pytest

from neocloud.adapters.specs import parse_fleet
from neocloud.app import services
from neocloud.app.services import ContractRequest
from neocloud.core.contracts import ContractKind, ContractStatus, TenantKind
from neocloud.core.errors import (
    AlreadyExists,
    InvalidInput,
    InvalidInterval,
    InvalidState,
    NeocloudError,
    Overbooked,
    UnknownPool,
    UnknownTenant,
)
from neocloud.core.ledger import HoldKind

from ..builders import DAY, FLEET, POOL, T0, refused_without_change, reserved, sign
from ..memory_store import MemoryStore


def test_signing_books_the_hold_with_catalog_prices(memory: MemoryStore) -> None:
    contract = sign(memory, reserved(100, sla_uptime=Decimal("0.99"), termination_notice_days=90))
    assert contract.price_per_gpu_hour == Decimal("2.400000")  # h100 1-year reserved
    assert contract.overage_per_gpu_hour == Decimal("3.000000")  # on-demand by default
    with memory.uow() as uow:
        assert services.free_capacity(uow, POOL, T0, T0 + DAY) == 28
        assert services.free_capacity(uow, POOL, T0 - DAY, T0) == 128
        assert uow.contracts.get(contract.id) == contract
        [hold] = services.list_holds(uow, POOL)
    assert (hold.gpus, hold.start, hold.end, hold.kind, hold.contract_id) == (
        100,
        T0,
        T0 + 30 * DAY,
        HoldKind.RESERVED,
        contract.id,
    )


def test_rate_contracts_book_nothing(memory: MemoryStore) -> None:
    spot = sign(memory, ContractRequest("lab", ContractKind.SPOT, POOL, T0, T0 + DAY, preemption_notice_s=30))
    od = sign(memory, ContractRequest("lab", ContractKind.ON_DEMAND, POOL, T0, T0 + DAY))
    assert (spot.price_per_gpu_hour, od.price_per_gpu_hour) == (Decimal("1.35"), Decimal("3.00"))
    with memory.uow() as uow:
        assert services.list_holds(uow, POOL) == []


def test_overbooking_is_refused_and_writes_nothing(memory: MemoryStore) -> None:
    sign(memory, reserved(100))
    message = refused_without_change(
        memory,
        Overbooked,
        lambda uow: services.sign_contract(
            uow, reserved(29, start=T0 + DAY), memory.catalog, memory.new_id, memory.now()
        ),
    )
    assert "exceed its free capacity by up to 1 GPUs, first at 2027-01-02T00:00Z" in message
    sign(memory, reserved(28, start=T0 + DAY))


@pytest.mark.parametrize(
    ("request_", "error"),
    [
        (reserved(10, tenant="nobody"), UnknownTenant),
        (ContractRequest("lab", ContractKind.RESERVED, "s1/z100", T0, T0 + DAY, gpus=1), UnknownPool),
        (reserved(-5), InvalidInput),
        (reserved(0), InvalidInput),
        (ContractRequest("lab", ContractKind.RESERVED, POOL, T0, T0, gpus=1), InvalidInterval),
        (ContractRequest("lab", ContractKind.RESERVED, POOL, T0, T0 - 1, gpus=1), InvalidInterval),
        (reserved(10, price_per_gpu_hour=Decimal("-1")), InvalidInput),
        (reserved(10, sla_uptime=Decimal("1.5")), InvalidInput),
        (reserved(129), Overbooked),
    ],
)
def test_bad_contracts_are_refused_cleanly(
    memory: MemoryStore, request_: ContractRequest, error: type[NeocloudError]
) -> None:
    refused_without_change(
        memory, error, lambda uow: services.sign_contract(uow, request_, memory.catalog, memory.new_id, memory.now())
    )


def test_internal_contracts_book_internal_holds(memory: MemoryStore) -> None:
    contract = sign(memory, ContractRequest("research", ContractKind.INTERNAL, POOL, T0, T0 + DAY, gpus=64))
    assert contract.price_per_gpu_hour == Decimal("2.40")  # transfer price: the 1-year reserved price
    with memory.uow() as uow:
        assert [h.kind for h in services.list_holds(uow, POOL)] == [HoldKind.INTERNAL]


def test_cancel_keeps_gpus_until_the_notice_runs_out(memory: MemoryStore) -> None:
    contract = sign(memory, reserved(100, days=365, termination_notice_days=90))
    now = T0 + 10 * DAY
    with memory.uow() as uow:
        cancelled = services.cancel_contract(uow, contract.id, now)
    assert cancelled.status is ContractStatus.CANCELLED
    assert cancelled.end == now + 90 * DAY
    with memory.uow() as uow:
        assert services.free_capacity(uow, POOL, now, now + 90 * DAY) == 28
        assert services.free_capacity(uow, POOL, now + 90 * DAY, now + 91 * DAY) == 128
    refused_without_change(memory, InvalidState, lambda uow: services.cancel_contract(uow, contract.id, now))


def test_cancel_before_start_without_notice_frees_everything(memory: MemoryStore) -> None:
    contract = sign(memory, reserved(100))
    with memory.uow() as uow:
        services.cancel_contract(uow, contract.id, T0 - DAY)
        assert services.list_holds(uow, POOL) == []


def test_extend_grows_the_hold_or_is_refused(memory: MemoryStore) -> None:
    contract = sign(memory, reserved(100))
    sign(memory, reserved(29, start=T0 + 40 * DAY))
    with memory.uow() as uow:
        services.extend_contract(uow, contract.id, T0 + 40 * DAY)
    refused_without_change(memory, Overbooked, lambda uow: services.extend_contract(uow, contract.id, T0 + 41 * DAY))
    with memory.uow() as uow:
        assert services.free_capacity(uow, POOL, T0, T0 + 50 * DAY) == 28


def test_maintenance_lowers_capacity_and_cannot_take_sold_gpus(memory: MemoryStore) -> None:
    sign(memory, reserved(100))
    with memory.uow() as uow:
        hold = services.schedule_maintenance(uow, POOL, 28, T0, T0 + DAY, memory.new_id)
        steps = services.capacity_profile(uow, POOL, T0, T0 + 2 * DAY)
    assert [(s.maintenance, s.held, s.free) for s in steps] == [(28, 100, 0), (0, 100, 28)]
    refused_without_change(
        memory, Overbooked, lambda uow: services.schedule_maintenance(uow, POOL, 1, T0, T0 + 1, memory.new_id)
    )
    with memory.uow() as uow:
        services.cancel_maintenance(uow, POOL, hold.id)
        assert services.free_capacity(uow, POOL, T0, T0 + DAY) == 28


def test_earliest_start_reads_the_stored_ledger(memory: MemoryStore) -> None:
    sign(memory, reserved(100))
    with memory.uow() as uow:
        assert services.earliest_start(uow, POOL, 50, DAY, T0) == T0 + 30 * DAY
        assert services.earliest_start(uow, POOL, 28, DAY, T0) == T0


def test_sites_and_tenants_are_unique(memory: MemoryStore) -> None:
    sites = parse_fleet(FLEET, "fleet.yaml", memory.catalog)
    refused_without_change(memory, AlreadyExists, lambda uow: services.add_sites(uow, sites, memory.catalog))
    refused_without_change(
        memory, AlreadyExists, lambda uow: services.add_tenant(uow, "lab", TenantKind.EXTERNAL, memory.new_id)
    )
    with memory.uow() as uow:
        assert services.add_sites(uow, sites, memory.catalog, skip_existing=True) == []
