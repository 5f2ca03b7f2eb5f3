"""Several sites: which to rent and which to keep, hand-worked on two small sites over two months; the spec's
portfolio and its errors; the command's table and JSON."""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from neocloud.adapters.scenario_spec import load_scenario
from neocloud.cli.main import app
from neocloud.core.errors import InvalidInput, InvalidSpec
from neocloud.core.scenario.paths import DemandModel, MarketModel
from neocloud.core.scenario.paths import Path as Futures
from neocloud.core.scenario.portfolio import Move, Portfolio, Site
from neocloud.core.scenario.strategies import Lease, Prices
from neocloud.sim.portfolio import portfolio_asks, portfolio_odds, price_portfolio
from neocloud.sim.scenario import Scenario, cached_operations, operate
from neocloud.sim.uncertainty import Uncertainty

from .test_scenario import COST, TINY
from .test_scenario_mix import four_nodes

D = Decimal
APRIL, MAY = 720, 744


def two_sites(online: str = "2027-04") -> tuple[Scenario, Portfolio]:
    """Home: four_nodes' 32 GPUs ($2 an hour each), four 12-hour 8-GPU jobs a day (load 0.5), internal work
    worth $4 a GPU-hour, leased for April at $20,000. Site b: 32 more GPUs at $2, work of its own at load 0.5,
    worth $6 a GPU-hour there, rented at $3 a GPU-hour, capex $1,000. Moving work: $10 a GPU, 10 days."""
    scenario = four_nodes(prices=Prices(shadow_usd_per_gpu_hour=D(4), spot_usd_per_gpu_hour=D(1)))
    home = Site("home", 32, COST, D(0), 0.5, D(4), "2027-04")
    b = Site("b", 32, COST, D(1000), 0.5, D(6), online, rent_usd_per_gpu_hour=D(3))
    return scenario, Portfolio((home, b), Move(D(10), 10))


def test_which_site_to_rent_by_hand() -> None:
    scenario, portfolio = two_sites()
    assert scenario.demand.load == 0.5
    result = price_portfolio(scenario, portfolio, cached_operations(scenario))
    by_name = {c.name: c for c in result.choices}
    assert list(by_name) == ["keep all", "rent b; keep home", "rent home; keep b", "rent all"]
    # May (no lease): both sites kept, 64 GPUs for 32 GPUs of work: all served (the home site's slice at the
    # demand factor 32/64/0.5 = 1, scaled x2), worth the sites' prices weighted by GPUs, $5; owning costs $2 x 64.
    may = MAY * 32 * 5 - MAY * 64 * 2
    assert may == 23_808
    keep = by_name["keep all"]
    assert keep.total("value") == APRIL * 32 * 5 - APRIL * 64 * 2 + may
    assert keep.internal_gpu_hours == (APRIL + MAY) * 32
    # Rent b in April: the first 10 days (a third of April) home runs only its own work (16 GPU-h an hour);
    # then both sites' work on home's 32 GPUs (the demand factor 2: two jobs wait 12 h, all are served in the
    # day). b earns 32 x $3 an hour; 16 GPUs of b's work move at $10.
    rent_b = by_name["rent b; keep home"]
    served = APRIL * (D(16) / 3 + D(32) * 2 / 3)
    assert rent_b.internal_gpu_hours == served + MAY * 32
    assert rent_b.moved_gpus == 16
    assert rent_b.total("value") == 32 * 3 * APRIL + served * 4 - APRIL * 64 * 2 - 160 + may == 77_408
    # Rent home under the lease: the same work served, on b, worth $6; the lease pays $20,000.
    rent_home = by_name["rent home; keep b"]
    assert rent_home.total("value") == 20_000 + served * 6 - APRIL * 64 * 2 - 160 + may == 66_688
    # Rent both: nothing kept in April, no internal work served; 32 GPUs of work moved.
    rent_all = by_name["rent all"]
    assert rent_all.moved_gpus == 32
    assert rent_all.total("value") == 20_000 + 32 * 3 * APRIL - APRIL * 64 * 2 - 320 + may == 20_448
    assert result.best is rent_b
    # Capex is cash, paid in the month b is online (here the first); depreciation is in the costs.
    # Cash pays owning the GPUs less their depreciation ($1 of the $2), b's capex and moving work.
    assert keep.months[0].cash_out == APRIL * 64 * 1 + 1000
    assert rent_b.months[0].cash_out == APRIL * 64 * 1 + 1000 + 160


