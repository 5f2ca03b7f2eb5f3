"""Scenario files: YAML over the packaged default (colossus-1), validated with pydantic into a Scenario.

A file names only what it changes; mappings merge into the default's, lists replace them. Errors name the
file and the path inside it, e.g. `my.yaml: lease.notice_days: Input should be greater than or equal to 0`.
Every value the run uses is listed as an assumption with its source: the default's `sources`, "derived"
where it is computed from the catalog, or the user's file where it overrides the default.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from neocloud.adapters.specs import Strict, default_catalog, load_fleet, load_yaml, read_text, validated
from neocloud.adapters.traces.loader import load_trace, trace_path
from neocloud.core.billing.periods import month
from neocloud.core.catalog import Catalog
from neocloud.core.engine.ordering import ORDERINGS
from neocloud.core.engine.placement import PLACEMENTS
from neocloud.core.errors import InvalidSpec, NeocloudError
from neocloud.core.scenario.costs import CostAssumptions, HourlyCost, capex_per_gpu, hourly_cost
from neocloud.core.scenario.paths import DemandModel, Deviation, MarketModel, PricePoint, fit_price_trend
from neocloud.core.scenario.portfolio import MAX_SITES, Move, Portfolio, Site
from neocloud.core.scenario.strategies import Lease, Prices, Sale, Strategy
from neocloud.sim.demand import Campaigns, Inference, InternalDemand, from_trace, synthetic
from neocloud.sim.scenario import Reliability, Scenario, SiteOutage, SpotOffer
from neocloud.sim.uncertainty import MixOptions, Serving, Uncertainty

DEFAULT_SCENARIO = "colossus-1"
PRICE_HISTORY = "price-history.yaml"  # packaged with the scenarios
MONTH = r"^\d{4}-(0[1-9]|1[0-2])$"


DEFAULT_TRACES = Path("../shared/traces")
MAX_PATHS = 100_000  # possible futures in one run  # the CLI's --traces (or NEOCLOUD_TRACES) overrides it


class HorizonIn(Strict):
    start: str = Field(pattern=MONTH)
    end: str = Field(pattern=MONTH)


class EngineIn(Strict):
    ordering: str
    placement: str

    @model_validator(mode="after")
    def _known(self) -> EngineIn:
        if self.ordering not in ORDERINGS:
            raise ValueError(f"unknown ordering {self.ordering!r}; known: {', '.join(ORDERINGS)}")
        if self.placement not in PLACEMENTS:
            raise ValueError(f"unknown placement {self.placement!r}; known: {', '.join(PLACEMENTS)}")
        return self


class CampaignsIn(Strict):
    per_month: float = Field(ge=0, le=10_000)
    share: tuple[float, float]
    days: tuple[float, float]

    @model_validator(mode="after")
    def _ranges(self) -> CampaignsIn:
        if not 0 < self.share[0] <= self.share[1] <= 1:
            raise ValueError("share must be [low, high] with 0 < low <= high <= 1")
        if not 0 < self.days[0] <= self.days[1]:
            raise ValueError("days must be [low, high] with 0 < low <= high")
        return self


class InferenceIn(Strict):
    mean_share: float = Field(ge=0, le=1)
    peak_to_trough: float = Field(default=2.0, ge=1)
    weekend_factor: float = Field(default=0.7, ge=0)
    peak_hour: int = Field(default=15, ge=0, le=23)
    block_hours: int = Field(default=1, ge=1, le=24)


class SyntheticIn(Strict):
    slice_gpus: int = Field(ge=8, le=1_000_000)
    days: int = Field(gt=0, le=366)
    campaigns: CampaignsIn | None = None
    inference: InferenceIn | None = None


class DemandIn(Strict):
    trace: str | None = None
    since: date | None = None
    until: date | None = None
    load: float | None = Field(default=None, gt=0, le=10)
    copies: int = Field(default=1, ge=1, le=64)
    synthetic: SyntheticIn | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> DemandIn:
        if (self.trace is None) == (self.synthetic is None):
            raise ValueError("give either a trace (with its load) or a synthetic demand, not both or neither")
        if self.trace is not None and self.load is None:
            raise ValueError("a trace needs the load it should offer the site (e.g. load: 0.8)")
        return self


class LeaseIn(Strict):
    usd_per_month: Decimal = Field(ge=0)
    start: str = Field(pattern=MONTH)
    end: str = Field(pattern=MONTH)
    notice_days: int = Field(ge=0, le=3_660)
    notice_given: date | None = None
    sla_uptime: Decimal | None = Field(default=None, gt=0, le=1)


class PriceIn(Strict):
    usd_per_gpu_hour: Decimal | None = Field(default=None, ge=0)


class SpotIn(PriceIn):
    load: float = Field(ge=0, le=10)
    job_gpus: int = Field(gt=0, le=100_000)
    job_hours: float = Field(gt=0, le=24 * 366)
    notice_s: int = Field(ge=0, le=7 * 86_400)


class InternalValueIn(Strict):
    shadow_usd_per_gpu_hour: Decimal | None = Field(default=None, ge=0)
    delay_usd_per_job_hour: Decimal = Field(ge=0)


PerModel = Annotated[Decimal, Field(gt=0, le=100)]
Share = Annotated[Decimal, Field(ge=0, le=1)]


class CostsIn(Strict):
    gpu_depreciation_years: PerModel | dict[str, PerModel]  # one life, or one per GPU model (generation)
    resale_share: Share | dict[str, Share] | None = None  # of capex, fetched at the horizon's end; None: kept
    server_factor: Decimal = Field(gt=0)
    network_capex_share: Decimal = Field(ge=0, lt=1)
    cost_of_capital: Decimal = Field(ge=0)
    provisioned_kw_per_gpu: dict[str, Annotated[Decimal, Field(gt=0)]]
    average_load: Decimal = Field(ge=0, le=1)
    pue: Decimal = Field(ge=1)
    usd_per_mwh: Decimal = Field(ge=0)
    facility: Literal["colocation", "owned"]
    colo_usd_per_kw_month: Decimal = Field(ge=0)
    facility_capex_usd_per_mw: Decimal = Field(ge=0)
    facility_depreciation_years: Decimal = Field(gt=0)
    ops_usd_per_gpu_hour: Decimal = Field(ge=0)


class OutageIn(Strict):
    start: datetime
    hours: Decimal = Field(gt=0)
    share: Decimal = Field(default=Decimal(1), gt=0, le=1)


class CurtailmentIn(Strict):
    hours_per_year: Decimal = Field(ge=0, le=8766)
    depth: Decimal = Field(gt=0, le=1)


class ReliabilityIn(Strict):
    failures_per_gpu_year: Decimal = Field(ge=0)
    repair_hours: Decimal = Field(ge=0)
    outages: list[OutageIn]
    curtailment: CurtailmentIn


class StrategyIn(Strict):
    name: str = Field(min_length=1)
    rent_fraction: Decimal = Field(ge=0, le=1)
    resell_idle: bool = False
    offer: Literal["lease", "reserved"] = "lease"


class SensitivityIn(Strict):
    swing: float = Field(gt=0, lt=1)


class SweepIn(Strict):
    lease_price_factors: list[Decimal] = Field(min_length=1, max_length=100)
    rent_fractions: list[Decimal] = Field(min_length=1, max_length=100)
    demand_factors: list[float] = Field(min_length=1, max_length=100)
    offer: Literal["lease", "reserved"] = "lease"

    @model_validator(mode="after")
    def _ranges(self) -> SweepIn:
        if any(not 0 < f <= 1 for f in self.rent_fractions):
            raise ValueError("rent_fractions must be in (0, 1]")
        if any(p < 0 for p in self.lease_price_factors) or any(d <= 0 for d in self.demand_factors):
            raise ValueError("lease_price_factors must be >= 0 and demand_factors > 0")
        return self


class DemandPathsIn(Strict):
    growth_per_year: float = Field(gt=-1, le=10)
    cycle_amplitude: float = Field(ge=0, lt=1)
    cycle_months: float = Field(gt=0, le=1_200)
    shocks_per_year: float = Field(ge=0, le=120)
    shock_size: float = Field(ge=0, lt=1)
    sd: float = Field(ge=0, le=3)
    half_life_months: float = Field(gt=0, le=1_200)


Decline = Annotated[float, Field(gt=-1, lt=1)]


class MarketPathsIn(Strict):
    decline_per_year: Decline | dict[str, Decline] | None = None  # None: fitted on the price history
    sd: float | None = Field(default=None, ge=0, le=3)
    half_life_months: float = Field(gt=0, le=1_200)
    moves_shadow_price: bool


class ExitsIn(Strict):
    tenant_drop: float | None = Field(default=None, gt=0, lt=1)
    owner_surge: float | None = Field(default=None, ge=0, le=100)


class MixIn(Strict):
    extra_kept: list[Annotated[Decimal, Field(ge=0, le=1)]] = Field(max_length=20)
    block_terms: list[Annotated[int, Field(ge=1, le=120)]] = Field(max_length=6)
    max_queueing_hours: float | None = Field(default=None, ge=0, le=1e6)


class BuyerIn(Strict):
    benchmark: str = Field(min_length=1, max_length=200)
    tokens_per_second_per_gpu: dict[str, Annotated[float, Field(gt=0, le=1e9)]] = Field(max_length=100)


class UncertaintyIn(Strict):
    paths: int = Field(ge=0, le=MAX_PATHS)
    seed: int | None = Field(default=None, ge=0, lt=2**63)
    demand_points: int = Field(ge=1, le=20)
    demand: DemandPathsIn
    market: MarketPathsIn
    exits: ExitsIn
    mix: MixIn | None = None  # None: no best mix
    buyer: BuyerIn | None = None  # None: no buyer's side


class SiteIn(Strict):
    name: str = Field(min_length=1, max_length=100)
    gpus: dict[str, Annotated[int, Field(gt=0, le=10_000_000)]] = Field(min_length=1, max_length=20)
    load: float = Field(ge=0, le=10)
    online: str = Field(pattern=MONTH)
    rent_usd_per_gpu_hour: Decimal | None = Field(default=None, ge=0, le=1_000_000)
    shadow_usd_per_gpu_hour: Decimal | None = Field(default=None, ge=0, le=1_000_000)


class MoveIn(Strict):
    usd_per_gpu: Decimal = Field(ge=0, le=10_000_000)
    days: int = Field(ge=0, le=3_660)


class PortfolioIn(Strict):
    sites: list[SiteIn] = Field(max_length=MAX_SITES - 1)
    move: MoveIn


class ScenarioIn(Strict):
    name: str = Field(min_length=1)
    fleet: str
    horizon: HorizonIn
    seed: int = Field(ge=0, lt=2**63)
    engine: EngineIn
    demand: DemandIn
    lease: LeaseIn
    reserved: PriceIn
    spot: SpotIn
    internal_value: InternalValueIn
    costs: CostsIn
    reliability: ReliabilityIn
    strategies: list[StrategyIn] = Field(min_length=1, max_length=100)
    sensitivity: SensitivityIn
    sweep: SweepIn
    discount_rate: Decimal = Field(ge=0, le=1)
    uncertainty: UncertaintyIn
    portfolio: PortfolioIn | None = None  # None: one site
    sources: dict[str, str]

    @model_validator(mode="after")
    def _unique_strategies(self) -> ScenarioIn:
        names = [s.name for s in self.strategies]
        if len(set(names)) != len(names):
            raise ValueError(f"strategy names must be unique, got {names}")
        return self


@dataclass(frozen=True, slots=True)
class Assumption:
    key: str  # dotted path in the scenario file
    value: str
    source: str


@dataclass(frozen=True, slots=True)
class Sweep:
    lease_price_factors: tuple[Decimal, ...]
    rent_fractions: tuple[Decimal, ...]
    demand_factors: tuple[float, ...]
    offer: str


@dataclass(frozen=True, slots=True)
class LoadedScenario:
    scenario: Scenario
    assumptions: tuple[Assumption, ...]
    swing: float
    sweep: Sweep
    source: str  # the user's file, or the packaged default's name
    uncertainty: Uncertainty  # its paths may be 0: the single future only
    portfolio: Portfolio | None = None  # the owner's sites, the scenario's own first; None: one site


def _merged(base: Any, over: Any) -> Any:
    if isinstance(base, dict) and isinstance(over, dict):
        return {k: _merged(base[k], v) if k in base else v for k, v in {**base, **over}.items()}
    return over


def _leaves(doc: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(doc, dict) and doc:
        out: dict[str, Any] = {}
        for k, v in doc.items():
            out.update(_leaves(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    return {prefix: doc}


def load_scenario(
    path: Path | None = None,
    traces: Path | None = None,
    catalog: Catalog | None = None,
    *,
    text: str | None = None,
    confined: bool = False,
) -> LoadedScenario:
    """The scenario in `path` (or `text`, as uploaded) over the packaged default (the default alone without
    either). `confined`: traces only from within the traces folder (a server reading for its callers)."""
    default_text = resources.files("neocloud").joinpath(f"scenarios/{DEFAULT_SCENARIO}.yaml").read_text()
    default = load_yaml(default_text, f"neocloud:{DEFAULT_SCENARIO}.yaml")
    source = f"neocloud:{DEFAULT_SCENARIO}.yaml"
    overrides: dict[str, Any] = {}
    if path is not None or text is not None:
        source = str(path) if path is not None else "the uploaded scenario"
        user = load_yaml(read_text(path) if path is not None else text or "", source)
        if user is None:
            user = {}
        if not isinstance(user, dict):
            raise InvalidSpec(f"{source}: (document): a scenario is a mapping of settings", file=source)
        overrides = _leaves(user)
        default = _merged(default, user)
    spec = validated(ScenarioIn, default, source)
    return _built(spec, source, overrides, traces or DEFAULT_TRACES, catalog or default_catalog(), confined)


def _built(
    spec: ScenarioIn, source: str, overrides: dict[str, Any], traces: Path, catalog: Catalog, confined: bool
) -> LoadedScenario:
    def fail(where: str, message: str) -> InvalidSpec:
        return InvalidSpec(f"{source}: {where}: {message}", file=source, path=where)

    try:
        sites = load_fleet(spec.fleet, catalog)
    except NeocloudError as exc:
        raise fail("fleet", exc.message) from None
    gpus: Counter[str] = Counter()
    node_gpus: Counter[int] = Counter()
    for site in sites:
        gpus.update(site.gpus_by_model())
        for group in site.blocks:
            node_gpus[group.node.gpus] += group.gpus
    total = sum(gpus.values())
    derived: dict[str, str] = {}

    def weighted(key: str, given: Decimal | None, attribute: str) -> Decimal:
        value = _catalog_weighted(gpus, catalog, attribute, key, fail, given)
        if given is None:
            derived[key] = f"{value:.4f}"
        return value

    try:
        cost, capex, sale = _site_cost(gpus, spec.costs, catalog, _hours(spec.horizon.start, spec.horizon.end))
    except NeocloudError as exc:
        raise fail(exc.details.get("path", "costs"), exc.message) from None

    prices = Prices(
        shadow_usd_per_gpu_hour=weighted(
            "internal_value.shadow_usd_per_gpu_hour",
            spec.internal_value.shadow_usd_per_gpu_hour,
            "on_demand_usd_per_hr",
        ),
        spot_usd_per_gpu_hour=weighted("spot.usd_per_gpu_hour", spec.spot.usd_per_gpu_hour, "spot_usd_per_hr"),
        reserved_usd_per_gpu_hour=weighted(
            "reserved.usd_per_gpu_hour", spec.reserved.usd_per_gpu_hour, "reserved_1y_usd_per_hr"
        ),
        delay_usd_per_job_hour=spec.internal_value.delay_usd_per_job_hour,
    )
    lo = spec.lease
    try:
        lease = Lease(
            lo.usd_per_month,
            lo.start,
            lo.end,
            lo.notice_days,
            _seconds(lo.notice_given) if lo.notice_given else None,
            lo.sla_uptime,
        )
    except NeocloudError as exc:
        raise fail("lease", exc.message) from None
    strategies = tuple(Strategy(s.name, s.rent_fraction, s.resell_idle, s.offer) for s in spec.strategies)
    demand = _demand(spec, traces, fail, confined)
    node = node_gpus.most_common(1)[0][0]
    if demand.largest_gang > demand.slice_gpus * 10:
        raise fail(
            "demand", f"its largest gang ({demand.largest_gang} GPUs) dwarfs the slice ({demand.slice_gpus:.0f})"
        )
    outages = tuple(
        SiteOutage(_seconds(o.start), _seconds(o.start) + int(o.hours * 3600), o.share)
        for o in spec.reliability.outages
    )
    r = spec.reliability
    try:
        scenario = Scenario(
            name=spec.name,
            site_gpus=total,
            cost=cost,
            capex=capex,
            lease=lease,
            prices=prices,
            start=spec.horizon.start,
            end=spec.horizon.end,
            demand=demand,
            spot=SpotOffer(spec.spot.load, spec.spot.job_gpus, spec.spot.job_hours, spec.spot.notice_s),
            reliability=Reliability(
                r.failures_per_gpu_year, r.repair_hours, outages, r.curtailment.hours_per_year, r.curtailment.depth
            ),
            strategies=strategies,
            node_gpus=node,
            ordering=spec.engine.ordering,
            placement=spec.engine.placement,
            seed=spec.seed,
            discount_rate=spec.discount_rate,
            sale=sale,
        )
    except NeocloudError as exc:
        raise fail("horizon", exc.message) from None
    if spec.spot.job_gpus > node:
        raise fail("spot.job_gpus", f"a spot job runs on one node: at most {node} GPUs")
    sw = spec.sweep
    uncertainty = _uncertainty(spec, gpus, catalog, derived, fail)
    return LoadedScenario(
        scenario,
        _assumptions(spec, source, overrides, derived),
        spec.sensitivity.swing,
        Sweep(tuple(sw.lease_price_factors), tuple(sw.rent_fractions), tuple(sw.demand_factors), sw.offer),
        source,
        uncertainty,
        _portfolio(spec, scenario, catalog, fail),
    )


def _portfolio(spec: ScenarioIn, scenario: Scenario, catalog: Catalog, fail: Any) -> Portfolio | None:
    """The scenario's own site and the other sites of `portfolio`, each costed and priced from the catalog
    like the scenario's (its shadow price: on-demand, its rent: 1-year reserved, weighted by its GPUs)."""
    p = spec.portfolio
    if p is None or not p.sites:
        return None
    home = Site(
        spec.name, scenario.site_gpus, scenario.cost, scenario.capex, scenario.demand.load,
        scenario.prices.shadow_usd_per_gpu_hour, scenario.start, sale=scenario.sale,
    )  # fmt: skip
    sites = [home]
    for i, s in enumerate(p.sites):
        where = f"portfolio.sites[{i}]"
        unknown = sorted(set(s.gpus) - set(catalog))
        if unknown:
            raise fail(f"{where}.gpus", f"not a GPU model of the catalog: {', '.join(unknown)}")
        gpus = Counter(s.gpus)
        shadow = _catalog_weighted(
            gpus, catalog, "on_demand_usd_per_hr", f"{where}.shadow_usd_per_gpu_hour", fail, s.shadow_usd_per_gpu_hour
        )
        rent = _catalog_weighted(
            gpus, catalog, "reserved_1y_usd_per_hr", f"{where}.rent_usd_per_gpu_hour", fail, s.rent_usd_per_gpu_hour
        )
        try:
            owned = _hours(max(s.online, spec.horizon.start), spec.horizon.end)
            cost, capex, sale = _site_cost(gpus, spec.costs, catalog, owned)
            sites.append(Site(s.name, sum(gpus.values()), cost, capex, s.load, shadow, s.online, rent, sale))
        except NeocloudError as exc:
            raise fail(exc.details.get("path", where), exc.message) from None
    try:
        return Portfolio(tuple(sites), Move(p.move.usd_per_gpu, p.move.days))
    except NeocloudError as exc:
        raise fail("portfolio", exc.message) from None


