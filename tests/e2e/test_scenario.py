"""The scenario engine: hand-worked runs on one node, demand generation, determinism, the spec's errors, the
report and a sweep on a local Ray."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from neocloud.adapters.scenario_parallel import parallel_operations
from neocloud.adapters.scenario_report import decision_text, render_html, result_json
from neocloud.adapters.scenario_spec import load_scenario
from neocloud.adapters.sweep import run_sweep
from neocloud.cli.main import app
from neocloud.core.billing.periods import month
from neocloud.core.errors import InvalidSpec
from neocloud.core.scenario.costs import HourlyCost
from neocloud.core.scenario.strategies import Lease, Prices, Strategy
from neocloud.core.workload import Job
from neocloud.sim.demand import Campaigns, Inference, InternalDemand, from_trace, spot_buyers, synthetic
from neocloud.sim.scenario import (
    KEEP_ALL,
    RENT_ALL,
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
