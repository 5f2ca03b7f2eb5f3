"""Levers: the GPUs sold at the horizon's end (proceeds and a gain or loss against their book value), a
depreciation life per GPU model (generation), and the grid curtailing the site."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from neocloud.adapters.scenario_spec import load_scenario
from neocloud.adapters.specs import default_catalog
from neocloud.core.catalog import Catalog
from neocloud.core.errors import InvalidInput, InvalidSpec
from neocloud.core.scenario.costs import HOURS_PER_YEAR
from neocloud.core.scenario.strategies import Sale
from neocloud.sim.scenario import Reliability, run

from .test_scenario import TINY, one_node

D = Decimal


def test_selling_the_gpus_at_the_end_by_hand() -> None:
    kept = run(one_node()).results[0]
    sold = run(one_node(capex=D(5000), sale=Sale(proceeds=D(1000), book_value=D(400)))).results[0]
    # The month's margin gains $600 (proceeds less book value); cash gains the $1,000 and pays the $5,000 capex.
    assert sold.total("margin") == kept.total("margin") + 600
    assert sold.total("value") == kept.total("value") + 600
    assert sold.total("cash") == kept.total("cash") + 1000 - 5000
    assert (sold.months[-1].sale_proceeds, sold.months[-1].sale_gain) == (1000, 600)
    with pytest.raises(InvalidInput, match="cannot be negative"):
        Sale(D(-1), D(0))


def test_a_life_per_generation_and_a_resale_share_from_the_scenario_file(tmp_path: Path) -> None:
    path = tmp_path / "levers.yaml"
    lives = {"h100-sxm": 4, "h200-sxm": 5, "gb200-nvl72": 6}
    path.write_text(
        TINY + f"costs: {{gpu_depreciation_years: {lives}, resale_share: {{h100-sxm: 0.2, h200-sxm: 0.3, "
        "gb200-nvl72: 0.5}}\nportfolio: null\n"
    )
    base = load_scenario(tmp_path / "levers.yaml")
    plain = tmp_path / "plain.yaml"
    plain.write_text(TINY + "portfolio: null\n")
    six = load_scenario(plain).scenario
    s = base.scenario
    assert s.capex == six.capex  # the same GPUs bought; only their lives differ
    catalog: Catalog = default_catalog()
    counts = {"h100-sxm": 150_016, "h200-sxm": 50_176, "gb200-nvl72": 20_016}
    per_gpu = {m: catalog[m].list_price_usd * D("1.2") / D("0.8") for m in counts}
    assert sum(per_gpu[m] * n for m, n in counts.items()) == s.capex
    # Depreciation per GPU-hour, averaged over the fleet: each model's capex over its own life.
    depreciation = sum(per_gpu[m] * n / (lives[m] * HOURS_PER_YEAR) for m, n in counts.items()) / 220_208
    assert s.cost.depreciation == pytest.approx(depreciation, rel=D("1e-20"))
    assert s.cost.depreciation > six.cost.depreciation  # shorter lives for the older GPUs
    # January and February 2027 (1,416 h): book value = capex less depreciation so far, per model.
    hours = D(1416)
    book = sum(per_gpu[m] * n * (1 - hours / (lives[m] * HOURS_PER_YEAR)) for m, n in counts.items())
    proceeds = sum(
        per_gpu[m] * n * share for (m, n), share in zip(counts.items(), (D("0.2"), D("0.3"), D("0.5")), strict=True)
    )
    assert s.sale is not None
    assert s.sale.book_value == pytest.approx(book, rel=D("1e-20"))
    assert s.sale.proceeds == proceeds
    assert six.sale is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("costs: {gpu_depreciation_years: {h100-sxm: 4}}", r"costs.gpu_depreciation_years: no value for gb200-nvl72"),
        ("costs: {gpu_depreciation_years: 0}", r"costs.gpu_depreciation_years.*greater than 0"),
        ("costs: {resale_share: 1.5}", r"costs.resale_share.*less than or equal to 1"),
        ("costs: {resale_share: .nan}", r"costs.resale_share.*finite number"),
        ("costs: {resale_share: {h100-sxm: 0.5}}", r"costs.resale_share: no value for gb200-nvl72"),
        ("reliability: {curtailment: {hours_per_year: 9000}}", r"curtailment.hours_per_year: Input should be less"),
        ("reliability: {curtailment: {depth: 0}}", r"curtailment.depth: Input should be greater than 0"),
        ("reliability: {curtailment: {depth: .nan}}", r"curtailment.depth: Input should be a finite number"),
    ],
)
def test_bad_levers_get_precise_errors(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(TINY + text + "\n")
    with pytest.raises(InvalidSpec, match=message):
        load_scenario(path)


def test_curtailment_takes_gpu_time_and_earns_the_lessee_a_credit_by_hand() -> None:
    # 876.6 hours a year at the whole site's power: 10 % of its GPU-time, in every month.
    curtailed = Reliability(failures_per_gpu_year=D(0), curtailed_hours_per_year=D("876.6"), curtailment_depth=D(1))
    assert curtailed.curtailed == D("0.1")
    keep, rent = run(one_node(reliability=curtailed)).results
    # Kept: the job's 2,880 GPU-hours of April shrink to 2,592, worth $4 each, against the same $11,520 of costs.
    assert keep.internal_gpu_hours == 2592
    assert keep.total("value") == 2592 * 4 - 11_520
    # Leased: 90 % available, below 95 %: a quarter of the $5,760 fee is credited.
    assert (rent.total("sla_credits"), rent.total("value")) == (1440, 5760 - 1440 - 11_520)
