"""Metering in the simulator: every run the engine ends becomes a usage record under the job's contract."""

from __future__ import annotations

from collections.abc import Callable

from neocloud.core.billing.metering import UsageRecord
from neocloud.core.contracts import Contract
from neocloud.core.workload import Job


class UsageRecorder:
    """Collects usage records from `simulate(..., on_run=recorder)`."""

    def __init__(self, contract_of: Callable[[Job], Contract], gpu_model: str = "gpu") -> None:
        self.contract_of = contract_of
        self.gpu_model = gpu_model
        self.records: list[UsageRecord] = []

    def __call__(self, job: Job, start: int, end: int, preempted: bool) -> None:
        self.records.append(
            UsageRecord.of_run(
                self.contract_of(job), job.gpu_model or self.gpu_model, job.id, job.milli, start, end, preempted
            )
        )
