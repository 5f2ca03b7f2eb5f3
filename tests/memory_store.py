"""An in-memory unit of work for service tests: every repository of app/ports.py over plain dicts.

A transaction works on a copy of the data and replaces the store's only when it commits, so a refusal leaves
the store as it was, as the SQL store does. Lists come in their sort key's order and page by it. What only
the real store can show (locks between processes, kept snapshots, round trips) is tested on it (tests/store)."""

from __future__ import annotations

import dataclasses
import itertools
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from types import TracebackType
from typing import Any, Self, TypeVar

from neocloud.app.ports import AgreementKey, ContractFilter, Key
from neocloud.app.records import (
    Analysis,
    AnalysisStatus,
    ApiKey,
    CurtailmentEvent,
    Incident,
    StoredInvoice,
    StoredResponse,
    StoredWorkload,
)
from neocloud.core.assignment import Assignment
from neocloud.core.billing.invoice import BillingTerms
from neocloud.core.billing.metering import UsageRecord
from neocloud.core.billing.rating import Outage
from neocloud.core.catalog import Catalog
from neocloud.core.contracts import Contract, ContractKind, Limits, PriceAgreement, Tenant
from neocloud.core.fleet import Pool, Site
from neocloud.core.ledger import Hold, Ledger
from neocloud.core.nodes import NodeEvent
from neocloud.core.power import merged, power_groups
from neocloud.core.workload import WorkloadStatus

T = TypeVar("T")


def page(items: Iterable[T], key: Callable[[T], Key], after: Key | None, limit: int | None) -> list[T]:
    ordered = sorted((i for i in items if after is None or key(i) > after), key=key)
    return ordered if limit is None else ordered[:limit]


@dataclass
class Data:
    sites: dict[str, Site] = field(default_factory=dict)
    curtailments: dict[str, CurtailmentEvent] = field(default_factory=dict)
    pools: dict[str, Pool] = field(default_factory=dict)
    holds: dict[str, Hold] = field(default_factory=dict)
    tenants: dict[str, Tenant] = field(default_factory=dict)
    agreements: dict[tuple[str, str, str], PriceAgreement] = field(default_factory=dict)
    credit: dict[str, Decimal | None] = field(default_factory=dict)
    quotas: dict[tuple[str, str], int] = field(default_factory=dict)
    contracts: dict[str, Contract] = field(default_factory=dict)
    usage: dict[str, UsageRecord] = field(default_factory=dict)
    invoices: dict[str, StoredInvoice] = field(default_factory=dict)
    incidents: dict[str, Incident] = field(default_factory=dict)
    terms: dict[str, BillingTerms] = field(default_factory=dict)
    keys: dict[str, ApiKey] = field(default_factory=dict)
    responses: dict[tuple[str, str], StoredResponse] = field(default_factory=dict)
    workloads: dict[str, StoredWorkload] = field(default_factory=dict)
    nodes: dict[str, tuple[NodeEvent, ...]] = field(default_factory=dict)  # each node's history
    assignments: dict[tuple[str, str, int], Assignment] = field(default_factory=dict)  # (contract, node, since)
    analyses: dict[str, Analysis] = field(default_factory=dict)

    def copy(self) -> Data:
        """The values are frozen: copying the dicts copies the data."""
        return Data(**{f.name: dict(getattr(self, f.name)) for f in dataclasses.fields(self)})


class MemoryFleet:
    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow

    def add_site(self, site: Site) -> None:
        data = self._uow.data
        data.sites[site.name] = site
        data.pools.update((p.name, p) for p in site.pools())

    def get_site(self, name: str) -> Site | None:
        return self._uow.data.sites.get(name)

    def list_sites(self) -> list[Site]:
        return page(self._uow.data.sites.values(), lambda s: (s.name,), None, None)

    def get_pool(self, name: str) -> Pool | None:
        return self._uow.data.pools.get(name)

    def list_pools(self) -> list[Pool]:
        return page(self._uow.data.pools.values(), lambda p: (p.name,), None, None)

    def save_curtailment(self, event: CurtailmentEvent) -> None:
        self._uow.data.curtailments[event.id] = event

    def get_curtailment(self, curtailment_id: str) -> CurtailmentEvent | None:
        return self._uow.data.curtailments.get(curtailment_id)

    def remove_curtailment(self, curtailment_id: str) -> None:
        self._uow.data.curtailments.pop(curtailment_id, None)

    def curtailments(self, site: str | None, start: int, end: int) -> list[CurtailmentEvent]:
        found = (
            e for e in self._uow.data.curtailments.values()
            if (site is None or e.site == site) and e.start < end and e.end > start
        )  # fmt: skip
        return sorted(found, key=lambda e: (e.site, e.start, e.id))


