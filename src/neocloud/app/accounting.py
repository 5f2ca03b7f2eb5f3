"""Usage from the workload manager's accounting (Slurm's sacct), not from declarations: every job that ran
for a neocloud workload (its name is the workload's id), metered with its real start and end and the GPUs
it was allocated (TRES). Tenants' own jobs in their reservations are not metered yet: Slurm 22.05's
accounting does not reliably keep a job's reservation (docs/slurm.md).

Idempotent: a run read again is counted once (its key is the contract, the job and its start), so each pass
may read back over the last one. A run that belongs to neither is not neocloud's and is left alone; a run the
books refuse (in a month already invoiced) is counted as refused and reported, never half written."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from neocloud.app.billing import ingest_usage
from neocloud.app.ports import ManagedRun, UnitOfWork, WorkloadManager
from neocloud.core.billing.metering import UsageRecord
from neocloud.core.errors import NeocloudError
from neocloud.core.workload import MILLI, WorkloadStatus

PREEMPTED = {"PREEMPTED", "CANCELLED"}  # how a run neocloud stopped ends in Slurm's accounting
LOOK_BACK = 86_400  # a server starting reads accounting back this far
OVERLAP = 120  # each pass reads back over the last one this far (accounting records arrive late)


@dataclass
class MeterReport:
    read: int = 0  # runs read from accounting
    metered: int = 0  # new usage records
    foreign: int = 0  # runs that are no workload's
    refused: int = 0  # runs the books refuse (an invoiced month)


def meter(uow_of: Callable[[], UnitOfWork], manager: WorkloadManager, since: int, until: int) -> MeterReport:
    """Meter the runs that ended within [since, until]; accounting is read before the store's transaction."""
    runs = manager.ended_jobs(since, until)
    report = MeterReport(read=len(runs))
    with uow_of() as uow:
        for run in runs:
            record = _record(uow, run)
            if record is None:
                report.foreign += 1
                continue
            try:
                report.metered += len(ingest_usage(uow, [record]))
            except NeocloudError:
                report.refused += 1
    return report


def _record(uow: UnitOfWork, run: ManagedRun) -> UsageRecord | None:
    """The usage of a run of a neocloud workload (its job is named as the workload); None for other runs."""
    workload = uow.workloads.get(run.name)
    if workload is None or run.gpus <= 0 or run.end <= run.start:
        return None
    contract = uow.contracts.get(workload.contract_id)
    if contract is None:
        return None
    # Stopped by neocloud (preempted), unless its tenant cancelled the workload itself.
    preempted = run.state.split()[0] in PREEMPTED and workload.status is not WorkloadStatus.CANCELLED
    pool = uow.fleet.get_pool(contract.pool)
    gpu_model = pool.gpu_model if pool is not None else ""
    return UsageRecord.of_run(contract, gpu_model, workload.job.id, run.gpus * MILLI, run.start, run.end, preempted)
