"""Usage from the workload manager's accounting (Slurm's sacct), not from declarations: every job that ran
for a neocloud workload (its name is the workload's id), and every job a tenant ran itself on its
reservation's nodes (under its account), metered with its real start and end and the GPUs it was allocated
(TRES).

Idempotent: a run read again is counted once (its key is the contract, the job and its start), so each pass
may read back over the last one. A run that belongs to neither is not neocloud's and is left alone; a run the
books refuse (in a month already invoiced) is counted as refused and reported, never half written."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from neocloud.app.billing import ingest_usage
from neocloud.app.ports import ManagedRun, UnitOfWork, WorkloadManager
from neocloud.app.records import StoredWorkload
from neocloud.core.assignment import Assignment
from neocloud.core.billing.metering import UsageRecord
from neocloud.core.contracts import Contract
from neocloud.core.errors import NeocloudError
from neocloud.core.workload import MILLI, WORKLOAD_ID, WorkloadStatus

Holdings = dict[str, list[tuple[Contract, list[Assignment]]]]  # account -> its reservations and their spans
PREEMPTED = {"PREEMPTED", "CANCELLED"}  # how a run neocloud stopped ends in Slurm's accounting
CANCEL_SLACK_S = 5  # a run that ended this close before its workload was cancelled ended by that cancel
LOOK_BACK = 86_400  # a server starting reads accounting back this far
OVERLAP = 120  # each pass reads back over the last one this far (accounting records arrive late)


@dataclass
class MeterReport:
    read: int = 0  # runs read from accounting
    metered: int = 0  # new usage records
    foreign: int = 0  # runs that are neither a workload's nor a tenant's in its reservation
    refused: int = 0  # runs the books refuse (an invoiced month)


def meter(uow_of: Callable[[], UnitOfWork], manager: WorkloadManager, since: int, until: int) -> MeterReport:
    """Meter the runs that ended within [since, until]; accounting is read before the store's transaction."""
    runs = manager.ended_jobs(since, until)
    report = MeterReport(read=len(runs))
    with uow_of() as uow:
        holdings: Holdings = {}  # read once per account in a pass, however many of its jobs ran
        for run in runs:
            record = _record(uow, run, holdings)
            if record is None:
                report.foreign += 1
                continue
            try:
                report.metered += len(ingest_usage(uow, [record]))
            except NeocloudError:
                report.refused += 1
    return report


def _record(uow: UnitOfWork, run: ManagedRun, holdings: Holdings) -> UsageRecord | None:
    """The usage of a run: a neocloud workload's (its job is named as the workload), else a tenant's own job in
    its reservation; None for other runs."""
    if run.gpus <= 0 or run.end <= run.start:
        return None
    if WORKLOAD_ID.fullmatch(run.name):
        # Named as a workload: that workload's run or no one's, never a tenant's own job.
        workload = uow.workloads.get(run.name)
        contract = None if workload is None else uow.contracts.get(workload.contract_id)
        if workload is None or contract is None:
            return None
        job = workload.job.id
        preempted = _stopped_for_others(run, workload)
    else:
        contract, job = _holder(uow, run, holdings), f"slurm-{run.job_id}"
        preempted = run.state.split()[0] == "PREEMPTED"
    if contract is None:
        return None
    pool = uow.fleet.get_pool(contract.pool)
    gpu_model = pool.gpu_model if pool is not None else ""
    return UsageRecord.of_run(contract, gpu_model, job, run.gpus * MILLI, run.start, run.end, preempted)


def _stopped_for_others(run: ManagedRun, workload: StoredWorkload) -> bool:
    """Whether a run of a workload was preempted: Slurm preempted it, or neocloud cancelled it to make room,
    not its tenant cancelling the workload (whose last run ends when the workload is cancelled). Read from
    when the run ended, not from the workload's status now: accounting may read the run only after a later
    cancel."""
    state = run.state.split()[0]
    if state == "PREEMPTED":
        return True
    tenants = workload.status is WorkloadStatus.CANCELLED and run.end >= (workload.finished or 0) - CANCEL_SLACK_S
    return state in PREEMPTED and not tenants


def _holder(uow: UnitOfWork, run: ManagedRun, holdings: Holdings) -> Contract | None:
    """The contract of the run's account (a tenant) whose nodes it ran on when it started. By nodes, not by the
    reservation's name, which 22.05's accounting does not always keep."""
    if not run.nodes:
        return None
    if run.account not in holdings:
        tenant = uow.tenants.get(run.account)
        mine = [] if tenant is None else [c for c in uow.contracts.page(tenant.id) if c.books_capacity]
        holdings[run.account] = [(c, uow.assignments.of_contract(c.id)) for c in mine]
    for contract, spans in holdings[run.account]:
        if contract.start <= run.start < contract.end:
            held = {s.node for s in spans if s.since <= run.start and (s.until is None or run.start < s.until)}
            if run.nodes <= held:
                return contract
    return None
