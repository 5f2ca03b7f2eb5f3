"""Workloads and their progress in SQL."""

from __future__ import annotations

from sqlalchemy import func, select

from neocloud.adapters.store.paging import Key, page
from neocloud.adapters.store.session import Transaction
from neocloud.adapters.store.tables import ContractRow, WorkloadRow
from neocloud.app.records import Command, StoredWorkload
from neocloud.core.workload import Job, PriorityClass, WorkloadStatus

ACTIVE = [str(s) for s in WorkloadStatus if s.active]


class SqlWorkloads:
    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    def save(self, workload: StoredWorkload) -> None:
        job, session = workload.job, self._tx.session
        session.merge(
            WorkloadRow(
                id=job.id,
                tenant_id=job.tenant,
                contract_id=workload.contract_id,
                gpu_model=job.gpu_model or "",
                gpus_per_task=job.gpus_per_task,
                tasks=job.tasks,
                duration=job.duration,
                priority=str(job.priority),
                submit=job.submit,
                status=str(workload.status),
                remaining=workload.remaining,
                attained=workload.attained,
                started=workload.started,
                first_start=workload.first_start,
                finished=workload.finished,
                preemptions=workload.preemptions,
                allocation=None if workload.allocation is None else [list(a) for a in workload.allocation],
                command=None if workload.command is None else _command_row(workload.command),
                cap_w=workload.cap_w,
                pace=workload.pace,
                paced_at=workload.paced_at,
                stops_at=workload.stops_at,
                iteration=job.iteration,
                stages=list(job.stages) or None,
                group_ids=list(workload.group) or None,
            )
        )
        session.flush()

    def get(self, workload_id: str) -> StoredWorkload | None:
        row = self._tx.session.get(WorkloadRow, workload_id)
        return None if row is None else _workload(row)

    def page(
        self, tenant_id: str | None = None, *, after: Key | None = None, limit: int | None = None
    ) -> list[StoredWorkload]:
        query = select(WorkloadRow)
        if tenant_id is not None:
            query = query.where(WorkloadRow.tenant_id == tenant_id)
        query = page(query, (WorkloadRow.submit, WorkloadRow.id), after, limit)
        return [_workload(r) for r in self._tx.session.scalars(query)]

    def count(self) -> dict[tuple[str, str], int]:
        w, c = WorkloadRow, ContractRow
        query = select(c.pool, w.status, func.count()).join(c, c.id == w.contract_id).group_by(c.pool, w.status)
        return {(pool, status): n for pool, status, n in self._tx.session.execute(query)}

    def latest(self, tenant_id: str | None, limit: int, *, active: bool = False) -> tuple[list[StoredWorkload], int]:
        w = WorkloadRow
        where = [w.tenant_id == tenant_id] if tenant_id is not None else []
        if active:
            where.append(w.status.in_(ACTIVE))
        rows = self._tx.session.scalars(select(w).where(*where).order_by(w.submit.desc(), w.id.desc()).limit(limit))
        total = self._tx.session.scalar(select(func.count()).select_from(w).where(*where)) or 0
        return [_workload(r) for r in rows], total

    def running(self, tenant_id: str) -> list[StoredWorkload]:
        w = WorkloadRow
        query = select(w).where(w.tenant_id == tenant_id, w.status == str(WorkloadStatus.RUNNING))
        return [_workload(r) for r in self._tx.session.scalars(query.order_by(w.submit, w.id))]

    def active(self, *, lock: bool) -> list[StoredWorkload]:
        query = select(WorkloadRow).where(WorkloadRow.status.in_(ACTIVE))
        if lock and self._tx.postgres:
            query = query.with_for_update()
        rows = self._tx.session.scalars(query.order_by(WorkloadRow.submit, WorkloadRow.id))
        return [_workload(r) for r in rows]


def _workload(row: WorkloadRow) -> StoredWorkload:
    job = Job(
        row.id,
        row.submit,
        row.duration,
        row.gpus_per_task,
        row.tasks,
        row.tenant_id,
        PriorityClass(row.priority),
        gpu_model=row.gpu_model or None,
        iteration=row.iteration,
        stages=tuple(float(x) for x in row.stages or ()),
    )
    allocation = None if row.allocation is None else tuple((str(n), int(str(g))) for n, g in row.allocation)
    return StoredWorkload(
        job,
        row.contract_id,
        WorkloadStatus(row.status),
        row.remaining,
        row.attained,
        row.started,
        row.first_start,
        row.finished,
        row.preemptions,
        allocation,
        None if row.command is None else _command(row.command),
        row.cap_w,
        row.pace,
        row.paced_at,
        row.stops_at,
        tuple(str(x) for x in row.group_ids or ()),
    )


def _command_row(command: Command) -> dict[str, object]:
    return {
        "run": command.run,
        "env": [list(p) for p in command.env],
        "workdir": command.workdir,
        "output": command.output,
    }


def _command(row: dict[str, object]) -> Command:
    env = row.get("env") or []
    assert isinstance(env, list)
    return Command(str(row["run"]), tuple((str(k), str(v)) for k, v in env), str(row["workdir"]), str(row["output"]))