def test_a_site_not_yet_online_costs_nothing_and_cannot_be_rented() -> None:
    scenario, portfolio = two_sites(online="2027-05")
    result = price_portfolio(scenario, portfolio, cached_operations(scenario))
    by_name = {c.name: c for c in result.choices}
    keep = by_name["keep all"]
    # April: home alone, its own work (16 GPU-h an hour at $4) less its own costs; May as before, b's capex paid.
    assert keep.months[0].value == APRIL * 16 * 4 - APRIL * 32 * 2 == 0
    assert keep.months[1].cash_out == MAY * 64 * 1 + 1000
    assert by_name["rent b; keep home"].months == keep.months  # b rented only in April, when it is not there
    assert by_name["rent b; keep home"].moved_gpus == 0


def test_the_portfolio_asks_only_for_simulations_of_the_home_slice() -> None:
    scenario, portfolio = two_sites()
    asks = portfolio_asks(scenario, portfolio)
    assert sorted(asks) == sorted([(D(0), False, 1.0), (D(0), False, 2.0), (D(1), False, 1.0)])
    # Each is the scenario's own simulation: at demand factor 2 the 32-GPU site serves all 32 GPU-h an hour.
    assert operate(scenario, D(0), False, 2.0).internal == 32


def test_little_work_on_many_gpus_is_scaled_below_the_floor() -> None:
    scenario, portfolio = two_sites()
    big = Site("big", 3200, COST, D(0), 0.0, D(4), "2027-04")
    wide = Portfolio((*portfolio.sites, big), portfolio.move)
    result = price_portfolio(scenario, wide, cached_operations(scenario))
    keep = result.choices[0]
    # 32 GPUs of work on 3,264 kept: the factor 0.0196 is below the floor 0.25; the simulation at 0.25 stands in,
    # internal work shrunk in proportion: all 32 GPUs of work are still served.
    assert keep.internal_gpu_hours == pytest.approx((APRIL + MAY) * 32, rel=1e-6)


def test_portfolios_refuse_what_cannot_be() -> None:
    with pytest.raises(InvalidInput, match="unique"):
        Portfolio((two_sites()[1].sites[0],) * 2)
    with pytest.raises(InvalidInput, match="no GPUs"):
        Site("x", 0, COST, D(0), 0.5, D(4), "2027-04")
    with pytest.raises(InvalidInput, match="less than nothing"):
        Move(D(-1), 0)
    lease = Lease(D(1), "2027-04", "2027-05")
    assert lease.share_of("2027-04") == 1


def test_the_default_portfolio_is_colossus_1_and_colossus_2(traces: Path) -> None:
    loaded = load_scenario(traces=traces)
    assert loaded.portfolio is not None
    home, second = loaded.portfolio.sites
    assert (home.name, home.gpus, home.rent_usd_per_gpu_hour) == ("colossus-1", 220_208, None)
    assert home.load == pytest.approx(0.8)
    assert (second.name, second.gpus, second.load) == ("colossus-2", 550_000, 0.8)
    assert (second.shadow_usd_per_gpu_hour, second.rent_usd_per_gpu_hour) == (D("7.20"), D("5.40"))  # GB200
    assert loaded.portfolio.move == Move(D(1000), 30)


SITE = "name: x, gpus: {h100-sxm: 8}, load: 0.5, online: '2027-01'"


