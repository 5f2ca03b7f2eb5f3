"""Reservations' nodes, span by span, in SQL."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select, update

from neocloud.adapters.store.session import Transaction
from neocloud.adapters.store.tables import AssignmentRow
from neocloud.core.assignment import Assignment

A = AssignmentRow
COLUMNS = (A.contract_id, A.pool, A.node, A.since, A.until, A.down_since)


class SqlAssignments:
    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    def add(self, rows: Sequence[Assignment]) -> None:
        self._tx.session.add_all(
            A(
                contract_id=r.contract_id,
                pool=r.pool,
                node=r.node,
                since=r.since,
                until=r.until,
                down_since=r.down_since,
            )
            for r in rows
        )
        self._tx.session.flush()

    def save(self, row: Assignment) -> None:
        key = (A.contract_id == row.contract_id) & (A.node == row.node) & (A.since == row.since)
        self._tx.session.execute(update(A).where(key).values(until=row.until, down_since=row.down_since))

    def current(self) -> list[Assignment]:
        query = select(*COLUMNS).where(A.until.is_(None)).order_by(A.contract_id, A.node)
        return [Assignment(*row) for row in self._tx.session.execute(query)]

    def of_contract(self, contract_id: str) -> list[Assignment]:
        query = select(*COLUMNS).where(A.contract_id == contract_id).order_by(A.since, A.node)
        return [Assignment(*row) for row in self._tx.session.execute(query)]
