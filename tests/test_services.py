"""Capacity use cases on both stores. Every refusal must leave the store byte-for-byte as it was."""

from __future__ import annotations

import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text

from neocloud import bootstrap
from neocloud.adapters.specs import load_fleet, parse_fleet
from neocloud.adapters.store import uow as uow_module
from neocloud.adapters.store.tables import Base
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

DAY = 86_400
T0 = 1_798_761_600  # 2027-01-01
POOL = "s1/h100-sxm"

FLEET = """
sites:
  - name: s1
    power_mw: 10
    blocks:
      - {name: b, count: 1, racks: 2, nodes_per_rack: 8, node: {gpu_model: h100-sxm, gpus: 8}}
"""  # 128 GPUs


def snapshot(ctx: bootstrap.Context) -> dict[str, list[Any]]:
    """Every row of every table, but a key's last use (noted when the key authenticates, whatever follows)."""
    with ctx.engine.connect() as conn:
        return {
            table: [
                tuple(v for k, v in row._mapping.items() if k != "last_used_at")
                for row in conn.execute(text(f"SELECT * FROM {table} ORDER BY 1"))
            ]
            for table in Base.metadata.tables
        }


def refused_without_change(ctx: bootstrap.Context, error: type[NeocloudError], action: Callable[[Any], Any]) -> str:
    before = snapshot(ctx)
    with pytest.raises(error) as refused, ctx.uow() as uow:
        action(uow)
    assert snapshot(ctx) == before
    return refused.value.message


@pytest.fixture
def store(ctx: bootstrap.Context) -> bootstrap.Context:
    with ctx.uow() as uow:
        services.add_sites(uow, parse_fleet(FLEET, "fleet.yaml", ctx.catalog), ctx.catalog)
        services.add_tenant(uow, "lab", TenantKind.EXTERNAL, lambda p: "t-lab")
        services.add_tenant(uow, "research", TenantKind.INTERNAL, lambda p: "t-research")
    return ctx


def reserved(gpus: int, start: int = T0, days: int = 30, tenant: str = "lab", **kw: Any) -> ContractRequest:
    return ContractRequest(
        tenant=tenant, kind=ContractKind.RESERVED, pool=POOL, start=start, end=start + days * DAY, gpus=gpus, **kw
    )


def list_holds(ctx: bootstrap.Context) -> list[Any]:
    with ctx.uow() as uow:
        return services.list_holds(uow, POOL)


def sign(ctx: bootstrap.Context, request: ContractRequest) -> Any:
    with ctx.uow() as uow:
        return services.sign_contract(uow, request, ctx.catalog, ctx.new_id, ctx.now())


def test_signing_books_the_hold_with_catalog_prices(store: bootstrap.Context) -> None:
    contract = sign(store, reserved(100, sla_uptime=Decimal("0.99"), termination_notice_days=90))
    assert contract.price_per_gpu_hour == Decimal("2.400000")  # h100 1-year reserved
    assert contract.overage_per_gpu_hour == Decimal("3.000000")  # on-demand by default
    with store.uow() as uow:
        assert services.free_capacity(uow, POOL, T0, T0 + DAY) == 28
        assert services.free_capacity(uow, POOL, T0 - DAY, T0) == 128
        assert uow.get_contract(contract.id) == contract
        [hold] = services.list_holds(uow, POOL)
    assert (hold.gpus, hold.start, hold.end, hold.kind, hold.contract_id) == (
        100,
        T0,
        T0 + 30 * DAY,
        HoldKind.RESERVED,
        contract.id,
    )


def test_rate_contracts_book_nothing(store: bootstrap.Context) -> None:
    spot = sign(store, ContractRequest("lab", ContractKind.SPOT, POOL, T0, T0 + DAY, preemption_notice_s=30))
    od = sign(store, ContractRequest("lab", ContractKind.ON_DEMAND, POOL, T0, T0 + DAY))
    assert (spot.price_per_gpu_hour, od.price_per_gpu_hour) == (Decimal("1.35"), Decimal("3.00"))
    with store.uow() as uow:
        assert services.list_holds(uow, POOL) == []


def test_overbooking_is_refused_and_writes_nothing(store: bootstrap.Context) -> None:
    sign(store, reserved(100))
    message = refused_without_change(
        store,
        Overbooked,
        lambda uow: services.sign_contract(uow, reserved(29, start=T0 + DAY), store.catalog, store.new_id, store.now()),
    )
    assert "exceed its free capacity by up to 1 GPUs, first at 2027-01-02T00:00Z" in message
    sign(store, reserved(28, start=T0 + DAY))


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
    store: bootstrap.Context, request_: ContractRequest, error: type[NeocloudError]
) -> None:
    refused_without_change(
        store, error, lambda uow: services.sign_contract(uow, request_, store.catalog, store.new_id, store.now())
    )


