"""Power use cases: the power a pool's site has free, each power node's draw over time (the ledger's power,
core/ledger.py), a curtailment drill on a site's contracts and running work (core/curtailment.py), and a
curtailment applied: recorded for the live engine (app/live.py), with incidents where reserved power is cut."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from decimal import Decimal

from neocloud.app.billing import record_incident
from neocloud.app.ports import UnitOfWork
from neocloud.app.records import CurtailmentEvent
from neocloud.app.services import NewId, check_open, get_pool, snapshot
from neocloud.core.bounds import check_text, check_time
from neocloud.core.catalog import Catalog
from neocloud.core.contracts import ContractKind
from neocloud.core.curtailment import Drill, Load, drill
from neocloud.core.errors import CurtailmentOverlaps, InvalidInput, InvalidState, NotFound, quoted
from neocloud.core.ledger import check_interval, kw
from neocloud.core.power import gpu_power
from neocloud.core.workload import WorkloadStatus


@dataclass(frozen=True, slots=True)
class NodePower:
    """A node of a site's power tree as the ledger keeps it: its limit (the oversubscription policy
    included), its least free power over a window, and what contracts draw on it step by step."""

    node: str
    limit_kw: Decimal
    free_kw: Decimal
    steps: tuple[tuple[int, int, Decimal], ...] = ()  # (start, end, IT kW drawn)
    more: bool = False  # steps were left off at the limit asked


@dataclass(frozen=True, slots=True)
class FreePower:
    pool: str
    start: int
    end: int
    free: int  # GPUs free
    cap_w: int | None
    gpus: int  # of those, how many the power above the pool holds at the cap
    nodes: tuple[NodePower, ...]


def free_power(uow: UnitOfWork, catalog: Catalog, pool: str, start: int, end: int, cap_w: int | None) -> FreePower:
    """The GPUs of a pool free over [start, end), and how many of them the power nodes above it have free
    power for at `cap_w` (default the TDP)."""
    check_interval(start, end)
    found = get_pool(uow, pool)
    if cap_w is not None:
        gpu_power(catalog[found.gpu_model]).check(cap_w)
    ledger = snapshot(uow, pool)
    nodes = tuple(
        NodePower(node, kw(ledger.power_limit(node)), kw(ledger.power_free(node, start, end)))
        for node in ledger.power_nodes(pool)
    )
    free = ledger.free(pool, start, end)
    return FreePower(pool, start, end, free, cap_w, ledger.bookable(pool, start, end, cap_w), nodes)


def power_profile(uow: UnitOfWork, site_name: str, start: int, end: int, limit: int) -> list[NodePower]:
    """Each node of a site's power tree: its limit and what contracts draw on it over [start, end), step by
    step (at most `limit` steps a node)."""
    check_interval(start, end)
    site = uow.fleet.get_site(site_name)
    if site is None:
        raise NotFound(f"unknown site {quoted(site_name)}", site=site_name)
    ledger = uow.ledger.load([p.name for p in site.pools()], lock=False)
    nodes = []
    for node in sorted(ledger.power.limits if ledger.power else ()):
        steps = ledger.power_profile(node, start, end)
        shown = tuple((s, e, kw(drawn)) for s, e, drawn in steps[:limit])
        free = kw(ledger.power_free(node, start, end))
        nodes.append(NodePower(node, kw(ledger.power_limit(node)), free, shown, len(steps) > limit))
    return nodes


def curtailment_drill(
    uow: UnitOfWork, catalog: Catalog, site_name: str, depth: Decimal, start: int, end: int, now: int | None = None
) -> Drill:
    """Whose work a curtailment of `depth` over [start, end) would cap or stop at `site_name`, and the credits
    it would cost; writes nothing. Reserved and internal contracts draw on the GPUs they hold at `start`;
    on-demand and spot on the GPUs their work runs on now. With `now`, each contract's notice short."""
    site = uow.fleet.get_site(site_name)
    if site is None:
        raise NotFound(f"unknown site {quoted(site_name)}", site=site_name)
    if site.power_mw is None:
        raise InvalidInput(f"site {site.name} has no power budget to curtail", field="site")
    models = {p.name: p.gpu_model for p in site.pools()}
    loads = [
        Load(c, c.gpus, gpu_power(catalog[models[c.pool]])) for c in uow.contracts.holding(models, start) if c.gpus > 0
    ]
    running: Counter[str] = Counter()
    for w in uow.workloads.active(lock=False):
        if w.status is WorkloadStatus.RUNNING:
            running[w.contract_id] += w.job.gpus
    rated = uow.contracts.get_many(running)
    for contract_id, gpus in sorted(running.items()):
        c = rated.get(contract_id)
        if c is not None and c.pool in models and c.kind in (ContractKind.ON_DEMAND, ContractKind.SPOT):
            loads.append(Load(c, gpus, gpu_power(catalog[models[c.pool]])))
    pue = site.pue_at(start)
    return drill(site.name, site.power_mw, pue, loads, depth, start, end, now)


