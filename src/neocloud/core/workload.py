"""Workloads: what runs on the fleet. A job is a gang of tasks that start and stop together."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum

from neocloud.core.bounds import MAX_TIME
from neocloud.core.errors import InvalidInput

MILLI = 1000  # milli-GPUs in one GPU
WORKLOAD_ID = re.compile(r"w-[0-9a-f]{12}")  # a workload's id (bootstrap.new_id("w")), and its Slurm job's name


class PriorityClass(StrEnum):
    """Why a job may use capacity. Spot runs on idle capacity and yields it when anyone else needs it."""

    RESERVED = "reserved"
    ON_DEMAND = "on-demand"
    INTERNAL = "internal"
    SPOT = "spot"


class WorkloadStatus(StrEnum):
    """Where a submitted workload stands. Pending and running are active; the others are final (failed: its
    executor reported it ended in error)."""

    PENDING = "pending"
    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def active(self) -> bool:
        return self in (WorkloadStatus.PENDING, WorkloadStatus.RUNNING)


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
    gpu_model: str | None = None  # None: any model; "A|B": any of these
    preemptible: bool = True
    restart_overhead: int = 0  # seconds of work lost to a checkpoint/restart at each preemption
    cpu_milli_per_task: int = 0  # CPU in milli-CPUs
    memory_mib_per_task: int = 0
    gpu_milli: int = MILLI  # share of each of its GPUs a task uses; below MILLI the task shares one GPU
    # What interleaving (Muri) needs: seconds per training iteration alone, and the seconds of it each resource
    # stage takes (storage, CPU, GPU as the Muri traces give them). () when unknown: the job runs alone.
    iteration: float = 0.0
    stages: tuple[float, ...] = ()
    # Derived once: the engine reads them for every job at every decision, and a job never changes.
    gpus: int = field(init=False, repr=False, compare=False)
    milli: int = field(init=False, repr=False, compare=False)  # GPU demand in milli-GPUs, the engine's unit
    gpu_models: tuple[str, ...] = field(init=False, repr=False, compare=False)  # the models it accepts; () any

    def __post_init__(self) -> None:
        if self.gpus_per_task <= 0 or self.tasks <= 0:
            raise InvalidInput(f"job {self.id}: GPUs per task and tasks must be positive", job=self.id)
        if self.duration <= 0:
            raise InvalidInput(f"job {self.id}: duration must be positive, got {self.duration}", job=self.id)
        if self.submit < 0 or self.restart_overhead < 0:
            raise InvalidInput(f"job {self.id}: submit time and restart overhead cannot be negative", job=self.id)
        if max(self.submit, self.duration, self.restart_overhead, self.estimate or 0) > MAX_TIME:
            # Clocks run in whole seconds to the year 10000; longer times are mistakes, and would overflow them.
            raise InvalidInput(f"job {self.id}: times and durations are at most {MAX_TIME:,} s", job=self.id)
        if self.cpu_milli_per_task < 0 or self.memory_mib_per_task < 0:
            raise InvalidInput(f"job {self.id}: CPUs and memory per task cannot be negative", job=self.id)
        if not 0 < self.gpu_milli <= MILLI:
            raise InvalidInput(f"job {self.id}: gpu_milli must be in 1..{MILLI}, got {self.gpu_milli}", job=self.id)
        if self.gpu_milli < MILLI and self.gpus_per_task != 1:
            raise InvalidInput(f"job {self.id}: a task shares at most one GPU (gpu_milli < {MILLI})", job=self.id)
        if self.stages and not (
            len(self.stages) <= 8
            and 0 < self.iteration <= MAX_TIME
            and all(0 <= x <= MAX_TIME for x in self.stages)
            and sum(self.stages) > 0
        ):  # comparisons refuse NaN too
            raise InvalidInput(
                f"job {self.id}: at most 8 stage times, finite and not negative, with a positive iteration time",
                job=self.id,
            )
        gpus = self.gpus_per_task * self.tasks
        object.__setattr__(self, "gpus", gpus)
        object.__setattr__(self, "milli", gpus * self.gpu_milli)  # shared GPUs add up exactly in milli-GPUs
        object.__setattr__(self, "gpu_models", tuple(m for m in (self.gpu_model or "").split("|") if m))

    @property
    def resources(self) -> tuple[object, ...]:
        """What placement depends on: jobs with equal resources fit in exactly the same places."""
        return (
            self.gpus_per_task,
            self.tasks,
            self.gpu_milli,
            self.cpu_milli_per_task,
            self.memory_mib_per_task,
            self.gpu_model,
        )

    @property
    def shares_gpu(self) -> bool:
        return self.gpu_milli < MILLI

    @property
    def known_duration(self) -> int | None:
        """What a duration-aware policy may use: the estimate if one was given."""
        return self.estimate