class MemoryLedger:
    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow

    def load(self, pools: Iterable[str], *, lock: bool) -> Ledger:
        """The pools' ledger, with every pool of their groups (as the SQL store loads them)."""
        data = self._uow.data
        groups = {}
        for pool in set(pools):  # KeyError: callers check pools first
            groups.update(power_groups(data.sites[data.pools[pool].site], self._uow.catalog))
        found = [groups[pool] for pool in set(pools)]
        names = sorted({name for group, _ in found for name in group})
        ledger = Ledger({name: data.pools[name].gpus for name in names}, power=merged(b for _, b in found))
        ledger.restore(h for h in data.holds.values() if h.pool in names)
        return ledger

    def add(self, holds: Sequence[Hold]) -> None:
        for hold in holds:
            self.save(hold)

    def save(self, hold: Hold) -> None:
        self._uow.data.holds[hold.id] = hold

    def delete(self, hold_id: str) -> None:
        self._uow.data.holds.pop(hold_id, None)


class MemoryTenants:
    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow

    def add(self, tenant: Tenant) -> None:
        self._uow.data.tenants[tenant.id] = tenant

    def get(self, key: str) -> Tenant | None:
        tenants = self._uow.data.tenants
        return tenants.get(key) or next((t for t in tenants.values() if t.name == key), None)

    def page(self, *, after: Key | None = None, limit: int | None = None) -> list[Tenant]:
        return page(self._uow.data.tenants.values(), lambda t: (t.name,), after, limit)

    def get_agreements(self, keys: Iterable[AgreementKey]) -> dict[AgreementKey, PriceAgreement]:
        agreements = self._uow.data.agreements
        found = {(t, p, ContractKind(k)): agreements.get((t, p, str(k))) for t, p, k in keys}
        return {key: a for key, a in found.items() if a is not None}

    def list_agreements(
        self, tenant_id: str | None = None, *, after: Key | None = None, limit: int | None = None
    ) -> list[PriceAgreement]:
        mine = (a for a in self._uow.data.agreements.values() if tenant_id in (None, a.tenant_id))
        return page(mine, lambda a: (a.tenant_id, a.pool, str(a.kind)), after, limit)

    def save_agreement(self, agreement: PriceAgreement) -> None:
        self._uow.data.agreements[agreement.tenant_id, agreement.pool, str(agreement.kind)] = agreement

    def delete_agreement(self, key: AgreementKey) -> bool:
        tenant_id, pool, kind = key
        return self._uow.data.agreements.pop((tenant_id, pool, str(kind)), None) is not None

    def get_limits(self, tenant_ids: Iterable[str]) -> dict[str, Limits]:
        data = self._uow.data
        return {
            t: Limits(
                t, data.credit.get(t), tuple(sorted((p, g) for (owner, p), g in data.quotas.items() if owner == t))
            )
            for t in sorted(set(tenant_ids))
        }

    def save_credit_limit(self, tenant_id: str, usd: Decimal | None) -> None:
        self._uow.data.credit[tenant_id] = usd

    def save_quota(self, tenant_id: str, pool: str, gpus: int | None) -> None:
        if gpus is None:
            self._uow.data.quotas.pop((tenant_id, pool), None)
        else:
            self._uow.data.quotas[tenant_id, pool] = gpus


