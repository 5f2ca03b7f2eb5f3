"""A replay under its fleet's power (core/power.PowerBudget): the one site's feed, cut by curtailments, under
its ramp limits, with running GPUs capped before work stops; and what keeping it took, from the run. The
CLI's `simulate --power/--curtail/--ramp/--fall` and the analyses' comparisons (`power`) ask for it alike."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

from neocloud.core.catalog import Catalog
from neocloud.core.errors import InvalidInput, NeocloudError
from neocloud.core.power import Capping, Curtailment, PowerBudget, capped_jobs, gpu_power
from neocloud.core.workload import Job
from neocloud.sim.metrics import SimResult, power_over


@dataclass(frozen=True, slots=True)
class ReplayPower:
    """What a replay keeps of its site's power. Curtailments are (depth, start, seconds), their start counted
    from the first submission; rates in MW a second, None: the site's own limit."""

    curtailments: tuple[tuple[Decimal, int, int], ...] = ()
    ramp_mw_per_s: Decimal | None = None
    fall_mw_per_s: Decimal | None = None
    capping: bool = True  # a shrinking budget caps running GPUs before it stops work
    caps: Mapping[str, int] = field(default_factory=dict)  # static caps by GPU model (simulate --cap)
    kind: str = "training"  # the work the caps slow


def capped(
    jobs: Sequence[Job], fleet: str, catalog: Catalog, caps: Mapping[str, int], kind: str
) -> tuple[list[Job], dict[str, Any]]:
    """The jobs slowed by static caps on the fleet's GPU models (core/power.py), and what the caps mean: the
    speed and IT draw of a GPU of each capped model. Refused for a fleet without GPU models (a synthetic
    one), a model the fleet does not have, a cap out of the model's range or an unknown kind of work."""
    from neocloud.adapters.specs import load_fleet

    try:
        sites = load_fleet(fleet, catalog)
    except NeocloudError:
        raise InvalidInput(
            f"caps need a fleet with GPU models (a packaged name such as colossus-1, or a fleet YAML), not {fleet!r}",
            field="cap",
        ) from None
    models = sorted({m for site in sites for m in site.gpus_by_model()})
    unknown = sorted(set(caps) - set(models))
    if unknown:
        raise InvalidInput(f"not a GPU model of the fleet: {', '.join(unknown)}", field="cap")
    powers = {m: gpu_power(catalog[m]) for m in caps}
    speeds = {m: p.throughput(caps[m], kind) for m, p in powers.items()}
    shown = {
        "caps_w": dict(caps),
        "kind": kind,
        "speed": {m: str(v.quantize(Decimal("0.0001"))) for m, v in speeds.items()},
        "it_kw_per_gpu": {m: str(p.it_kw(caps[m]).quantize(Decimal("0.0001"))) for m, p in powers.items()},
    }
    return capped_jobs(jobs, speeds, models), shown


def replay_budget(
    jobs: Sequence[Job], fleet: str, catalog: Catalog, asked: ReplayPower
) -> tuple[PowerBudget, dict[str, Any]]:
    """The fleet's one site's budget over the replay: a GPU draws the most any of its models draws at its cap
    (or TDP), at the year's highest PUE, and may be capped as that model may; each curtailment cut from it
    while it lasts. Returns it, and what it is, as shown."""
    from neocloud.adapters.specs import load_fleet

    try:
        sites = load_fleet(fleet, catalog)
    except NeocloudError:
        raise InvalidInput(
            f"a power budget needs a fleet with a site's power budget, not {fleet!r}", field="power"
        ) from None
    feed = sites[0].power_mw if len(sites) == 1 else None
    if feed is None:
        raise InvalidInput("a power budget needs a fleet of one site with a power budget (power_mw)", field="power")
    site, wanted, budget_kw = sites[0], asked.caps, feed * 1000
    pue = site.worst_pue[0]
    power = max((gpu_power(catalog[m]) for m in site.gpus_by_model()), key=lambda p: p.it_kw(wanted.get(p.model)))
    capping = Capping(power, wanted.get(power.model, power.tdp_w), pue, asked.kind)
    kw = power.it_kw(capping.cap_w) * pue
    first = min((j.submit for j in jobs), default=0)
    cuts = [Curtailment(depth, first + start, first + start + seconds) for depth, start, seconds in asked.curtailments]
    rise = site.ramp_mw_per_s if asked.ramp_mw_per_s is None else asked.ramp_mw_per_s
    fall = site.fall_mw_per_s if asked.fall_mw_per_s is None else asked.fall_mw_per_s
    budget = PowerBudget.of(budget_kw, kw, cuts, _kw_per_s(rise), capping if asked.capping else None, _kw_per_s(fall))
    shown = {
        "site": site.name,
        "budget_kw": kw_text(budget_kw),
        "kw_per_gpu": str(kw.quantize(Decimal("0.000001"))),
        "curtailments": [{"depth": str(c.depth), "start": c.start, "end": c.end} for c in cuts],
        "ramp_mw_per_s": None if rise is None else kw_text(rise),
        "fall_mw_per_s": None if fall is None else kw_text(fall),
        "capping": asked.capping,
    }
    return budget, shown


def budget_kept(result: SimResult, budget: PowerBudget) -> dict[str, Any]:
    """What meeting the budget took at each of its changes, and, from the run's timeline, its peak draw and
    every instant it was exceeded."""
    peak, over = power_over(result, budget)
    changes = [
        {k: kw_text(v) if isinstance(v, Decimal) else v for k, v in asdict(c).items()} for c in result.power_changes
    ]
    kept = {"changes": changes, "peak_kw": str(peak.quantize(Decimal("0.001"))), "exceeded_at": over}
    floors = {"floor_kwh": str(result.floor_kwh.quantize(Decimal("0.001")))} if budget.fall_kw_per_s else {}
    return kept | {"ramp_waits": result.ramp_waits} | floors


def parse_curtailment(text: str) -> tuple[Decimal, int, int]:
    """DEPTH@START+SECONDS: (depth, start, seconds), the start counted from the first submission."""
    depth, at, rest = text.partition("@")
    start, plus, seconds = rest.partition("+")
    if not (at and plus and start.strip().isdigit() and seconds.strip().isdigit()) or len(text) > 60:
        raise InvalidInput(f"a curtailment is DEPTH@START+SECONDS (whole seconds), got {text[:60]!r}", field="curtail")
    try:
        share = Decimal(depth)
    except ArithmeticError:
        raise InvalidInput(f"a curtailment's depth is a share in (0, 1], got {depth[:20]!r}", field="curtail") from None
    return share, int(start), int(seconds)


def parse_rate(text: str | None, name: str) -> Decimal | None:
    """A ramp limit as typed, MW a second (None: not given)."""
    from neocloud.core.bounds import MAX_RAMP_MW_PER_S, parse_decimal

    mw_per_s = None if text is None else parse_decimal(text, name, high=MAX_RAMP_MW_PER_S, places=6)
    if mw_per_s is not None and mw_per_s <= 0:
        raise InvalidInput(f"{name} is above 0 MW a second", field=name)
    return mw_per_s


def kw_text(kw: Decimal) -> str:
    return f"{kw.normalize():f}"


def _kw_per_s(mw_per_s: Decimal | None) -> Decimal | None:
    return None if mw_per_s is None else mw_per_s * 1000
