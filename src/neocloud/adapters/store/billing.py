"""Metered usage, invoices, incidents and billing terms in SQL."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.orm import Session

from neocloud.adapters.store import codec
from neocloud.adapters.store.paging import Key, page
from neocloud.adapters.store.session import Transaction
from neocloud.adapters.store.tables import BillingTermsRow, ContractRow, IncidentRow, InvoiceRow, UsageRow
from neocloud.app.records import Incident, StoredInvoice
from neocloud.core.billing.invoice import BillingTerms
from neocloud.core.billing.metering import UsageRecord
from neocloud.core.billing.rating import Outage


class SqlBilling:
    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    @property
    def session(self) -> Session:
        return self._tx.session

    def save_usage(self, records: Iterable[UsageRecord]) -> None:
        self.session.add_all(codec.usage_to_row(r) for r in records)
        self.session.flush()

    def usage_by_keys(self, keys: Iterable[str]) -> list[UsageRecord]:
        wanted = sorted(set(keys))
        rows: list[UsageRow] = []
        for i in range(0, len(wanted), 500):  # keep IN lists short
            rows.extend(self.session.scalars(select(UsageRow).where(UsageRow.key.in_(wanted[i : i + 500]))))
        return [codec.usage_from_row(r) for r in rows]

    def usage_of_jobs(self, pairs: Iterable[tuple[str, str]]) -> list[UsageRecord]:
        wanted = sorted(set(pairs))
        rows: list[UsageRow] = []
        for i in range(0, len(wanted), 200):
            chunk = wanted[i : i + 200]
            clause = or_(*(and_(UsageRow.contract_id == c, UsageRow.job_id == j) for c, j in chunk))
            rows.extend(self.session.scalars(select(UsageRow).where(clause)))
        return [codec.usage_from_row(r) for r in rows]

    def usage_between(
        self, start: int, end: int, tenant_id: str | None = None, *, after: Key | None = None, limit: int | None = None
    ) -> list[UsageRecord]:
        query = select(UsageRow).where(UsageRow.start < end, UsageRow.end > start)
        if tenant_id is not None:
            query = query.where(UsageRow.tenant_id == tenant_id)
        query = page(query, (UsageRow.start, UsageRow.key), after, limit)
        return [codec.usage_from_row(r) for r in self.session.scalars(query)]

    def invoiced_periods(self, tenant_ids: Iterable[str]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        query = select(InvoiceRow.tenant_id, InvoiceRow.period).where(InvoiceRow.tenant_id.in_(sorted(set(tenant_ids))))
        for tenant, period in self.session.execute(query):
            out.setdefault(tenant, []).append(period)
        return out

    def invoiced_periods_on_pool(self, pool: str) -> set[str]:
        tenants = select(ContractRow.tenant_id).where(ContractRow.pool == pool).distinct()
        query = select(InvoiceRow.period).where(InvoiceRow.tenant_id.in_(tenants)).distinct()
        return set(self.session.scalars(query))

    def save_invoice(self, invoice: StoredInvoice) -> None:
        self.session.add(
            InvoiceRow(
                id=invoice.id,
                tenant_id=invoice.tenant_id,
                period=invoice.period,
                issued_at=invoice.issued_at,
                total=invoice.total,
                lines=[codec.line_to_json(line) for line in invoice.lines],
            )
        )
        self.session.flush()

    def get_invoice(self, invoice_id: str) -> StoredInvoice | None:
        row = self.session.get(InvoiceRow, invoice_id)
        return None if row is None else _invoice(row)

    def list_invoices(
        self,
        tenant_id: str | None = None,
        period: str | None = None,
        *,
        after: Key | None = None,
        limit: int | None = None,
    ) -> list[StoredInvoice]:
        query = select(InvoiceRow)
        if tenant_id is not None:
            query = query.where(InvoiceRow.tenant_id == tenant_id)
        if period is not None:
            query = query.where(InvoiceRow.period == period)
        query = page(query, (InvoiceRow.period, InvoiceRow.tenant_id), after, limit)
        return [_invoice(r) for r in self.session.scalars(query)]

    def invoiced_totals(self) -> list[tuple[str, str, Decimal]]:
        i = InvoiceRow
        query = select(i.period, i.tenant_id, i.total).order_by(i.period, i.tenant_id)
        return [(p, t, Decimal(total).quantize(Decimal("0.01"))) for p, t, total in self.session.execute(query)]

    def add_incident(self, incident_id: str, outage: Outage, description: str) -> None:
        o = outage
        self.session.add(IncidentRow(id=incident_id, pool=o.pool, start=o.start, end=o.end, gpus=o.gpus,
                                     contract_id=o.contract_id, description=description))  # fmt: skip
        self.session.flush()

    def incidents_between(self, pools: Iterable[str], start: int, end: int) -> list[Outage]:
        return [Outage(i.pool, i.start, i.end, i.gpus, i.contract_id) for i in self.list_incidents(pools, start, end)]

    def get_incidents(self, incident_ids: Iterable[str]) -> list[Incident]:
        query = select(IncidentRow).where(IncidentRow.id.in_(sorted(set(incident_ids)))).order_by(IncidentRow.id)
        return [_incident(r) for r in self.session.scalars(query)]

    def end_incident(self, incident_id: str, end: int) -> None:
        self.session.execute(update(IncidentRow).where(IncidentRow.id == incident_id).values(end=end))

    def remove_incident(self, incident_id: str) -> None:
        self.session.execute(delete(IncidentRow).where(IncidentRow.id == incident_id))

    def list_incidents(
        self, pools: Iterable[str], start: int, end: int, *, after: Key | None = None, limit: int | None = None
    ) -> list[Incident]:
        i = IncidentRow
        query = select(i).where(i.pool.in_(sorted(set(pools))), i.start < end, i.end > start)
        return [_incident(r) for r in self.session.scalars(page(query, (i.start, i.id), after, limit))]

    def get_terms(self, contract_ids: Iterable[str]) -> dict[str, BillingTerms]:
        query = select(BillingTermsRow).where(BillingTermsRow.contract_id.in_(sorted(set(contract_ids))))
        return {
            r.contract_id: BillingTerms(Decimal(r.minimum_per_period), Decimal(r.prepaid_balance))
            for r in self.session.scalars(query)
        }

    def save_terms(self, contract_id: str, terms: BillingTerms) -> None:
        self.session.merge(
            BillingTermsRow(
                contract_id=contract_id,
                minimum_per_period=terms.minimum_per_period,
                prepaid_balance=terms.prepaid_balance,
            )
        )
        self.session.flush()


def _invoice(row: InvoiceRow) -> StoredInvoice:
    return StoredInvoice(
        row.id, row.tenant_id, row.period, row.issued_at, tuple(codec.line_from_json(line) for line in row.lines)
    )


def _incident(r: IncidentRow) -> Incident:
    return Incident(r.id, r.pool, r.start, r.end, r.gpus, r.contract_id, r.description)
