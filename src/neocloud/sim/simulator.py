"""The trace-driven simulator: jobs arrive, the engine decides, work runs on a virtual clock.

Time jumps from event to event (arrivals, completions, Tiresias queue demotions, changes of a power budget);
nothing steps one second at a time. The engine is the live server's (app/live.py): the same EngineConfig
builds the scheduler, and the same apply_decisions carries its decisions out; the simulator only keeps the
virtual clock and its events.
"""

from __future__ import annotations

import heapq
import math
from array import array
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from decimal import Decimal
from typing import Any

from neocloud.core.engine.budget import Cap, Draw, Feed, Ramp, dark_nodes, fit
from neocloud.core.engine.cluster import Capacity, Cluster
from neocloud.core.engine.config import EngineConfig
from neocloud.core.engine.running import RunningLine
from neocloud.core.engine.scheduler import Scheduler, apply_decisions
from neocloud.core.engine.state import JobState
from neocloud.core.engine.tiresias import Lines
from neocloud.core.engine.waiting import ShapeQueue
from neocloud.core.errors import InvalidInput
from neocloud.core.power import PowerBudget
from neocloud.core.workload import MILLI, Job, PriorityClass
from neocloud.sim.metrics import PowerChange, SimResult, summarize

COMPLETE, WAKE, POWER, RAMP = 0, 1, 2, 3  # at one instant: completions, wake-ups, the budget's change, the ramp
_BUDGET = JobState.of(Job("power budget", 0, 1))  # what a budget's (or ramp's) event carries in the job's place


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
            restarted = {id(s) for s in preempted}  # interleaving stops and restarts jobs in one decision
            for s in started:
                if id(s) not in restarted:
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
    power: PowerBudget | None = None,
) -> SimResult:
    """Replay `jobs` on `cluster`. Jobs that could never fit (bigger than the cluster, or for a GPU model it
    lacks) are set aside as unschedulable instead of blocking the queue forever. `on_run` hears of every run
    as it ends (finished or preempted): the events metering turns into usage records. Under a `power` budget
    the GPUs running never draw more than it (see `_Replay._feed`), and under its ramp limit their draw rises no
    faster than the rate (core/engine/budget.Ramp)."""
    return _Replay(jobs, cluster, config, on_run, power).run(progress)


