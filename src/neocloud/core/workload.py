"""Workloads: what runs on the fleet. A job is a gang of tasks that start and stop together."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from neocloud.core.errors import InvalidInput


class PriorityClass(StrEnum):
    """Why a job may use capacity. Spot runs on idle capacity and yields it when anyone else needs it."""

    RESERVED = "reserved"
    ON_DEMAND = "on-demand"
    INTERNAL = "internal"
    SPOT = "spot"


@dataclass(frozen=True, slots=True)
class Job:
    id: str
    submit: int  # seconds
    duration: int  # seconds of work at full speed: the truth the simulator runs, not what the scheduler knows
    gpus_per_task: int = 1
    tasks: int = 1
    tenant: str = "default"
    priority: PriorityClass = PriorityClass.INTERNAL
    estimate: int | None = None  # what the scheduler is told; None = unknown to it
    gpu_model: str | None = None  # None: any model
    preemptible: bool = True
    restart_overhead: int = 0  # seconds of work lost to a checkpoint/restart at each preemption
    cpus_per_task: int = 0
    memory_gib_per_task: int = 0

    def __post_init__(self) -> None:
        if self.gpus_per_task <= 0 or self.tasks <= 0:
            raise InvalidInput(f"job {self.id}: GPUs per task and tasks must be positive", job=self.id)
        if self.duration <= 0:
            raise InvalidInput(f"job {self.id}: duration must be positive, got {self.duration}", job=self.id)
        if self.submit < 0 or self.restart_overhead < 0:
            raise InvalidInput(f"job {self.id}: submit time and restart overhead cannot be negative", job=self.id)

    @property
    def gpus(self) -> int:
        return self.gpus_per_task * self.tasks

    @property
    def known_duration(self) -> int | None:
        """What a duration-aware policy may use: the estimate if one was given."""
        return self.estimate