def price_history() -> list[PricePoint]:
    """The packaged rental-price history (of one GPU model, named in it) the market model is fitted on."""
    doc = load_yaml(resources.files("neocloud").joinpath(f"scenarios/{PRICE_HISTORY}").read_text(), PRICE_HISTORY)
    points = []
    for p in doc["points"]:
        year, month_of_year = (int(x) for x in p["month"].split("-"))
        points.append(PricePoint(year + (month_of_year - 0.5) / 12, float(p["usd_per_gpu_hour"]), p["series"]))
    return points


def _uncertainty(
    spec: ScenarioIn, gpus: Counter[str], catalog: Catalog, derived: dict[str, str], fail: Any
) -> Uncertainty:
    u, m = spec.uncertainty, spec.uncertainty.market
    weights = {}
    for g, n in sorted(gpus.items()):
        price = catalog[g].on_demand_usd_per_hr
        if price is None:
            raise fail("uncertainty.market", f"the catalog has no on-demand price for {g}, to weigh its market")
        weights[g] = float(n * price)
    fitted: tuple[float, float] | None = None
    if m.decline_per_year is None or m.sd is None:
        fitted = fit_price_trend(price_history())
        note = f"{fitted[0]:.4f}" if m.decline_per_year is None else None
        if note:
            derived["uncertainty.market.decline_per_year"] = note
        if m.sd is None:
            derived["uncertainty.market.sd"] = f"{fitted[1]:.4f}"
    if m.decline_per_year is None:
        assert fitted is not None
        decline = dict.fromkeys(weights, fitted[0])
    elif isinstance(m.decline_per_year, dict):
        unknown = sorted(set(m.decline_per_year) - set(weights))
        if unknown:
            raise fail("uncertainty.market.decline_per_year", f"not a GPU model of the fleet: {', '.join(unknown)}")
        decline = {g: m.decline_per_year.get(g, 0.0) for g in weights}
    else:
        decline = dict.fromkeys(weights, m.decline_per_year)
    sd = m.sd if m.sd is not None else (fitted[1] if fitted else 0.0)
    d = u.demand
    serving = None
    if u.buyer is not None:
        missing = sorted(set(gpus) - set(u.buyer.tokens_per_second_per_gpu))
        if missing:
            raise fail("uncertainty.buyer.tokens_per_second_per_gpu", f"no throughput for {', '.join(missing)}")
        rate = sum(u.buyer.tokens_per_second_per_gpu[g] * n for g, n in gpus.items()) / sum(gpus.values())
        serving = Serving(3600 * rate, u.buyer.benchmark)
    return Uncertainty(
        paths=u.paths,
        demand=DemandModel(
            d.growth_per_year, d.cycle_amplitude, d.cycle_months, d.shocks_per_year, d.shock_size,
            Deviation(d.sd, d.half_life_months),
        ),
        market=MarketModel(weights, decline, Deviation(sd, m.half_life_months)),
        seed=spec.seed if u.seed is None else u.seed,
        tenant_exit_drop=u.exits.tenant_drop,
        owner_exit_surge=u.exits.owner_surge,
        moves_shadow_price=m.moves_shadow_price,
        demand_points=u.demand_points,
        mix=MixOptions(tuple(u.mix.extra_kept), tuple(u.mix.block_terms), u.mix.max_queueing_hours) if u.mix else None,
        serving=serving,
    )  # fmt: skip


