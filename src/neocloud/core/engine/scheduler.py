"""One scheduling decision, the same in the simulator and on the live server.

Steps (each decision, at time `now`):
1. Rank jobs by the ordering policy; spot jobs rank after every other class, whatever the policy.
2. Preemptive policies: walk the ranking and keep GPUs for the best jobs that fit the capacity and their
   tenant's quota; running jobs left out are preempted (checkpoint/restart cost charged to the job).
3. Start waiting jobs in rank order where the placement policy finds room. A strict policy stops at the
   first job that does not fit, except that EASY backfill then starts later jobs that cannot delay it.
4. A non-spot job that does not fit may take GPUs back from running spot jobs (newest first).

Capacity, usage and demand are in milli-GPUs, so jobs that share GPUs add up exactly.
The engine updates the cluster's bookkeeping as it decides and returns what it decided; the caller starts
and stops the work and updates the job states.
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from neocloud.core.engine import interleave
from neocloud.core.engine.cluster import Allocation, Capacity
from neocloud.core.engine.ordering import Ordering
from neocloud.core.engine.placement import Placement
from neocloud.core.engine.running import RunningLine, Tail
from neocloud.core.engine.state import JobState
from neocloud.core.engine.tiresias import Lines
from neocloud.core.engine.waiting import ShapeQueue, Walk
from neocloud.core.workload import MILLI, Job


@dataclass(slots=True)
class Decisions:
    preempt: list[JobState] = field(default_factory=list)
    start: list[tuple[JobState, Allocation]] = field(default_factory=list)
    # new places in line and promotions (orderings that keep lines: Tiresias): jobs waiting on and, over
    # tiresias.Lines, jobs starting too (they run in the lane they waited in)
    requeue: list[tuple[JobState, tuple[int, ...], tuple[int, int] | None]] = field(default_factory=list)
    # jobs starting in a group that shares GPUs, with the group and their pace in it (interleaving orderings)
    grouped: list[tuple[JobState, tuple[JobState, ...], float]] = field(default_factory=list)


def apply_decisions(
    decisions: Decisions,
    now: int,
    stopped: Callable[[JobState, int], None],
    started: Callable[[JobState], None],
) -> None:
    """Carry a decision out on the job states, the same under both clocks: each preempted job stops (its run
    from `stopped`'s second argument to `now` ends; the restart overhead is charged), then each chosen job
    starts on its allocation. The callbacks are the clock's own: the simulator keeps its event queue, the
    live engine halts and launches the work, meters it and saves it."""
    for s in decisions.preempt:
        assert s.started is not None
        run_start = s.started
        s.stop(now, finished=False)
        stopped(s, run_start)
    for s, group, pace in decisions.grouped:
        s.group, s.pace = group, pace
    for s, lane, promoted in decisions.requeue:  # before the starts: a started job runs in its lane
        s.lane, s.promoted = lane, promoted
    for s, allocation in decisions.start:
        s.start(now, allocation)
        started(s)


C = TypeVar("C", bound=Capacity)
Key = tuple[object, ...]
TAIL = 16  # running jobs a preemptive decision first reads from the worst end (_preempt_in_line)


@dataclass(slots=True)
class _Round(Generic[C]):
    """One decision's working state, made afresh for each: the cluster and usage it updates, what it has
    decided, spot work it may still reclaim, reserved capacity in use, and job shapes that found no room."""

    now: int
    cluster: C
    usage: dict[str, int]
    spot_milli: int
    decisions: Decisions = field(default_factory=Decisions)
    entitled: _Entitled | None = None
    no_room: set[tuple[object, ...]] = field(default_factory=set)
    ranked: list[JobState] = field(default_factory=list)  # a preemptive ordering's ranking of this decision


@dataclass(frozen=True, slots=True)
class Scheduler(Generic[C]):
    """Ordering and placement policies for clusters of type C (placements are written for one kind). It keeps
    nothing between decisions: the callers own the job states."""

    ordering: Ordering
    placement: Placement[C]
    rng: random.Random
    quotas: Mapping[str, int] = field(default_factory=dict)  # tenant -> max GPUs at once; absent = no cap
    # tenant -> GPUs its reservations hold now. When given, capacity nobody holds is all that on-demand work
    # and work beyond a tenant's holds (overage) may use; held capacity left idle goes to spot work only.
    entitlements: Mapping[str, int] = field(default_factory=dict)

    def waiting_line(self) -> ShapeQueue | Lines | None:
        """Where a caller that keeps waiting jobs between decisions (the simulator) should keep them: static
        orderings' in order, dynamic ones' in their lines; None: a list, ranked at each decision."""
        if self.ordering.static:
            return ShapeQueue(self.sort_key)
        return self.ordering.lines() if self.ordering.lines is not None else None

    def rank(self, states: Iterable[JobState], now: int, usage: Mapping[str, int]) -> list[JobState]:
        return [s for _, s in self._keyed(states, now, usage)]

    def sort_key(self, s: JobState, now: int, usage: Mapping[str, int]) -> Key:
        return (s.spot, *self.ordering.key(s, now, usage), s.job.id)

    def decide(
        self,
        now: int,
        cluster: C,
        waiting: list[JobState] | ShapeQueue | Lines,
        running: Iterable[JobState],
        usage: dict[str, int],
        spot_milli: int = 0,
    ) -> Decisions:
        """Decide at `now`. `waiting` must be in `sort_key` order for static orderings (others are ranked
        here), or be the structure `waiting_line` gives, whose jobs a decision walks only as far as it needs
        and passes over by shape (Tiresias's lines are settled here: the jobs this decision starts or stops
        move). `usage` (milli-GPUs running per tenant) is the caller's and is updated with the decisions; jobs
        in a `waiting` list that are already running or finished are skipped, so callers may remove them
        lazily."""
        r = _Round(now, cluster, usage, spot_milli)
        if self.ordering.interleave:
            assert not isinstance(waiting, Lines)
            self._interleave(r, waiting, running)
            return r.decisions
        if isinstance(waiting, Lines):
            lines = waiting
            waiting = self._preempt_lined(r, lines, running)
            self._entitle(r, running)
            self._start(r, waiting, running)
            self._settle(r, lines)
            return r.decisions
        if not self.ordering.static and not isinstance(waiting, ShapeQueue):
            waiting = [s for s in waiting if not s.running and s.finish is None]
            if self.ordering.preemptive:
                waiting = self._preempt_ranked(r, waiting, running)
            else:
                waiting = self.rank(waiting, now, usage)
        elif self.ordering.preemptive:
            waiting = self._preempt_in_order(r, waiting, running)
        self._entitle(r, running)
        self._start(r, waiting, running)
        if self.ordering.requeued is not None:
            self._requeue(r)
        return r.decisions

    def _entitle(self, r: _Round[C], running: Iterable[JobState]) -> None:
        if self.entitlements:
            preempted = {id(p) for p in r.decisions.preempt}
            still = (s for s in running if id(s) not in preempted)
            r.entitled = _Entitled.of(self.entitlements, r.cluster.total_milli, still)

    def _requeue(self, r: _Round[C]) -> None:
        """Jobs that wait on after this decision (never started, or preempted now) go to the back of their
        queue in rank order, behind the ones running (Tiresias's discipline)."""
        assert self.ordering.requeued is not None
        started = {id(s) for s, _ in r.decisions.start}
        preempted = {id(s) for s in r.decisions.preempt}
        waiting = [s for s in r.ranked if (s.allocation is None and id(s) not in started) or id(s) in preempted]
        ranked = {id(s) for s in r.ranked}
        # Spot work taken back for a job that did not fit may not have been ranked (when all the waiting fit)
        unranked = sorted((s for s in r.decisions.preempt if id(s) not in ranked), key=self._key_at(r))
        if unranked:
            waiting = list(heapq.merge(waiting, unranked, key=self._key_at(r)))
        r.decisions.requeue = self.ordering.requeued(waiting, r.now)
        if self.ordering.promoted is not None:
            r.decisions.requeue += self.ordering.promoted([s for s, _ in r.decisions.start], r.now)

    def _key_at(self, r: _Round[C]) -> Callable[[JobState], tuple[object, ...]]:
        return lambda s: self.sort_key(s, r.now, r.usage)

    def _settle(self, r: _Round[C], lines: Lines) -> None:
        """Tiresias's lines after a decision: started jobs leave them; stopped ones, and newcomers left
        waiting, join them in rank order (see tiresias.Lines)."""
        started = [s for s, _ in r.decisions.start]
        begun = {id(s) for s in started}
        moved = [*(s for s in lines.newcomers if id(s) not in begun), *r.decisions.preempt]
        promoted = [(key, s) for key, s in lines.promoted if id(s) not in begun]  # they rank as promoted now
        r.decisions.requeue = lines.settle(r.now, started, sorted([*self._keyed(moved, r.now, r.usage), *promoted]))

    def _preempt_lined(self, r: _Round[C], lines: Lines, running: Iterable[JobState]) -> list[JobState]:
        """Tiresias over its lines: the lines' walk merged with the newcomers and the running jobs (read from the
        worst end when kept in rank order, else ranked afresh); the walk stops where GPUs run out, and passes
        over shapes larger than what is left. Lines no longer than the running jobs are ranked with them at
        once (merging costs more than sorting)."""
        now, usage = r.now, r.usage
        loose = sorted([*self._keyed(lines.newcomers, now, usage), *lines.promote(now)])  # out of line

        def waiting() -> tuple[Walk, Iterator[tuple[Key, JobState]]]:
            walk = lines.lined.walk(now, usage)
            return walk, heapq.merge(walk.keyed(), loose)

        if not self.quotas and lines.milli <= r.cluster.free_milli:
            return [s for _, s in waiting()[1]]  # everyone fits
        if isinstance(running, RunningLine) and running.ranked and not self.quotas:
            return self._preempt_in_line(r, waiting, running)
        running = list(running)
        walk, ranked_waiting = waiting()
        if len(lines) <= len(running):
            everyone = [s for _, s in sorted([*self._keyed(running, now, usage), *ranked_waiting])]
            return self._preempt_for_rank(r, everyone, running)
        ranked = (s for _, s in heapq.merge(self._keyed(running, now, usage), ranked_waiting))
        return self._preempt_for_rank(r, ranked, running, walk)

    def _keyed(self, states: Iterable[JobState], now: int, usage: Mapping[str, int]) -> list[tuple[Key, JobState]]:
        """(sort key, job) in rank order. Keys end in the job's id, so no two are equal and the jobs themselves
        are never compared."""
        key = self.ordering.key  # sort_key, inline: ranking is most of a preemptive policy's decision
        return sorted([((s.spot, *key(s, now, usage), s.job.id), s) for s in states])

    def _interleave(self, r: _Round[C], waiting: list[JobState] | ShapeQueue, running: Iterable[JobState]) -> None:
        """Plan the jobs into groups on shared GPUs (interleave.plan), over the running ones ranked and the
        waiting ones in their queue (a list is ranked with them). A group running as planned keeps its GPUs;
        every other running job stops (its group's GPUs go back once) and planned groups not running start,
        most GPUs first, where the placement finds room. Jobs that cannot be preempted run alone and keep
        running."""
        running = list(running)
        movable = [s for s in running if s.job.preemptible]
        pinned = sum(s.job.milli for s in running if not s.job.preemptible)
        if isinstance(waiting, ShapeQueue):
            ranking = interleave.Ranking(self._keyed(movable, r.now, r.usage), waiting, r.now)
        else:
            waiting = [s for s in waiting if not s.running and s.finish is None]
            ranking = interleave.Ranking(self._keyed([*movable, *waiting], r.now, r.usage))
        groups = interleave.plan(ranking, r.cluster.total_milli - pinned, self.quotas)
        kept = {id(s) for g in groups if _running_as(g) for s in g}
        released: set[int] = set()
        for s in movable:
            if id(s) in kept:
                continue
            assert s.allocation is not None
            if id(s.allocation) not in released:
                released.add(id(s.allocation))
                r.cluster.release(s.allocation)
            r.usage[s.job.tenant] -= s.job.milli
            r.decisions.preempt.append(s)
        for group in groups:
            if id(group[0]) in kept:
                continue
            allocation = self._place(r, group[0].job)
            if allocation is None:
                continue
            r.cluster.take(allocation)
            for s, pace in zip(group, interleave.paces(group), strict=True):
                r.usage[s.job.tenant] += s.job.milli
                r.decisions.start.append((s, allocation))
                r.decisions.grouped.append((s, group, pace))

    def _admitted(self, r: _Round[C], s: JobState) -> bool:
        """Within the tenant's quota and, when entitlements are given, within its holds or the capacity
        nobody holds."""
        if not self.quotas and r.entitled is None:
            return True
        cap = self.quotas.get(s.job.tenant)
        if cap is not None and r.usage.get(s.job.tenant, 0) + s.job.milli > cap * MILLI:
            return False
        return s.spot or r.entitled is None or r.entitled.admits(s.job)

    def _started(self, r: _Round[C], s: JobState, allocation: Allocation) -> None:
        r.cluster.take(allocation)
        r.usage[s.job.tenant] += s.job.milli
        r.decisions.start.append((s, allocation))
        if r.entitled is not None and not s.spot:
            r.entitled.add(s.job)

    def _preempt_ranked(self, r: _Round[C], waiting: list[JobState], running: Iterable[JobState]) -> list[JobState]:
        """A dynamic ordering: rank running and waiting jobs afresh, then keep GPUs for the best."""
        if not self.quotas and sum([s.job.milli for s in waiting]) <= r.cluster.free_milli:
            r.ranked = self.rank(waiting, r.now, r.usage)  # everyone fits: no one to preempt, rank only the waiting
            return r.ranked
        running = list(running)
        r.ranked = self.rank([*running, *waiting], r.now, r.usage)
        return self._preempt_for_rank(r, r.ranked, running)

    def _preempt_in_order(
        self, r: _Round[C], waiting: list[JobState] | ShapeQueue, running: Iterable[JobState]
    ) -> list[JobState] | ShapeQueue:
        """A preemptive ordering whose key does not change while a job waits (SRTF, SRSF): the waiting jobs are
        in order already, so only the running ones are ranked, and the ranking is walked, not built, over a
        queue of shapes passed over once too large for what is left: a decision does not grow with the backlog."""
        total = waiting.milli if isinstance(waiting, ShapeQueue) else sum([s.job.milli for s in waiting])
        if not self.quotas and total <= r.cluster.free_milli:
            return waiting  # everyone fits: no one to preempt
        if isinstance(running, RunningLine) and running.ranked and not self.quotas and isinstance(waiting, ShapeQueue):
            queue = waiting

            def in_order() -> tuple[Walk, Iterator[tuple[Key, JobState]]]:
                walk = queue.walk(r.now, r.usage)
                return walk, walk.keyed()

            return self._preempt_in_line(r, in_order, running)
        running = list(running)
        walk = waiting.walk(r.now, r.usage) if isinstance(waiting, ShapeQueue) else None
        now, usage = r.now, r.usage
        # (key, job) pairs, each key computed once: a queued job's is the one it was queued with
        queued = walk.keyed() if walk is not None else ((self.sort_key(s, now, usage), s) for s in waiting)
        ranked = (s for _, s in heapq.merge(self._keyed(running, now, usage), queued))
        return self._preempt_for_rank(r, ranked, running, walk)

    def _preempt_for_rank(
        self, r: _Round[C], ranked: Iterable[JobState], running: list[JobState], walk: Walk | None = None
    ) -> list[JobState]:
        """Walk the ranking, keeping GPUs for the best jobs that fit; stop running jobs that are not among them.
        Returns the waiting ones that should start, in rank order."""
        pinned = [s for s in running if not s.job.preemptible]  # they keep their GPUs whatever their rank
        granted: dict[str, int] = defaultdict(int)
        for s in pinned:
            granted[s.job.tenant] += s.job.milli
        budget = r.cluster.total_milli - sum(s.job.milli for s in pinned)
        deserving, chosen = self._keep(ranked, budget, granted, walk)
        self._preempt(r, [s for s in running if id(s) not in deserving and s.job.preemptible])
        return chosen

    def _keep(
        self, ranked: Iterable[JobState], budget: int, granted: dict[str, int], walk: Walk | None
    ) -> tuple[set[int], list[JobState]]:
        """The jobs that keep or get GPUs, walking the ranking while `budget` (milli-GPUs) lasts, and the waiting
        ones among them in rank order. Over a `walk`, a waiting shape too large for the GPUs left is passed over
        whole (the GPUs left only shrink)."""
        deserving: set[int] = set()
        chosen: list[JobState] = []
        for s in ranked:
            if budget <= 0:
                break  # nothing more fits
            job = s.job
            if s.finish is not None or (not job.preemptible and s.allocation is not None):
                continue
            if job.milli > budget:
                if walk is not None and s.allocation is None:
                    walk.skip(job.resources)
                continue
            cap = self.quotas.get(job.tenant) if self.quotas else None
            if cap is None or granted[job.tenant] + job.milli <= cap * MILLI:
                budget -= job.milli
                granted[job.tenant] += job.milli
                deserving.add(id(s))
                if s.allocation is None:
                    chosen.append(s)
        return deserving, chosen

    def _preempt(self, r: _Round[C], jobs: Iterable[JobState]) -> None:
        for s in jobs:
            assert s.allocation is not None
            r.cluster.release(s.allocation)
            r.usage[s.job.tenant] -= s.job.milli
            r.decisions.preempt.append(s)

    def _preempt_in_line(
        self, r: _Round[C], waiting: Callable[[], tuple[Walk, Iterator[tuple[Key, JobState]]]], line: RunningLine
    ) -> list[JobState]:
        """SRTF, SRSF and Tiresias with their running jobs in rank order (running.RunningLine) and no quotas: the
        decision `_keep` would make over the whole ranking, reading running jobs only from the worst end.
        `waiting` gives a fresh walk of the waiting jobs and their (rank key, job) in rank order.

        Were every running job kept, `slack` milli-GPUs would be left. Walking in rank order, a waiting job fits
        if the slack and the running jobs ranked behind it hold it (then the slack shrinks by it); a running job
        keeps its GPUs unless the slack is short by more than the running jobs behind it (then it stops, and
        the slack grows by it). Both ask only about the worst-ranked running jobs, so the decision reads the worst
        `n` (the tail, with their sums from the worst end) and takes the rest (the head) as kept, which is
        exact while every waiting job ranked among the head fits in the slack and the tail. When one does not,
        the tail grows fourfold and the decision is made again (nothing changes until it is done). A decision
        costs the waiting jobs it looks at and the jobs it stops, not the jobs that keep running."""
        n = TAIL
        while True:
            worst = list(itertools.islice(line.worst_first(r.now), n + 1))
            head_worst = worst[n][0] if len(worst) > n else None  # the head's worst rank key
            tail = Tail(worst[:n][::-1], r.cluster.total_milli - line.pinned - line.milli)
            chosen: list[JobState] = []
            walk, ranked = waiting()
            unsure = False
            for key, s in ranked:
                ahead = tail.settle_ahead_of(key)
                room = tail.slack + tail.behind[ahead]
                if head_worst is not None and key < head_worst:
                    if s.job.milli > room:
                        unsure = True  # it may yet fit, on GPUs of head jobs ranked behind it
                        break
                elif room <= 0:
                    break  # nothing more fits
                elif s.job.milli > room:
                    walk.skip(s.job.resources)
                    continue
                chosen.append(s)
                tail.slack -= s.job.milli
            if not unsure:
                tail.settle(len(tail.jobs))
                self._preempt(r, sorted(tail.stopped, key=line.started_order))  # as running ones are listed
                return chosen
            n *= 4

    def _start(self, r: _Round[C], waiting: list[JobState] | ShapeQueue, running: Iterable[JobState]) -> None:
        preempted = {id(s) for s in r.decisions.preempt}
        # Starting jobs only takes capacity away, so a shape that found no room finds none later in this
        # decision: remembering it (r.no_room) saves placing thousands of waiting jobs one by one, and a walk
        # of a ShapeQueue passes over the rest of that shape without looking at them.
        if not r.cluster.free_milli and not r.spot_milli:
            return  # every GPU busy and none to take back: nothing can start (jobs need GPUs)
        walk = None
        if isinstance(waiting, ShapeQueue):
            # A greedy walk passes over shapes larger than the GPUs free (and spot work to take back) at once;
            # a strict one must meet its head, which blocks the rest even when it cannot fit.
            room = None if self.ordering.strict else r.cluster.free_milli + r.spot_milli
            walk = waiting.walk(r.now, r.usage, room)
        for index, s in enumerate(walk or waiting):
            if s.running or s.finish is not None or not self._admitted(r, s):
                continue
            allocation = self._place(r, s.job)
            if allocation is None and not s.spot and r.spot_milli:
                allocation = self._reclaim_from_spot(r, s, running, preempted)
                if allocation is not None:
                    r.no_room.clear()  # spot jobs gave GPUs back
            if allocation is not None:
                self._started(r, s, allocation)
            elif self.ordering.strict:
                if self.ordering.backfill:
                    rest = walk if walk is not None else waiting[index + 1 :]  # type: ignore[index]
                    self._backfill(r, s, rest, running, walk)
                return
            elif walk is not None:
                self._pass_shape(r, s, walk)

    @staticmethod
    def _pass_shape(r: _Round[C], s: JobState, walk: Walk) -> None:
        """After `s` found no room: pass over the rest of its shape, unless running spot work may still be taken
        back in this decision (that makes room again, and clears `no_room`)."""
        if not r.spot_milli:
            walk.skip(s.job.resources)

    def _place(self, r: _Round[C], job: Job) -> Allocation | None:
        if job.resources in r.no_room:
            return None
        allocation = self.placement(r.cluster, job, self.rng)
        if allocation is None:
            r.no_room.add(job.resources)
        return allocation

    def _reclaim_from_spot(
        self, r: _Round[C], s: JobState, running: Iterable[JobState], preempted: set[int]
    ) -> Allocation | None:
        """Preempt running spot jobs, newest first, until `s` fits; undo if it still would not."""
        spot = sorted(
            (v for v in running if v.spot and id(v) not in preempted), key=lambda v: (-(v.started or 0), v.job.id)
        )
        if sum(v.job.milli for v in spot) + r.cluster.free_milli < s.job.milli:
            return None
        taken: list[JobState] = []
        for victim in spot:
            assert victim.allocation is not None
            r.cluster.release(victim.allocation)
            taken.append(victim)
            allocation = self.placement(r.cluster, s.job, self.rng)
            if allocation is not None:
                for v in taken:
                    preempted.add(id(v))
                    r.usage[v.job.tenant] -= v.job.milli
                    r.spot_milli -= v.job.milli
                    r.decisions.preempt.append(v)
                return allocation
        for victim in taken:  # not enough even with every spot job gone: put them back
            assert victim.allocation is not None
            r.cluster.take(victim.allocation)
        return None

    def _backfill(
        self,
        r: _Round[C],
        head: JobState,
        rest: Iterable[JobState],
        running: Iterable[JobState],
        walk: Walk | None = None,
    ) -> None:
        """EASY: reserve the earliest time the head can start (from running jobs' estimated ends), then start
        later jobs that fit now and either end before it or use only GPUs the head will not need. `rest` is
        `walk` when the queue is a ShapeQueue: a shape that finds no room is passed over (no spot work is
        taken back here, so no room stays no room)."""
        now = r.now

        def estimate(s: JobState) -> int:
            told = s.job.estimate if s.job.estimate is not None else s.job.duration
            return max(1, told - (s.job.duration - s.remaining_at(now)))

        preempted = {id(p) for p in r.decisions.preempt}
        active = [v for v in running if v.running and id(v) not in preempted] + [v for v, _ in r.decisions.start]
        ends = sorted((now + estimate(v), v.job.milli) for v in active)
        free, shadow = r.cluster.free_milli, None
        for end, milli in ends:
            free += milli
            if free >= head.job.milli:
                shadow = end
                break
        extra = free - head.job.milli if shadow is not None else 0
        for s in rest:
            if s.running or s.finish is not None or not self._admitted(r, s):
                continue
            ends_in_time = shadow is None or now + estimate(s) <= shadow
            if not ends_in_time and s.job.milli > extra:
                continue
            allocation = self._place(r, s.job)
            if allocation is None:
                if walk is not None:
                    walk.skip(s.job.resources)
                continue
            self._started(r, s, allocation)
            if not ends_in_time:
                extra -= s.job.milli


def _running_as(group: tuple[JobState, ...]) -> bool:
    """The group runs now exactly as planned: together on one allocation, none of them gone."""
    first = group[0]
    if first.allocation is None:
        return False
    together = first.group or (first,)
    return len(together) == len(group) and {id(s) for s in together} == {id(s) for s in group} and first.group_intact


@dataclass(slots=True)
class _Entitled:
    """Non-spot work against reservations in one decision: each tenant's use of its holds, and the work
    beyond holds (on-demand, overage), which must fit in the capacity nobody holds."""

    held: dict[str, int]  # milli-GPUs
    own: dict[str, int]
    unheld: int
    excess: int = 0

    @classmethod
    def of(cls, entitlements: Mapping[str, int], total_milli: int, running: Iterable[JobState]) -> _Entitled:
        held = {t: gpus * MILLI for t, gpus in entitlements.items()}
        made = cls(held, defaultdict(int), max(0, total_milli - sum(held.values())))
        for r in running:
            if not r.spot:
                made.add(r.job)
        return made

    def _beyond(self, tenant: str, milli: int) -> int:
        return max(0, milli - self.held.get(tenant, 0))

    def _extra(self, job: Job) -> int:
        own = self.own[job.tenant]
        return self._beyond(job.tenant, own + job.milli) - self._beyond(job.tenant, own)

    def admits(self, job: Job) -> bool:
        return self.excess + self._extra(job) <= self.unheld

    def add(self, job: Job) -> None:
        self.excess += self._extra(job)
        self.own[job.tenant] += job.milli
