"""The cost of owning GPUs, against the worked H100 breakeven in ../shared/catalog/economics-notes.md."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from neocloud.core.catalog import Catalog
from neocloud.core.errors import InvalidInput
from neocloud.core.scenario.costs import CostAssumptions, capex_per_gpu, hourly_cost


def cents(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"))


def test_the_worked_h100_breakeven(catalog: Catalog) -> None:
    # economics-notes.md: $45k all-in per GPU; 5-year straight line $1.03/h (6-year $0.86/h); 10 % on the
    # average balance $0.26/h; colocation 1.5 kW x $185/kW-month $0.38/h; energy 1.2 kW x PUE 1.25 x
    # $80/MWh $0.12/h; operations $0.10/h: total "$1.7-1.9/h at 100 % sold".
    h100 = catalog["h100-sxm"]
    assert capex_per_gpu(h100, CostAssumptions()) == Decimal(45_000)  # $30k x 1.2 / 0.8
    five = hourly_cost(h100, CostAssumptions(gpu_depreciation_years=Decimal(5)))
    assert [cents(v) for v in (five.depreciation, five.capital, five.facility, five.energy, five.operations)] == [
        Decimal("1.03"),
        Decimal("0.26"),
        Decimal("0.38"),
        Decimal("0.11"),  # 1.5 kW x 0.75 load = 1.125 kW (the notes round it to 1.2 kW: $0.12)
        Decimal("0.10"),
    ]
    assert cents(five.total) == Decimal("1.88")
    # 6-year: 0.856 + 0.257 + 0.380 + 0.1125 + 0.10 = 1.705 (the notes, rounding each line first: 1.72).
    assert cents(hourly_cost(h100, CostAssumptions()).total) == Decimal("1.70")


def test_owning_the_site_instead_of_renting(catalog: Catalog) -> None:
    # $11M per MW over 10 years: 1.5 kW -> $16,500 / 87,660 h = $0.188/h, against colocation's $0.38/h.
    owned = hourly_cost(catalog["h100-sxm"], CostAssumptions(colo_usd_per_kw_month=None))
    assert cents(owned.facility) == Decimal("0.19")
    assert cents(owned.times(Decimal(1000)).facility) == Decimal("188.23")


def test_bad_assumptions_are_refused(catalog: Catalog) -> None:
    with pytest.raises(InvalidInput, match="network_capex_share must be in"):
        CostAssumptions(network_capex_share=Decimal(1))
    with pytest.raises(InvalidInput, match="gpu_depreciation_years must be positive"):
        CostAssumptions(gpu_depreciation_years=Decimal(0))
    with pytest.raises(InvalidInput, match="has no list price"):
        capex_per_gpu(replace(catalog["h100-sxm"], list_price_usd=None), CostAssumptions())