def _catalog_weighted(
    gpus: Counter[str], catalog: Catalog, attribute: str, key: str, fail: Any, given: Decimal | None = None
) -> Decimal:
    """The price `given`, else the catalog's (`attribute`) for the GPU models, weighted by their GPUs."""
    if given is not None:
        return given
    missing = [m for m in gpus if getattr(catalog[m], attribute) is None]
    if missing:
        raise fail(key, f"no value given and the catalog has no {attribute} for {', '.join(missing)}")
    return sum((getattr(catalog[m], attribute) * n for m, n in gpus.items()), Decimal(0)) / sum(gpus.values())


def _site_cost(
    gpus: Counter[str], c: CostsIn, catalog: Catalog, hours: Decimal
) -> tuple[HourlyCost, Decimal, Sale | None]:
    """The site's cost per GPU-hour (each GPU model costed with its own price, power and life, averaged over
    the fleet), its capex, and, with a resale share, its GPUs' sale after `hours` of owning them."""

    def of(model: str, value: Decimal | dict[str, Decimal], path: str) -> Decimal:
        if not isinstance(value, dict):
            return value
        if model not in value:
            raise InvalidSpec(f"no value for {model} (a GPU model of the fleet)", path=path)
        return value[model]

    per_model = {"provisioned_kw_per_gpu", "gpu_depreciation_years"}
    same = {f: getattr(c, f) for f in CostAssumptions.__dataclass_fields__ if f in CostsIn.model_fields}
    total, capex, proceeds, book, parts = sum(gpus.values()), Decimal(0), Decimal(0), Decimal(0), []
    for model, count in sorted(gpus.items()):
        own: dict[str, Decimal | None] = {f: of(model, getattr(c, f), f"costs.{f}") for f in sorted(per_model)}
        own["colo_usd_per_kw_month"] = c.colo_usd_per_kw_month if c.facility == "colocation" else None
        a = CostAssumptions(**(same | own))
        hourly = hourly_cost(catalog[model], a)
        parts.append(hourly.times(Decimal(count)))
        bought = capex_per_gpu(catalog[model], a) * count
        capex += bought
        if c.resale_share is not None:
            proceeds += bought * of(model, c.resale_share, "costs.resale_share")
            book += max(Decimal(0), bought - hourly.depreciation * count * hours)
    fields = HourlyCost.__dataclass_fields__
    cost = HourlyCost(*(sum((getattr(p, f) for p in parts), Decimal(0)) / total for f in fields))
    return cost, capex, None if c.resale_share is None else Sale(proceeds, book)


