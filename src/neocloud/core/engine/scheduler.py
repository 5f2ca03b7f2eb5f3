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

import random
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from neocloud.core.engine.cluster import Allocation, Capacity
from neocloud.core.engine.ordering import Ordering
from neocloud.core.engine.placement import Placement
from neocloud.core.engine.state import JobState
from neocloud.core.workload import MILLI, Job


@dataclass(slots=True)
class Decisions:
    preempt: list[JobState] = field(default_factory=list)
    start: list[tuple[JobState, Allocation]] = field(default_factory=list)


C = TypeVar("C", bound=Capacity)


@dataclass(slots=True)
class Scheduler(Generic[C]):
    """Ordering and placement policies for clusters of type C (placements are written for one kind)."""

    ordering: Ordering
    placement: Placement[C]
    rng: random.Random
    quotas: Mapping[str, int] = field(default_factory=dict)  # tenant -> max GPUs at once; absent = no cap
    # tenant -> GPUs its reservations hold now. When given, capacity nobody holds is all that on-demand work
    # and work beyond a tenant's holds (overage) may use; held capacity left idle goes to spot work only.
    entitlements: Mapping[str, int] = field(default_factory=dict)
    _spot_milli: int = 0
    _entitled: _Entitled | None = None

    def rank(self, states: Iterable[JobState], now: int, usage: Mapping[str, int]) -> list[JobState]:
        return sorted(states, key=lambda s: self.sort_key(s, now, usage))

    def sort_key(self, s: JobState, now: int, usage: Mapping[str, int]) -> tuple[object, ...]:
        return (s.spot, *self.ordering.key(s, now, usage), s.job.id)

    def decide(
        self,
        now: int,
        cluster: C,
        waiting: list[JobState],
        running: Iterable[JobState],
        usage: dict[str, int],
        spot_milli: int = 0,
    ) -> Decisions:
        """Decide at `now`. `waiting` must be in `sort_key` order for static orderings (others are ranked
        here); `usage` (milli-GPUs running per tenant) is the caller's and is updated with the decisions; jobs in
        `waiting` that are already running or finished are skipped, so callers may remove them lazily."""
        decisions = Decisions()
        self._spot_milli = spot_milli
        waiting = [s for s in waiting if not s.running and s.finish is None] if not self.ordering.static else waiting
        if self.ordering.preemptive:
            waiting = self._preempt_for_rank(now, cluster, waiting, running, usage, decisions)
        elif not self.ordering.static:
            waiting = self.rank(waiting, now, usage)
        if self.entitlements:
            preempted = {id(p) for p in decisions.preempt}
            self._entitled = _Entitled.of(
                self.entitlements, cluster.total_milli, (r for r in running if id(r) not in preempted)
            )
        self._start(now, cluster, waiting, running, usage, decisions)
        return decisions

    def _admitted(self, s: JobState, usage: Mapping[str, int]) -> bool:
        """Within the tenant's quota and, when entitlements are given, within its holds or the capacity
        nobody holds."""
        cap = self.quotas.get(s.job.tenant)
        if cap is not None and usage.get(s.job.tenant, 0) + s.job.milli > cap * MILLI:
            return False
        return s.spot or self._entitled is None or self._entitled.admits(s.job)

    def _started(
        self, cluster: C, s: JobState, allocation: Allocation, usage: dict[str, int], decisions: Decisions
    ) -> None:
        cluster.take(allocation)
        usage[s.job.tenant] += s.job.milli
        decisions.start.append((s, allocation))
        if self._entitled is not None and not s.spot:
            self._entitled.add(s.job)

    def _preempt_for_rank(
        self,
        now: int,
        cluster: C,
        waiting: list[JobState],
        running: Iterable[JobState],
        usage: dict[str, int],
        decisions: Decisions,
    ) -> list[JobState]:
        """Pick the jobs that deserve GPUs now; stop running jobs that do not. Returns the waiting ones
        that should start, in rank order."""
        running = list(running)
        if (
            not self.quotas
            and sum(s.job.milli for s in running) + sum(s.job.milli for s in waiting) <= cluster.total_milli
        ):
            return self.rank(waiting, now, usage)  # everyone fits: no one to preempt, rank only the waiting
        ranked = self.rank([*running, *waiting], now, usage)
        budget = cluster.total_milli
        granted: dict[str, int] = defaultdict(int)
        deserving: set[int] = set()
        for s in ranked:
            if s.running and not s.job.preemptible:
                budget -= s.job.milli  # it keeps its GPUs whatever its rank
                granted[s.job.tenant] += s.job.milli
        for s in ranked:
            if s.running and not s.job.preemptible:
                continue
            cap = self.quotas.get(s.job.tenant)
            if s.job.milli <= budget and (cap is None or granted[s.job.tenant] + s.job.milli <= cap * MILLI):
                budget -= s.job.milli
                granted[s.job.tenant] += s.job.milli
                deserving.add(id(s))
        for s in running:
            if id(s) not in deserving and s.job.preemptible:
                assert s.allocation is not None
                cluster.release(s.allocation)
                usage[s.job.tenant] -= s.job.milli
                decisions.preempt.append(s)
        return [s for s in ranked if not s.running and id(s) in deserving]

    def _start(
        self,
        now: int,
        cluster: C,
        waiting: list[JobState],
        running: Iterable[JobState],
        usage: dict[str, int],
        decisions: Decisions,
    ) -> None:
        preempted = {id(s) for s in decisions.preempt}
        # Starting jobs only takes capacity away, so a shape that found no room finds none later in this
        # decision: remembering it saves placing thousands of waiting jobs one by one.
        no_room: set[tuple[object, ...]] = set()
        for index, s in enumerate(waiting):
            if s.running or s.finish is not None or not self._admitted(s, usage):
                continue
            allocation = self._place(cluster, s.job, no_room)
            if allocation is None and not s.spot and self._spot_milli:
                allocation = self._reclaim_from_spot(cluster, s, running, preempted, usage, decisions)
                if allocation is not None:
                    no_room.clear()  # spot jobs gave GPUs back
            if allocation is not None:
                self._started(cluster, s, allocation, usage, decisions)
            elif self.ordering.strict:
                if self.ordering.backfill:
                    self._backfill(now, cluster, s, waiting[index + 1 :], running, usage, decisions, no_room)
                return

    def _place(self, cluster: C, job: Job, no_room: set[tuple[object, ...]]) -> Allocation | None:
        if job.resources in no_room:
            return None
        allocation = self.placement(cluster, job, self.rng)
        if allocation is None:
            no_room.add(job.resources)
        return allocation

    def _reclaim_from_spot(
        self,
        cluster: C,
        s: JobState,
        running: Iterable[JobState],
        preempted: set[int],
        usage: dict[str, int],
        decisions: Decisions,
    ) -> Allocation | None:
        """Preempt running spot jobs, newest first, until `s` fits; undo if it still would not."""
        spot = sorted(
            (r for r in running if r.spot and id(r) not in preempted), key=lambda r: (-(r.started or 0), r.job.id)
        )
        if sum(r.job.milli for r in spot) + cluster.free_milli < s.job.milli:
            return None
        taken: list[JobState] = []
        for victim in spot:
            assert victim.allocation is not None
            cluster.release(victim.allocation)
            taken.append(victim)
            allocation = self.placement(cluster, s.job, self.rng)
            if allocation is not None:
                for v in taken:
                    preempted.add(id(v))
                    usage[v.job.tenant] -= v.job.milli
                    self._spot_milli -= v.job.milli
                    decisions.preempt.append(v)
                return allocation
        for victim in taken:  # not enough even with every spot job gone: put them back
            assert victim.allocation is not None
            cluster.take(victim.allocation)
        return None

    def _backfill(
        self,
        now: int,
        cluster: C,
        head: JobState,
        rest: list[JobState],
        running: Iterable[JobState],
        usage: dict[str, int],
        decisions: Decisions,
        no_room: set[tuple[object, ...]],
    ) -> None:
        """EASY: reserve the earliest time the head can start (from running jobs' estimated ends), then start
        later jobs that fit now and either end before it or use only GPUs the head will not need."""

        def estimate(s: JobState) -> int:
            told = s.job.estimate if s.job.estimate is not None else s.job.duration
            return max(1, told - (s.job.duration - s.remaining_at(now)))

        preempted = {id(r) for r in decisions.preempt}
        active = [r for r in running if r.running and id(r) not in preempted] + [r for r, _ in decisions.start]
        ends = sorted((now + estimate(r), r.job.milli) for r in active)
        free, shadow = cluster.free_milli, None
        for end, milli in ends:
            free += milli
            if free >= head.job.milli:
                shadow = end
                break
        extra = free - head.job.milli if shadow is not None else 0
        for s in rest:
            if s.running or s.finish is not None or not self._admitted(s, usage):
                continue
            ends_in_time = shadow is None or now + estimate(s) <= shadow
            if not ends_in_time and s.job.milli > extra:
                continue
            allocation = self._place(cluster, s.job, no_room)
            if allocation is None:
                continue
            self._started(cluster, s, allocation, usage, decisions)
            if not ends_in_time:
                extra -= s.job.milli


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
