"""A job's progress as the engine sees it. The simulator and the live reconciler own and update these."""

from __future__ import annotations

from dataclasses import dataclass, field

from neocloud.core.engine.cluster import Allocation
from neocloud.core.workload import Job, PriorityClass


@dataclass(slots=True, eq=False)
class JobState:
    job: Job
    remaining: int  # seconds of work left, restart overheads included
    attained: int = 0  # GPU-seconds of service received (what Tiresias orders by)
    allocation: Allocation | None = None
    started: int | None = None  # start of the current run
    first_start: int | None = None
    finish: int | None = None
    preemptions: int = 0
    epoch: int = 0  # bumped at every start and stop, so stale completion events can be told apart
    queue_key: tuple[object, ...] = ()  # where a static ordering queues it (set when it starts waiting)
    lane: tuple[int, ...] | None = None  # Tiresias: its place in line, set when it waits on after a decision
    promoted: tuple[int, int] | None = None  # Tiresias: GPU-seconds run and seconds waited at its last promotion
    spot: bool = field(init=False)  # the job's class is fixed; read at every decision

    def __post_init__(self) -> None:
        self.spot = self.job.priority is PriorityClass.SPOT

    @classmethod
    def of(cls, job: Job) -> JobState:
        return cls(job, job.duration)

    @property
    def running(self) -> bool:
        return self.allocation is not None

    def remaining_at(self, now: int) -> int:
        return self.remaining - (now - self.started) if self.started is not None else self.remaining

    def attained_at(self, now: int) -> int:
        return self.attained + self.job.gpus * (now - self.started) if self.started is not None else self.attained

    def start(self, now: int, allocation: Allocation) -> None:
        self.allocation = allocation
        self.started = now
        if self.first_start is None:
            self.first_start = now
        self.epoch += 1

    def stop(self, now: int, *, finished: bool) -> Allocation:
        assert self.allocation is not None
        assert self.started is not None
        allocation = self.allocation
        self.remaining = self.remaining_at(now)
        self.attained = self.attained_at(now)
        self.allocation = None
        self.started = None
        self.epoch += 1
        if finished:
            self.finish = now
        else:
            self.preemptions += 1
            self.remaining += self.job.restart_overhead
        return allocation