@dataclass(frozen=True, slots=True)
class Applied:
    event: CurtailmentEvent
    drill: Drill  # what the cut does to the contracts in force when it begins
    incidents: tuple[str, ...]  # one per reserved contract whose power it cuts


def apply_curtailment(
    uow: UnitOfWork,
    catalog: Catalog,
    site_name: str,
    depth: Decimal,
    start: int,
    end: int,
    now: int,
    new_id: NewId,
    description: str = "",
) -> Applied:
    """Cut a site's budget by `depth` over [start, end): the live engine keeps what runs there within what is
    left from `start` (stopping work in contract order), and each reserved contract whose power the drill
    cuts gets an incident for the GPUs that power stands for, so the month's invoice credits it by its SLA.
    Refused when it is already over, overlaps another of the site's curtailments, or falls in an invoiced
    month."""
    check_text(description, "description")
    site = uow.fleet.get_site(site_name)
    if site is None:
        raise NotFound(f"unknown site {quoted(site_name)}", site=site_name)
    uow.ledger.load([p.name for p in site.pools()], lock=True)  # one change to a site's power at a time
    found = curtailment_drill(uow, catalog, site_name, depth, start, end, now)
    if end <= now:
        raise InvalidInput("a curtailment to apply has not ended yet: its end is after now", field="end")
    clash = uow.fleet.curtailments(site_name, start, end)
    if clash:
        c = clash[0]
        raise CurtailmentOverlaps(
            f"site {site_name} is already curtailed by {c.id} over [{c.start}, {c.end})", curtailment=c.id
        )
    event = CurtailmentEvent(new_id("cur"), site_name, depth.normalize(), start, end, now, description)
    incidents = []
    for action in found.actions:
        if action.outage is None:
            continue
        o = action.outage
        why = f"curtailment {event.id}: power cut from {kw_text(action.draw_kw)} to {kw_text(action.after_kw)} kW"
        incident = record_incident(
            uow, o.pool, o.start, o.end, new_id, gpus=o.gpus, contract_id=o.contract_id, description=why
        )
        incidents.append(incident.id)
    event = replace(event, incidents=tuple(incidents))
    uow.fleet.save_curtailment(event)
    return Applied(event, found, tuple(incidents))


def lift_curtailment(
    uow: UnitOfWork, site_name: str, curtailment_id: str, end: int | None, now: int
) -> tuple[CurtailmentEvent, bool]:
    """Lift a site's curtailment early, at `end` (default now), as a grid operator may: the live engine lets
    the site's work draw its whole feed again from then, and the incidents the cut recorded end then too (so
    do their SLA credits). A cut that has not begun by `end` is withdrawn: removed with its incidents. Notices
    given of it are taken back. Returns it as it now stands (as it stood, when withdrawn), and whether it was
    withdrawn. Refused when it is over, when `end` is before now or not before its end, or when an incident
    it changes lies in an invoiced month."""
    event = uow.fleet.get_curtailment(curtailment_id)
    site = uow.fleet.get_site(site_name)
    if event is None or site is None or event.site != site_name:
        raise NotFound(
            f"unknown curtailment {quoted(curtailment_id)} of site {quoted(site_name)}", curtailment=curtailment_id
        )
    pools = [p.name for p in site.pools()]
    uow.ledger.load(pools, lock=True)  # one change to a site's power at a time
    if event.end <= now:
        raise InvalidState(f"curtailment {event.id} is over: it ended at {event.end}", curtailment=event.id)
    end = now if end is None else check_time(end, "end")
    if not now <= end < event.end:
        raise InvalidInput(
            f"lift curtailment {event.id} between now ({now}) and its end ({event.end}), not at {end}", field="end"
        )
    withdrawn = end <= event.start
    incidents = uow.billing.get_incidents(event.incidents)
    for i in incidents:
        check_open(uow.billing.invoiced_periods_on_pool(i.pool), max(i.start, end), i.end, "the incident")
    for i in incidents:
        if withdrawn:
            uow.billing.remove_incident(i.id)
        elif end < i.end:
            uow.billing.end_incident(i.id, end)
    told = [w for w in uow.workloads.active(lock=True) if w.stops_at == event.start]
    contracts = uow.contracts.get_many({w.contract_id for w in told})
    for w in told:  # notice of it, taken back
        if contracts[w.contract_id].pool in pools:
            uow.workloads.save(replace(w, stops_at=None))
    if withdrawn:
        uow.fleet.remove_curtailment(event.id)
        return event, True
    lifted = replace(event, end=end)
    uow.fleet.save_curtailment(lifted)
    return lifted, False


def kw_text(value: Decimal) -> str:
    return f"{value:,.1f}"


def curtailments(uow: UnitOfWork, site_name: str, start: int, end: int) -> list[CurtailmentEvent]:
    """A site's curtailments overlapping [start, end)."""
    check_interval(start, end)
    if uow.fleet.get_site(site_name) is None:
        raise NotFound(f"unknown site {quoted(site_name)}", site=site_name)
    return uow.fleet.curtailments(site_name, start, end)
