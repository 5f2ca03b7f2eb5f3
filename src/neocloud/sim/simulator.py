"""The trace-driven simulator: jobs arrive, the engine decides, work runs on a virtual clock.

Time jumps from event to event (arrivals, completions, Tiresias queue demotions); nothing steps one second
at a time. The engine is the live server's: the simulator only keeps the clock and applies decisions.
"""

from __future__ import annotations

import heapq
import random
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sortedcontainers import SortedKeyList

from neocloud.core.engine.cluster import Capacity, Cluster
from neocloud.core.engine.ordering import ORDERINGS, TIRESIAS_THRESHOLDS, tiresias_queue
from neocloud.core.engine.placement import PLACEMENTS, Placement
from neocloud.core.engine.scheduler import Scheduler
from neocloud.core.engine.sharing import SHARING_PLACEMENTS, SharedCluster, sharing_placement
from neocloud.core.engine.state import JobState
from neocloud.core.errors import InvalidInput
from neocloud.core.workload import Job
from neocloud.sim.metrics import SimResult, summarize

COMPLETE, WAKE = 0, 1
NEVER = 1 << 62


@dataclass(frozen=True, slots=True)
class SimConfig:
    ordering: str = "fifo"
    placement: str = "bestfit"
    seed: int = 0
    quotas: Mapping[str, int] | None = None  # tenant -> max GPUs at once
    entitlements: Mapping[str, int] | None = None  # tenant -> GPUs its reservations hold (see Scheduler)

    def scheduler(self, cluster: Capacity, jobs: Sequence[Job]) -> Scheduler[Any]:
        """The engine for this cluster: gang placements for whole-GPU clusters, the GPU-sharing ones (which
        FGD tunes to `jobs`) for shared clusters."""
        if self.ordering not in ORDERINGS:
            raise InvalidInput(f"unknown ordering policy {self.ordering!r}; known: {', '.join(ORDERINGS)}")
        placement: Placement[Any]
        if isinstance(cluster, SharedCluster):
            placement = sharing_placement(self.placement, jobs)
        elif needy := next((j for j in jobs if j.shares_gpu or j.cpu_milli_per_task or j.memory_mib_per_task), None):
            raise InvalidInput(
                f"job {needy.id} asks for {needy.gpu_milli} milli-GPU, {needy.cpu_milli_per_task} milli-CPU and "
                f"{needy.memory_mib_per_task} MiB per task; this cluster tracks whole GPUs only: use a GPU-sharing "
                "fleet (openb:NODES.csv)",
                job=needy.id,
            )
        elif self.placement in PLACEMENTS:
            placement = PLACEMENTS[self.placement]
        else:
            hint = " (a GPU-sharing policy: use a GPU-sharing fleet, openb:NODES.csv)"
            raise InvalidInput(
                f"unknown placement policy {self.placement!r} for whole GPUs; known: {', '.join(PLACEMENTS)}"
                + (hint if self.placement in SHARING_PLACEMENTS else "")
            )
        return Scheduler(
            ORDERINGS[self.ordering],
            placement,
            random.Random(self.seed),
            dict(self.quotas or {}),
            dict(self.entitlements or {}),
        )


class _Queue:
    """Waiting jobs. Static orderings keep them sorted as they arrive; dynamic ones are ranked per decision."""

    def __init__(self, scheduler: Scheduler[Any]) -> None:
        self.scheduler = scheduler
        self.static = scheduler.ordering.static
        self.jobs: SortedKeyList | list[JobState] = SortedKeyList(key=lambda s: s.queue_key) if self.static else []

    def add(self, s: JobState, now: int, usage: Mapping[str, int]) -> None:
        if isinstance(self.jobs, SortedKeyList):
            s.queue_key = self.scheduler.sort_key(s, now, usage)
            self.jobs.add(s)
        else:
            self.jobs.append(s)

    def remove_started(self, started: list[JobState]) -> None:
        if isinstance(self.jobs, SortedKeyList):
            for s in started:
                self.jobs.remove(s)
        elif started:
            self.jobs = [s for s in self.jobs if not s.running]


RunCallback = Callable[[Job, int, int, bool], None]  # (job, start, end, preempted): one run of a job, for metering