class _Replay:
    """One replay's virtual clock: the jobs' states, the events to come, what runs and what waits."""

    def __init__(
        self,
        jobs: Sequence[Job],
        cluster: Capacity,
        config: EngineConfig,
        on_run: RunCallback | None,
        power: PowerBudget | None = None,
    ):
        self.cluster, self.config, self.on_run, self.power = cluster, config, on_run, power
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
        self.dark: list[int] = []  # nodes powered down for the budget
        self.power_changes: list[PowerChange] = []
        rates = (None, None) if power is None else (power.ramp_kw_per_s, power.fall_kw_per_s)
        self.ramp = None if rates == (None, None) else Ramp(*rates)
        self.drawn = Decimal(0)  # facility kW the running work drew when the ramp last heard of it
        self.floor_steps: list[tuple[int, Decimal]] = []  # under a fall limit: (at, kW the floors hold then)
        self.ramp_waits = 0
        self.ramp_wake: int | None = None  # the RAMP event pending, if any
        # running work capped for the budget: its cap (W) and the kW that saves
        self.capped: dict[str, tuple[JobState, int, Decimal]] = {}
        self.saved = Decimal(0)  # kW all the caps save now
        self.saved_steps: list[tuple[int, Decimal]] = []  # (from, kW saved), as the caps change
        self.refit = False  # capped work ended or was preempted: fit the budget again (its GPUs drew less)
        if power is not None:
            if not isinstance(cluster, Cluster) or self.interleave:
                raise InvalidInput("a power budget needs a cluster of nodes and an ordering that does not interleave")
            for t, _ in power.steps:
                self.seq += 1
                heapq.heappush(self.events, (t, POWER, self.seq, 0, _BUDGET))

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
                if kind == POWER:
                    self._feed()
                    changed = True
                    continue
                if kind == RAMP:  # started work is up: starts may follow
                    self.ramp_wake = None
                    continue
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
                self._uncapped(s)
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
            if (changed if self.interleave else bool(queue.jobs)) and not self._ramping():
                decisions = self.scheduler.decide(now, cluster, queue.jobs, self.running, usage, self.spot_milli)
                apply_decisions(decisions, now, self._stopped, self._started)
                if self.wake is not None:  # a preempted job may be promoted after waiting long enough
                    for s in decisions.preempt:
                        self._wake_at(self.wake(s, now), s)
                if decisions.start or decisions.preempt:
                    queue.decided([s for s, _ in decisions.start], decisions.preempt, now, usage)
            # GPUs running: not free, and (under a budget) not dark either. Interleaved jobs share theirs, so
            # their sum would count them twice; a budget refuses interleaving.
            if self.refit:  # its GPUs, free again or running other work, may draw more than the cap let them
                self._feed(change=False)
            if self.ramp is not None:
                self._swing()
            busy = self._running_milli() if self.power is not None else cluster.total_milli - cluster.free_milli
            if self.power is not None and (self.saved_steps[-1][1] if self.saved_steps else 0) != self.saved:
                self.saved_steps.append((now, self.saved))
            if busy != timeline[-2]:
                timeline.extend((now, busy, cluster.stranded_milli()))
                if progress is not None:
                    progress(done)
        result = summarize(states, unschedulable + list(queue.jobs), timeline, cluster.total_milli, self.config)
        if self.power is None:
            return result
        return replace(
            result,
            power_changes=tuple(self.power_changes),
            ramp_waits=self.ramp_waits,
            capped_kw=tuple(self.saved_steps),
            floor_kw=tuple(self.floor_steps),
            floor_kwh=Decimal(0) if self.ramp is None else self.ramp.burned_kwh(),
        )

    def _ramping(self) -> bool:
        """Started work's draw is still rising: no decision now, one when it is up."""
        if self.ramp is None or not self.ramp.busy(self.now):
            return False
        self.ramp_waits += 1
        wake = self.ramp.free_at()
        if self.ramp_wake != wake:
            self.ramp_wake = wake
            self.seq += 1
            heapq.heappush(self.events, (wake, RAMP, self.seq, 0, _BUDGET))
        return True

    def _running_milli(self) -> int:
        return self.running.milli + self.running.pinned

    def _drawing(self) -> Decimal:
        """Facility kW the running work draws now, less what its caps save."""
        assert self.power is not None
        return self.power.kw_per_gpu * self._running_milli() / MILLI - self.saved

    def _swing(self) -> None:
        """The ramp hears of the instant's net change in what running work draws."""
        assert self.ramp is not None
        drawn = self._drawing()
        if drawn != self.drawn:
            self.ramp.change(self.now, drawn - self.drawn)
            self.drawn = drawn
            self._floor_step()

    def _floor_step(self) -> None:
        """Record the floors' draw where it moved other than by falling at the rate."""
        assert self.ramp is not None
        rate, held = self.ramp.fall_kw_per_s, self.ramp.floor(self.now)
        if rate is None:
            return
        if self.floor_steps and self.floor_steps[-1][0] == self.now:
            self.floor_steps.pop()
        at, was = self.floor_steps[-1] if self.floor_steps else (0, Decimal(0))
        if held != max(Decimal(0), was - (self.now - at) * rate):
            self.floor_steps.append((self.now, held))

    def _feed(self, change: bool = True) -> None:
        """The budget changed (or, `change` False, capped work ended): run no more than it feeds, from now until
        it changes again.

        The engine's rule for either clock (core/engine/budget.py): contract kind by contract kind, running
        work is capped (with the budget's capping: never reserved work), then stopped, while it alone draws
        more than the budget; then whole nodes are powered down, those with the most free GPUs first, until
        free GPUs plus running ones fit. Every change starts again from every node powered up and fits the
        work as if none were capped; a job whose cap the fit changes runs on at its new pace, so a budget that
        grows back powers nodes up and lifts the caps. Work that may not be preempted stays: what it still
        draws over the budget is the change's shortfall."""
        assert self.power is not None
        cluster = self.cluster
        assert isinstance(cluster, Cluster)
        now, per_gpu, capping = self.now, self.power.kw_per_gpu, self.power.capping
        for node in self.dark:
            cluster.restore(node)
        budget = self.power.at(now)
        if self.ramp is not None:
            self._swing()  # what ended this instant, before the budget's own change
        running = {s.job.id: s for s in self.running}

        def draw(s: JobState) -> Draw:
            cap = None
            if capping is not None and s.job.priority is not PriorityClass.RESERVED:
                cap = Cap(capping.cap_w, capping.power.min_cap_w, s.job.gpus * capping.kw_per_watt)
            kw = s.job.gpus * per_gpu
            return Draw(s.job.id, "", s.job.gpus, kw, s.job.priority.value, s.started or 0, s.job.preemptible, cap)

        draws = [draw(s) for s in running.values()]
        found = fit({"feed": budget}, {"": Feed(("feed",), per_gpu)}, {"": cluster.free_milli // MILLI}, draws)
        for key in found.stop:
            self._preempt(running[key])
        for key, s in running.items():
            want, had = found.caps.get(key), self.capped.get(key)
            if key in found.stop or want == (had[1] if had else None):
                continue
            self._uncapped(s)
            if want is None:
                self._repaced(s, 1.0)
                continue
            assert capping is not None
            saves = (capping.cap_w - want) * s.job.gpus * capping.kw_per_watt
            self.capped[key] = (s, want, saves)
            self.saved += saves
            self._repaced(s, capping.pace(want))
        self.dark = dark_nodes(cluster.free, found.powered[""])
        for node in self.dark:
            cluster.withhold(node)
        self.refit = False
        if self.ramp is not None and change:  # what the budget took falls at once, floors included
            self.drawn = min(self.drawn, self._drawing())
            self._swing()  # caps lifted as the budget grew rise at the rate
            self.ramp.clip(now, budget - self.drawn)
            self._floor_step()
        if not change:
            return
        gpus_dark = sum(cluster.capacity[n] for n in self.dark)
        shortfall = math.ceil(found.over_kw.get("feed", 0) / per_gpu)
        self.power_changes.append(
            PowerChange(now, budget, self.power.gpus(budget), gpus_dark, len(found.stop), shortfall, len(found.caps))
        )

    def _repaced(self, s: JobState, pace: float) -> None:
        """A running job's GPUs capped (or no longer): it runs on at `pace`, so its end (and rank) moves."""
        s.repace(self.now, pace)
        self.running.rekey(s, self.now)
        self.seq += 1
        heapq.heappush(self.events, (s.ends_at(), COMPLETE, self.seq, s.epoch, s))
        if self.wake is not None:
            self._wake_at(self.wake(s, self.now), s)

    def _uncapped(self, s: JobState) -> None:
        """The job's cap no longer saves power (it ended, stopped, or the budget changed)."""
        found = self.capped.pop(s.job.id, None)
        if found is not None:
            self.saved -= found[2]
            self.refit = True

    def _preempt(self, s: JobState) -> None:
        """Stop a running job for the budget, as the scheduler would preempt it, and let it wait again."""
        run_start = s.started
        assert run_start is not None
        freed = s.stop(self.now, finished=False)
        if freed is not None:
            self.cluster.release(freed)
        self._stopped(s, run_start)
        self.usage[s.job.tenant] -= s.job.milli
        self.queue.add(s, self.now, self.usage)

    def _stopped(self, s: JobState, run_start: int) -> None:
        """Preempted: the run is metered."""
        self._uncapped(s)
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