class MemoryContracts:
    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow

    def add(self, contracts: Sequence[Contract]) -> None:
        for contract in contracts:
            self.save(contract)

    def save(self, contract: Contract) -> None:
        self._uow.data.contracts[contract.id] = contract

    def get(self, contract_id: str) -> Contract | None:
        return self._uow.data.contracts.get(contract_id)

    def get_many(self, contract_ids: Iterable[str]) -> dict[str, Contract]:
        contracts = self._uow.data.contracts
        return {i: contracts[i] for i in set(contract_ids) if i in contracts}

    def in_force(
        self,
        start: int,
        end: int,
        *,
        tenant_id: str | None = None,
        kind: ContractKind | None = None,
        promised: bool = False,
    ) -> list[Contract]:
        found = (
            c
            for c in self._uow.data.contracts.values()
            if c.start < end
            and c.end > start
            and tenant_id in (None, c.tenant_id)
            and kind in (None, c.kind)
            and (c.sla_uptime is not None or not promised)
        )
        return sorted(found, key=lambda c: c.id)

    def holding(self, pools: Iterable[str], at: int) -> list[Contract]:
        wanted, kinds = set(pools), (ContractKind.RESERVED, ContractKind.INTERNAL)
        return page(
            (
                c
                for c in self._uow.data.contracts.values()
                if c.pool in wanted and c.start <= at < c.end and c.gpus > 0 and c.kind in kinds
            ),
            lambda c: (c.start, c.id),
            None,
            None,
        )

    def page(
        self, tenant_id: str | None = None, *, after: Key | None = None, limit: int | None = None
    ) -> list[Contract]:
        mine = (c for c in self._uow.data.contracts.values() if tenant_id in (None, c.tenant_id))
        return page(mine, lambda c: (c.start, c.id), after, limit)

    def latest(
        self, tenant_id: str | None, limit: int, *, where: ContractFilter | None = None
    ) -> tuple[list[Contract], int]:
        f = where or ContractFilter()
        mine = [
            c
            for c in self._uow.data.contracts.values()
            if tenant_id in (None, c.tenant_id)
            and f.kind in (None, c.kind.value)
            and f.pool in (None, c.pool)
            and f.status in (None, c.status.value)
        ]
        order = {"start": "start", "end": "end", "gpus": "gpus", "price": "price_per_gpu_hour"}[f.order]
        return sorted(mine, key=lambda c: (getattr(c, order), c.id), reverse=True)[:limit], len(mine)


class MemoryBilling:
    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow

    def save_usage(self, records: Iterable[UsageRecord]) -> None:
        self._uow.data.usage.update((r.key, r) for r in records)

    def usage_by_keys(self, keys: Iterable[str]) -> list[UsageRecord]:
        usage = self._uow.data.usage
        return [usage[k] for k in sorted(set(keys)) if k in usage]

    def usage_of_jobs(self, pairs: Iterable[tuple[str, str]]) -> list[UsageRecord]:
        wanted = set(pairs)
        return [r for r in self._uow.data.usage.values() if (r.contract_id, r.job_id) in wanted]

    def usage_between(
        self, start: int, end: int, tenant_id: str | None = None, *, after: Key | None = None, limit: int | None = None
    ) -> list[UsageRecord]:
        usage = self._uow.data.usage.values()
        mine = (r for r in usage if r.start < end and r.end > start and tenant_id in (None, r.tenant_id))
        return page(mine, lambda r: (r.start, r.key), after, limit)

    def invoiced_periods(self, tenant_ids: Iterable[str]) -> dict[str, list[str]]:
        wanted, out = set(tenant_ids), {}
        for invoice in self._uow.data.invoices.values():
            if invoice.tenant_id in wanted:
                out.setdefault(invoice.tenant_id, []).append(invoice.period)
        return out

    def invoiced_periods_on_pool(self, pool: str) -> set[str]:
        tenants = {c.tenant_id for c in self._uow.data.contracts.values() if c.pool == pool}
        return {i.period for i in self._uow.data.invoices.values() if i.tenant_id in tenants}

    def save_invoice(self, invoice: StoredInvoice) -> None:
        self._uow.data.invoices[invoice.id] = invoice

    def get_invoice(self, invoice_id: str) -> StoredInvoice | None:
        return self._uow.data.invoices.get(invoice_id)

    def invoiced_totals(self) -> list[tuple[str, str, Decimal]]:
        return sorted((i.period, i.tenant_id, i.total) for i in self._uow.data.invoices.values())

    def list_invoices(
        self,
        tenant_id: str | None = None,
        period: str | None = None,
        *,
        after: Key | None = None,
        limit: int | None = None,
    ) -> list[StoredInvoice]:
        invoices = self._uow.data.invoices.values()
        mine = (i for i in invoices if tenant_id in (None, i.tenant_id) and period in (None, i.period))
        return page(mine, lambda i: (i.period, i.tenant_id), after, limit)

    def add_incident(self, incident_id: str, outage: Outage, description: str) -> None:
        o = outage
        self._uow.data.incidents[incident_id] = Incident(
            incident_id, o.pool, o.start, o.end, o.gpus, o.contract_id, description
        )

    def incidents_between(self, pools: Iterable[str], start: int, end: int) -> list[Outage]:
        return [Outage(i.pool, i.start, i.end, i.gpus, i.contract_id) for i in self.list_incidents(pools, start, end)]

    def get_incidents(self, incident_ids: Iterable[str]) -> list[Incident]:
        found = self._uow.data.incidents
        return [found[i] for i in sorted(set(incident_ids)) if i in found]

    def end_incident(self, incident_id: str, end: int) -> None:
        found = self._uow.data.incidents
        if incident_id in found:
            found[incident_id] = replace(found[incident_id], end=end)

    def remove_incident(self, incident_id: str) -> None:
        self._uow.data.incidents.pop(incident_id, None)

    def list_incidents(
        self, pools: Iterable[str], start: int, end: int, *, after: Key | None = None, limit: int | None = None
    ) -> list[Incident]:
        wanted = set(pools)
        mine = (i for i in self._uow.data.incidents.values() if i.pool in wanted and i.start < end and i.end > start)
        return page(mine, lambda i: (i.start, i.id), after, limit)

    def get_terms(self, contract_ids: Iterable[str]) -> dict[str, BillingTerms]:
        terms = self._uow.data.terms
        return {c: terms[c] for c in set(contract_ids) if c in terms}

    def save_terms(self, contract_id: str, terms: BillingTerms) -> None:
        self._uow.data.terms[contract_id] = terms


