"""The scenario engine: hand-worked runs on one node, demand generation, determinism, the spec's errors, the
report and a sweep on a local Ray."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from neocloud.adapters.scenario_parallel import parallel_operations
from neocloud.adapters.scenario_report import decision_text, render_html, result_json, uncertainty_json
from neocloud.adapters.scenario_spec import load_scenario
from neocloud.adapters.sweep import run_sweep
from neocloud.app.views import plain
from neocloud.cli.main import app
from neocloud.core.billing.periods import month
from neocloud.core.errors import InvalidSpec
from neocloud.core.scenario.costs import HourlyCost
from neocloud.core.scenario.paths import DemandModel, MarketModel
from neocloud.core.scenario.paths import Path as Futures
from neocloud.core.scenario.strategies import Lease, MonthUse, Prices, Strategy
from neocloud.core.workload import Job
from neocloud.sim.buyer import buyer_view
from neocloud.sim.demand import Campaigns, Inference, InternalDemand, from_trace, spot_buyers, synthetic
from neocloud.sim.scenario import (
    KEEP_ALL,
    RENT_ALL,
    Operations,
    Reliability,
    Scenario,
    SiteOutage,
    SpotOffer,
    cached_operations,
    evaluate,
    operate,
    run,
    sweep_cells,
    sweep_points,
)
from neocloud.sim.uncertainty import (
    Plan,
    Serving,
    Tables,
    Uncertainty,
    plan,
    price_path,
    rates_at,
    run_paths,
    summarize,
    tables,
)

D = Decimal
HOUR, DAY = 3600, 86_400
COST = HourlyCost(depreciation=D(1), capital=D("0.25"), facility=D("0.5"), energy=D("0.1"), operations=D("0.15"))
APRIL = month("2027-04")  # 30 days, 720 h

# One 8-GPU node; one 8-GPU job of 12 h in a window of one day: 4 GPU-h served per hour, half the node idle.
ONE_JOB = InternalDemand((Job("j", 0, 12 * HOUR, 8, tenant="internal"),), DAY, 8)


def one_node(**changes: object) -> Scenario:
    base: dict[str, object] = {
        "name": "one-node",
        "site_gpus": 8,
        "cost": COST,  # $2.00 per GPU-hour, $1.00 of it depreciation
        "capex": D(0),
        "lease": Lease(D(5760), "2027-04", "2027-05", sla_uptime=D("0.99")),
        "prices": Prices(shadow_usd_per_gpu_hour=D(4), spot_usd_per_gpu_hour=D(1), reserved_usd_per_gpu_hour=D(3)),
        "start": "2027-04",
        "end": "2027-05",
        "demand": ONE_JOB,
        "reliability": Reliability(failures_per_gpu_year=D(0)),
        "strategies": (KEEP_ALL, RENT_ALL),
    }
    return Scenario(**{**base, **changes})  # type: ignore[arg-type]


def test_one_node_one_job_by_hand() -> None:
    result = run(one_node())
    keep, rent = result.results
    # Keeping: 4 GPU-h per hour x 720 h = 2,880 GPU-h served, worth $4 each; owning costs 8 x 720 x $2.
    assert keep.operations.internal == 4
    assert keep.operations.utilization == 0.5
    assert keep.internal_gpu_hours == 2880
    assert (keep.total("margin"), keep.total("internal_value"), keep.total("value")) == (-11520, 11520, 0)
    assert keep.operations.queueing == 0
    # Renting all: the $5,760 fee, no internal work; the job waits the whole window (24 h per day).
    assert (rent.total("revenue"), rent.total("value")) == (5760, 5760 - 11520)
    assert rent.operations.queueing == 1
    # Renting adds $5,760 and gives up 2,880 internal GPU-h: keeping wins above $2 per GPU-hour.
    assert result.breakeven_shadow_price == 2
    assert result.advantage_of_renting == -5760
    assert result.best.strategy.name == "keep-all"


def test_when_delays_cost_more_than_renting_earns_keeping_wins_at_any_shadow_price() -> None:
    # Renting leaves the job waiting 1 job-hour per hour: 720 h x $100 = $72,000 of delay against the $5,760 fee.
    prices = Prices(D(4), D(1), D(3), delay_usd_per_job_hour=D(100))
    result = run(one_node(prices=prices))
    assert result.breakeven_shadow_price == (5760 - 72000) / D(2880)
    assert "keeping pays at any shadow price" in decision_text(result)


def test_reserved_blocks_and_the_returned_half() -> None:
    # Rent half the node as reserved blocks at $3: 4 GPUs x 720 h x $3. The kept half still runs the job.
    half = Strategy("half", D("0.5"), offer="reserved")
    result = run(one_node(strategies=(half,)))
    (r,) = result.results
    assert r.total("lease_revenue") == 8640
    assert r.operations.kept_slice_gpus == 0  # half of one node rounds to none: the job cannot run
    assert r.internal_gpu_hours == 0


def test_an_outage_earns_the_lessee_a_credit() -> None:
    # 48 h of the whole site down in a 720 h month: 93.3 % available, below 95 %: 25 % of the fee back.
    outage = SiteOutage(APRIL.start, APRIL.start + 48 * HOUR)
    result = run(one_node(reliability=Reliability(D(0), D(0), (outage,))))
    rent = result.results[1]
    assert rent.total("sla_credits") == 1440
    assert rent.total("revenue") == 5760 - 1440
    # Expected node repairs alone: 0.11 failures per GPU-year x 8 GPUs x 24 h / 8,766 h = 0.24 % down: no credit.
    assert run(one_node(reliability=Reliability())).results[1].total("sla_credits") == 0


def test_after_notice_the_leased_gpus_return_to_internal_work() -> None:
    # Notice on April 1 with 15 days: leased for half of April, then the node runs the job again.
    lease = Lease(D(5760), "2027-04", "2027-05", notice_days=15, notice_at=APRIL.start)
    rent = run(one_node(lease=lease)).results[1]
    assert rent.total("lease_revenue") == 2880
    assert rent.internal_gpu_hours == 1440  # 4 GPU-h per hour over the 360 h after the lease


def test_spot_fills_idle_gpus_and_yields_to_internal_work() -> None:
    spot = SpotOffer(load=2.0, job_gpus=8, job_hours=1, notice_s=30)
    demand = InternalDemand((Job("j", 12 * HOUR, 6 * HOUR, 8, tenant="internal"),), DAY, 8)
    scenario = one_node(demand=demand, spot=spot)
    keep = operate(scenario, D(0), False)
    resell = operate(scenario, D(0), True)
    assert resell.internal == keep.internal == 2  # 8 x 6 h in 24 h: spot never takes internal work's GPUs
    assert 0 < resell.spot <= 8 - resell.internal
    # Each spot job taken back runs through its notice and delays the internal job by as much.
    assert resell.spot_preemptions >= 1
    assert resell.queueing * DAY == keep.queueing * DAY + resell.spot_preemptions * 30  # job-seconds waited
    assert len(spot_buyers(8, DAY, 2.0, 8, 1, seed=1)) == pytest.approx(48, rel=0.4)  # 2 x 8 GPUs x 24 h / 8 GPU-h


def test_trace_demand_sets_the_slice_from_the_load() -> None:
    jobs = [Job("a", 100, 3600, 4), Job("b", 3699, 7200, 2)]
    demand = from_trace(jobs, 0.5)
    # 4 x 3,600 + 2 x 7,200 = 28,800 GPU-s over a 3,600 s span at 50 %: 16 GPUs.
    assert (demand.window, demand.slice_gpus) == (3600, 16)
    assert [(j.submit, j.tenant) for j in demand.jobs] == [(0, "internal"), (3599, "internal")]
    doubled = from_trace(jobs, 0.5, copies=2, seed=1)
    assert (doubled.window, doubled.slice_gpus, len(doubled.jobs)) == (3600, 32, 4)
    assert all(0 <= j.submit < 3600 for j in doubled.jobs)
    assert sorted(j.duration for j in doubled.jobs) == [3600, 3600, 7200, 7200]


def test_synthetic_demand_by_hand() -> None:
    inference = Inference(mean_share=0.3, peak_to_trough=2, weekend_factor=0.5, peak_hour=15)
    demand = synthetic(800, 7, None, inference, seed=3)
    nodes = {j.submit: j.tasks for j in demand.jobs}
    # Level = 0.3 x (1 + cos(...) / 3): 0.4 at the peak, 0.2 at the trough, of 100 nodes; half on weekends.
    assert (nodes[15 * HOUR], nodes[3 * HOUR]) == (40, 20)
    assert nodes[5 * DAY + 15 * HOUR] == 20
    campaigns = synthetic(800, 60, Campaigns(4, (0.25, 0.5), (2, 5)), None, seed=3)
    assert campaigns.jobs
    assert all(25 <= j.tasks <= 50 for j in campaigns.jobs)
    assert all(2 * DAY <= j.duration <= 5 * DAY for j in campaigns.jobs)


TINY = """
horizon: {start: "2027-01", end: "2027-03"}
lease: {start: "2027-01", end: "2027-03"}
demand:
  trace: null
  load: null
  since: null
  until: null
  synthetic:
    slice_gpus: 64
    days: 14
    campaigns: {per_month: 10, share: [0.125, 0.5], days: [1, 3]}
    inference: {mean_share: 0.3}
