"""The trace-driven simulator: jobs arrive, the engine decides, work runs on a virtual clock.

Time jumps from event to event (arrivals, completions, Tiresias queue demotions); nothing steps one second
at a time. The engine is the live server's (app/live.py): the same EngineConfig builds the scheduler, and the
same apply_decisions carries its decisions out; the simulator only keeps the virtual clock and its events.
"""

from __future__ import annotations

import heapq
from array import array
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from neocloud.core.engine.cluster import Capacity, Cluster
from neocloud.core.engine.config import EngineConfig
from neocloud.core.engine.running import RunningLine
from neocloud.core.engine.scheduler import Scheduler, apply_decisions
from neocloud.core.engine.state import JobState
from neocloud.core.engine.tiresias import Lines
from neocloud.core.engine.waiting import ShapeQueue
from neocloud.core.workload import Job
from neocloud.sim.metrics import SimResult, summarize

COMPLETE, WAKE = 0, 1


class _Queue:
    """Waiting jobs. Static orderings keep them in order, by shape (core/engine/waiting.py); fair share and
    Tiresias in their lines (the engine settles Tiresias's itself as it decides); other dynamic orderings in a
    list ranked per decision."""

    def __init__(self, scheduler: Scheduler[Any]) -> None:
        line = scheduler.waiting_line()
        self.jobs: ShapeQueue | Lines | list[JobState] = [] if line is None else line

    def add(self, s: JobState, now: int, usage: Mapping[str, int]) -> None:
        if isinstance(self.jobs, list):
            self.jobs.append(s)
        else:
            self.jobs.add(s, now, usage)

    def decided(self, started: list[JobState], preempted: list[JobState], now: int, usage: Mapping[str, int]) -> None:
        """Started jobs leave; preempted ones not restarted wait again (at their new place in a static order)."""
        if isinstance(self.jobs, Lines):
            return
        if isinstance(self.jobs, ShapeQueue):
            for s in started:
                self.jobs.remove(s)
        elif started:
            self.jobs = [s for s in self.jobs if not s.running]
        for s in preempted:
            if not s.running:
                self.add(s, now, usage)


RunCallback = Callable[[Job, int, int, bool], None]  # (job, start, end, preempted): one run of a job, for metering


def simulate(
    jobs: Sequence[Job],
    cluster: Capacity,
    config: EngineConfig,
    progress: Callable[[int], None] | None = None,
    on_run: RunCallback | None = None,
) -> SimResult:
    """Replay `jobs` on `cluster`. Jobs that could never fit (bigger than the cluster, or for a GPU model it
    lacks) are set aside as unschedulable instead of blocking the queue forever. `on_run` hears of every run
    as it ends (finished or preempted): the events metering turns into usage records."""
    return _Replay(jobs, cluster, config, on_run).run(progress)


