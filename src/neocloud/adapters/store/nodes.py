"""Nodes' changes of state, in SQL."""

from __future__ import annotations

from sqlalchemy import func, select

from neocloud.adapters.store.session import Transaction
from neocloud.adapters.store.tables import NodeEventRow
from neocloud.core.nodes import NodeEvent, NodeState

N = NodeEventRow


class SqlNodes:
    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    def add(self, event: NodeEvent) -> None:
        self._tx.session.add(N(node=event.node, state=event.state.value, at=event.at, reason=event.reason))
        self._tx.session.flush()

    def history(self, node: str) -> list[NodeEvent]:
        rows = self._tx.session.execute(select(N.node, N.state, N.at, N.reason).where(N.node == node).order_by(N.id))
        return [NodeEvent(n, NodeState(s), at, reason) for n, s, at, reason in rows]

    def current(self) -> dict[str, NodeEvent]:
        latest = select(func.max(N.id)).group_by(N.node).scalar_subquery()
        rows = self._tx.session.execute(select(N.node, N.state, N.at, N.reason).where(N.id.in_(latest)))
        return {n: NodeEvent(n, NodeState(s), at, reason) for n, s, at, reason in rows}