class MemoryKeys:
    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow

    def save(self, key: ApiKey) -> None:
        self._uow.data.keys[key.id] = key

    def get(self, key_id: str) -> ApiKey | None:
        return self._uow.data.keys.get(key_id)

    def by_digest(self, digest: str) -> ApiKey | None:
        return next((k for k in self._uow.data.keys.values() if k.digest == digest), None)

    def page(self, tenant_id: str | None = None, *, after: Key | None = None, limit: int | None = None) -> list[ApiKey]:
        mine = (k for k in self._uow.data.keys.values() if tenant_id in (None, k.tenant_id))
        return page(mine, lambda k: (k.created_at, k.id), after, limit)

    def touch(self, key_id: str, now: int) -> None:
        keys = self._uow.data.keys
        if key_id in keys:
            keys[key_id] = dataclasses.replace(keys[key_id], last_used_at=now)

    def stored_responses(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], StoredResponse]:
        responses = self._uow.data.responses
        return {k: responses[k] for k in set(keys) if k in responses}

    def store_responses(self, responses: Iterable[tuple[str, str, StoredResponse]], now: int) -> None:
        for scope, key, response in responses:
            if (scope, key) in self._uow.data.responses:
                raise KeyError(f"idempotency key {key!r} stored twice")  # the SQL store's primary key refuses it
            self._uow.data.responses[scope, key] = response


class MemoryWorkloads:
    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow

    def save(self, workload: StoredWorkload) -> None:
        self._uow.data.workloads[workload.job.id] = workload

    def get(self, workload_id: str) -> StoredWorkload | None:
        return self._uow.data.workloads.get(workload_id)

    def page(
        self, tenant_id: str | None = None, *, after: Key | None = None, limit: int | None = None
    ) -> list[StoredWorkload]:
        mine = (w for w in self._uow.data.workloads.values() if tenant_id in (None, w.job.tenant))
        return page(mine, lambda w: (w.job.submit, w.job.id), after, limit)

    def count(self) -> dict[tuple[str, str], int]:
        data = self._uow.data
        pairs = sorted((data.contracts[w.contract_id].pool, str(w.status)) for w in data.workloads.values())
        return {pair: len(list(group)) for pair, group in itertools.groupby(pairs)}

    def latest(self, tenant_id: str | None, limit: int, *, active: bool = False) -> tuple[list[StoredWorkload], int]:
        mine = [
            w
            for w in self._uow.data.workloads.values()
            if tenant_id in (None, w.job.tenant) and (w.status.active or not active)
        ]
        return sorted(mine, key=lambda w: (w.job.submit, w.job.id), reverse=True)[:limit], len(mine)

    def running(self, tenant_id: str) -> list[StoredWorkload]:
        mine = (w for w in self._uow.data.workloads.values() if w.job.tenant == tenant_id)
        return page(
            (w for w in mine if w.status is WorkloadStatus.RUNNING), lambda w: (w.job.submit, w.job.id), None, None
        )

    def active(self, *, lock: bool) -> list[StoredWorkload]:
        active = (w for w in self._uow.data.workloads.values() if w.status.active)
        return page(active, lambda w: (w.job.submit, w.job.id), None, None)