sweep: {lease_price_factors: [0.5, 1.0], rent_fractions: [0.5, 1.0], demand_factors: [0.8, 1.2]}
"""


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY)
    return path


def test_same_seed_same_results_and_report(tiny: Path) -> None:
    loaded = load_scenario(tiny)
    first, second = run(loaded.scenario), run(loaded.scenario)
    assert result_json(loaded, first) == result_json(loaded, second)
    assert render_html(loaded, first) == render_html(loaded, second)
    other = tiny.parent / "other.yaml"
    other.write_text(TINY + "seed: 7\n")
    assert result_json(load_scenario(other), run(load_scenario(other).scenario)) != result_json(loaded, first)


def test_simulations_run_in_parallel_beforehand_give_the_same_results(
    tiny: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    loaded = load_scenario(tiny)
    one_by_one = result_json(loaded, run(loaded.scenario, loaded.swing))
    beforehand = parallel_operations(loaded.scenario, loaded.swing, workers=2)

    def again(*args: object) -> None:
        raise AssertionError(f"simulated again, not asked beforehand: {args}")

    monkeypatch.setattr("neocloud.sim.scenario.operate", again)  # every simulation run asks for was run
    assert result_json(loaded, run(loaded.scenario, loaded.swing, operations=beforehand)) == one_by_one


def test_the_default_scenario_lists_every_assumption_with_a_source(traces: Path, tiny: Path) -> None:
    loaded = load_scenario(traces=traces)
    assert loaded.scenario.site_gpus == 220_208
    assert len(loaded.scenario.demand.jobs) == 4 * 68_510  # Philly, October and November 2017, four copies
    by_key = {a.key: a for a in loaded.assumptions}
    assert all(a.source for a in loaded.assumptions)
    assert "S-1" in by_key["lease.usd_per_month"].source
    assert by_key["spot.usd_per_gpu_hour"].source.startswith("derived")
    # Weighted catalog spot prices: (150,016 x 1.35 + 50,176 x 1.70 + 20,016 x 3.25) / 220,208.
    assert D(by_key["spot.usd_per_gpu_hour"].value) == (
        (150_016 * D("1.35") + 50_176 * D("1.70") + 20_016 * D("3.25")) / 220_208
    ).quantize(D("0.0001"))
    mine = {a.key: a for a in load_scenario(tiny).assumptions}
    assert mine["horizon.start"].source == f"your scenario file ({tiny})"
    assert mine["demand.synthetic.days"].source == f"your scenario file ({tiny})"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("lease: {notice_days: -1}", r"bad.yaml: lease.notice_days: Input should be greater than or equal to 0"),
        ("leese: {}", r"bad.yaml: leese: Extra inputs are not permitted"),
        ("demand: {synthetic: {slice_gpus: 64, days: 7}}", r"demand: Value error, give either a trace"),
        ("engine: {ordering: lottery}", r"engine: Value error, unknown ordering 'lottery'"),
        ("horizon: {start: 2027-13}", r"horizon.start: String should match pattern"),
        ("strategies: [{name: a, rent_fraction: 0}, {name: a, rent_fraction: 1}]", r"strategy names must be unique"),
        ("strategies: [{name: a, rent_fraction: 2}]", r"strategies\[0\].rent_fraction: Input should be less than"),
        ("demand: {trace: 'philly:nowhere.csv'}", r"demand.trace: .*nowhere.csv.*cannot read.*--traces"),
        ("demand: {trace: 'muri:x.csv', since: 2017-10-01}", r"demand.trace: since/until select dates in a philly"),
        (
            "costs: {provisioned_kw_per_gpu: {h100-sxm: 0}}",
            r"costs.provisioned_kw_per_gpu.h100-sxm: Input should be greater than 0",
        ),
        ("horizon: {end: '2026-01'}", r"horizon: the horizon ends \(2026-01\) before it starts"),
        ("lease: {end: '2026-04'}", r"lease: the lease ends \(2026-04\) before it starts \(2026-05\)"),
        ("- a list", r"bad.yaml: \(document\): a scenario is a mapping"),
        ("lease: {usd_per_month: [", r"bad.yaml: line 1, column 25: malformed YAML"),
        ("spot: {job_hours: .inf}", r"spot.job_hours: Input should be a finite number"),
        (
            "demand: {trace: null, load: null, synthetic: {slice_gpus: 64, days: 7,"
            " campaigns: {per_month: .nan, share: [0.1, 0.5], days: [1, 2]}}}",
            r"^[^(]*per_month: Input should be a finite number",
        ),
        ("lease: {usd_per_month: .nan}", r"lease.usd_per_month: Input should be a finite number"),
        ("seed: 100000000000000000000", r"seed: Input should be less than"),
        ("demand: {synthetic: {slice_gpus: 1000000000000}}", r"slice_gpus: Input should be less than or equal"),
        ("name: " + "x" * 20_000, r"name: String should have at most 10000 characters"),
        ("uncertainty: {paths: -1}", r"uncertainty.paths: Input should be greater than or equal to 0"),
        ("uncertainty: {paths: 1000000}", r"uncertainty.paths: Input should be less than or equal to 100000"),
        ("uncertainty: {demand: {sd: .nan}}", r"uncertainty.demand.sd: Input should be a finite number"),
        ("uncertainty: {market: {sd: .inf}}", r"uncertainty.market.sd: "),
        ("uncertainty: {market: {decline_per_year: {a100-80gb-sxm: 0.1}}}", r"not a GPU model of the fleet"),
        ("uncertainty: {market: {decline_per_year: 1.5}}", r"uncertainty.market.decline_per_year"),
        ("uncertainty: {exits: {tenant_drop: 1}}", r"uncertainty.exits.tenant_drop: Input should be less than 1"),
        ("uncertainty: {demand: {growth_per_year: [1]}}", r"growth_per_year: Input should be a valid number"),
        ("discount_rate: -0.1", r"discount_rate: Input should be greater than or equal to 0"),
        (
            "uncertainty: {mix: {extra_kept: [1.5]}}",
            r"uncertainty.mix.extra_kept\[0\]: Input should be less than or equal",
        ),
        ("uncertainty: {mix: {block_terms: [0]}}", r"uncertainty.mix.block_terms\[0\]: Input should be greater than"),
        (
            "uncertainty: {buyer: {benchmark: b, tokens_per_second_per_gpu: {h100-sxm: -1}}}",
            r"tokens_per_second_per_gpu.h100-sxm: Input should be greater than 0",
        ),
        (
            "uncertainty: {buyer: {benchmark: b, tokens_per_second_per_gpu: {h100-sxm: .nan}}}",
            r"tokens_per_second_per_gpu.h100-sxm: Input should be a finite number",
        ),
    ],
)
def test_bad_scenario_files_get_precise_errors(tmp_path: Path, traces: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(InvalidSpec, match=message):
        load_scenario(path, traces)


def test_sweep_on_a_local_ray_matches_the_simulations_run_here(tiny: Path) -> None:
    loaded = load_scenario(tiny)
    s, sweep = loaded.scenario, loaded.sweep
    points = run_sweep(s, sweep, cpus=2)
    assert len(points) == 8  # 2 prices x 2 fractions x 2 demands
    operations = cached_operations(s)
    here = {(f, d): operations(f, False, d) for f, d in sweep_cells(sweep.rent_fractions, sweep.demand_factors)}
    expected = sweep_points(s, here, sweep.lease_price_factors, sweep.rent_fractions, sweep.demand_factors)
    assert points == expected
    # A point is the strategy priced directly: renting all at half the lease price, at 1.2x demand.
    point = next(p for p in points if (p.lease_price_factor, p.rent_fraction, p.demand_factor) == (D("0.5"), 1, 1.2))
    direct = evaluate(s, Strategy("x", D(1)), operations, 1.2, D("0.5"))
    assert point.value == direct.total("value")
    assert point.keep_value == evaluate(s, KEEP_ALL, operations, 1.2).total("value")


def test_sweep_on_a_ray_cluster_by_address(tiny: Path) -> None:
    # A one-node Ray cluster started apart from the sweep, which joins it by address.
    ray = str(Path(sys.executable).with_name("ray"))
    options = ["--head", "--port", "6391", "--num-cpus", "1", "--include-dashboard", "false", "--disable-usage-stats"]
    subprocess.run([ray, "start", *options], check=True, capture_output=True)
    try:
        loaded = load_scenario(tiny)
        points = run_sweep(loaded.scenario, loaded.sweep, address="auto")
        assert points == run_sweep(loaded.scenario, loaded.sweep, cpus=1)
    finally:
        subprocess.run([ray, "stop", "--force"], check=True, capture_output=True)


def test_the_command_writes_an_offline_report(tiny: Path, tmp_path: Path) -> None:
    out = tmp_path / "report"
    result = CliRunner().invoke(app, ["scenario", "run", str(tiny), "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert [s["name"] for s in data["strategies"]] == ["keep-all", "rent-all", "rent-half", "rent-with-reclaim"]
    assert len(data["strategies"][0]["months"]) == 2
    assert json.loads((out / "report.json").read_text()) == data
    page = (out / "report.html").read_text()
    assert page.count("<svg") == 5  # value, use, margin, cash, tornado
    assert "<script" not in page
    assert "<link" not in page
    assert "src=" not in page
    bad = tmp_path / "bad.yaml"
    bad.write_text("seed: -1")
    refused = CliRunner().invoke(app, ["scenario", "run", str(bad), "--out", str(out)])
    assert refused.exit_code == 1
    assert "error[invalid_spec]" in refused.output
    assert "seed: Input should be greater than or equal to 0" in refused.output


def test_the_sweep_command_prints_every_point(tiny: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["scenario", "sweep", str(tiny), "--out", str(tmp_path), "--cpus", "1", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert len(rows) == 8
    assert {(r["lease_price_factor"], r["rent_fraction"], r["demand_factor"]) for r in rows} == {
        (p, f, d) for p in ("0.5", "1.0") for f in ("0.5", "1.0") for d in (0.8, 1.2)
    }
    assert json.loads((tmp_path / "sweep.json").read_text()) == rows


# --- possible futures -------------------------------------------------------------------------------------

MAY = month("2027-05")  # 31 days, 744 h


def two_months(**changes: object) -> Scenario:
    """The one-node scenario over April and May 2027, leased for both at $11,520 a month ($2 per GPU-hour)."""
    lease = Lease(D(11_520), "2027-04", "2027-06", notice_days=0)
    return one_node(**{"end": "2027-06", "lease": lease, **changes})


@pytest.fixture
def tiny_year(tmp_path: Path) -> Path:
    """The tiny scenario over a year, leased for all of it: long enough for a tenant to leave."""
    path = tmp_path / "tiny-year.yaml"
    path.write_text(TINY.replace('"2027-03"', '"2028-01"'))
    return path


def futures(scenario: Scenario, grid: tuple[float, ...], *drawn: Futures) -> tuple[Uncertainty, Plan, Tables]:
    u = Uncertainty(
        len(drawn), DemandModel(), MarketModel({"h100-sxm": 1.0}), tenant_exit_drop=0.3, owner_exit_surge=0.5
    )
    return u, Plan(drawn, grid, ()), tables(scenario, grid, cached_operations(scenario))


def test_the_tenant_leaves_when_the_market_falls_by_hand() -> None:
    scenario = two_months()
    fell = Futures((1.0, 1.0), (1.0, 0.6))  # the market falls 40 % in May: the tenant gives notice on May 1
    u, planned, ops = futures(scenario, (1.0,), fell)
    rent = price_path(scenario, u, ops, planned.grid, RENT_ALL, fell)
    # April's fee; in May the node runs the job again: 4 GPU-h per hour x 744 h at $4 x 0.6. Costs: 8 x $2 x 1,464 h.
    costs = 8 * 2 * (720 + 744)
    assert (rent.notice, rent.notice_by) == (1, "tenant")
    assert rent.revenue == 11_520
    assert rent.value == 11_520 + 4 * 744 * D("2.4") - costs
    assert rent.value_without_tenant_exit == 2 * 11_520 - costs
    assert rent.revenue_without_tenant_exit == 2 * 11_520
    assert rent.value_without_owner_exit == rent.value  # the owner's rule never fires on this path
    # The same lease ended by notice given on May 1, priced as the single future prices it (market steady):
    ended = two_months(lease=replace(scenario.lease, notice_at=MAY.start))
    steady = price_path(scenario, u, ops, planned.grid, RENT_ALL, Futures((1.0, 1.0), (1.0, 1.0)))
    assert steady.notice is None
    assert price_path(ended, replace(u, tenant_exit_drop=None), ops, planned.grid, RENT_ALL, steady_path()).value == (
        run(ended).results[1].total("value")
    )
    keep = price_path(scenario, u, ops, planned.grid, KEEP_ALL, fell)
    assert keep.value == 4 * 720 * D(4) + 4 * 744 * D("2.4") - costs  # internal work is worth what the market asks
    assert keep.value_without_tenant_exit is None  # nothing to leave


def steady_path() -> Futures:
    return Futures((1.0, 1.0), (1.0, 1.0))


def test_the_owner_takes_the_site_back_when_demand_surges_by_hand() -> None:
    scenario = two_months()
    surged = Futures((1.0, 1.6), (1.0, 1.0))  # May's demand 60 % above steady, worth $4 against the $1.97 rented
    u, planned, ops = futures(scenario, (1.0, 1.6), surged)
    rent = price_path(scenario, u, ops, planned.grid, RENT_ALL, surged)
    costs = 8 * 2 * (720 + 744)
    assert (rent.notice, rent.notice_by) == (1, "owner")
    assert ops[(D(0), False)][1.6].internal == 4  # one node still: the same job, served alike
    assert rent.value == 11_520 + 4 * 744 * D(4) - costs
    assert rent.value_without_owner_exit == 2 * 11_520 - costs
    result = summarize(scenario, u, planned, [{"keep-all": price_path(scenario, u, ops, planned.grid, KEEP_ALL, surged),
                                                "rent-all": rent}])  # fmt: skip
    owner = result.odds[1]
    assert (owner.owner_exits, owner.tenant_exits, owner.median_notice) == (1, 0, "2027-05")
    assert owner.owner_option == 4 * 744 * D(4) - 11_520
    assert owner.tenant_option == 0


def test_the_buyers_side_by_hand() -> None:
    # The lessee of the whole node pays $11,520 a month for April and May; the market's reserved price is $3
    # today and falls 40 % in May, so it leaves on May 1 and buys May at market: 8 x 744 h x $3 x 0.6.
    scenario = two_months()
    fell = Futures((1.0, 1.0), (1.0, 0.6))
    u = Uncertainty(1, DemandModel(), MarketModel({"h100-sxm": 1.0}), tenant_exit_drop=0.3)
    view = buyer_view(scenario, u, [fell], Serving(3_600_000, "bench"))
    market = 8 * 720 * 3 + 8 * 744 * D(3) * D("0.6")  # $27,993.60
    assert view.premium_bound == pytest.approx((float(23_040 / market),) * 3)
    assert view.premium_with_exit == pytest.approx((float((11_520 + 8 * 744 * 3 * D("0.6")) / market),) * 3)
    assert view.exit_saves_usd == 11_520 - 8 * 744 * 3 * D("0.6")
    assert view.left == 1
    # 1,000 tokens a second per GPU: 3.6M an hour; the lease's $11,520 a month over 8 x 730.5 h is $1.9713.
    assert view.tokens_per_month == pytest.approx(3_600_000 * 8 * 730.5)
    assert view.tokens_per_usd_lease == pytest.approx(3_600_000 / (11_520 / (8 * 730.5)))
    assert view.tokens_per_usd_market == pytest.approx(1_200_000)


def test_demand_between_simulated_points_is_interpolated_and_beyond_them_scaled() -> None:
    def ops(internal: int, spot: int, queueing: int) -> Operations:
        return Operations(8, 8, D(8), D(8), D(internal), D(spot), D(queueing), 1, 1, None, None, None)

    table = {0.5: ops(2, 4, 0), 1.0: ops(4, 2, 2)}
    grid = (0.5, 1.0)
    assert rates_at(table, grid, 1.0) is table[1.0]
    assert rates_at(table, grid, 0.75).use(D(10)) == MonthUse(D(30), D(30), D(10))
    assert rates_at(table, grid, 0.25).use(D(1)) == MonthUse(D(1), D(4), D(0))  # half the demand of the floor
    assert rates_at(table, grid, 2.0).use(D(1)) == MonthUse(D(4), D(2), D(4))  # served as at 1; twice the waiting


def test_with_nothing_uncertain_every_path_is_the_single_future_exactly(tiny: Path) -> None:
    loaded = load_scenario(tiny)
    s = loaded.scenario
    u = replace(loaded.uncertainty, paths=4, demand=DemandModel(), market=MarketModel({"h100-sxm": 1.0}))
    operations = cached_operations(s)
    planned = plan(s, u)
    assert planned.grid == (1.0,)
    single = run(s, operations=operations)
    result = run_paths(s, u, planned, operations)
    for odds, r in zip(result.odds, single.results, strict=True):
        assert set(odds.values) == {r.total("value")}
        assert set(odds.present_values) == {r.present_value("value", s.discount_rate)}
        assert odds.tenant_exits == odds.owner_exits == 0


def test_the_command_prices_possible_futures(tiny_year: Path, tmp_path: Path) -> None:
    out = tmp_path / "report"
    args = ["scenario", "run", str(tiny_year), "--out", str(out), "--paths", "40", "--cpus", "2", "--json"]
    # A process of its own: what the solver's C code prints must not reach the JSON on stdout either.
    result = subprocess.run([sys.executable, "-m", "neocloud", *args], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)["uncertainty"]
    # Priced on a local Ray in that process, the futures are those priced here, one after another.
    loaded = load_scenario(tiny_year)
    u = replace(loaded.uncertainty, paths=40)
    here = run_paths(loaded.scenario, u, plan(loaded.scenario, u), cached_operations(loaded.scenario))
    expected = plain(uncertainty_json(replace(loaded, uncertainty=u), here))
    assert [s["mean_value_usd"] for s in data["strategies"]] == [s["mean_value_usd"] for s in expected["strategies"]]
    assert [s["value_so_far"] for s in data["strategies"]] == [s["value_so_far"] for s in expected["strategies"]]
    assert sum(o.best for o in here.odds) == pytest.approx(1.0)
    assert all(o.shortfall <= o.mean() + D("0.01") for o in here.odds)  # (a mean of equal values may round)
    assert here.odds[1].tenant_exits > 0  # the fitted market falls far enough on some paths
    assert data["paths"] == 40
    names = [s["name"] for s in data["strategies"]]
    assert names == ["keep-all", "rent-all", "rent-half", "rent-with-reclaim"]
    assert sum(s["probability_best"] for s in data["strategies"]) == pytest.approx(1.0)
    assert [len(s["value_so_far"]) for s in data["strategies"]] == [12] * 4
    rent = data["strategies"][1]
    assert D(rent["tenant_exit_option_cost_usd"]) > 0  # the lease pays far more than internal work is worth
    buyer = data["buyer"]  # colossus-1's lease is several times the market's reserved price on every path
    assert 1 < buyer["lease_over_market_with_exit"]["p10"] <= buyer["lease_over_market_bound_to_term"]["p90"]
    assert buyer["tokens_per_month"] > 0
    assert rent["owner_exit_option_value_usd"] is not None
    assert data["strategies"][0]["tenant_exit_option_cost_usd"] is None
    mix = data["mix"]  # the best mix over the same paths: never worth less than the best fixed strategy
    best = max(data["strategies"], key=lambda s: D(s["mean_value_usd"]))
    assert mix["best_fixed_strategy"] == best["name"]
    assert D(mix["expected_value_usd"]) >= D(best["mean_value_usd"]) - D("0.01")
    assert all(0 <= m["kept_share"] <= 1 for m in mix["months"])
    sites = data["portfolio"]  # the default's two sites: each choice over the same paths
    assert [c["name"] for c in sites] == [c["name"] for c in json.loads(result.stdout)["portfolio"]["choices"]]
    assert sum(c["probability_best"] for c in sites) == pytest.approx(1.0)
    assert [c["tenant_exits"] > 0 for c in sites] == [False, False, True, True]  # colossus-1 rented: the tenant
    page = (out / "report.html").read_text()
    assert page.count("<svg") == 8  # and the fan chart, the paths and the mix
    assert "choice of sites" in page
    assert "Possible futures" in page
    refused = CliRunner().invoke(app, ["scenario", "run", str(tiny_year), "--out", str(out), "--paths", "-1"])
    assert refused.exit_code == 2
