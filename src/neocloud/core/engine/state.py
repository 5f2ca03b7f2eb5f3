"""A job's progress as the engine sees it. The simulator and the live reconciler own and update these."""

from __future__ import annotations

import math
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
    # Interleaving (Muri): the jobs sharing its GPUs, itself included (its allocation is theirs, taken from the
    # cluster once), and its pace: wall seconds per second of its work while they share (1.0 alone).
    group: tuple[JobState, ...] = ()
    pace: float = 1.0
    paced_at: int | None = None  # when its pace last changed mid-run (its GPUs capped); None: at its start
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
        if self.started is None:
            return self.remaining
        since = self.started if self.paced_at is None else self.paced_at
        if self.pace == 1.0:
            return self.remaining - (now - since)
        return self.remaining - int((now - since) / self.pace)

    def ends_at(self) -> int:
        """When the current run finishes if nothing stops it."""
        assert self.started is not None
        since = self.started if self.paced_at is None else self.paced_at
        return since + (self.remaining if self.pace == 1.0 else math.ceil(self.remaining * self.pace))

    def repace(self, now: int, pace: float) -> None:
        """Run on at another pace from `now` (its GPUs capped, or no longer): the work done so far is kept, and
        the run goes on (its start, its GPUs)."""
        self.remaining = self.remaining_at(now)
        self.paced_at = now
        self.pace = pace
        self.epoch += 1

    @property
    def group_intact(self) -> bool:
        """Every job it shares GPUs with still runs with it."""
        return all(m.allocation is self.allocation and m.finish is None for m in self.group)

    def attained_at(self, now: int) -> int:
        return self.attained + self.job.gpus * (now - self.started) if self.started is not None else self.attained

    def start(self, now: int, allocation: Allocation) -> None:
        self.allocation = allocation
        self.started = now
        if self.first_start is None:
            self.first_start = now
        self.epoch += 1

    def stop(self, now: int, *, finished: bool) -> Allocation | None:
        """End the current run. Returns the GPUs to give back: None while other jobs of its interleaved group
        still run on them (they go back with the last)."""
        assert self.allocation is not None
        assert self.started is not None
        allocation = self.allocation
        shared = any(m is not self and m.allocation is allocation for m in self.group)
        self.remaining = self.remaining_at(now)
        self.attained = self.attained_at(now)
        self.allocation = None
        self.started = None
        self.group, self.pace, self.paced_at = (), 1.0, None
        self.epoch += 1
        if finished:
            self.finish = now
        else:
            self.preemptions += 1
            self.remaining += self.job.restart_overhead
        return None if shared else allocation
