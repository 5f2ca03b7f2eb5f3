"""Several processes signing contracts on one pool at once must never overbook it, on either store."""

from __future__ import annotations

import multiprocessing as mp
from multiprocessing.synchronize import Barrier

from neocloud import bootstrap
from neocloud.adapters.specs import parse_fleet
from neocloud.app import services
from neocloud.app.services import ContractRequest
from neocloud.core.contracts import ContractKind, TenantKind
from neocloud.core.errors import Overbooked

from ..builders import FLEET, POOL, T0

WORKERS = 4
ATTEMPTS = 8
GPUS = 10  # 128 GPUs fit 12 contracts of 10; 32 are attempted


def _worker(url: str, barrier: Barrier, results: mp.Queue) -> None:  # type: ignore[type-arg]
    signed = refused = 0
    try:
        ctx = bootstrap.build(url)
        barrier.wait()
        for i in range(ATTEMPTS):
            request = ContractRequest("lab", ContractKind.RESERVED, POOL, T0 + i, T0 + 86_400 * 30, gpus=GPUS)
            try:
                with ctx.uow() as uow:
                    services.sign_contract(uow, request, ctx.catalog, ctx.new_id, ctx.now())
                signed += 1
            except Overbooked:
                refused += 1
    except Exception as exc:  # report, so the test fails with the cause instead of waiting
        results.put(repr(exc))
        return
    results.put((signed, refused))


def test_concurrent_signing_never_overbooks(ctx: bootstrap.Context) -> None:
    with ctx.uow() as uow:
        services.add_sites(uow, parse_fleet(FLEET, "fleet.yaml", ctx.catalog), ctx.catalog)
        services.add_tenant(uow, "lab", TenantKind.EXTERNAL, ctx.new_id)
    spawn = mp.get_context("spawn")
    barrier = spawn.Barrier(WORKERS)
    results = spawn.Queue()
    workers = [spawn.Process(target=_worker, args=(ctx.url, barrier, results)) for _ in range(WORKERS)]
    for w in workers:
        w.start()
    outcomes = [results.get(timeout=120) for _ in workers]
    assert all(isinstance(o, tuple) for o in outcomes), outcomes
    for w in workers:
        w.join(timeout=60)
        assert w.exitcode == 0
    assert sum(s for s, _ in outcomes) == 12
    assert sum(r for _, r in outcomes) == WORKERS * ATTEMPTS - 12
    with ctx.uow() as uow:
        holds = services.list_holds(uow, POOL)
        assert len(holds) == 12 == len(uow.contracts.page())
        ledger = uow.ledger.load([POOL], lock=False)  # rebuilding it re-checks the invariant hold by hold
        assert ledger.free(POOL, T0, T0 + 86_400 * 30) == 8
