"""Power use cases: a curtailment drill on a site's contracts and running work (core/curtailment.py)."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

from neocloud.app.ports import UnitOfWork
from neocloud.core.billing.periods import month_of
from neocloud.core.catalog import Catalog
from neocloud.core.contracts import ContractKind
from neocloud.core.curtailment import Drill, Load, drill
from neocloud.core.errors import InvalidInput, NotFound, quoted
from neocloud.core.power import gpu_power
from neocloud.core.workload import WorkloadStatus


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
