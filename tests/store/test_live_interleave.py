"""Interleaving in the live engine, on both stores: work whose bottlenecks differ shares one node's GPUs,
runs at its pace in the group, survives a restart of the engine as a group, and is metered by its share."""

from __future__ import annotations

import math
from decimal import Decimal

import pytest

from neocloud import bootstrap
from neocloud.adapters.specs import parse_fleet
from neocloud.app import live, nodes, services
from neocloud.app.power import apply_curtailment
from neocloud.app.services import ContractRequest
from neocloud.core.billing.periods import month
from neocloud.core.contracts import ContractKind, TenantKind
from neocloud.core.engine.config import EngineConfig
from neocloud.core.nodes import NodeState
from neocloud.core.power import gpu_power

MAY = month("2025-05")
H = 3600
ONE_NODE = """
sites:
  - name: solo
    power_mw: 1
    blocks:
      - {name: s, count: 1, racks: 1, nodes_per_rack: 1, node: {gpu_model: h100-sxm, gpus: 8}}
"""
GPU_BOUND = (0.0, 0.0, 1.0)  # seconds of storage, CPU and GPU in one iteration: all on the GPUs
STORAGE_BOUND = (1.0, 0.0, 0.0)  # all loading data
NODE = "s-000-r00-n00"


@pytest.fixture
def solo(ctx: bootstrap.Context) -> str:
    """One node of 8 GPUs, and an on-demand contract on it for May 2025."""
    with ctx.uow() as uow:
        services.add_sites(uow, parse_fleet(ONE_NODE, "solo.yaml", ctx.catalog), ctx.catalog)
        services.add_tenant(uow, "lab", TenantKind.EXTERNAL, lambda p: "t-lab")
        request = ContractRequest("lab", ContractKind.ON_DEMAND, "solo/h100-sxm", MAY.start, MAY.end)
        return services.sign_contract(uow, request, ctx.catalog, ctx.new_id, ctx.now()).id


def test_interleaved_work_shares_a_node_runs_at_its_pace_and_is_metered_by_its_share(
    ctx: bootstrap.Context, solo: str
) -> None:
    t0 = MAY.start + H
    with ctx.uow() as uow:
        gpu = live.submit_workload(uow, solo, 8, 1, H, t0, ctx.new_id, stages=GPU_BOUND)
        storage = live.submit_workload(uow, solo, 8, 1, H, t0, ctx.new_id, stages=STORAGE_BOUND)
    policy = live.Policy(dedicated_nodes=False)
    with ctx.uow() as uow:
        # Two jobs of 8 GPUs on one node of 8: Muri pairs them (their stages overlap) rather than queue one.
        assert live.LiveEngine(ctx.catalog, EngineConfig("muri-s"), policy=policy).reconcile(uow, t0)["started"] == 2
        a, b = uow.workloads.get(gpu.job.id), uow.workloads.get(storage.job.id)
        assert a is not None
        assert b is not None
        assert (a.job.stages, a.job.iteration, b.job.stages) == (GPU_BOUND, 1.0, STORAGE_BOUND)  # as stored
        assert a.allocation == b.allocation == ((NODE, 8),)
        assert set(a.group) == set(b.group) == {gpu.job.id, storage.job.id}
        # The pair's cycle: one loads while the other computes, max(0, 0 + 0) + max(1, 0 + 1) = 1 s, stretched
        # by the cost of sharing two ways (1.33 / 1.015); alone, each iteration takes 1 s.
        assert a.pace == b.pace == 1.33 / 1.015
    # A new engine (a restarted server) finds the group running as planned: it keeps its GPUs.
    engine = live.LiveEngine(ctx.catalog, EngineConfig("muri-s"), policy=policy)
    end = t0 + math.ceil(H * 1.33 / 1.015)  # an hour of work at that pace: 4,717.24 s, in whole seconds up
    assert end == t0 + 4_718
    with ctx.uow() as uow:
        assert engine.reconcile(uow, t0 + 600)["preempted"] == 0
        assert engine.reconcile(uow, end - 1)["finished"] == 0
        assert engine.reconcile(uow, end)["finished"] == 2
        records = sorted((r.job_id, r.start, r.end, r.milli_gpus) for r in uow.billing.usage_between(t0, end + 1))
        # Both ran together for 4,718 s, each metered at half the node: 8 GPUs' hours billed once, not twice.
        assert records == sorted([(gpu.job.id, t0, end, 4000), (storage.job.id, t0, end, 4000)])
        done = uow.workloads.get(gpu.job.id)
        assert done is not None
        assert (done.status, done.group, done.preemptions) == ("finished", (), 0)