class _Replay:
    """One replay's virtual clock: the jobs' states, the events to come, what runs and what waits."""

    def __init__(self, jobs: Sequence[Job], cluster: Capacity, config: EngineConfig, on_run: RunCallback | None):
        self.cluster, self.config, self.on_run = cluster, config, on_run
        self.scheduler = config.scheduler(cluster, jobs)
        self.wake = self.scheduler.ordering.wake  # when a job's rank changes between events (Tiresias)
        self.interleave = self.scheduler.ordering.interleave
        self.states = [JobState.of(j) for j in sorted(jobs, key=lambda j: (j.submit, j.id))]
        # (time, kind, seq, epoch, job): seq is unique, so tuples never compare the jobs
        self.events: list[tuple[int, int, int, int, JobState]] = []
        self.queue = _Queue(self.scheduler)
        self.running = RunningLine(self.scheduler.ordering.running)
        self.usage: dict[str, int] = defaultdict(int)
        self.now = self.spot_milli = self.seq = 0

    def run(self, progress: Callable[[int], None] | None) -> SimResult:
        states, events, cluster, queue, usage = self.states, self.events, self.cluster, self.queue, self.usage
        nxt = done = 0
        unschedulable: list[JobState] = []
        timeline = array("q", (0, 0, 0))  # (time, milli-GPUs busy, free ones stranded), flat: 24 bytes a change
        while nxt < len(states) or events:
            # The next arrival or the next event, whichever comes first (no sentinel: any time is a time).
            if events and (nxt == len(states) or events[0][0] < states[nxt].job.submit):
                now = self.now = events[0][0]
            else:
                now = self.now = states[nxt].job.submit
            changed = False  # a job ended or arrived (not only a stale event)
            while events and events[0][0] == now:
                _, kind, _, epoch, s = heapq.heappop(events)
                if s.epoch != epoch:
                    continue  # stale: stopped or restarted since
                if kind == WAKE:  # only a reason to decide again; a running job may change rank again later
                    if s.running and self.wake is not None:
                        self.running.rekey(s, now)  # it fell a queue (Tiresias)
                        self._wake_at(self.wake(s, now), s)
                    continue
                if self.on_run is not None and s.started is not None:
                    self.on_run(s.job, s.started, now, False)
                if (freed := s.stop(now, finished=True)) is not None:  # a group's GPUs go back with its last job
                    cluster.release(freed)
                self.running.remove(s)
                usage[s.job.tenant] -= s.job.milli
                self.spot_milli -= s.job.milli if s.spot else 0
                done += 1
                changed = True
            while nxt < len(states) and states[nxt].job.submit == now:
                s = states[nxt]
                changed = True
                if cluster.holds_ever(s.job):
                    queue.add(s, now, usage)
                else:
                    unschedulable.append(s)
                nxt += 1
            # With no one waiting there is nothing to start, and no reason to preempt. Interleaving plans every
            # job afresh when one ends or arrives (a group that lost a job runs on at another pace, or splits),
            # and only then: its restarts leave stale events behind, and deciding at those would churn.
            if changed if self.interleave else bool(queue.jobs):
                decisions = self.scheduler.decide(now, cluster, queue.jobs, self.running, usage, self.spot_milli)
                apply_decisions(decisions, now, self._stopped, self._started)
                if self.wake is not None:  # a preempted job may be promoted after waiting long enough
                    for s in decisions.preempt:
                        self._wake_at(self.wake(s, now), s)
                if decisions.start or decisions.preempt:
                    queue.decided([s for s, _ in decisions.start], decisions.preempt, now, usage)
            busy = cluster.total_milli - cluster.free_milli
            if busy != timeline[-2]:
                timeline.extend((now, busy, cluster.stranded_milli()))
                if progress is not None:
                    progress(done)
        return summarize(states, unschedulable + list(queue.jobs), timeline, cluster.total_milli, self.config)

    def _stopped(self, s: JobState, run_start: int) -> None:
        """Preempted: the run is metered."""
        if self.on_run is not None and self.now > run_start:
            self.on_run(s.job, run_start, self.now, True)
        self.running.remove(s)
        self.spot_milli -= s.job.milli if s.spot else 0

    def _started(self, s: JobState) -> None:
        """Started: its completion (and, under Tiresias, its fall to the next queue) becomes an event."""
        self.running.add(s, self.now)
        self.spot_milli += s.job.milli if s.spot else 0
        self.seq += 1
        heapq.heappush(self.events, (s.ends_at(), COMPLETE, self.seq, s.epoch, s))
        if self.wake is not None:
            self._wake_at(self.wake(s, self.now), s)

    def _wake_at(self, when: int | None, s: JobState) -> None:
        """Decide again at `when` (a fall to the next queue, a promotion): the ranking changes then."""
        if when is not None:
            self.seq += 1
            heapq.heappush(self.events, (when, WAKE, self.seq, s.epoch, s))


def simulate_partitioned(
    jobs: Sequence[Job], clusters: Mapping[str, Cluster], config: EngineConfig
) -> tuple[dict[str, SimResult], list[Job]]:
    """Each tenant on its own cluster (e.g. Philly's virtual clusters). Returns results by tenant, and the
    jobs of tenants that have no cluster."""
    by_tenant: dict[str, list[Job]] = defaultdict(list)
    for job in jobs:
        by_tenant[job.tenant].append(job)
    results = {t: simulate(by_tenant.get(t, []), cluster, config) for t, cluster in sorted(clusters.items())}
    orphans = [j for t, group in sorted(by_tenant.items()) if t not in clusters for j in group]
    return results, orphans