def test_internal_contracts_book_internal_holds(store: bootstrap.Context) -> None:
    contract = sign(store, ContractRequest("research", ContractKind.INTERNAL, POOL, T0, T0 + DAY, gpus=64))
    assert contract.price_per_gpu_hour == Decimal("2.40")  # transfer price: the 1-year reserved price
    with store.uow() as uow:
        assert [h.kind for h in services.list_holds(uow, POOL)] == [HoldKind.INTERNAL]


def test_cancel_keeps_gpus_until_the_notice_runs_out(store: bootstrap.Context) -> None:
    contract = sign(store, reserved(100, days=365, termination_notice_days=90))
    now = T0 + 10 * DAY
    with store.uow() as uow:
        cancelled = services.cancel_contract(uow, contract.id, now)
    assert cancelled.status is ContractStatus.CANCELLED
    assert cancelled.end == now + 90 * DAY
    with store.uow() as uow:
        assert services.free_capacity(uow, POOL, now, now + 90 * DAY) == 28
        assert services.free_capacity(uow, POOL, now + 90 * DAY, now + 91 * DAY) == 128
    refused_without_change(store, InvalidState, lambda uow: services.cancel_contract(uow, contract.id, now))


def test_cancel_before_start_without_notice_frees_everything(store: bootstrap.Context) -> None:
    contract = sign(store, reserved(100))
    with store.uow() as uow:
        services.cancel_contract(uow, contract.id, T0 - DAY)
        assert services.list_holds(uow, POOL) == []


def test_extend_grows_the_hold_or_is_refused(store: bootstrap.Context) -> None:
    contract = sign(store, reserved(100))
    sign(store, reserved(29, start=T0 + 40 * DAY))
    with store.uow() as uow:
        services.extend_contract(uow, contract.id, T0 + 40 * DAY)
    refused_without_change(store, Overbooked, lambda uow: services.extend_contract(uow, contract.id, T0 + 41 * DAY))
    with store.uow() as uow:
        assert services.free_capacity(uow, POOL, T0, T0 + 50 * DAY) == 28


def test_maintenance_lowers_capacity_and_cannot_take_sold_gpus(store: bootstrap.Context) -> None:
    sign(store, reserved(100))
    with store.uow() as uow:
        hold = services.schedule_maintenance(uow, POOL, 28, T0, T0 + DAY, store.new_id)
        steps = services.capacity_profile(uow, POOL, T0, T0 + 2 * DAY)
    assert [(s.maintenance, s.held, s.free) for s in steps] == [(28, 100, 0), (0, 100, 28)]
    refused_without_change(
        store, Overbooked, lambda uow: services.schedule_maintenance(uow, POOL, 1, T0, T0 + 1, store.new_id)
    )
    with store.uow() as uow:
        services.cancel_maintenance(uow, POOL, hold.id)
        assert services.free_capacity(uow, POOL, T0, T0 + DAY) == 28


def test_earliest_start_reads_the_stored_ledger(store: bootstrap.Context) -> None:
    sign(store, reserved(100))
    with store.uow() as uow:
        assert services.earliest_start(uow, POOL, 50, DAY, T0) == T0 + 30 * DAY
        assert services.earliest_start(uow, POOL, 28, DAY, T0) == T0


def test_quotes_from_kept_ledgers_see_every_change_from_any_process(store: bootstrap.Context) -> None:
    other = bootstrap.build(store.url)  # another worker: its own engine, its own kept ledgers
    try:

        def quote() -> int:
            time.sleep(uow_module.SNAPSHOT_FRESH_FOR)  # changes from another process show within this
            with store.uow() as uow:
                return services.free_capacity(uow, POOL, T0, T0 + DAY)

        assert quote() == 128
        snapshots = []
        for _ in range(2):  # nothing changed: one kept snapshot serves both transactions
            with store.uow() as uow:
                snapshots.append(uow.load_ledger([POOL], lock=False))
        assert snapshots[0] is snapshots[1]
        contract = sign(other, reserved(100))  # written by the other worker
        assert quote() == 28
        with other.uow() as uow:
            services.extend_contract(uow, contract.id, T0 + 60 * DAY)
            hold = services.schedule_maintenance(uow, POOL, 28, T0, T0 + DAY, other.new_id)
        assert quote() == 0
        with other.uow() as uow:
            services.cancel_maintenance(uow, POOL, hold.id)
            services.cancel_contract(uow, contract.id, T0 - DAY)
        assert quote() == 128
    finally:
        other.engine.dispose()