def test_a_group_member_that_ends_early_breaks_the_group_and_the_rest_is_planned_afresh(
    ctx: bootstrap.Context, solo: str
) -> None:
    t0 = MAY.start + H
    with ctx.uow() as uow:
        short = live.submit_workload(uow, solo, 8, 1, 600, t0, ctx.new_id, stages=GPU_BOUND)
        long = live.submit_workload(uow, solo, 8, 1, H, t0, ctx.new_id, stages=STORAGE_BOUND)
    engine = live.LiveEngine(ctx.catalog, EngineConfig("muri-l"), policy=live.Policy(dedicated_nodes=False))
    pace = 1.33 / 1.015
    with ctx.uow() as uow:
        assert engine.reconcile(uow, t0)["started"] == 2
        ends = t0 + math.ceil(600 * pace)  # 786.2 s
        live.cancel_workload(uow, short.job.id, ends - 100)  # its tenant stops it early
        counts = engine.reconcile(uow, ends - 100)
        # Alone now, the long one stops and starts again on its own (a job alone runs at its own speed).
        assert (counts["preempted"], counts["started"]) == (1, 1)
        alone = uow.workloads.get(long.job.id)
        assert alone is not None
        assert (alone.status, alone.group, alone.pace, alone.preemptions) == ("running", (), 1.0, 1)
        worked = int((ends - 100 - t0) / pace)  # its work done in the group: 686 s at that pace, 523 s of work
        assert alone.remaining == H - worked
        runs = sorted((r.job_id, r.start, r.end, r.milli_gpus) for r in uow.billing.usage_between(t0, ends))
        assert runs == sorted([(short.job.id, t0, ends - 100, 4000), (long.job.id, t0, ends - 100, 4000)])


def test_work_waiting_on_a_closed_node_starts_when_the_node_is_back(ctx: bootstrap.Context, solo: str) -> None:
    """Nothing arrives or ends, yet the plan must be made again: the node came back."""
    t0 = MAY.start + H
    engine = live.LiveEngine(ctx.catalog, EngineConfig("muri-s"), policy=live.Policy(dedicated_nodes=False))
    with ctx.uow() as uow:
        nodes.set_state(uow, ctx.catalog, NODE, NodeState.DRAINING, "disk swap", t0 - 60)
        work = live.submit_workload(uow, solo, 8, 1, H, t0, ctx.new_id, stages=GPU_BOUND)
        assert engine.reconcile(uow, t0)["started"] == 0
        assert engine.reconcile(uow, t0 + 60)["started"] == 0
        nodes.set_state(uow, ctx.catalog, NODE, NodeState.UP, "", t0 + 100)
        assert engine.reconcile(uow, t0 + 120)["started"] == 1
        assert uow.workloads.get(work.job.id).status == "running"  # type: ignore[union-attr]


def test_a_group_draws_its_gpus_power_once_and_a_cut_stops_it_whole(ctx: bootstrap.Context, solo: str) -> None:
    t0 = MAY.start + H
    engine = live.LiveEngine(ctx.catalog, EngineConfig("muri-s"), policy=live.Policy(dedicated_nodes=False))
    with ctx.uow() as uow:
        pair = [live.submit_workload(uow, solo, 8, 1, H, t0, ctx.new_id, stages=s) for s in (GPU_BOUND, STORAGE_BOUND)]
        assert engine.reconcile(uow, t0)["started"] == 2
        site = uow.fleet.get_site("solo")
        assert site is not None
        pue = site.pue_at(t0)
        node_kw = 8 * gpu_power(ctx.catalog["h100-sxm"]).it_kw(None)  # the node's 8 GPUs at full power, IT kW

        def cut_to(share: Decimal, start: int) -> None:
            """Curtail the 1 MW feed until `share` of the node's draw is left (in IT kW, at the site's PUE)."""
            depth = (1 - share * node_kw * pue / 1000).quantize(Decimal("0.000001"))
            apply_curtailment(uow, ctx.catalog, "solo", depth, start, start + 600, start, ctx.new_id)

        # 1.5 nodes' draw is left: the pair on one node fits (two members counted apart would not).
        cut_to(Decimal("1.5"), t0 + 60)
        assert engine.reconcile(uow, t0 + 60)["preempted"] == 0
        # 0.8 of a node's, which capping its GPUs could reach; but a group is not capped (a cap would change
        # every member's pace), so both stop.
        cut_to(Decimal("0.8"), t0 + 700)
        assert engine.reconcile(uow, t0 + 700)["preempted"] == 2
        stopped = [uow.workloads.get(w.job.id) for w in pair]
        assert [(w.status, w.group, w.cap_w) for w in stopped if w is not None] == [("pending", (), None)] * 2
