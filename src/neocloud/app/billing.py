"""Billing use cases: ingest usage, issue invoices, and the operator's revenue and capacity views."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from decimal import Decimal

from neocloud.app.ports import UnitOfWork
from neocloud.app.records import Incident, StoredInvoice
from neocloud.app.services import NewId, check_open, get_contract, get_pool, get_tenant
from neocloud.core.billing.invoice import BillingTerms, Invoice, build_invoice
from neocloud.core.billing.metering import Meter, UsageRecord
from neocloud.core.billing.periods import Period, month, month_of
from neocloud.core.billing.rating import ContractMeter, EnergyRate, Outage, availability
from neocloud.core.bounds import (
    MAX_GPUS,
    MAX_MILLI_GPUS,
    MAX_MONEY,
    check_count,
    check_decimal,
    check_id,
    check_text,
)
from neocloud.core.catalog import Catalog
from neocloud.core.contracts import Contract, ContractKind, EnergyTerm, PriceBook
from neocloud.core.errors import InvalidInput, InvalidState, NotFound, UnknownContract, quoted
from neocloud.core.ledger import HoldKind, check_interval
from neocloud.core.money import to_money
from neocloud.core.power import gpu_power


def run_record(
    uow: UnitOfWork, contract_id: str, job: str, milli_gpus: int, start: int, end: int, preempted: bool = False
) -> UsageRecord:
    """The usage record of one run of a job under a contract (checked when ingested)."""
    check_id(job, "job")
    check_count(milli_gpus, "milli_gpus", 1, MAX_MILLI_GPUS)
    check_interval(start, end)
    contract = get_contract(uow, contract_id)
    pool = get_pool(uow, contract.pool)
    return UsageRecord.of_run(contract, pool.gpu_model, job, milli_gpus, start, end, preempted)


def ingest_usage(uow: UnitOfWork, records: Iterable[UsageRecord]) -> list[UsageRecord]:
    """Record usage exactly once: all of the batch or (on any bad record) none. Returns what was new."""
    batch = list(records)
    contracts = {}
    for contract_id in sorted({r.contract_id for r in batch}):
        contract = uow.contracts.get(contract_id)
        if contract is None:
            raise UnknownContract(f"usage names unknown contract {quoted(contract_id)}", contract=contract_id)
        contracts[contract_id] = contract
    known = uow.billing.usage_by_keys(r.key for r in batch) + uow.billing.usage_of_jobs(
        (r.contract_id, r.job_id) for r in batch if r.job_id
    )
    closed = {
        t: [month(p) for p in periods]
        for t, periods in uow.billing.invoiced_periods(r.tenant_id for r in batch).items()
    }
    added = Meter(contracts, closed, known).add_all(batch)
    uow.billing.save_usage(added)
    return added


def _outages(uow: UnitOfWork, pools: Iterable[str], period: Period) -> list[Outage]:
    """Incidents and maintenance take GPUs out of service: both count against availability."""
    pools = sorted(set(pools))
    outages: list[Outage] = uow.billing.incidents_between(pools, period.start, period.end)
    for pool in pools:
        ledger = uow.ledger.load([pool], lock=False)
        outages.extend(
            Outage(pool, h.start, h.end, gpus=h.gpus)
            for h in ledger.holds(pool)
            if h.kind is HoldKind.MAINTENANCE and period.overlap(h.start, h.end)
        )
    return outages


def energy_rates(
    uow: UnitOfWork, catalog: Catalog, contracts: Iterable[Contract], period: Period
) -> dict[str, EnergyRate]:
    """The energy rate of each contract whose energy is passed through. A GPU draws the catalog's typical IT
    power, at most what its cap allows (no meter reads real draw), at the PUE of the period's month and the
    site's price."""
    passed = [c for c in contracts if c.energy is EnergyTerm.PASS_THROUGH]
    pools = {name: get_pool(uow, name) for name in {c.pool for c in passed}}
    sites = {name: uow.fleet.get_site(name) for name in {p.site for p in pools.values()}}
    rates: dict[str, EnergyRate] = {}
    for c in passed:
        pool = pools[c.pool]
        site = sites[pool.site]
        assert site is not None, f"pool {pool.name} has no site"
        model = catalog[pool.gpu_model]
        kw = model.it_kw_per_gpu if c.cap_w is None else min(model.it_kw_per_gpu, gpu_power(model).it_kw(c.cap_w))
        rates[c.id] = EnergyRate(kw, site.pue_at(period.start), site.usd_per_mwh)
    return rates


