"""The live engine under a site's power budget, on both stores: what runs never draws more than the feed
carries now (at this month's PUE, less a curtailment in force), spot work stops first, reserved work displaces
spot work within the cut, and work comes back when the cut ends. By hand on site p (128 H100, 0.2 MW at PUE
1.25: 160 kW of IT power, 114 GPUs at TDP's 1.4025 kW)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from neocloud import bootstrap
from neocloud.app import live, services
from neocloud.app.power import apply_curtailment, lift_curtailment
from neocloud.app.services import ContractRequest
from neocloud.app.views import workload_view
from neocloud.core.contracts import ContractKind
from neocloud.core.workload import WorkloadStatus

from ..builders import JUNE, TIGHT, tight_site

H = 3600
KW_PER_GPU = Decimal("1.4025")  # (700 W + the host's 575 W) x 1.1 for the network
T0 = JUNE + 9 * 86_400 + 11 * H  # June 10th, 11:00; the cut: 12:00 to 15:00
CUT = T0 + H


def _running(ctx: bootstrap.Context, contract: str | None = None) -> list[int]:
    with ctx.uow() as uow:
        return [
            w.job.gpus for w in uow.workloads.active(lock=False)
            if w.status is WorkloadStatus.RUNNING and contract in (None, w.contract_id)
        ]  # fmt: skip


def test_the_live_engine_keeps_a_site_within_its_power_through_a_curtailment(store: bootstrap.Context) -> None:
    ids = tight_site(store, running_spot=False)
    engine = live.LiveEngine(store.catalog, policy=live.Policy(dedicated_nodes=False))
    with store.uow() as uow:
        live.submit_workload(uow, ids["a"], 8, 6, 10 * H, T0, store.new_id)  # reserved A: 48 GPUs
        for _ in range(8):
            live.submit_workload(uow, ids["spot"], 8, 1, 10 * H, T0, store.new_id)  # 8 spot jobs of 8 GPUs
        step = engine.reconcile(uow, T0)
    # 114 GPUs fit 160 kW: of 16 idle nodes, 2 stay down (112 free GPUs powered), and everything starts:
    # 112 GPUs, 157.08 kW.
    assert (step["started"], step["powered_down"]) == (9, 2)
    assert sum(_running(store)) == 112

    with store.uow() as uow:
        applied = apply_curtailment(uow, store.catalog, "p", Decimal("0.25"), CUT, CUT + 3 * H, T0, store.new_id)
    assert applied.event.id.startswith("cur")
    with store.uow() as uow:
        assert engine.reconcile(uow, CUT - 1)["preempted"] == 0  # not yet
        step = engine.reconcile(uow, CUT)
    # A quarter cut leaves 120 kW: 37.08 kW too much. Spot work is capped first: each job's 8 GPUs from 700 W
    # to 200 W save 8 x 500 x 1.1 / 1000 = 4.4 kW, all eight 35.2 kW; 1.88 kW short, so one stops (6.82 kW at
    # 200 W). That frees 4.94 kW beyond the need, given back to the last capped: one whole (4.4 kW), the next
    # floor(0.54 / 0.0088) = 61 W, to 261 W. 104 GPUs draw 119.9968 kW; no GPU more is powered: the 3 idle
    # nodes go down.
    assert (step["preempted"], step["started"], step["powered_down"]) == (1, 0, 3)
    assert sorted(_caps(store)) == [0, 0, 200, 200, 200, 200, 200, 261]  # A and one spot job uncapped (0)
    with store.uow() as uow:  # as the API and `workload list` show them
        shown = sorted(workload_view(w)["cap_w"] or 0 for w in uow.workloads.active(lock=False))
    assert shown == [0, 0, 0, 200, 200, 200, 200, 200, 261]  # the stopped one waits, at full power
    assert sum(_running(store, ids["a"])) == 48  # the reservation runs on, uncapped
    assert _drawn(store) == Decimal("119.9968")

    with store.uow() as uow:  # reserved B's work arrives during the cut: it displaces spot work, not the budget
        live.submit_workload(uow, ids["b"], 8, 4, 2 * H, CUT + 60, store.new_id)
        step = engine.reconcile(uow, CUT + 60)
    # B's 32 GPUs start in the place of 4 spot jobs, at full power; the engine then fits the budget again:
    # A's 67.32 + B's 44.88 + 3 spot jobs' 33.66 kW are 25.86 over 120. Capping the 3 saves 13.2; two of them
    # stop, and the 0.98 kW they freed beyond the need gives the third floor(0.98 / 0.0088) = 111 W back.
    assert (step["started"], step["preempted"]) == (1, 6)
    assert sorted(_running(store)) == [8, 32, 48]
    assert sorted(_caps(store)) == [0, 0, 311]
    assert _drawn(store) == Decimal("119.9968")

    with store.uow() as uow:  # the cut ends: 160 kW again. B's 2 hours are done; A and the spot job left, at
        step = engine.reconcile(uow, CUT + 3 * H)  # full power again, leave 81.46 kW: 58 GPUs, 7 spot jobs
    assert (step["finished"], step["started"], step["powered_down"]) == (1, 7, 2)
    assert sorted(_caps(store)) == [0] * 9
    assert sum(_running(store)) == 112
    assert _drawn(store) == 112 * KW_PER_GPU <= 160


def _caps(ctx: bootstrap.Context) -> list[int]:
    with ctx.uow() as uow:
        return [w.cap_w or 0 for w in uow.workloads.active(lock=False) if w.status is WorkloadStatus.RUNNING]


def _drawn(ctx: bootstrap.Context) -> Decimal:
    """IT kW the running work draws: each GPU (its cap, or 700 W, + the host's 575 W) x 1.1 for the network."""
    with ctx.uow() as uow:
        running = [w for w in uow.workloads.active(lock=False) if w.status is WorkloadStatus.RUNNING]
    return sum((w.job.gpus * (Decimal(w.cap_w or 700) + 575) * Decimal("1.1") / 1000 for w in running), Decimal(0))


def test_the_live_engine_starts_no_work_while_started_work_is_still_coming_up(store: bootstrap.Context) -> None:
    ramped = TIGHT.replace("    power_mw: 0.2\n", "    power_mw: 0.2\n    ramp_mw_per_s: 0.01\n")  # 10 kW a second
    ids = tight_site(store, running_spot=False, fleet=ramped)
    with store.uow() as uow:  # stored and read back with its limit
        assert getattr(uow.fleet.get_site("p"), "ramp_mw_per_s", None) == Decimal("0.01")
    engine = live.LiveEngine(store.catalog, policy=live.Policy(dedicated_nodes=False))
    with store.uow() as uow:
        live.submit_workload(uow, ids["a"], 8, 6, 10 * H, T0, store.new_id)  # 48 GPUs: 84.15 kW at PUE 1.25
        assert engine.reconcile(uow, T0)["started"] == 1
        live.submit_workload(uow, ids["spot"], 8, 1, 10 * H, T0 + 5, store.new_id)
        # A's draw comes up over 8.415 s: the spot job waits while it rises, and starts once it is up.
        assert engine.reconcile(uow, T0 + 5)["started"] == 0
        assert engine.reconcile(uow, T0 + 8)["started"] == 0
        assert engine.reconcile(uow, T0 + 9)["started"] == 1


# Rising at 10 kW a second and falling at 1: A's 48 GPUs (84.15 kW) end after an hour, and the floors hold
# their draw, falling to 74.15 kW by 10 s later. A spot job (8 GPUs, 14.025 kW) starting then takes its draw
# from the floors, so nothing rises, and a second spot job a second later need not wait. Falling as fast as it
# likes (1 MW a second: A's draw is gone in 0.08 s), the first spot job rises by all of its 14.025 kW, up 1.4 s
# after it starts: the second waits.
@pytest.mark.parametrize(("fall", "waits"), [("0.001", False), ("1", True)])
def test_under_a_fall_limit_new_work_takes_over_the_draw_of_work_that_ended(
    store: bootstrap.Context, fall: str, waits: bool
) -> None:
    limits = f"    power_mw: 0.2\n    ramp_mw_per_s: 0.01\n    fall_mw_per_s: {fall}\n"
    ids = tight_site(store, running_spot=False, fleet=TIGHT.replace("    power_mw: 0.2\n", limits))
    engine = live.LiveEngine(store.catalog, policy=live.Policy(dedicated_nodes=False))
    with store.uow() as uow:
        live.submit_workload(uow, ids["a"], 8, 6, H, T0, store.new_id)
        assert engine.reconcile(uow, T0)["started"] == 1
        assert engine.reconcile(uow, T0 + H)["finished"] == 1
        live.submit_workload(uow, ids["spot"], 8, 1, H, T0 + H + 10, store.new_id)
        assert engine.reconcile(uow, T0 + H + 10)["started"] == 1
        live.submit_workload(uow, ids["spot"], 8, 1, H, T0 + H + 11, store.new_id)
        assert engine.reconcile(uow, T0 + H + 11)["started"] == (0 if waits else 1)


def test_work_under_a_capped_contract_runs_slower(store: bootstrap.Context) -> None:
    tight_site(store, running_spot=False)
    with store.uow() as uow:
        request = ContractRequest("lab", ContractKind.RESERVED, "p/h100-sxm", JUNE, JUNE + 720 * H, 8, cap_w=500)
        capped = services.sign_contract(uow, request, store.catalog, store.new_id, JUNE - 86_400)
        work = live.submit_workload(uow, capped.id, 8, 1, H, T0, store.new_id, catalog=store.catalog)
    # At 500 of 700 W training runs at 0.30 + (5/7 - 5/14) x 0.575 / (6/7 - 5/14) = 0.710714 of its speed
    # (core/power.py CURVES): the hour of work at TDP takes ceil(3,600 / 0.710714) = 5,066 s.
    assert (work.job.duration, work.remaining) == (5_066, 5_066)
    engine = live.LiveEngine(store.catalog, policy=live.Policy(dedicated_nodes=False))
    with store.uow() as uow:
        assert engine.reconcile(uow, T0)["started"] == 1
        assert engine.reconcile(uow, T0 + 5_065)["finished"] == 0
        assert engine.reconcile(uow, T0 + 5_066)["finished"] == 1


@pytest.mark.parametrize("withdrawn", [False, True])
def test_work_is_told_of_a_coming_curtailment_as_its_contracts_notice_falls_due(
    store: bootstrap.Context, withdrawn: bool
) -> None:
    ids = tight_site(store, running_spot=False)
    with store.uow() as uow:  # spot work owed 10 minutes' notice
        request = ContractRequest("lab", ContractKind.SPOT, "p/h100-sxm", JUNE, JUNE + 720 * H, preemption_notice_s=600)
        spot = services.sign_contract(uow, request, store.catalog, store.new_id, JUNE - 86_400).id
        live.submit_workload(uow, ids["a"], 8, 6, 10 * H, T0, store.new_id)
        for _ in range(8):
            live.submit_workload(uow, spot, 8, 1, 10 * H, T0, store.new_id)
    engine = live.LiveEngine(store.catalog, policy=live.Policy(dedicated_nodes=False))
    with store.uow() as uow:
        engine.reconcile(uow, T0)
        # Applied an hour ahead: the drill owes each spot contract its 600 s, and the lead time gives them.
        applied = apply_curtailment(uow, store.catalog, "p", Decimal("0.25"), CUT, CUT + 3 * H, T0, store.new_id)
        late = apply_curtailment(uow, store.catalog, "p", Decimal("0.25"), CUT + 4 * H, CUT + 5 * H, CUT + 4 * H - 300,
                                 store.new_id)  # fmt: skip
    cut = {a.contract_id: a for a in applied.drill.actions}
    assert (cut[spot].notice_s, cut[spot].notice_short_s, cut[ids["a"]].notice_s) == (600, 0, 0)
    assert {a.contract_id: a.notice_short_s for a in late.drill.actions}[spot] == 300  # 5 minutes ahead only
    with store.uow() as uow:  # recorded 100 s after it began: all of the notice is short, and no more
        begun = apply_curtailment(uow, store.catalog, "p", Decimal("0.25"), CUT + 6 * H, CUT + 7 * H,
                                  CUT + 6 * H + 100, store.new_id)  # fmt: skip
    assert {a.contract_id: a.notice_short_s for a in begun.drill.actions}[spot] == 600
    with store.uow() as uow:
        engine.reconcile(uow, CUT - 601)
    assert _told(store) == []  # not yet due
    with store.uow() as uow:
        engine.reconcile(uow, CUT - 600)
    # The cut at noon will cap six spot jobs and stop one (the eighth gets its power back, as above): each of
    # the seven is told now, 600 s ahead; A and the eighth are not.
    assert _told(store) == [CUT] * 7
    if withdrawn:  # the grid operator calls it off: the notices are taken back, and nothing is capped at noon
        with store.uow() as uow:
            assert lift_curtailment(uow, "p", applied.event.id, None, CUT - 300)[1] is True
        assert _told(store) == []
    with store.uow() as uow:
        step = engine.reconcile(uow, CUT)
    assert step["preempted"] == (0 if withdrawn else 1)
    assert sorted(_caps(store)) == ([0] * 9 if withdrawn else [0, 0, 200, 200, 200, 200, 200, 261])


def _told(ctx: bootstrap.Context) -> list[int]:
    with ctx.uow() as uow:
        return [w.stops_at for w in uow.workloads.active(lock=False) if w.stops_at is not None]


def test_a_curtailment_lifted_early_gives_the_site_its_whole_feed_back(store: bootstrap.Context) -> None:
    ids = tight_site(store, running_spot=False)
    engine = live.LiveEngine(store.catalog, policy=live.Policy(dedicated_nodes=False))
    with store.uow() as uow:
        live.submit_workload(uow, ids["a"], 8, 6, 10 * H, T0, store.new_id)
        for _ in range(8):
            live.submit_workload(uow, ids["spot"], 8, 1, 10 * H, T0, store.new_id)
        engine.reconcile(uow, T0)
        applied = apply_curtailment(uow, store.catalog, "p", Decimal("0.25"), CUT, CUT + 3 * H, T0, store.new_id)
    with store.uow() as uow:
        assert engine.reconcile(uow, CUT)["preempted"] == 1  # as above: seven spot jobs capped, one stopped
    assert sorted(_caps(store)) == [0, 0, 200, 200, 200, 200, 200, 261]
    with store.uow() as uow:  # the grid operator lifts it ten minutes in
        lifted, withdrawn = lift_curtailment(uow, "p", applied.event.id, None, CUT + 600)
        assert (lifted.end, withdrawn) == (CUT + 600, False)
        step = engine.reconcile(uow, CUT + 600)
    # 160 kW again: the caps are lifted and the stopped job starts again, as when the cut ends by itself.
    assert (step["started"], step["preempted"]) == (1, 0)
    assert sorted(_caps(store)) == [0] * 9
    assert sum(_running(store)) == 112
