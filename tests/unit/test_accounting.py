"""Whether a run Slurm's accounting reports was preempted (app/accounting.py) is read from how and when it
ended, not from what became of its workload since: accounting may read a preempted run only after its tenant
cancelled the workload."""

from __future__ import annotations

import pytest

from neocloud.app.accounting import _stopped_for_others
from neocloud.app.ports import ManagedRun
from neocloud.app.records import StoredWorkload
from neocloud.core.workload import Job, PriorityClass, WorkloadStatus

T = 1_000_000


def _run(state: str, end: int) -> ManagedRun:
    return ManagedRun("7", "w-000000000001", "t-lab", "", T, end, 8, state)


def _workload(status: WorkloadStatus, finished: int | None) -> StoredWorkload:
    job = Job("w-000000000001", T, 600, 8, 1, "t-lab", PriorityClass.SPOT)
    return StoredWorkload(job, "c-1", status, 0, finished=finished)


@pytest.mark.parametrize(
    ("state", "end", "status", "finished", "preempted"),
    [
        ("PREEMPTED", T + 100, WorkloadStatus.CANCELLED, T + 500, True),  # read after the tenant's cancel
        ("PREEMPTED", T + 100, WorkloadStatus.PENDING, None, True),
        ("CANCELLED", T + 100, WorkloadStatus.PENDING, None, True),  # neocloud stopped it to make room
        ("CANCELLED by 0", T + 100, WorkloadStatus.RUNNING, None, True),
        ("CANCELLED", T + 100, WorkloadStatus.CANCELLED, T + 500, True),  # an earlier run, stopped by neocloud
        ("CANCELLED", T + 500, WorkloadStatus.CANCELLED, T + 500, False),  # the run the tenant's cancel ended
        ("CANCELLED", T + 498, WorkloadStatus.CANCELLED, T + 500, False),  # Slurm's clock a moment earlier
        ("COMPLETED", T + 600, WorkloadStatus.FINISHED, T + 600, False),
        ("FAILED", T + 60, WorkloadStatus.FAILED, T + 60, False),
    ],
)
def test_a_run_is_preempted_by_how_and_when_it_ended(
    state: str, end: int, status: WorkloadStatus, finished: int | None, preempted: bool
) -> None:
    assert _stopped_for_others(_run(state, end), _workload(status, finished)) is preempted
