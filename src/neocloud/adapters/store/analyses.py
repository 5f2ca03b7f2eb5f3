"""Analysts' runs in SQL. Lists leave out the findings and reports; claiming a run is one conditional UPDATE,
so two workers (on any store) never run the same one."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, or_, select, update

from neocloud.adapters.store.session import Transaction
from neocloud.adapters.store.tables import AnalysisRow
from neocloud.app.records import Analysis, AnalysisStatus

R = AnalysisRow
SUMMARY = [c for c in R.__table__.columns if c.key not in ("result", "report")]  # what lists show
CANDIDATES = 10  # runs tried per claim before giving up to another worker


class SqlAnalyses:
    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    def add(self, analysis: Analysis) -> None:
        self._tx.session.add(R(**_columns(analysis)))
        self._tx.session.flush()

    def save(self, analysis: Analysis) -> None:
        self._tx.session.execute(update(R).where(R.id == analysis.id).values(**_columns(analysis)))

    def get(self, analysis_id: str) -> Analysis | None:
        row = self._tx.session.get(R, analysis_id)
        return None if row is None else _analysis({c.key: getattr(row, c.key) for c in R.__table__.columns})

    def latest(self, limit: int) -> tuple[list[Analysis], int]:
        rows = self._tx.session.execute(select(*SUMMARY).order_by(R.created.desc(), R.id.desc()).limit(limit))
        total = self._tx.session.scalar(select(func.count()).select_from(R)) or 0
        return [_analysis(dict(r._mapping)) for r in rows], total

    def claim(self, now: int, stale_before: int) -> Analysis | None:
        waiting = or_(
            R.status == AnalysisStatus.QUEUED, (R.status == AnalysisStatus.RUNNING) & (R.heartbeat < stale_before)
        )
        candidates = self._tx.session.execute(
            select(R.id, R.status, R.heartbeat).where(waiting).order_by(R.created, R.id).limit(CANDIDATES)
        ).all()
        for analysis_id, status, heartbeat in candidates:
            same = R.heartbeat.is_(None) if heartbeat is None else R.heartbeat == heartbeat
            taken = self._tx.session.execute(
                update(R)
                .where(R.id == analysis_id, R.status == status, same)
                .values(status=AnalysisStatus.RUNNING, started=now, heartbeat=now, step="starting", done=0)
            )
            if taken.rowcount == 1:  # type: ignore[attr-defined]
                return self.get(analysis_id)
        return None


def _columns(a: Analysis) -> dict[str, Any]:
    return {
        "id": a.id,
        "kind": a.kind,
        "title": a.title,
        "request": a.request,
        "created": a.created,
        "key_id": a.key_id,
        "status": str(a.status),
        "step": a.step,
        "done": a.done,
        "steps": a.steps,
        "started": a.started,
        "heartbeat": a.heartbeat,
        "finished": a.finished,
        "result": a.result,
        "report": a.report,
        "error": a.error,
    }


def _analysis(values: dict[str, Any]) -> Analysis:
    return Analysis(**{**values, "status": AnalysisStatus(values["status"])})
