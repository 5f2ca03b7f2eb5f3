"""Several processes signing contracts on one pool at once must never overbook it, on either store."""

from __future__ import annotations

import multiprocessing as mp
from collections.abc import Callable
from decimal import Decimal
from multiprocessing.synchronize import Barrier
from typing import Any

from neocloud import bootstrap
from neocloud.adapters.specs import parse_fleet
from neocloud.app import services
from neocloud.app.power import apply_curtailment
from neocloud.app.services import ContractRequest
from neocloud.core.contracts import ContractKind, TenantKind
from neocloud.core.errors import CurtailmentOverlaps, Overbooked

from ..builders import FLEET, JUNE, POOL, T0, tight_site

WORKERS = 4
ATTEMPTS = 8
GPUS = 10  # 128 GPUs fit 12 contracts of 10; 32 are attempted


def _worker(url: str, pool: str, barrier: Barrier, results: mp.Queue) -> None:  # type: ignore[type-arg]
    """Sign ATTEMPTS contracts of GPUS GPUs on `pool`; report (signed, refused) or the error."""
    signed = refused = 0
    try:
        ctx = bootstrap.build(url)
        barrier.wait()
        for i in range(ATTEMPTS):
            request = ContractRequest("lab", ContractKind.RESERVED, pool, T0 + i, T0 + 86_400 * 30, gpus=GPUS)
            try:
                with ctx.uow() as uow:
                    services.sign_contract(uow, request, ctx.catalog, ctx.new_id, ctx.now())
                signed += 1
            except Overbooked:  # the pool's GPUs or, as PowerOverbooked, its site's power
                refused += 1
    except Exception as exc:  # report, so the test fails with the cause instead of waiting
        results.put(repr(exc))
        return
    results.put((signed, refused))


def _race(target: Callable[..., None], args: list[tuple[Any, ...]]) -> list[tuple[int, int]]:
    """One process per item of `args`, each running `target(*item, barrier, results)` from the same instant;
    their outcomes (done, refused), once every one has exited cleanly."""
    spawn = mp.get_context("spawn")
    barrier = spawn.Barrier(len(args))
    results = spawn.Queue()
    workers = [spawn.Process(target=target, args=(*a, barrier, results)) for a in args]
    for w in workers:
        w.start()
    outcomes = [results.get(timeout=120) for _ in workers]
    assert all(isinstance(o, tuple) for o in outcomes), outcomes
    for w in workers:
        w.join(timeout=60)
        assert w.exitcode == 0
    return outcomes


def test_concurrent_signing_never_overbooks(ctx: bootstrap.Context) -> None:
    with ctx.uow() as uow:
        services.add_sites(uow, parse_fleet(FLEET, "fleet.yaml", ctx.catalog), ctx.catalog)
        services.add_tenant(uow, "lab", TenantKind.EXTERNAL, ctx.new_id)
    outcomes = _race(_worker, [(ctx.url, POOL)] * WORKERS)
    assert sum(s for s, _ in outcomes) == 12
    assert sum(r for _, r in outcomes) == WORKERS * ATTEMPTS - 12
    with ctx.uow() as uow:
        holds = services.list_holds(uow, POOL)
        assert len(holds) == 12 == len(uow.contracts.page())
        ledger = uow.ledger.load([POOL], lock=False)  # rebuilding it re-checks the invariant hold by hold
        assert ledger.free(POOL, T0, T0 + 86_400 * 30) == 8


POWER_SITE = """
sites:
  - name: p
    power_mw: 0.1
    pue: 1.25
    blocks:
      - {name: h, count: 1, racks: 1, nodes_per_rack: 4, node: {gpu_model: h100-sxm, gpus: 8}}
      - {name: g, count: 1, racks: 1, nodes_per_rack: 4, node: {gpu_model: h200-sxm, gpus: 8}}
"""  # 32 H100 and 32 H200 under one feed of 80 kW of IT power: 57 GPUs at TDP (1.4025 kW each)
POWER_POOLS = ("p/h100-sxm", "p/h200-sxm")


def test_concurrent_signing_on_two_pools_never_overdraws_their_sites_power(ctx: bootstrap.Context) -> None:
    # Each pool alone fits 3 contracts of 10 GPUs; the feed fits 5 of the 6 they hold together (70.1 kW of 80).
    # Workers sign on both pools at once: the store locks the site's pools together, so exactly 5 are signed.
    with ctx.uow() as uow:
        services.add_sites(uow, parse_fleet(POWER_SITE, "p.yaml", ctx.catalog), ctx.catalog)
        services.add_tenant(uow, "lab", TenantKind.EXTERNAL, ctx.new_id)
    outcomes = _race(_worker, [(ctx.url, POWER_POOLS[i % 2]) for i in range(WORKERS)])
    assert sum(s for s, _ in outcomes) == 5
    with ctx.uow() as uow:
        ledger = uow.ledger.load(list(POWER_POOLS), lock=False)  # reloaded from the stored holds
        assert ledger.power_free("p", T0 + ATTEMPTS, T0 + 86_400 * 30) == 80_000_000 - 50 * 1_402_500
        assert sorted(ledger.free(p, T0 + ATTEMPTS, T0 + 86_400 * 30) for p in POWER_POOLS) == [2, 12]


def _curtailer(url: str, barrier: Barrier, results: mp.Queue) -> None:  # type: ignore[type-arg]
    """Apply a curtailment at site p for each of ATTEMPTS hours; report (applied, refused) or the error."""
    applied = refused = 0
    try:
        ctx = bootstrap.build(url)
        barrier.wait()
        for i in range(ATTEMPTS):
            start = JUNE + 9 * 86_400 + i * 3600
            try:
                with ctx.uow() as uow:
                    apply_curtailment(
                        uow, ctx.catalog, "p", Decimal("0.25"), start, start + 3600, ctx.now(), ctx.new_id
                    )
                applied += 1
            except CurtailmentOverlaps:
                refused += 1
    except Exception as exc:
        results.put(repr(exc))
        return
    results.put((applied, refused))


def test_concurrent_curtailments_of_one_site_never_overlap(store: bootstrap.Context) -> None:
    tight_site(store)  # its reserved contract A is cut by each: an incident each, too
    outcomes = _race(_curtailer, [(store.url,)] * WORKERS)
    assert sum(a for a, _ in outcomes) == ATTEMPTS  # one per hour
    with store.uow() as uow:
        events = uow.fleet.curtailments("p", JUNE, JUNE + 30 * 86_400)
        incidents = uow.billing.incidents_between(["p/h100-sxm"], JUNE, JUNE + 30 * 86_400)
    assert sorted(e.start for e in events) == [JUNE + 9 * 86_400 + i * 3600 for i in range(ATTEMPTS)]
    assert len(incidents) == ATTEMPTS
