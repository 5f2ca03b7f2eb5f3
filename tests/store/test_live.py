"""The live engine on the store: the simulator's engine on a clock we control, state surviving a restart,
every run metered."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from neocloud import bootstrap
from neocloud.adapters.specs import parse_fleet
from neocloud.app import billing, live, services
from neocloud.app.services import ContractRequest
from neocloud.core.billing.periods import month
from neocloud.core.contracts import ContractKind, TenantKind
from neocloud.core.engine.config import EngineConfig
from neocloud.core.errors import InvalidInput, InvalidState, NotFound, WorkloadManagerUnavailable

from ..builders import POOL, refused_without_change

MAY = month("2025-05")
H = 3600


@pytest.fixture
def contracts(store: bootstrap.Context) -> tuple[bootstrap.Context, str, str]:
    with store.uow() as uow:
        reserved = services.sign_contract(
            uow,
            ContractRequest("lab", ContractKind.RESERVED, POOL, MAY.start, MAY.end, gpus=64),
            store.catalog,
            store.new_id,
            store.now(),
        )
        spot = services.sign_contract(
            uow,
            ContractRequest("research", ContractKind.SPOT, POOL, MAY.start, MAY.end, preemption_notice_s=30),
            store.catalog,
            store.new_id,
            store.now(),
        )
    return store, reserved.id, spot.id


def pooled(ctx: bootstrap.Context, **kw: Any) -> live.LiveEngine:
    """The live engine with reservations as a pooled entitlement (no nodes of their own)."""
    return live.LiveEngine(ctx.catalog, policy=live.Policy(dedicated_nodes=False), **kw)


def counts(finished: int, started: int, preempted: int) -> dict[str, int]:
    return {
        "finished": finished,
        "started": started,
        "preempted": preempted,
        "assigned": 0,
        "healed": 0,
        "powered_down": 0,
    }


def test_workloads_run_finish_and_are_metered(contracts: tuple[bootstrap.Context, str, str]) -> None:
    ctx, reserved, spot = contracts
    t0 = MAY.start + 10 * H
    with ctx.uow() as uow:
        big = live.submit_workload(uow, spot, 8, 16, 3 * H, t0, ctx.new_id)  # 128 GPUs of spot work
        first = pooled(ctx).reconcile(uow, t0)
    assert first == counts(0, 1, 0)
    with ctx.uow() as uow:
        urgent = live.submit_workload(uow, reserved, 8, 4, H, t0 + H, ctx.new_id, tenant_id="t-lab")
    # A new engine (as after a restart) reads the state back: the reserved job takes 32 GPUs from spot.
    with ctx.uow() as uow:
        assert pooled(ctx).reconcile(uow, t0 + H) == {
            "finished": 0,
            "started": 1,
            "preempted": 1,
            "assigned": 0,
            "healed": 0,
            "powered_down": 0,
        }
    with ctx.uow() as uow:
        assert pooled(ctx).reconcile(uow, t0 + 2 * H) == {
            "finished": 1,
            "started": 1,
            "preempted": 0,
            "assigned": 0,
            "healed": 0,
            "powered_down": 0,
        }
        assert uow.workloads.get(urgent.job.id).status == "finished"  # type: ignore[union-attr]
    with ctx.uow() as uow:  # spot resumed at t0 + 2 h with 2 h left
        assert pooled(ctx).reconcile(uow, t0 + 5 * H) == {
            "finished": 1,
            "started": 0,
            "preempted": 0,
            "assigned": 0,
            "healed": 0,
            "powered_down": 0,
        }
        done = uow.workloads.get(big.job.id)
        records = uow.billing.usage_between(MAY.start, MAY.end)
    assert done is not None
    assert (done.status, done.finished, done.preemptions) == ("finished", t0 + 4 * H, 1)
    runs = sorted(((r.contract_id, r.start - t0, r.end - t0, r.preempted) for r in records), key=lambda r: r[1])
    assert runs == [(spot, 0, H, True), (reserved, H, 2 * H, False), (spot, 2 * H, 4 * H, False)]
    with ctx.uow() as uow:
        invoice = billing.generate_invoice(uow, ctx.catalog, "research", "2025-05", MAY.end + 1, ctx.new_id)
    # 128 GPUs x (1 h - 30 s + 2 h) = 382.933333 GPU-h x $1.35 = $516.96
    assert invoice.total == Decimal("516.96")


def test_bad_submissions_and_cancel(contracts: tuple[bootstrap.Context, str, str]) -> None:
    ctx, reserved, spot = contracts
    t0 = MAY.start + H
    refused_without_change(
        ctx, NotFound, lambda uow: live.submit_workload(uow, spot, 1, 1, H, t0, ctx.new_id, tenant_id="t-lab")
    )
    refused_without_change(
        ctx, InvalidState, lambda uow: live.submit_workload(uow, spot, 1, 1, H, MAY.end + 1, ctx.new_id)
    )
    refused_without_change(ctx, InvalidInput, lambda uow: live.submit_workload(uow, spot, 8, 17, H, t0, ctx.new_id))
    message = refused_without_change(
        ctx, InvalidInput, lambda uow: live.submit_workload(uow, spot, 16, 1, H, t0, ctx.new_id)
    )
    assert message == f"a task of 16 GPUs fits no node of pool {POOL} (8 GPUs per node)"
    with ctx.uow() as uow:
        w = live.submit_workload(uow, reserved, 8, 1, 10 * H, t0, ctx.new_id)
        live.LiveEngine(ctx.catalog).reconcile(uow, t0)
    with ctx.uow() as uow:
        cancelled = live.cancel_workload(uow, w.job.id, t0 + H)
        assert cancelled.status == "cancelled"
        assert [(r.start, r.end) for r in uow.billing.usage_between(MAY.start, MAY.end)] == [(t0, t0 + H)]
    refused_without_change(ctx, InvalidState, lambda uow: live.cancel_workload(uow, w.job.id, t0 + 2 * H))


def test_on_demand_work_leaves_reserved_capacity_to_its_holder(contracts: tuple[bootstrap.Context, str, str]) -> None:
    ctx, reserved, _ = contracts
    t0 = MAY.start + H
    with ctx.uow() as uow:
        on_demand = services.sign_contract(
            uow,
            ContractRequest("research", ContractKind.ON_DEMAND, POOL, MAY.start, MAY.end),
            ctx.catalog,
            ctx.new_id,
            ctx.now(),
        )
        wide = live.submit_workload(uow, on_demand.id, 8, 9, H, t0, ctx.new_id)  # 72 GPUs
        fits = live.submit_workload(uow, on_demand.id, 8, 8, H, t0, ctx.new_id)  # 64 GPUs
        # lab holds 64 of the pool's 128 GPUs: on-demand work gets the other 64, however idle lab's are.
        assert pooled(ctx, engine=EngineConfig(ordering="sjf")).reconcile(uow, t0)["started"] == 1
        assert (uow.workloads.get(wide.job.id).status, uow.workloads.get(fits.job.id).status) == ("pending", "running")  # type: ignore[union-attr]
        own = live.submit_workload(uow, reserved, 8, 8, H, t0, ctx.new_id)
        assert pooled(ctx, engine=EngineConfig(ordering="sjf")).reconcile(uow, t0)["started"] == 1
        assert uow.workloads.get(own.job.id).status == "running"  # type: ignore[union-attr]


TWO_SITES = """
sites:
  - name: east
    power_mw: 10
    blocks:
      - {name: e, count: 1, racks: 1, nodes_per_rack: 2, node: {gpu_model: h100-sxm, gpus: 8}}
  - name: west
    power_mw: 10
    blocks:
      - {name: w, count: 1, racks: 1, nodes_per_rack: 2, node: {gpu_model: h100-sxm, gpus: 8}}