def _hours(start: str, end: str) -> Decimal:
    """Hours from the start of month `start` to the start of month `end` (none if it is not later)."""
    return Decimal(max(0, month(end).start - month(start).start)) / 3600


def _seconds(moment: date | datetime) -> int:
    if not isinstance(moment, datetime):
        moment = datetime.combine(moment, time(), UTC)
    return int((moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp())


def _demand(spec: ScenarioIn, traces: Path, fail: Any, confined: bool) -> InternalDemand:
    d = spec.demand
    if d.synthetic is not None:
        s = d.synthetic
        campaigns = Campaigns(s.campaigns.per_month, s.campaigns.share, s.campaigns.days) if s.campaigns else None
        inference = Inference(**s.inference.model_dump()) if s.inference else None
        if campaigns is None and inference is None:
            raise fail("demand.synthetic", "give campaigns, inference or both")
        return synthetic(s.slice_gpus, s.days, campaigns, inference, spec.seed)
    assert d.trace is not None
    assert d.load is not None
    kind, _, where = d.trace.partition(":")
    try:
        path = trace_path(where, traces, confined)
    except NeocloudError as exc:
        raise fail("demand.trace", exc.message) from None
    since = datetime.combine(d.since, time(), UTC) if d.since else None
    until = datetime.combine(d.until, time(), UTC) if d.until else None
    try:
        jobs = load_trace(f"{kind}:{path}", since=since, until=until).jobs
        return from_trace(jobs, d.load, d.copies, spec.seed)
    except NeocloudError as exc:
        hint = (
            ""
            if path.exists()
            else " (relative traces are read from --traces or NEOCLOUD_TRACES, default ../shared/traces)"
        )
        raise fail("demand.trace", exc.message + hint) from None


def _assumptions(
    spec: ScenarioIn, source: str, overrides: dict[str, Any], derived: dict[str, str]
) -> tuple[Assumption, ...]:
    doc = spec.model_dump(mode="json", exclude={"sources"})
    out = []
    for key, value in _leaves(doc).items():
        if key in derived:
            value = derived[key]
        if any(key == k or key.startswith(k + ".") or k.startswith(key + ".") for k in overrides):
            origin = f"your scenario file ({source})"
        else:
            prefixes = [p for p in spec.sources if key == p or key.startswith(p + ".")]
            origin = spec.sources[max(prefixes, key=len)] if prefixes else "neocloud default"
        out.append(Assumption(key, "" if value is None else str(value), origin))
    return tuple(out)
