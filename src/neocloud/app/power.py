"""Power use cases: the power a pool's site has free, each power node's draw over time (the ledger's power,
core/ledger.py), and a curtailment drill on a site's contracts and running work (core/curtailment.py)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from decimal import Decimal

from neocloud.app.ports import UnitOfWork
from neocloud.app.services import get_pool, snapshot
from neocloud.core.billing.periods import month_of
from neocloud.core.catalog import Catalog
from neocloud.core.contracts import ContractKind
from neocloud.core.curtailment import Drill, Load, drill
from neocloud.core.errors import InvalidInput, NotFound, quoted
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


def curtailment_drill(uow: UnitOfWork, catalog: Catalog, site_name: str, depth: Decimal, start: int, end: int) -> Drill:
    """Whose work a curtailment of `depth` over [start, end) would cap or stop at `site_name`, and the credits
    it would cost; writes nothing. Reserved and internal contracts draw on the GPUs they hold at `start`;
    on-demand and spot on the GPUs their work runs on now."""
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
    pue = site.pue_in(int(month_of(start).key[5:]))
    return drill(site.name, site.power_mw, pue, loads, depth, start, end)
