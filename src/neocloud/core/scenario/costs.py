"""What owning GPUs costs, per GPU-hour and per month.

Capex is the GPU's price grossed up to a whole installed server and its share of the network, depreciated
straight-line, plus the cost of the capital tied up in it (on the average balance over its life). The site
is either rented (colocation, per kW provisioned) or owned (facility capex per MW, depreciated). Energy is
provisioned kW x average load x PUE at the power price. Operations are a flat rate per GPU-hour.

Every default is a fact or a derivation from ../shared/catalog (reference-catalog.yaml site_defaults and
economics-notes.md), named next to it; any of them can be overridden.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from neocloud.core.catalog import GpuModel
from neocloud.core.errors import InvalidInput

HOURS_PER_YEAR = Decimal("8766")  # 365.25 days
HOURS_PER_MONTH = HOURS_PER_YEAR / 12


@dataclass(frozen=True, slots=True)
class CostAssumptions:
    gpu_depreciation_years: Decimal = Decimal(6)  # CoreWeave S-1; Microsoft, Alphabet (4 and 5 are common too)
    server_factor: Decimal = Decimal("1.2")  # server per GPU / GPU price: derived, $45k all-in H100 less 20 % network
    network_capex_share: Decimal = Decimal("0.20")  # of total cluster cost (amcompute.com)
    cost_of_capital: Decimal = Decimal("0.10")  # CoreWeave short-term debt 10.1 %, Q1 2025
    provisioned_kw_per_gpu: Decimal = Decimal("1.5")  # Hopper: 150 MW per 100k H100 (SemiAnalysis)
    average_load: Decimal = Decimal("0.75")  # DGX H100 typical 7.5 of 10.2 kW
    pue: Decimal = Decimal("1.25")  # modern AI colocation (economics-notes 2a)
    usd_per_mwh: Decimal = Decimal(80)  # EIA US industrial average, 2023
    colo_usd_per_kw_month: Decimal | None = Decimal(185)  # CBRE H2 2024; None: the site is owned
    facility_capex_usd_per_mw: Decimal = Decimal(11_000_000)  # $10-12M per MW of critical load
    facility_depreciation_years: Decimal = Decimal(10)  # CoreWeave data-center infrastructure 8-12 years
    ops_usd_per_gpu_hour: Decimal = Decimal("0.10")  # economics-notes, worked H100 breakeven

    def __post_init__(self) -> None:
        for name in ("gpu_depreciation_years", "facility_depreciation_years", "pue", "server_factor"):
            if getattr(self, name) <= 0:
                raise InvalidInput(f"{name} must be positive, got {getattr(self, name)}", field=name)
        if not 0 <= self.network_capex_share < 1:
            raise InvalidInput(f"network_capex_share must be in [0, 1), got {self.network_capex_share}")
        if not 0 <= self.average_load <= 1:
            raise InvalidInput(f"average_load must be in [0, 1], got {self.average_load}")


@dataclass(frozen=True, slots=True)
class HourlyCost:
    """One GPU's cost per hour, by kind, in USD."""

    depreciation: Decimal
    capital: Decimal
    facility: Decimal
    energy: Decimal
    operations: Decimal

    @property
    def total(self) -> Decimal:
        return self.depreciation + self.capital + self.facility + self.energy + self.operations

    def times(self, gpu_hours: Decimal) -> HourlyCost:
        return HourlyCost(*(getattr(self, f) * gpu_hours for f in HourlyCost.__dataclass_fields__))


def capex_per_gpu(model: GpuModel, a: CostAssumptions) -> Decimal:
    """All-in capex per GPU: the GPU, its server share, and its share of the network."""
    if model.list_price_usd is None:
        raise InvalidInput(f"GPU model {model.name} has no list price: give one in the catalog", model=model.name)
    return model.list_price_usd * a.server_factor / (1 - a.network_capex_share)


def hourly_cost(model: GpuModel, a: CostAssumptions) -> HourlyCost:
    """What one installed GPU costs per hour, used or idle."""
    capex = capex_per_gpu(model, a)
    kw = a.provisioned_kw_per_gpu
    if a.colo_usd_per_kw_month is not None:
        facility = kw * a.colo_usd_per_kw_month / HOURS_PER_MONTH
    else:
        facility = kw / 1000 * a.facility_capex_usd_per_mw / (a.facility_depreciation_years * HOURS_PER_YEAR)
    return HourlyCost(
        depreciation=capex / (a.gpu_depreciation_years * HOURS_PER_YEAR),
        capital=capex * a.cost_of_capital / 2 / HOURS_PER_YEAR,  # on the average balance over its life
        facility=facility,
        energy=kw * a.average_load * a.pue * a.usd_per_mwh / 1000,
        operations=a.ops_usd_per_gpu_hour,
    )