def simulate(
    jobs: Sequence[Job],
    cluster: Capacity,
    config: SimConfig,
    progress: Callable[[int], None] | None = None,
    on_run: RunCallback | None = None,
) -> SimResult:
    """Replay `jobs` on `cluster`. Jobs that could never fit (bigger than the cluster, or for a GPU model it
    lacks) are set aside as unschedulable instead of blocking the queue forever. `on_run` hears of every run
    as it ends (finished or preempted): the events metering turns into usage records."""
    scheduler = config.scheduler(cluster, jobs)
    tiresias = scheduler.ordering.name == "tiresias"
    states = [JobState.of(j) for j in sorted(jobs, key=lambda j: (j.submit, j.id))]
    index_of = {id(s): i for i, s in enumerate(states)}
    events: list[tuple[int, int, int, int, int]] = []  # (time, kind, seq, epoch, job index)
    queue = _Queue(scheduler)
    running: dict[int, JobState] = {}
    usage: dict[str, int] = defaultdict(int)
    spot_milli = seq = nxt = done = 0
    unschedulable: list[JobState] = []
    timeline: list[tuple[int, int, int]] = [(0, 0, 0)]  # (time, milli-GPUs busy, free ones stranded)

    while nxt < len(states) or events:
        now = min(states[nxt].job.submit if nxt < len(states) else NEVER, events[0][0] if events else NEVER)
        while events and events[0][0] == now:
            _, kind, _, epoch, index = heapq.heappop(events)
            s = states[index]
            if s.epoch != epoch or kind == WAKE:
                continue  # stale (stopped or restarted since), or only a reason to decide again
            if on_run is not None and s.started is not None:
                on_run(s.job, s.started, now, False)
            cluster.release(s.stop(now, finished=True))
            del running[index]
            usage[s.job.tenant] -= s.job.milli
            spot_milli -= s.job.milli if s.spot else 0
            done += 1
        while nxt < len(states) and states[nxt].job.submit == now:
            s = states[nxt]
            if cluster.holds_ever(s.job):
                queue.add(s, now, usage)
            else:
                unschedulable.append(s)
            nxt += 1

        decisions = scheduler.decide(now, cluster, queue.jobs, running.values(), usage, spot_milli)
        for s in decisions.preempt:
            if on_run is not None and s.started is not None and now > s.started:
                on_run(s.job, s.started, now, True)
            s.stop(now, finished=False)
            del running[index_of[id(s)]]
            spot_milli -= s.job.milli if s.spot else 0
            if queue.static:
                queue.add(s, now, usage)
        for s, allocation in decisions.start:
            index = index_of[id(s)]
            s.start(now, allocation)
            running[index] = s
            spot_milli += s.job.milli if s.spot else 0
            seq += 1
            heapq.heappush(events, (now + s.remaining, COMPLETE, seq, s.epoch, index))
            if tiresias and tiresias_queue(s.attained) < len(TIRESIAS_THRESHOLDS):
                threshold = TIRESIAS_THRESHOLDS[tiresias_queue(s.attained)]
                seq += 1  # wake up when it falls to the next queue: the ranking changes then
                heapq.heappush(events, (now + -(-(threshold - s.attained) // s.job.gpus), WAKE, seq, s.epoch, index))
        if decisions.start or decisions.preempt:
            queue.remove_started([s for s, _ in decisions.start])
            if not queue.static:
                queue.jobs.extend(s for s in decisions.preempt)
        busy = cluster.total_milli - cluster.free_milli
        if busy != timeline[-1][1]:
            timeline.append((now, busy, cluster.stranded_milli()))
            if progress is not None:
                progress(done)
    return summarize(states, unschedulable + list(queue.jobs), timeline, cluster.total_milli, config)


def simulate_partitioned(
    jobs: Sequence[Job], clusters: Mapping[str, Cluster], config: SimConfig
) -> tuple[dict[str, SimResult], list[Job]]:
    """Each tenant on its own cluster (e.g. Philly's virtual clusters). Returns results by tenant, and the
    jobs of tenants that have no cluster."""
    by_tenant: dict[str, list[Job]] = defaultdict(list)
    for job in jobs:
        by_tenant[job.tenant].append(job)
    results = {t: simulate(by_tenant.get(t, []), cluster, config) for t, cluster in sorted(clusters.items())}
    orphans = [j for t, group in sorted(by_tenant.items()) if t not in clusters for j in group]
    return results, orphans
