"""Metering in the simulator: every run the engine ends becomes a usage record under the job's contract."""

from __future__ import annotations

from collections.abc import Callable

from neocloud.core.billing.metering import UsageRecord, usage_key
from neocloud.core.contracts import Contract
from neocloud.core.workload import Job


class UsageRecorder:
    """Collects usage records from `simulate(..., on_run=recorder)`."""

    def __init__(self, contract_of: Callable[[Job], Contract], gpu_model: str = "gpu") -> None:
        self.contract_of = contract_of
        self.gpu_model = gpu_model
        self.records: list[UsageRecord] = []

    def __call__(self, job: Job, start: int, end: int, preempted: bool) -> None:
        contract = self.contract_of(job)
        self.records.append(
            UsageRecord(
                usage_key(contract.id, job.id, start),
                contract.tenant_id,
                contract.id,
                contract.pool,
                job.gpu_model or self.gpu_model,
                job.gpus * 1000,
                start,
                end,
                job.id,
                preempted,
            )
        )
