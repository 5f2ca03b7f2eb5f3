"""Tenants in SQL, and what an operator sets for each: price agreements, quotas and credit limits."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from sqlalchemy import delete, or_, select, tuple_
from sqlalchemy.orm import Session

from neocloud.adapters.store import codec
from neocloud.adapters.store.paging import Key, page
from neocloud.adapters.store.session import Transaction
from neocloud.adapters.store.tables import PriceAgreementRow, QuotaRow, TenantLimitRow, TenantRow
from neocloud.app.ports import AgreementKey
from neocloud.core.contracts import ContractKind, Limits, PriceAgreement, Tenant, Terms


class SqlTenants:
    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    @property
    def session(self) -> Session:
        return self._tx.session

    def add(self, tenant: Tenant) -> None:
        self.session.add(TenantRow(id=tenant.id, name=tenant.name, kind=str(tenant.kind)))
        self.session.flush()

    def get(self, key: str) -> Tenant | None:
        """A tenant by id or by name."""
        rows = self.session.scalars(select(TenantRow).where(or_(TenantRow.id == key, TenantRow.name == key))).all()
        row = next((r for r in rows if r.id == key), rows[0] if rows else None)  # the id wins over a name
        return None if row is None else codec.tenant_from_row(row)

    def page(self, *, after: Key | None = None, limit: int | None = None) -> list[Tenant]:
        query = page(select(TenantRow), (TenantRow.name,), after, limit)
        return [codec.tenant_from_row(r) for r in self.session.scalars(query)]

    def get_agreements(self, keys: Iterable[AgreementKey]) -> dict[AgreementKey, PriceAgreement]:
        wanted = sorted({(t, p, str(k)) for t, p, k in keys})
        if not wanted:
            return {}
        a = PriceAgreementRow
        rows = self.session.scalars(select(a).where(tuple_(a.tenant_id, a.pool, a.kind).in_(wanted)))
        return {(r.tenant_id, r.pool, ContractKind(r.kind)): _agreement(r) for r in rows}

    def list_agreements(
        self, tenant_id: str | None = None, *, after: Key | None = None, limit: int | None = None
    ) -> list[PriceAgreement]:
        a = PriceAgreementRow
        query = select(a) if tenant_id is None else select(a).where(a.tenant_id == tenant_id)
        return [_agreement(r) for r in self.session.scalars(page(query, (a.tenant_id, a.pool, a.kind), after, limit))]

    def save_agreement(self, agreement: PriceAgreement) -> None:
        t = agreement.terms
        self.session.merge(
            PriceAgreementRow(
                tenant_id=agreement.tenant_id,
                pool=agreement.pool,
                kind=str(agreement.kind),
                price_per_gpu_hour=t.price_per_gpu_hour,
                overage_per_gpu_hour=t.overage_per_gpu_hour,
                take_or_pay=t.take_or_pay,
                termination_notice_days=t.termination_notice_days,
                sla_uptime=t.sla_uptime,
                preemption_notice_s=t.preemption_notice_s,
            )
        )
        self.session.flush()

    def delete_agreement(self, key: AgreementKey) -> bool:
        tenant_id, pool, kind = key
        a = PriceAgreementRow
        gone = self.session.execute(
            delete(a).where(a.tenant_id == tenant_id, a.pool == pool, a.kind == str(kind)).returning(a.tenant_id)
        ).all()
        return bool(gone)

    def get_limits(self, tenant_ids: Iterable[str]) -> dict[str, Limits]:
        wanted = sorted(set(tenant_ids))
        credit = {
            r.tenant_id: r.credit_limit
            for r in self.session.scalars(select(TenantLimitRow).where(TenantLimitRow.tenant_id.in_(wanted)))
        }
        quotas: dict[str, list[tuple[str, int]]] = {}
        q = QuotaRow
        for row in self.session.scalars(select(q).where(q.tenant_id.in_(wanted)).order_by(q.tenant_id, q.pool)):
            quotas.setdefault(row.tenant_id, []).append((row.pool, row.gpus))
        return {t: Limits(t, credit.get(t), tuple(quotas.get(t, ()))) for t in wanted}

    def save_credit_limit(self, tenant_id: str, usd: Decimal | None) -> None:
        self.session.merge(TenantLimitRow(tenant_id=tenant_id, credit_limit=usd))
        self.session.flush()

    def save_quota(self, tenant_id: str, pool: str, gpus: int | None) -> None:
        if gpus is None:
            self.session.execute(delete(QuotaRow).where(QuotaRow.tenant_id == tenant_id, QuotaRow.pool == pool))
        else:
            self.session.merge(QuotaRow(tenant_id=tenant_id, pool=pool, gpus=gpus))
            self.session.flush()


def _agreement(row: PriceAgreementRow) -> PriceAgreement:
    terms = Terms(
        price_per_gpu_hour=row.price_per_gpu_hour,
        overage_per_gpu_hour=row.overage_per_gpu_hour,
        take_or_pay=row.take_or_pay,
        termination_notice_days=row.termination_notice_days,
        sla_uptime=row.sla_uptime,
        preemption_notice_s=row.preemption_notice_s,
    )
    return PriceAgreement(row.tenant_id, row.pool, ContractKind(row.kind), terms)