def generate_invoice(
    uow: UnitOfWork, catalog: Catalog, tenant: str, period_key: str, now: int, new_id: NewId
) -> StoredInvoice:
    """Rate the tenant's contracts for the period and issue the invoice; the period then closes to usage."""
    tenant_id = get_tenant(uow, tenant).id
    period = month(period_key)
    if period_key in uow.billing.invoiced_periods([tenant_id]).get(tenant_id, []):
        raise InvalidState(f"{period_key} is already invoiced for tenant {tenant}", tenant=tenant, period=period_key)
    if now < period.end:
        raise InvalidState(f"{period_key} has not ended yet; invoice it from {period.next().key}", period=period_key)
    contracts = uow.contracts.page(tenant_id)
    usage = uow.billing.usage_between(period.start, period.end, tenant_id)
    terms = uow.billing.get_terms(c.id for c in contracts)
    outages = _outages(uow, [c.pool for c in contracts], period)
    energy = energy_rates(uow, catalog, contracts, period)
    invoice = build_invoice(tenant_id, period, contracts, usage, outages, terms, energy)
    stored = StoredInvoice(new_id("inv"), tenant_id, period.key, now, invoice.lines)
    uow.billing.save_invoice(stored)
    for contract_id, left in invoice.prepaid_left.items():
        uow.billing.save_terms(contract_id, replace(terms[contract_id], prepaid_balance=left))
    return stored


def bill_to_date(uow: UnitOfWork, catalog: Catalog, tenant: str, now: int) -> Invoice:
    """The tenant's running bill: this month rated from its first second up to `now`, as the month's invoice
    will rate it, with the runs still going counted up to now. The minimum-spend true-up is left to the
    invoice (it applies to the whole month); prepaid balances are drawn down as they would be."""
    tenant_id = get_tenant(uow, tenant).id
    period = Period(month_of(now).start, now)
    contracts = uow.contracts.page(tenant_id)
    usage = uow.billing.usage_between(period.start, period.end, tenant_id)
    by_id = {c.id: c for c in contracts}
    usage.extend(
        UsageRecord.of_run(
            by_id[w.contract_id], w.job.gpu_model or "", w.job.id, w.job.gpus * 1000, w.started, now, False
        )
        for w in uow.workloads.running(tenant_id)
        if w.started is not None and w.started < now and w.contract_id in by_id
    )
    terms = {c: replace(t, minimum_per_period=Decimal(0)) for c, t in uow.billing.get_terms(by_id).items()}
    outages = _outages(uow, {c.pool for c in contracts}, period)
    return build_invoice(
        tenant_id, period, contracts, usage, outages, terms, energy_rates(uow, catalog, contracts, period)
    )


@dataclass(frozen=True, slots=True)
class Availability:
    """A contract's measured availability in a month against the uptime its SLA promises."""

    contract_id: str
    tenant_id: str
    pool: str
    gpus: int
    promised: Decimal
    measured: Decimal

    @property
    def met(self) -> bool:
        return self.measured >= self.promised


def sla_availability(uow: UnitOfWork, period_key: str, now: int) -> list[Availability]:
    """Every contract with an SLA that runs in the month, measured over its days in the month up to `now`,
    by contract id."""
    whole = month(period_key)
    period = Period(whole.start, max(whole.start, min(whole.end, now)))
    promised = uow.contracts.in_force(period.start, period.end, promised=True) if period.seconds else []
    outages = _outages(uow, {c.pool for c in promised}, period)
    return [
        Availability(
            c.id,
            c.tenant_id,
            c.pool,
            c.gpus,
            c.sla_uptime,
            availability(c, period, period.overlap(c.start, c.end), outages).quantize(Decimal("0.000001")),
        )
        for c in promised
        if c.sla_uptime is not None
    ]


def record_incident(
    uow: UnitOfWork,
    pool: str,
    start: int,
    end: int,
    new_id: NewId,
    *,
    gpus: int | None = None,
    contract_id: str | None = None,
    description: str = "",
) -> Incident:
    """GPUs of a pool (or of one contract) out of service by failure, for SLA availability."""
    check_interval(start, end)
    check_text(description, "description")
    get_pool(uow, pool)
    if gpus is not None:
        check_count(gpus, "gpus", 1, MAX_GPUS)
    check_open(uow.billing.invoiced_periods_on_pool(pool), start, end, "the incident")
    if contract_id is not None and get_contract(uow, contract_id).pool != pool:
        raise InvalidInput(f"contract {contract_id} is not in pool {pool}", contract=contract_id, pool=pool)
    incident = Incident(new_id("inc"), pool, start, end, gpus, contract_id, description)
    uow.billing.add_incident(incident.id, Outage(pool, start, end, gpus, contract_id), description)
    return incident


