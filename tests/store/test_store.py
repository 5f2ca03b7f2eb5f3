"""What the real store guarantees beyond the use cases: ledger snapshots kept between units of work, caught up
on what other workers wrote, never changed under their readers; a transaction that reads its own writes; a
large fleet that round-trips. On SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from neocloud import bootstrap
from neocloud.adapters.specs import load_fleet, parse_fleet
from neocloud.app import services
from neocloud.core.errors import Overbooked
from neocloud.core.ledger import HoldKind

from ..builders import DAY, POOL, T0, list_holds, refused_without_change, reserved, sign


def test_quotes_from_kept_ledgers_see_every_change_from_any_process(store: bootstrap.Context) -> None:
    other = bootstrap.build(store.url)  # another worker: its own engine, its own kept ledgers
    store.snapshots.fresh_for = 0  # ask the store every time (changes from elsewhere show within fresh_for)
    try:

        def quote() -> int:
            with store.uow() as uow:
                return services.free_capacity(uow, POOL, T0, T0 + DAY)

        assert quote() == 128
        snapshots = []
        for _ in range(2):  # nothing changed: one kept snapshot serves both transactions
            with store.uow() as uow:
                snapshots.append(uow.ledger.load([POOL], lock=False))
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
        kept = uow.ledger.load([POOL], lock=False)
    assert kept.free(POOL, T0, T0 + DAY) == 108
    sign(store, reserved(8))  # books into a copy, then keeps it as the pool's next version
    with store.uow() as uow:
        after = uow.ledger.load([POOL], lock=False)
    assert after is not kept
    assert after.waiting == 0  # kept with every change merged: its readers, on any thread, write nothing
    assert after.free(POOL, T0, T0 + DAY) == 100
    assert kept.free(POOL, T0, T0 + DAY) == 108  # the older snapshot was never changed under its readers


def version_kept(store: bootstrap.Context) -> int:
    kept = store.snapshots.get(POOL)
    assert kept is not None
    (version,) = kept[0]  # the pool's group is the pool alone: its site has one GPU model
    return version


def test_a_kept_ledger_catches_up_on_what_another_worker_wrote(store: bootstrap.Context) -> None:
    other = bootstrap.build(store.url)  # another worker
    store.snapshots.fresh_for = 0  # ask the store every time
    try:
        first = sign(store, reserved(10))
        with store.uow() as uow:
            uow.ledger.load([POOL], lock=False)  # this worker keeps the pool's ledger
        kept_version = version_kept(store)
        second = sign(other, reserved(20, start=T0 + DAY))
        with other.uow() as uow:
            services.cancel_contract(uow, first.id, T0 - DAY)  # a hold goes
            services.extend_contract(uow, second.id, T0 + 90 * DAY)  # a hold changes
            services.schedule_maintenance(uow, POOL, 8, T0, T0 + DAY, other.new_id)  # a hold comes
        with store.uow() as uow:
            caught = uow.ledger.load([POOL], lock=False)
        assert version_kept(store) > kept_version
        fresh = bootstrap.build(store.url)  # a worker with nothing kept reads everything
        try:
            with fresh.uow() as uow:
                full = uow.ledger.load([POOL], lock=False)
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


def test_colossus_round_trips_through_the_store(ctx: bootstrap.Context) -> None:
    sites = load_fleet("colossus-1", ctx.catalog)
    with ctx.uow() as uow:
        services.add_sites(uow, sites, ctx.catalog)
    with ctx.uow() as uow:
        assert uow.fleet.list_sites() == sites
        assert [p.gpus for p in uow.fleet.list_pools()] == [20_016, 150_016, 50_176]


def test_nodes_named_by_a_workload_manager_round_trip_through_the_store(ctx: bootstrap.Context) -> None:
    text = """
sites:
  - name: lab
    blocks:
      - {name: b, racks: 2, nodes_per_rack: 1, node: {gpu_model: h100-sxm, gpus: 8}, node_names: [gpu7, gpu9]}
"""
    sites = parse_fleet(text, "f.yaml", ctx.catalog)
    with ctx.uow() as uow:
        services.add_sites(uow, sites, ctx.catalog)
    with ctx.uow() as uow:
        [site] = uow.fleet.list_sites()
    assert site == sites[0]
    assert [n.name for n in site.nodes()] == ["gpu7", "gpu9"]


def test_a_refusal_writes_no_row(store: bootstrap.Context) -> None:
    sign(store, reserved(100))
    message = refused_without_change(
        store,
        Overbooked,
        lambda uow: services.sign_contract(uow, reserved(29, start=T0 + DAY), store.catalog, store.new_id, store.now()),
    )
    assert "exceed its free capacity by up to 1 GPUs" in message