class MemoryNodes:
    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow

    def add(self, event: NodeEvent) -> None:
        nodes = self._uow.data.nodes
        nodes[event.node] = (*nodes.get(event.node, ()), event)

    def history(self, node: str) -> list[NodeEvent]:
        return list(self._uow.data.nodes.get(node, ()))

    def current(self) -> dict[str, NodeEvent]:
        return {node: events[-1] for node, events in self._uow.data.nodes.items()}


class MemoryAssignments:
    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow

    def add(self, rows: Sequence[Assignment]) -> None:
        for r in rows:
            self._uow.data.assignments[r.contract_id, r.node, r.since] = r

    def save(self, row: Assignment) -> None:
        key = (row.contract_id, row.node, row.since)
        if key in self._uow.data.assignments:
            self._uow.data.assignments[key] = row

    def current(self) -> list[Assignment]:
        return page(
            (a for a in self._uow.data.assignments.values() if a.until is None),
            lambda a: (a.contract_id, a.node),
            None,
            None,
        )

    def of_contract(self, contract_id: str) -> list[Assignment]:
        rows = (a for a in self._uow.data.assignments.values() if a.contract_id == contract_id)
        return page(rows, lambda a: (a.since, a.node), None, None)


class MemoryAnalyses:
    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow

    def add(self, analysis: Analysis) -> None:
        assert analysis.id not in self._uow.data.analyses, analysis.id  # ids are fresh
        self._uow.data.analyses[analysis.id] = analysis

    def save(self, analysis: Analysis) -> None:
        if analysis.id in self._uow.data.analyses:
            self._uow.data.analyses[analysis.id] = analysis

    def get(self, analysis_id: str) -> Analysis | None:
        return self._uow.data.analyses.get(analysis_id)

    def latest(self, limit: int) -> tuple[list[Analysis], int]:
        runs = sorted(self._uow.data.analyses.values(), key=lambda a: (a.created, a.id), reverse=True)
        return [replace(a, result=None, report=None) for a in runs[:limit]], len(runs)

    def claim(self, now: int, stale_before: int) -> Analysis | None:
        def waiting(a: Analysis) -> bool:
            stale = a.status is AnalysisStatus.RUNNING and a.heartbeat is not None and a.heartbeat < stale_before
            return a.status is AnalysisStatus.QUEUED or stale

        found = min(
            (a for a in self._uow.data.analyses.values() if waiting(a)), key=lambda a: (a.created, a.id), default=None
        )
        if found is None:
            return None
        claimed = replace(found, status=AnalysisStatus.RUNNING, started=now, heartbeat=now, step="starting", done=0)
        self._uow.data.analyses[found.id] = claimed
        return claimed


class MemoryUnitOfWork:
    def __init__(self, store: MemoryStore) -> None:
        self._store = store
        self.catalog = store.catalog
        self._data: Data | None = None
        self.fleet = MemoryFleet(self)
        self.ledger = MemoryLedger(self)
        self.tenants = MemoryTenants(self)
        self.contracts = MemoryContracts(self)
        self.billing = MemoryBilling(self)
        self.keys = MemoryKeys(self)
        self.workloads = MemoryWorkloads(self)
        self.nodes = MemoryNodes(self)
        self.assignments = MemoryAssignments(self)
        self.analyses = MemoryAnalyses(self)

    @property
    def data(self) -> Data:
        if self._data is None:
            raise RuntimeError("use the unit of work inside a `with` block")
        return self._data

    def __enter__(self) -> Self:
        self._data = self._store.data.copy()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:
            self.commit()
        self._data = None

    def commit(self) -> None:
        self._store.data = self.data.copy()

    def ping(self) -> None:
        pass


@dataclass
class MemoryStore:
    """What the use cases need of bootstrap.Context, with the data in memory and a clock the test sets."""

    catalog: Catalog
    clock: int = 1_767_225_600  # 2026-01-01
    data: Data = field(default_factory=Data)

    def uow(self) -> MemoryUnitOfWork:
        return MemoryUnitOfWork(self)

    reader = uow

    def now(self) -> int:
        return self.clock

    def new_id(self, prefix: str) -> str:
        return f"{prefix}-{uuid.uuid4().hex[:12]}"

    def state(self) -> Any:
        """Everything stored, comparable: what a refusal must leave as it was."""
        return self.data.copy()