def set_billing_terms(uow: UnitOfWork, contract_id: str, minimum_per_period: Decimal, prepaid: Decimal) -> BillingTerms:
    """A contract's minimum spend per month and prepaid balance (replacing earlier terms)."""
    get_contract(uow, contract_id)
    check_decimal(minimum_per_period, "minimum_per_period", high=MAX_MONEY, places=2)
    check_decimal(prepaid, "prepaid_balance", high=MAX_MONEY, places=2)
    terms = BillingTerms(to_money(minimum_per_period), to_money(prepaid))
    uow.billing.save_terms(contract_id, terms)
    return terms


def get_invoice(uow: UnitOfWork, invoice_id: str) -> StoredInvoice:
    invoice = uow.billing.get_invoice(invoice_id)
    if invoice is None:
        raise NotFound(f"unknown invoice {quoted(invoice_id)}", invoice=invoice_id)
    return invoice


@dataclass(frozen=True, slots=True)
class RevenueRow:
    period: str
    tenant_id: str
    contract_id: str
    pool: str
    amount: Decimal


def revenue(uow: UnitOfWork, period: str | None = None) -> list[RevenueRow]:
    """Invoiced revenue by period, tenant, contract and pool (net of credits)."""
    totals: dict[tuple[str, str, str], Decimal] = defaultdict(lambda: Decimal("0.00"))
    for invoice in uow.billing.list_invoices(period=period):
        for line in invoice.lines:
            totals[(invoice.period, invoice.tenant_id, line.contract_id)] += line.amount
    pools = {c.id: c.pool for c in uow.contracts.get_many(c for _, _, c in totals).values()}
    return [RevenueRow(p, t, c, pools.get(c, ""), amount) for (p, t, c), amount in sorted(totals.items())]


@dataclass(frozen=True, slots=True)
class CapacityUse:
    """Sold versus used capacity of one reserved contract in one period."""

    contract_id: str
    tenant_id: str
    pool: str
    committed_gpu_hours: Decimal
    used_gpu_hours: Decimal  # within the commitment
    idle_gpu_hours: Decimal  # sold but unused: could be resold as spot
    idle_spot_value: Decimal  # at the pool's spot price


def spot_prices(uow: UnitOfWork, catalog: Catalog) -> dict[str, Decimal]:
    """What an idle GPU-hour would fetch as spot, per pool whose model has a spot price."""
    return {
        p.name: PriceBook().price(catalog[p.gpu_model], ContractKind.SPOT)
        for p in uow.fleet.list_pools()
        if catalog[p.gpu_model].spot_usd_per_hr is not None
    }


def sold_versus_used(uow: UnitOfWork, period_key: str, spot_price: dict[str, Decimal]) -> list[CapacityUse]:
    """For each reserved contract in force in the month, by id: committed, used and idle GPU-hours, and what
    the idle part would fetch."""
    period = month(period_key)
    reserved = uow.contracts.in_force(period.start, period.end, kind=ContractKind.RESERVED)
    usage: dict[str, list[UsageRecord]] = defaultdict(list)
    for tenant_id in sorted({c.tenant_id for c in reserved}):  # one read per tenant, not per contract
        for record in uow.billing.usage_between(period.start, period.end, tenant_id):
            usage[record.contract_id].append(record)
    out = []
    for contract in reserved:
        term = period.overlap(contract.start, contract.end)
        meter = ContractMeter(contract, period)
        for record in usage[contract.id]:
            meter.add(record)
        within, _ = meter.split_at(contract.gpus * 1000)
        committed = Decimal(contract.gpus * term) / 3600
        used = Decimal(within) / 3_600_000
        idle = committed - used
        price = spot_price.get(contract.pool, Decimal(0))
        out.append(
            CapacityUse(
                contract.id,
                contract.tenant_id,
                contract.pool,
                committed.quantize(Decimal("0.01")),
                used.quantize(Decimal("0.01")),
                idle.quantize(Decimal("0.01")),
                to_money(idle * price),
            )
        )
    return out
