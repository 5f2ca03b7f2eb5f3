"""Power as capacity, by hand: what a GPU draws under a cap, how fast it runs, and how many GPUs a budget or a
contract in megawatts holds (colossus-1 at 300 MW)."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neocloud.adapters.specs import default_catalog, load_fleet
from neocloud.core.contracts import Contract, ContractKind
from neocloud.core.curtailment import Load, drill
from neocloud.core.errors import InvalidInput
from neocloud.core.power import CURVES, capped_jobs, gpu_power, gpus_in, parse_caps, site_power
from neocloud.core.workload import Job

D = Decimal


def test_a_gpu_under_a_cap_by_hand() -> None:
    h100 = gpu_power(default_catalog()["h100-sxm"])
    # DGX H100: 10.2 kW at most for 8 GPUs of 700 W: 0.575 kW of host per GPU; the network adds 10 %.
    assert (h100.min_cap_w, h100.tdp_w, h100.host_kw) == (200, 700, D("0.575"))
    assert h100.it_kw() == (D("0.7") + D("0.575")) * D("1.1") == D("1.4025")
    assert h100.it_kw(500) == D("1.1825")
    with pytest.raises(InvalidInput, match="can be capped to 200-700 W, not 150 W"):
        h100.it_kw(150)
    # Training at 600 of 700 W: 87.5 %; at 400 W, between the curve's 500/1,400 (30 %) and 600/700 points.
    assert h100.throughput(600) == D("0.875")
    assert h100.throughput(400) == pytest.approx(D("0.30") + D("0.575") * (D(4) / 7 - D(5) / 14) / D("0.5"))
    assert h100.throughput(300, "inference") == 1  # decode does not reach 300 W
    assert h100.throughput(200, "inference") == pytest.approx(D(2) / 3)  # below, in proportion
    gb200 = gpu_power(default_catalog()["gb200-nvl72"])
    assert gb200.host_kw == pytest.approx(D(120) / 72 - D("1.2"))  # an NVL72 rack: 120 kW for 72 GPUs of 1.2 kW
    assert set(CURVES) == {"training", "inference"}


def test_colossus_1_at_300_mw_by_hand() -> None:
    catalog = default_catalog()
    site = load_fleet("colossus-1", catalog)[0]
    default = {m.gpu_model: m for m in site_power(site, catalog, mw=D(10)).models}
    # H100 at 700 W: 1.4025 kW IT x PUE 1.2 = 1.683 kW; 300 MW hold 178,253 of them, 178,248 in whole nodes.
    h100 = default["h100-sxm"]
    assert h100.facility_kw_per_gpu == D("1.683")
    assert (h100.fit, h100.for_mw) == (178_248, 5_936)  # 10 MW: 5,941.8, 742 nodes
    # GB200 at 1,200 W: (1.2 + 0.4667) x 1.1 x 1.2 = 2.2 kW; in whole NVL72 racks: 1,893 racks.
    assert (default["gb200-nvl72"].fit, default["gb200-nvl72"].for_mw) == (1_893 * 72, 63 * 72)
    # Its 220,208 GPUs may draw 381 MW at TDP against 300 MW: sold above the feed, as their typical draw fits.
    whole = site_power(site, catalog)
    assert whole.facility_mw == pytest.approx(
        (150_016 + 50_176) * D("1.683") / 1000 + 20_016 * D("2.2") / 1000, rel=D("1e-12")
    )
    assert whole.headroom_mw is not None
    assert whole.headroom_mw < -80
    # Capped to 500 W, an H100 takes 1.1825 x 1.2 = 1.419 kW: 211,416 fit in 300 MW (26,427 nodes).
    capped = {m.gpu_model: m for m in site_power(site, catalog, {"h100-sxm": 500}, D(10)).models}
    assert (capped["h100-sxm"].fit, capped["h100-sxm"].for_mw) == (211_416, 7_040)
    assert capped["h200-sxm"].cap_w == 700  # uncapped models keep their TDP


def test_gpus_in_whole_steps_and_bad_numbers() -> None:
    h100 = gpu_power(default_catalog()["h100-sxm"])
    assert gpus_in(D("1.683"), h100, D(1), per=8) == 1_200  # 1,683 kW / 1.4025 kW = exactly 1,200
    assert gpus_in(D(0), h100, D("1.2")) == 0
    for bad in (D("NaN"), D("Infinity"), D(-1)):
        with pytest.raises(InvalidInput, match="finite number >= 0"):
            gpus_in(bad, h100, D(1))
    with pytest.raises(InvalidInput, match="PUE is at least 1"):
        gpus_in(D(1), h100, D("0.9"))


@pytest.mark.parametrize(
    ("items", "message"),
    [
        (["h100-sxm"], "a cap is MODEL=WATTS"),
        (["h100-sxm=5.5"], "a cap is MODEL=WATTS"),
        (["h100-sxm=-5"], "a cap is MODEL=WATTS"),
        (["=500"], "a cap is MODEL=WATTS"),
        (["h100-sxm=" + "9" * 50], "a cap is MODEL=WATTS"),
        (["h100-sxm=500", "h100-sxm=600"], "capped twice"),
    ],
)
def test_caps_are_parsed_precisely(items: list[str], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        parse_caps(items)


def test_a_site_refuses_caps_for_models_it_has_not_and_unknown_kinds() -> None:
    catalog = default_catalog()
    site = load_fleet("colossus-1", catalog)[0]
    assert parse_caps(["h100-sxm=500"]) == {"h100-sxm": 500}
    with pytest.raises(InvalidInput, match="not a GPU model of site colossus-1: a100-80gb-sxm"):
        site_power(site, catalog, {"a100-80gb-sxm": 300})
    with pytest.raises(InvalidInput, match="unknown kind of work 'gaming'"):
        site_power(site, catalog, kind="gaming")
    with pytest.raises(InvalidInput, match="can be capped to 500-1200 W"):
        site_power(site, catalog, {"gb200-nvl72": 1300})


def _load(kind: ContractKind, gpus: int, start: int = 0, cid: str = "") -> Load:
    contract = Contract(cid or f"c-{kind}", "t", kind, "p/h100-sxm", start, 10**9, Decimal("2.40"), gpus)
    return Load(contract, gpus, gpu_power(default_catalog()["h100-sxm"]))


def test_a_shallow_cut_caps_spot_work_only_as_far_as_needed() -> None:
    spot, on_demand = _load(ContractKind.SPOT, 32), _load(ContractKind.ON_DEMAND, 32)
    # 64 GPUs x 1.753125 kW = 112.2 kW against half of 0.2 MW: 12.2 kW to cut. A watt off 32 spot GPUs saves
    # 32 x 1.1 x 1.25 W: ceil(12.2 / 0.044) = 278 W off, to 422 W (12.232 kW); on-demand work is untouched.
    d = drill("p", D("0.2"), D("1.25"), [spot, on_demand], D("0.5"), 3600, 7200)
    actions = {a.kind: a for a in d.actions}
    assert (actions[ContractKind.SPOT].cap_w, actions[ContractKind.SPOT].what) == (422, "capped to 422 W")
    assert actions[ContractKind.ON_DEMAND].what == "untouched"
    assert d.after_kw == D("112.2") - D("12.232")
    assert (d.shortfall_kw, d.credits_usd) == (0, 0)


def test_a_contract_at_a_cap_draws_at_its_cap_before_the_cut() -> None:
    capped = Load(replace(_load(ContractKind.SPOT, 32).contract, cap_w=500), 32, _load(ContractKind.SPOT, 1).power)
    # 32 x (0.5 + 0.575) x 1.1 x 1.25 = 47.3 kW before; 7.3 kW over a 40 kW limit: ceil(7.3 / 0.044) = 166 W
    # off its 500 W, to 334 W (47.3 - 7.304 = 39.996 kW).
    d = drill("p", D("0.08"), D("1.25"), [capped], D("0.5"), 3600, 7200)
    assert (d.draw_kw, d.actions[0].cap_w, d.after_kw) == (D("47.3"), 334, D("39.996"))


def test_when_everything_is_stopped_the_shortfall_remains() -> None:
    d = drill("p", D("0.01"), D("1.25"), [_load(ContractKind.RESERVED, 8)], D("1"), 3600, 7200)
    assert d.actions[0].what == "stopped"
    assert (d.limit_kw, d.after_kw, d.shortfall_kw) == (0, 0, 0)
    # No SLA on the contract: no credit, though its power was cut.
    assert d.credits_usd == 0


def test_internal_work_is_cut_before_reserved_and_reserved_in_the_order_they_start() -> None:
    loads = [
        _load(ContractKind.RESERVED, 8, start=100, cid="late"),
        _load(ContractKind.RESERVED, 8, start=0, cid="early"),
        _load(ContractKind.INTERNAL, 8),
    ]
    # 24 x 1.753125 = 42.075 kW; a limit of 20 kW: 22.075 kW to cut. Internal work capped (5.5 kW) and stopped
    # (8.525 kW): 8.05 kW left. Reserved work is capped before any is stopped: the contract that started first
    # to 200 W (5.5 kW), then the later one by ceil(2.55 / 0.011) = 232 W, to 468 W.
    d = drill("p", D("0.04"), D("1.25"), loads, D("0.5"), 3600, 7200)
    what = {a.contract_id: a.what for a in d.actions}
    assert what == {"late": "capped to 468 W", "early": "capped to 200 W", f"c-{ContractKind.INTERNAL}": "stopped"}
    assert d.after_kw == 8 * (D("0.2") + D("0.575")) * D("1.375") + 8 * (D("0.468") + D("0.575")) * D("1.375")
    assert d.after_kw <= d.limit_kw


@pytest.mark.parametrize(
    ("depth", "start", "end", "message"),
    [
        (D(0), 0, 3600, "depth"),
        (D("1.01"), 0, 3600, "depth"),
        (D("NaN"), 0, 3600, "depth"),
        (D("0.5"), 3600, 3600, "ends after it starts"),
        (D("0.5"), 0, 40 * 86_400, "within one month"),
    ],
)
def test_bad_drills(depth: Decimal, start: int, end: int, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        drill("p", D(1), D(1), [], depth, start, end)


KINDS = [ContractKind.SPOT, ContractKind.ON_DEMAND, ContractKind.INTERNAL, ContractKind.RESERVED]


@settings(max_examples=200, deadline=None)
@given(
    loads=st.lists(st.tuples(st.sampled_from(KINDS), st.integers(1, 512), st.integers(0, 3)), min_size=1, max_size=8),
    budget_kw=st.integers(1, 2_000),
    depth=st.decimals(D("0.01"), D(1), places=2),
)
def test_a_drill_meets_the_budget_in_contract_order(
    loads: list[tuple[ContractKind, int, int]], budget_kw: int, depth: Decimal
) -> None:
    built = [_load(kind, gpus, start, f"c{i}") for i, (kind, gpus, start) in enumerate(loads)]
    d = drill("p", D(budget_kw) / 1000, D("1.25"), built, depth, 3600, 7200)
    stopped = [a.cap_w is None for a in d.actions]
    # Met, unless every load is stopped; never more cut than needed beyond one load's last step.
    assert d.after_kw <= d.limit_kw or all(stopped)
    assert d.shortfall_kw == (d.after_kw - d.limit_kw if d.after_kw > d.limit_kw else 0)
    for a, x in zip(d.actions, built, strict=True):
        assert a.cap_w is None or x.power.min_cap_w <= a.cap_w <= x.power.tdp_w
        assert 0 <= a.after_kw <= a.draw_kw
    # Reserved power is cut only when every other load is stopped; no credit without an SLA.
    cut_reserved = any(a.kind is ContractKind.RESERVED and a.after_kw < a.draw_kw for a in d.actions)
    others_stopped = all(s for a, s in zip(d.actions, stopped, strict=True) if a.kind is not ContractKind.RESERVED)
    assert not cut_reserved or others_stopped
    assert d.credits_usd == 0
    # A deeper cut never leaves more drawn.
    if depth < 1:
        deeper = drill("p", D(budget_kw) / 1000, D("1.25"), built, min(D(1), depth + D("0.1")), 3600, 7200)
        assert deeper.after_kw <= d.after_kw


def test_capped_jobs_take_longer_by_their_models_speed() -> None:
    jobs = [
        Job("a", 0, 3600, 8, estimate=1800),
        Job("b", 0, 3600, 8, gpu_model="h200-sxm"),
        Job("c", 0, 100, 1, gpu_model="h100-sxm|h200-sxm"),
    ]
    models = ["h100-sxm", "h200-sxm"]
    slow = capped_jobs(jobs, {"h100-sxm": D("0.875"), "h200-sxm": D("0.875")}, models)
    assert [(j.duration, j.estimate) for j in slow] == [(4115, 2058), (4115, None), (115, None)]
    only_h200 = capped_jobs(jobs[1:2], {"h100-sxm": D("0.5")}, models)
    assert only_h200[0].duration == 3600  # its model is not capped
    with pytest.raises(InvalidInput, match="job a may run on GPUs capped to different speeds"):
        capped_jobs(jobs[:1], {"h100-sxm": D("0.5")}, models)
