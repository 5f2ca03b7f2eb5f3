"""Contracts in SQL."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import func, insert, select

from neocloud.adapters.store import codec
from neocloud.adapters.store.paging import Key, page
from neocloud.adapters.store.session import Transaction
from neocloud.adapters.store.tables import ContractRow
from neocloud.app.ports import ContractFilter
from neocloud.core.contracts import Contract, ContractKind


class SqlContracts:
    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    def add(self, contracts: Sequence[Contract]) -> None:
        """Insert new contracts: one statement, however many, sent with whatever comes next."""
        self._tx.queue(insert(ContractRow), [codec.contract_values(c) for c in contracts])

    def save(self, contract: Contract) -> None:
        session = self._tx.session
        session.merge(codec.contract_to_row(contract))
        session.flush()

    def get(self, contract_id: str) -> Contract | None:
        """The contract as committed now: read again even if this transaction has read it before (after a
        pool's lock it may have changed)."""
        row = self._tx.session.get(ContractRow, contract_id, populate_existing=True)
        return None if row is None else codec.contract_from_row(row)

    def get_many(self, contract_ids: Iterable[str]) -> dict[str, Contract]:
        wanted = sorted(set(contract_ids))
        if not wanted:
            return {}
        rows = self._tx.session.scalars(select(ContractRow).where(ContractRow.id.in_(wanted)))
        return {r.id: codec.contract_from_row(r) for r in rows}

    def holding(self, pools: Iterable[str], at: int) -> list[Contract]:
        """Reserved and internal contracts of these pools whose GPUs are held at `at` (their holds' terms are
        the contracts' own, a cancelled contract's shortened to its notice)."""
        c = ContractRow
        query = select(c).where(
            c.pool.in_(sorted(set(pools))), c.end > at, c.start <= at, c.gpus > 0, c.kind.in_(("reserved", "internal"))
        )
        return [codec.contract_from_row(r) for r in self._tx.session.scalars(query.order_by(c.start, c.id))]

    def in_force(
        self,
        start: int,
        end: int,
        *,
        tenant_id: str | None = None,
        kind: ContractKind | None = None,
        promised: bool = False,
    ) -> list[Contract]:
        c = ContractRow
        query = select(c).where(c.start < end, c.end > start)
        if tenant_id is not None:
            query = query.where(c.tenant_id == tenant_id)
        if kind is not None:
            query = query.where(c.kind == str(kind))
        if promised:
            query = query.where(c.sla_uptime.is_not(None))
        return [codec.contract_from_row(r) for r in self._tx.session.scalars(query.order_by(c.id))]

    def latest(
        self, tenant_id: str | None, limit: int, *, where: ContractFilter | None = None
    ) -> tuple[list[Contract], int]:
        c, f = ContractRow, where or ContractFilter()
        named = {"tenant_id": tenant_id, "kind": f.kind, "pool": f.pool, "status": f.status}
        matching = [getattr(c, column) == value for column, value in named.items() if value is not None]
        by = {"start": c.start, "end": c.end, "gpus": c.gpus, "price": c.price_per_gpu_hour}[f.order]
        rows = self._tx.session.scalars(select(c).where(*matching).order_by(by.desc(), c.id.desc()).limit(limit))
        total = self._tx.session.scalar(select(func.count()).select_from(c).where(*matching)) or 0
        return [codec.contract_from_row(r) for r in rows], total

    def page(
        self, tenant_id: str | None = None, *, after: Key | None = None, limit: int | None = None
    ) -> list[Contract]:
        query = select(ContractRow)
        if tenant_id is not None:
            query = query.where(ContractRow.tenant_id == tenant_id)
        query = page(query, (ContractRow.start, ContractRow.id), after, limit)
        return [codec.contract_from_row(r) for r in self._tx.session.scalars(query)]