def test_one_transaction_sees_its_own_bookings_whatever_is_kept(store: bootstrap.Context) -> None:
    sign(store, reserved(20))  # leaves a kept ledger of the pool at its new version
    with store.uow() as uow:
        services.sign_contract(uow, reserved(100), store.catalog, store.new_id, store.now())
        with pytest.raises(Overbooked):  # 20 + 100 + 10 > 128: the second booking counts the first
            services.sign_contract(uow, reserved(10), store.catalog, store.new_id, store.now())
        assert services.free_capacity(uow, POOL, T0, T0 + DAY) == 8  # reads its own writes, not the kept copy
    assert sum(h.gpus for h in list_holds(store)) == 120


def test_a_committed_booking_leaves_the_next_ledger_without_a_reload(store: bootstrap.Context) -> None:
    sign(store, reserved(20))
    with store.uow() as uow:
        kept = uow.load_ledger([POOL], lock=False)
    assert kept.free(POOL, T0, T0 + DAY) == 108
    sign(store, reserved(8))  # books into a copy, then keeps it as the pool's next version
    with store.uow() as uow:
        after = uow.load_ledger([POOL], lock=False)
    assert after is not kept
    assert after.free(POOL, T0, T0 + DAY) == 100
    assert kept.free(POOL, T0, T0 + DAY) == 108  # the older snapshot was never changed under its readers


def test_a_kept_ledger_catches_up_on_what_another_worker_wrote(store: bootstrap.Context) -> None:
    other = bootstrap.build(store.url)  # another worker
    try:
        first = sign(store, reserved(10))
        with store.uow() as uow:
            uow.load_ledger([POOL], lock=False)  # this worker keeps the pool's ledger
        kept_version = uow_module._SNAPSHOTS[store.engine][POOL][0]
        second = sign(other, reserved(20, start=T0 + DAY))
        with other.uow() as uow:
            services.cancel_contract(uow, first.id, T0 - DAY)  # a hold goes
            services.extend_contract(uow, second.id, T0 + 90 * DAY)  # a hold changes
            services.schedule_maintenance(uow, POOL, 8, T0, T0 + DAY, other.new_id)  # a hold comes
        time.sleep(uow_module.SNAPSHOT_FRESH_FOR)
        with store.uow() as uow:
            caught = uow.load_ledger([POOL], lock=False)
        assert uow_module._SNAPSHOTS[store.engine][POOL][0] > kept_version
        fresh = bootstrap.build(store.url)  # a worker with nothing kept reads everything
        try:
            with fresh.uow() as uow:
                full = uow.load_ledger([POOL], lock=False)
        finally:
            fresh.engine.dispose()
        assert sorted(caught.holds(POOL), key=lambda h: h.id) == sorted(full.holds(POOL), key=lambda h: h.id)
        assert caught.profile(POOL, T0 - DAY, T0 + 100 * DAY) == full.profile(POOL, T0 - DAY, T0 + 100 * DAY)
        assert [h.kind for h in sorted(full.holds(POOL), key=lambda h: h.start)] == [
            HoldKind.MAINTENANCE,
            HoldKind.RESERVED,
        ]
    finally:
        other.engine.dispose()


def test_sites_and_tenants_are_unique(store: bootstrap.Context) -> None:
    sites = parse_fleet(FLEET, "fleet.yaml", store.catalog)
    refused_without_change(store, AlreadyExists, lambda uow: services.add_sites(uow, sites, store.catalog))
    refused_without_change(
        store, AlreadyExists, lambda uow: services.add_tenant(uow, "lab", TenantKind.EXTERNAL, store.new_id)
    )
    with store.uow() as uow:
        assert services.add_sites(uow, sites, store.catalog, skip_existing=True) == []


def test_colossus_round_trips_through_the_store(ctx: bootstrap.Context) -> None:
    sites = load_fleet("colossus-1", ctx.catalog)
    with ctx.uow() as uow:
        services.add_sites(uow, sites, ctx.catalog)
    with ctx.uow() as uow:
        assert uow.list_sites() == sites
        assert [p.gpus for p in uow.list_pools()] == [20_016, 150_016, 50_176]