"""


def test_work_runs_in_its_contracts_pool_only(ctx: bootstrap.Context) -> None:
    with ctx.uow() as uow:
        services.add_sites(uow, parse_fleet(TWO_SITES, "two.yaml", ctx.catalog), ctx.catalog)
        services.add_tenant(uow, "lab", TenantKind.EXTERNAL, lambda p: "t-lab")
        west = services.sign_contract(
            uow,
            ContractRequest("lab", ContractKind.RESERVED, "west/h100-sxm", MAY.start, MAY.end, gpus=16),
            ctx.catalog,
            ctx.new_id,
            ctx.now(),
        )
        t0 = MAY.start + H
        first = live.submit_workload(uow, west.id, 8, 2, H, t0 - 60, ctx.new_id)
        second = live.submit_workload(uow, west.id, 8, 1, H, t0, ctx.new_id)
        # 16 GPUs of east stand idle: the second workload waits for west's, where its contract is.
        counts = {
            "finished": 0,
            "started": 1,
            "preempted": 0,
            "assigned": 2,
            "healed": 0,
            "powered_down": 0,
        }  # west's 2 nodes are lab's
        assert live.LiveEngine(ctx.catalog).reconcile(uow, t0) == counts
        ran = uow.workloads.get(first.job.id)
        assert ran is not None
        assert ran.allocation is not None
        assert {node.split("-")[0] for node, _ in ran.allocation} == {"w"}
        assert uow.workloads.get(second.job.id).status == "pending"  # type: ignore[union-attr]


class RefusingHalts(live.TimedExecutor):
    """The stand-in, with every launch recorded and halts refused (as a Slurm that is away refuses them)
    while `refusing`."""

    def __init__(self) -> None:
        self.refusing = True
        self.launched: list[str] = []

    def launch(self, workload: Any, allocation: Any, now: int) -> None:
        self.launched.append(workload.job.id)

    def halt(self, workload: Any, now: int) -> None:
        if self.refusing:
            raise WorkloadManagerUnavailable("scancel: Unable to contact slurm controller")


def test_a_refused_halt_starts_nothing_that_counted_on_it_and_nothing_runs_twice(
    contracts: tuple[bootstrap.Context, str, str],
) -> None:
    ctx, reserved, spot = contracts
    executor = RefusingHalts()
    t0 = MAY.start + 10 * H
    with ctx.uow() as uow:
        big = live.submit_workload(uow, spot, 8, 16, 3 * H, t0, ctx.new_id)  # 128 GPUs of spot work
        assert pooled(ctx, executor=executor).reconcile(uow, t0) == counts(0, 1, 0)
    with ctx.uow() as uow:
        urgent = live.submit_workload(uow, reserved, 8, 4, H, t0 + H, ctx.new_id, tenant_id="t-lab")
        # The reserved work needs spot's GPUs; the halt is refused: nothing starts, and the step goes through.
        assert pooled(ctx, executor=executor).reconcile(uow, t0 + H) == counts(0, 0, 0)
    with ctx.uow() as uow:
        assert [uow.workloads.get(w).status.value for w in (big.job.id, urgent.job.id)] == ["running", "pending"]
    executor.refusing = False
    with ctx.uow() as uow:
        assert pooled(ctx, executor=executor).reconcile(uow, t0 + H + 1) == counts(0, 1, 1)
        assert uow.workloads.get(urgent.job.id).status.value == "running"
    assert executor.launched == [big.job.id, urgent.job.id]
