"""Power as capacity: what a GPU draws under a power cap, how fast it runs there, and how many GPUs a budget in
megawatts holds.

A GPU under a cap draws at most the cap; with its share of the host (CPUs, memory, NICs, fans: what a node or
rack draws at most beyond its GPUs' TDP) and of the network (x 1.1, as the catalog's own power accounting),
that is the IT power to provision for it, and times the site's PUE the facility power. Provisioning at the
cap, not at typical draw, is what a budget that may never be exceeded needs.

How fast a GPU runs under a cap is a curve of throughput against the cap's share of the GPU's TDP, per kind
of work. The defaults (CURVES) are labelled and sourced; no primary H100 training curve exists, and studies
find the best cap depends on the workload (shared/catalog/power-and-market-notes.md).
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal

from neocloud.core.catalog import Catalog, GpuModel
from neocloud.core.errors import InvalidInput
from neocloud.core.fleet import Site
from neocloud.core.ledger import Hold, HoldKind
from neocloud.core.workload import Job

NETWORK_SHARE = Decimal("0.10")  # network and storage over IT, as the catalog's it_kw_per_gpu takes it
IT_KW_PER_CAP_WATT = (1 + NETWORK_SHARE) / 1000  # IT power a GPU's cap adds per watt, the network's share with it
H100_HOST_SHARE = (Decimal("10.2") / 8 - Decimal("0.7")) / Decimal("0.7")  # host kW per GPU kW, DGX H100
DEFAULT_MIN_CAP_SHARE = Decimal("0.3")  # assumption where the GPU's limits are not published


@dataclass(frozen=True, slots=True)
class Curve:
    """Throughput at a cap (both as shares: of the TDP, of the throughput at TDP), linear between points."""

    points: tuple[tuple[Decimal, Decimal], ...]  # increasing cap shares, the last at 1
    source: str

    def at(self, share: Decimal) -> Decimal:
        caps = [c for c, _ in self.points]
        if share >= caps[-1]:
            return self.points[-1][1]
        if share <= caps[0]:
            return self.points[0][1] * share / caps[0]  # below the curve: in proportion to power
        i = bisect_left(caps, share)
        (c0, t0), (c1, t1) = self.points[i - 1], self.points[i]
        return t0 + (t1 - t0) * (share - c0) / (c1 - c0)


D = Decimal
CURVES: Mapping[str, Curve] = {
    "training": Curve(
        ((D(500) / 1400, D("0.30")), (D(600) / 700, D("0.875")), (D(1), D(1))),
        "compute-bound: GB300 capped to 500 of 1,400 W ran ~30 % of its matmul throughput (facebookexperimental/"
        "triton PR #2023, M); H100 at 600 of 700 W loses 10-15 % in training (factryze.ai, L); linear between",
    ),
    "inference": Curve(
        ((D(300) / 700, D(1)), (D(1), D(1))),
        "decode-bound: H200 decode draws 137-300 W of 700, so caps at or above 300 W do not bind (arXiv "
        "2605.11999, H); below, throughput in proportion to the cap (assumption)",
    ),
}


@dataclass(frozen=True, slots=True)
class GpuPower:
    """One GPU model's power: its cap range and its host's share."""

    model: str
    tdp_w: int
    min_cap_w: int
    host_kw: Decimal  # per GPU, at most, network excluded

    def check(self, cap_w: int) -> None:
        if not self.min_cap_w <= cap_w <= self.tdp_w:
            raise InvalidInput(
                f"a {self.model} can be capped to {self.min_cap_w}-{self.tdp_w} W, not {cap_w} W",
                field="cap", model=self.model,
            )  # fmt: skip

    def rack_kw(self, cap_w: int | None = None) -> Decimal:
        """What the GPU and its host share draw at most under `cap_w` (default: no cap, the TDP), in its rack."""
        cap = self.tdp_w if cap_w is None else cap_w
        self.check(cap)
        return Decimal(cap) / 1000 + self.host_kw

    def it_kw(self, cap_w: int | None = None) -> Decimal:
        """IT power to provision per GPU under `cap_w`: its rack's draw and the network's share."""
        return self.rack_kw(cap_w) * (1 + NETWORK_SHARE)

    def throughput(self, cap_w: int, kind: str = "training") -> Decimal:
        self.check(cap_w)
        if kind not in CURVES:
            raise InvalidInput(f"unknown kind of work {kind!r}; known: {', '.join(CURVES)}", field="kind")
        return CURVES[kind].at(Decimal(cap_w) / self.tdp_w)


def parse_caps(items: Sequence[str]) -> dict[str, int]:
    """Caps as given on a command line or in a query: MODEL=WATTS, once per model."""
    caps: dict[str, int] = {}
    for item in items:
        model, sep, watts = item.partition("=")
        if not sep or not model or not watts.strip().isdigit() or len(watts.strip()) > 6:
            raise InvalidInput(f"a cap is MODEL=WATTS (whole watts), got {item[:100]!r}", field="cap")
        if model in caps:
            raise InvalidInput(f"{model} is capped twice", field="cap")
        caps[model] = int(watts)
    return caps


def gpu_power(model: GpuModel) -> GpuPower:
    """A catalog model's power: host share from its node's (or NVLink rack's) maximum draw beyond its GPUs'
    TDP, else the DGX H100's ratio; its lowest cap from the catalog, else 30 % of its TDP (assumption)."""
    tdp = Decimal(model.tdp_w) / 1000
    if model.rack_kw_max is not None and model.spans_nodes:
        host = model.rack_kw_max / model.nvlink_domain - tdp
    elif model.node_kw_max is not None:
        host = model.node_kw_max / model.gpus_per_node - tdp
    else:
        host = tdp * H100_HOST_SHARE
    low = model.min_cap_w if model.min_cap_w is not None else math.ceil(model.tdp_w * DEFAULT_MIN_CAP_SHARE)
    return GpuPower(model.name, model.tdp_w, low, max(Decimal(0), host))


def gpus_in(mw: Decimal, power: GpuPower, pue: Decimal, cap_w: int | None = None, per: int = 1) -> int:
    """GPUs of `power`'s model, in whole groups of `per` (a node, an NVLink rack), that `mw` of facility power
    holds at PUE `pue` under `cap_w`."""
    if not (mw.is_finite() and mw >= 0):
        raise InvalidInput(f"megawatts must be a finite number >= 0, got {mw}", field="mw")
    if pue < 1:
        raise InvalidInput(f"a PUE is at least 1, got {pue}", field="pue")
    per_gpu_kw = power.it_kw(cap_w) * pue
    groups = int(mw * 1000 // (per_gpu_kw * per))
    return groups * per


def step_gpus(model: GpuModel) -> int:
    """GPUs in a node, or in an NVLink rack where it spans nodes: the step in which power buys GPUs."""
    return model.nvlink_domain if model.spans_nodes else model.gpus_per_node


def gpus_for_mw(mw: Decimal, model: GpuModel, site: Site, cap_w: int | None = None) -> int:
    """The GPUs a contract of `mw` facility megawatts books at `site` under `cap_w`: whole nodes (NVLink
    racks), at the year's highest PUE, as the ledger keeps the feed."""
    per = step_gpus(model)
    gpus = gpus_in(mw, gpu_power(model), site.worst_pue[0], cap_w, per)
    if gpus == 0:
        cap = "its TDP" if cap_w is None else f"{cap_w} W"
        raise InvalidInput(f"{mw} MW holds no whole {per}-GPU step of {model.name} at {cap}", field="mw")
    return gpus


@dataclass(frozen=True, slots=True)
class ModelPower:
    """One GPU model of a site under a cap."""

    gpu_model: str
    gpus: int
    per: int  # GPUs in a node (or an NVLink rack): the step in which GPUs are booked
    cap_w: int
    power: GpuPower
    it_kw_per_gpu: Decimal
    facility_kw_per_gpu: Decimal
    throughput: Decimal  # at the cap, of the throughput at TDP, for the kind of work asked
    fit: int | None  # GPUs of this model the whole budget holds at the cap (None: the site has no budget)
    for_mw: int | None  # GPUs a contract of the asked megawatts books at the cap

    @property
    def facility_mw(self) -> Decimal:
        return self.facility_kw_per_gpu * self.gpus / 1000


DERATING = Decimal("0.8")  # a breaker carries 80 % of its rating continuously (power-and-market-notes.md)


@dataclass(frozen=True, slots=True)
class PowerNode:
    """One node of the power tree at the caps asked: the site's feed (facility power, at the year's highest
    PUE), a hall (IT power), or a block group's racks (each rack's IT power against its PDU derated)."""

    kind: str  # "site", "hall" or "rack"
    name: str
    limit_kw: Decimal
    draw_kw: Decimal  # at most, at the caps
    note: str = ""

    @property
    def over(self) -> bool:
        return self.draw_kw > self.limit_kw


@dataclass(frozen=True, slots=True)
class SitePower:
    site: str
    budget_mw: Decimal | None
    pue: Decimal
    kind: str
    mw: Decimal | None  # a contract's megawatts, when asked
    models: tuple[ModelPower, ...]
    tree: tuple[PowerNode, ...] = ()  # the feed, halls and racks that have a limit

    @property
    def facility_mw(self) -> Decimal:
        """What the site's GPUs may draw at their caps, facility included."""
        return sum((m.facility_mw for m in self.models), Decimal(0))

    @property
    def headroom_mw(self) -> Decimal | None:
        return None if self.budget_mw is None else self.budget_mw - self.facility_mw


def site_power(
    site: Site,
    catalog: Catalog,
    caps: Mapping[str, int] | None = None,
    mw: Decimal | None = None,
    kind: str = "training",
) -> SitePower:
    """Each GPU model of `site` under its cap (`caps`, by model; default its TDP): what it draws, how fast it
    runs, how many of it the site's budget would hold, and how many a contract of `mw` megawatts books."""
    caps = dict(caps or {})
    gpus = site.gpus_by_model()
    unknown = sorted(set(caps) - set(gpus))
    if unknown:
        raise InvalidInput(f"not a GPU model of site {site.name}: {', '.join(unknown)}", field="cap")
    models = []  # (each model's throughput refuses an unknown kind of work)
    for name, count in gpus.items():
        model = catalog[name]
        power = gpu_power(model)
        cap = caps.get(name, model.tdp_w)
        per = step_gpus(model)
        it = power.it_kw(cap)
        models.append(
            ModelPower(
                gpu_model=name,
                gpus=count,
                per=per,
                cap_w=cap,
                power=power,
                it_kw_per_gpu=it,
                facility_kw_per_gpu=it * site.pue,
                throughput=power.throughput(cap, kind),
                fit=None if site.power_mw is None else gpus_in(site.power_mw, power, site.pue, cap, per),
                for_mw=None if mw is None else gpus_in(mw, power, site.pue, cap, per),
            )
        )
    return SitePower(site.name, site.power_mw, site.pue, kind, mw, tuple(models), power_tree(site, models))


def power_tree(site: Site, models: Sequence[ModelPower]) -> tuple[PowerNode, ...]:
    """Every limit of the site's power tree against what its GPUs may draw under their caps."""
    by_model = {m.gpu_model: m for m in models}
    nodes = []
    if site.power_mw is not None:
        pue, month_of_year = site.worst_pue
        it = sum((m.it_kw_per_gpu * m.gpus for m in models), Decimal(0))
        note = f"PUE {pue}" + (f" in month {month_of_year}, the year's highest" if month_of_year else "")
        nodes.append(PowerNode("site", site.name, site.power_mw * 1000, it * pue, note))
    groups = {g.name: g for g in site.blocks}
    for hall in site.halls:
        it = sum((by_model[groups[b].node.gpu_model].it_kw_per_gpu * groups[b].gpus for b in hall.blocks), Decimal(0))
        nodes.append(PowerNode("hall", hall.name, hall.mw * 1000, it, f"IT power of {', '.join(hall.blocks)}"))
    for g in site.blocks:
        if g.rack_pdu_kw is None:
            continue
        m = by_model[g.node.gpu_model]
        rack = m.power.rack_kw(m.cap_w) * g.rack_gpus
        racks = g.count * g.racks
        note = f"each of {racks:,} racks: {g.rack_gpus} GPUs, PDU {g.rack_pdu_kw} kW x {DERATING}"
        nodes.append(PowerNode("rack", g.name, g.rack_pdu_kw * DERATING, rack, note))
    return tuple(nodes)


def capped_jobs(jobs: Sequence[Job], speeds: Mapping[str, Decimal], models: Sequence[str]) -> list[Job]:
    """The jobs as they run on a fleet of `models` whose GPUs run at `speeds` (of their speed at TDP, by model;
    uncapped models at 1): each job's work, and its estimate, take that much longer, in whole seconds up. A
    cap is static, so a job's speed is the same wherever and whenever it runs, if every model it may run on
    runs at one speed."""
    out = []
    for job in jobs:
        where = [m for m in (job.gpu_models or models) if m in models]
        found = {speeds.get(m, Decimal(1)) for m in where}
        if len(found) > 1:
            raise InvalidInput(
                f"job {job.id} may run on GPUs capped to different speeds ({', '.join(where)}): give its GPU model"
                " in the trace, or cap those models alike",
                field="cap", job=job.id,
            )  # fmt: skip
        out.append(slowed(job, found.pop() if found else Decimal(1)))
    return out


def slowed(job: Job, speed: Decimal) -> Job:
    """The job on GPUs running at `speed` (a share of their speed at TDP): its work, and its estimate, take that
    much longer, in whole seconds up. The simulator's static caps and the live engine's capped contracts."""
    if speed == 1:
        return job
    slower = math.ceil(Decimal(job.duration) / speed)
    estimate = None if job.estimate is None else math.ceil(Decimal(job.estimate) / speed)
    return replace(job, duration=slower, estimate=estimate)


# The power the ledger keeps --------------------------------------------------------------------------------

MILLIWATTS_PER_KW = 1_000_000
UNPOWERED = frozenset((HoldKind.MAINTENANCE, HoldKind.SPARE))  # GPUs off or idle: they draw from no budget


@dataclass(frozen=True, slots=True)
class PoolPower:
    power: GpuPower  # of the pool's GPU model
    nodes: tuple[str, ...]  # the power tree's nodes above the pool: its site's feed, its hall


@dataclass(frozen=True, slots=True)
class PowerBook:
    """What the ledger (core/ledger.py) needs to keep power: each node's limit, in IT milliwatts, and each
    pool's GPU model and nodes. Integers, so that the ledger's sums are exact."""

    limits: Mapping[str, int]
    pools: Mapping[str, PoolPower]
    _per_gpu: dict[tuple[str, int | None], int] = field(default_factory=dict, compare=False, repr=False)

    def nodes_of(self, pool: str) -> tuple[str, ...]:
        found = self.pools.get(pool)
        return () if found is None else found.nodes

    def per_gpu(self, pool: str, cap_w: int | None) -> int:
        """IT milliwatts a GPU of the pool may draw under `cap_w` (None: its TDP), rounded up; a cap out of the
        model's range is refused."""
        key = (pool, cap_w)
        if key not in self._per_gpu:
            self._per_gpu[key] = math.ceil(self.pools[pool].power.it_kw(cap_w) * MILLIWATTS_PER_KW)
        return self._per_gpu[key]

    def draw(self, hold: Hold) -> int:
        if hold.kind in UNPOWERED or hold.pool not in self.pools:
            return 0
        per = self._per_gpu.get((hold.pool, hold.cap_w))  # the hot path: booking asks this of every hold
        return hold.gpus * (per if per is not None else self.per_gpu(hold.pool, hold.cap_w))


def feed_node(site: Site) -> str:
    return site.name


def hall_node(site: Site, hall: str) -> str:
    return f"{site.name}/{hall}"


def power_book(sites: Iterable[Site], catalog: Catalog) -> PowerBook | None:
    """The power book of the sites' trees: the feed (facility MW at the year's highest PUE, as IT power) and
    each hall (IT MW), each times the site's oversubscription. None when no site has a limit."""
    limits: dict[str, int] = {}
    pools: dict[str, PoolPower] = {}
    for site in sites:
        nodes_above: dict[str | None, tuple[str, ...]] = {}
        feed: tuple[str, ...] = ()
        if site.power_mw is not None:
            pue, _ = site.worst_pue
            limits[feed_node(site)] = int(site.power_mw * 1000 * MILLIWATTS_PER_KW * site.oversubscription / pue)
            feed = (feed_node(site),)
        nodes_above[None] = feed
        for hall in site.halls:
            limits[hall_node(site, hall.name)] = int(hall.mw * 1000 * MILLIWATTS_PER_KW * site.oversubscription)
            nodes_above[hall.name] = (*feed, hall_node(site, hall.name))
        for pool in site.pools():
            fed_by = site.hall_of(pool)
            nodes = nodes_above[None if fed_by is None else fed_by.name]
            if nodes:
                pools[pool.name] = PoolPower(gpu_power(catalog[pool.gpu_model]), nodes)
    return PowerBook(limits, pools) if limits else None


Group = tuple[str, ...]  # pools whose calendars are kept together: every pool under one site's power nodes


def power_groups(site: Site, catalog: Catalog) -> dict[str, tuple[Group, PowerBook | None]]:
    """Each pool of the site with its group and the group's power book. Pools that draw on the site's power
    nodes share them, so the ledger loads and locks them together; a pool under no node is alone, unbooked."""
    book = power_book([site], catalog)
    group = tuple(sorted(book.pools)) if book else ()
    return {p.name: (group, book) if p.name in group else ((p.name,), None) for p in site.pools()}


def merged(books: Iterable[PowerBook | None]) -> PowerBook | None:
    """One book for the ledger of several groups (of different sites)."""
    found = list({id(b): b for b in books if b is not None}.values())
    if len(found) <= 1:
        return found[0] if found else None
    return PowerBook(
        {node: limit for b in found for node, limit in b.limits.items()},
        {pool: power for b in found for pool, power in b.pools.items()},
    )


# A site's power over a replay --------------------------------------------------------------------------------

# Whose work a shrinking budget cuts first, by contract kind: the drill's order and the replay's alike.
SHED_ORDER = ("spot", "on-demand", "internal", "reserved")


def check_depth(depth: Decimal, field: str) -> None:
    """A curtailment's depth: the share of the budget cut, in (0, 1]."""
    if not (depth.is_finite() and 0 < depth <= 1):
        raise InvalidInput(f"a curtailment's depth is a share in (0, 1], got {depth}", field=field)


@dataclass(frozen=True, slots=True)
class Curtailment:
    """The budget cut by `depth` (a share) over [start, end), in a replay's seconds."""

    depth: Decimal
    start: int
    end: int

    def __post_init__(self) -> None:
        check_depth(self.depth, "curtail")
        if not 0 <= self.start < self.end:
            raise InvalidInput("a curtailment ends after it starts, at a time >= 0", field="curtail")


@dataclass(frozen=True, slots=True)
class Capping:
    """How a replay's running GPUs may be capped when its budget shrinks: their model's power (the fleet's
    hungriest), the cap they run under otherwise (a static cap, or the TDP), the site's PUE, the kind of work."""

    power: GpuPower
    cap_w: int
    pue: Decimal
    kind: str = "training"

    @property
    def kw_per_watt(self) -> Decimal:
        """Facility kW one GPU's cap saves per watt."""
        return IT_KW_PER_CAP_WATT * self.pue

    def pace(self, cap_w: int) -> float:
        """Wall seconds per second of work at `cap_w`, against its pace at the usual cap."""
        return float(self.power.throughput(self.cap_w, self.kind) / self.power.throughput(cap_w, self.kind))


@dataclass(frozen=True, slots=True)
class PowerBudget:
    """A site's power in a replay: what a GPU draws at most (facility kW, the fleet's hungriest model at its
    cap) and the budget step by step, so the engine never runs more GPUs than the budget feeds."""

    kw_per_gpu: Decimal
    steps: tuple[tuple[int, Decimal], ...]  # (from, facility kW), ascending from 0
    ramp_kw_per_s: Decimal | None = None  # the fastest the draw may rise (core/engine/budget.Ramp); None: any
    capping: Capping | None = None  # None: a shrinking budget stops work, and caps none
    fall_kw_per_s: Decimal | None = None  # the fastest the draw may fall (the GPUs' floors hold it); None: any

    @classmethod
    def of(
        cls,
        budget_kw: Decimal,
        kw_per_gpu: Decimal,
        cuts: Sequence[Curtailment] = (),
        ramp_kw_per_s: Decimal | None = None,
        capping: Capping | None = None,
        fall_kw_per_s: Decimal | None = None,
    ) -> PowerBudget:
        """The site's budget, cut by each curtailment while it lasts (overlapping cuts: the deepest)."""
        times = sorted({0, *(c.start for c in cuts), *(c.end for c in cuts)})
        steps: list[tuple[int, Decimal]] = []
        for t in times:
            depth = max((c.depth for c in cuts if c.start <= t < c.end), default=Decimal(0))
            kw = budget_kw * (1 - depth)
            if not steps or steps[-1][1] != kw:
                steps.append((t, kw))
        return cls(kw_per_gpu, tuple(steps), ramp_kw_per_s, capping, fall_kw_per_s)

    def gpus(self, kw: Decimal) -> int:
        """GPUs a budget of `kw` feeds."""
        return int(kw // self.kw_per_gpu)

    def at(self, t: int) -> Decimal:
        return next((kw for start, kw in reversed(self.steps) if start <= t), self.steps[0][1])