def one(site: str = SITE, **changes: str) -> str:
    for key, value in changes.items():
        site = site.replace(f"{key}: " + site.split(f"{key}: ")[1].split(",")[0], f"{key}: {value}")
    return f"portfolio: {{sites: [{{{site}}}]}}"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (one(gpus="{nope: 8}"), r"portfolio.sites\[0\].gpus: not a GPU model of the catalog: nope"),
        (one(gpus="{h100-sxm: 0}"), r"portfolio.sites\[0\].gpus.h100-sxm: Input should be greater than 0"),
        (one(load=".nan"), r"portfolio.sites\[0\].load: Input should be a finite number"),
        (one(load="11"), r"portfolio.sites\[0\].load: Input should be less than or equal to 10"),
        (one(online="'2027-13'"), r"portfolio.sites\[0\].online: String should match pattern"),
        (one(name="colossus-1"), r"portfolio: site names must be unique"),
        (one(SITE + ", rent_usd_per_gpu_hour: -1"), r"rent_usd_per_gpu_hour: Input should be greater than or equal"),
        (one(SITE + ", shadow_usd_per_gpu_hour: .inf"), r"shadow_usd_per_gpu_hour: Input should be a finite number"),
        (one(SITE + ", color: red"), r"portfolio.sites\[0\].color: Extra inputs are not permitted"),
        ("portfolio: {move: {days: -1}}", r"portfolio.move.days: Input should be greater than or equal to 0"),
        ("portfolio: {move: {usd_per_gpu: x}}", r"portfolio.move.usd_per_gpu: "),
        (
            "portfolio: {sites: [" + ", ".join(f"{{{SITE.replace('x', f's{i}', 1)}}}" for i in range(6)) + "]}",
            r"portfolio.sites: List should have at most 5 items",
        ),
        (one(gpus="{a100-80gb-sxm: 8}"), r"costs.provisioned_kw_per_gpu: no value for a100-80gb-sxm"),
    ],
)
def test_bad_portfolios_get_precise_errors(tmp_path: Path, traces: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(TINY + text + "\n")
    with pytest.raises(InvalidSpec, match=message):
        load_scenario(path, traces)


def test_one_site_when_the_portfolio_is_null(tmp_path: Path) -> None:
    path = tmp_path / "one.yaml"
    path.write_text(TINY + "portfolio: null\n")
    assert load_scenario(path).portfolio is None
    path.write_text(TINY + "portfolio: {sites: []}\n")
    assert load_scenario(path).portfolio is None


def test_the_command_shows_which_site_to_rent(tmp_path: Path) -> None:
    path = tmp_path / "two.yaml"
    site = "{name: second, gpus: {h100-sxm: 110000}, load: 0.5, online: '2027-02', rent_usd_per_gpu_hour: 2}"
    path.write_text(TINY + f"portfolio: {{sites: [{site}], move: {{usd_per_gpu: 100, days: 7}}}}\n")
    out = tmp_path / "report"
    result = CliRunner().invoke(app, ["scenario", "run", str(path), "--out", str(out), "--cpus", "1", "--json"])
    assert result.exit_code == 0, result.output
    p = json.loads(result.output)["portfolio"]
    assert [c["name"] for c in p["choices"]] == [
        "keep all",
        "rent second; keep colossus-1",
        "rent colossus-1; keep second",
        "rent all",
    ]
    assert p["best"] == max(p["choices"], key=lambda c: D(c["totals"]["value"]))["name"]
    second = p["sites"][1]
    assert {k: second[k] for k in ("name", "gpus", "load", "online")} == {
        "name": "second",
        "gpus": 110_000,
        "load": 0.5,
        "online": "2027-02",
    }
    # The catalog's H100 on-demand price as its shadow price; the rent as given.
    assert (second["shadow_usd_per_gpu_hour"], second["rent_usd_per_gpu_hour"]) == ("3.0000", "2.0000")
    # The second site is bought in February: its capex is cash then, not in January.
    keep = p["choices"][0]
    home_capex, second_capex = D(p["sites"][0]["capex_usd"]), D(second["capex_usd"])
    assert D(keep["months"][0]["cash"]) > -home_capex - second_capex / 2
    assert D(keep["months"][1]["cash"]) < -second_capex
    page = (out / "report.html").read_text()
    assert "Several sites: which to rent, which to keep" in page
    text = CliRunner().invoke(app, ["scenario", "run", str(path), "--out", str(out), "--cpus", "1"])
    assert text.exit_code == 0, text.output
    assert f"Of 2 sites, best: {p['best']}" in " ".join(text.output.split())


# --- possible futures -------------------------------------------------------------------------------------


def test_on_a_path_the_tenant_hands_the_site_back_and_prices_move_by_hand() -> None:
    scenario, portfolio = two_sites()
    scenario = replace(scenario, lease=Lease(D(20_000), "2027-04", "2027-06", notice_days=0))
    u = Uncertainty(1, DemandModel(), MarketModel({"h100-sxm": 1.0}), tenant_exit_drop=0.3)
    falls = Futures((1.0, 1.0), (1.0, 0.6))  # the market falls 40 % in May: the tenant leaves then
    odds = {o.name: o for o in portfolio_odds(scenario, u, portfolio, cached_operations(scenario), (1.0,), [falls])}
    served = APRIL * (D(16) / 3 + D(32) * 2 / 3)
    # Rent home: April as in the single future, with its $20,000; in May the site is back and both sites run
    # all the work (744 h x 32 GPU-h) at the shadow prices times 0.6.
    rent_home = odds["rent home; keep b"]
    may_kept = MAY * 32 * 5 * D("0.6") - MAY * 64 * 2
    assert rent_home.values == (20_000 + served * 6 - APRIL * 64 * 2 - 160 + may_kept,)
    assert rent_home.tenant_exits == 1
    assert rent_home.median_notice == "2027-05"
    # Rent b: its blocks have no exit; in May home runs both sites' work (factor 2, all served) at $4 x 0.6.
    rent_b = odds["rent b; keep home"]
    may_b = 32 * 3 * MAY + MAY * 32 * 4 * D("0.6") - MAY * 64 * 2
    assert rent_b.values == (32 * 3 * APRIL + served * 4 - APRIL * 64 * 2 - 160 + may_b,)
    assert rent_b.tenant_exits == 0
    assert rent_b.best == 1.0


@pytest.mark.parametrize("b_load", [0.5, 10.0])  # 10: b's work on home alone is 21 times the slice's demand
def test_with_nothing_uncertain_every_choice_on_every_path_is_the_single_future_exactly(b_load: float) -> None:
    scenario, portfolio = two_sites()
    portfolio = replace(portfolio, sites=(portfolio.sites[0], replace(portfolio.sites[1], load=b_load)))
    scenario = replace(scenario, prices=replace(scenario.prices, delay_usd_per_job_hour=D(1)))  # waits priced
    operations = cached_operations(scenario)
    single = price_portfolio(scenario, portfolio, operations)
    u = Uncertainty(3, DemandModel(), MarketModel({"h100-sxm": 1.0}), tenant_exit_drop=0.3)
    steady = Futures((1.0, 1.0), (1.0, 1.0))
    odds = portfolio_odds(scenario, u, portfolio, operations, (0.5, 1.0, 2.0), [steady] * 3)
    assert [o.name for o in odds] == [c.name for c in single.choices]
    for o, c in zip(odds, single.choices, strict=True):
        assert o.values == (c.total("value"),) * 3
        assert o.present_values == (c.present_value("value", scenario.discount_rate),) * 3


def test_demand_on_a_path_moves_every_sites_work() -> None:
    scenario, portfolio = two_sites()
    operations = cached_operations(scenario)
    u = Uncertainty(1, DemandModel(), MarketModel({"h100-sxm": 1.0}))
    half = Futures((0.5, 0.5), (1.0, 1.0))
    keep = portfolio_odds(scenario, u, portfolio, operations, (0.5, 1.0), [half])[0]
    # Half the work (16 GPUs of it) on 64 GPUs: the factor 0.5, simulated: all of it served, worth $5.
    assert keep.values == ((APRIL + MAY) * (16 * 5 - 64 * 2),)
