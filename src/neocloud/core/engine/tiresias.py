"""Tiresias: discretised two-dimensional least-attained-service (2D-LAS), by its published rules.

A job's attained service is its GPUs x the time it has run (GPU-seconds). Queues are bands of attained service
(by default below 3,250, to 7,200, and above: the Tiresias and Muri simulators' `queue_limit`); a job falls to
the next queue when it crosses a threshold. Lower queues wait for higher ones. Within a queue, jobs keep a
place in line: a newcomer, a job that has just fallen into the queue, and every job still waiting after a
decision go to the back in their order, so running jobs stay ahead of the ones that wait (the Muri artifact's
`dlas-gpu`, `run_sim.py`). Optionally, against starvation, a job that has run and then waited in a lower queue
`starvation` times as long as it ran since it last entered the top queue goes back to the top queue.

A job's place is a *lane*: (queue, time, phase, index), compared as a tuple. Phases order what happens at one
instant as the published simulator does it: arrivals (0), falls and promotions (1), then the requeue after the
decision (2, index = rank among those still waiting). The engine records each waiting job's new lane after a
decision (`Decisions.requeue`); falls and promotions in between are derived from the job's progress, so
nothing else needs to be told.
"""

from __future__ import annotations

import bisect
import heapq
import itertools
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from neocloud.core.bounds import MAX_TIME
from neocloud.core.engine.state import JobState
from neocloud.core.engine.waiting import ShapeQueue
from neocloud.core.errors import InvalidInput

Lane = tuple[int, ...]  # (queue, time, phase, index)
ARRIVED, MOVED, REQUEUED = 0, 1, 2

TIRESIAS_THRESHOLDS = (3250, 7200)  # GPU-seconds; source: Muri artifact simulator/jobs.py, queue_limit (3 queues)


@dataclass(frozen=True, slots=True)
class Tiresias:
    """Its queues and starvation rule (the defaults: the published simulators' settings)."""

    thresholds: tuple[int, ...] = TIRESIAS_THRESHOLDS  # GPU-seconds, rising: len + 1 queues
    starvation: float = 0.0  # promote after waiting this many times the run since the top queue; 0 = never

    def __post_init__(self) -> None:
        rising = list(self.thresholds) == sorted(set(self.thresholds))
        if not self.thresholds or not rising or not all(0 < t <= MAX_TIME for t in self.thresholds):
            raise InvalidInput(f"Tiresias thresholds must be positive GPU-seconds, rising: {self.thresholds}")
        if not 0 <= self.starvation <= 1e6:
            raise InvalidInput(f"Tiresias starvation factor must be 0 (off) to 1e6, got {self.starvation}")

    def queue(self, served: int) -> int:
        return bisect.bisect_right(self.thresholds, served)  # thresholds passed

    def _served(self, s: JobState, now: int) -> int:
        """GPU-seconds since the job last entered the top queue."""
        return s.attained_at(now) - (s.promoted[0] if s.promoted else 0)

    @staticmethod
    def _waited(s: JobState, now: int) -> int:
        """Seconds a waiting job has waited since its first start, less what it had waited when last promoted."""
        assert s.first_start is not None
        return now - s.first_start - s.attained_at(now) // s.job.gpus - (s.promoted[1] if s.promoted else 0)

    def _promotion(self, s: JobState, now: int) -> int | None:
        """When a waiting job in a lower queue is due for promotion (maybe later than `now`); None if never."""
        if not self.starvation or s.running or s.first_start is None or s.lane is None or s.lane[0] == 0:
            return None
        return self.due(s, now)

    def due(self, s: JobState, now: int) -> int:
        """When a job that has run, waiting in a lower queue from `now` on, is due for promotion."""
        return now - self._waited(s, now) + int(self._served(s, now) // s.job.gpus * self.starvation)

    def lane(self, s: JobState, now: int) -> Lane:
        if s.allocation is None and s.lane is not None and not self.starvation:
            return s.lane  # a job in line keeps its place until the next decision
        # Never lined up yet (a newcomer; any job in the live engine, which keeps no lanes): in line by arrival.
        lane = s.lane or (0 if s.running else self.queue(self._served(s, now)), s.job.submit, ARRIVED, 0)
        if s.running:
            assert s.started is not None
            served = self._served(s, now)
            queue = self.queue(served)
            if queue == lane[0]:
                return lane
            # It fell while running: to the back of the new queue, at the instant it crossed the threshold.
            at_start = served - s.job.gpus * (now - s.started)
            crossed = s.started + max(0, -(-(self.thresholds[queue - 1] - at_start) // s.job.gpus))
            return (queue, crossed, MOVED, 0)
        due = self._promotion(s, now)
        return (0, due, MOVED, 0) if due is not None and due <= now else lane

    def key(self, s: JobState, now: int, usage: Mapping[str, int]) -> tuple[float, ...]:
        return self.lane(s, now)

    def requeued(self, waiting: list[JobState], now: int) -> list[tuple[JobState, Lane, tuple[int, int] | None]]:
        """The jobs still waiting after a decision at `now`, in rank order: each one's new lane (the back of its
        queue) and, if it is promoted now, the service it has and the waiting it has done (both count afresh
        from here). One call for them all: a deep queue requeues thousands at every decision."""
        out: list[tuple[JobState, Lane, tuple[int, int] | None]] = []
        for index, s in enumerate(waiting):
            if s.allocation is not None:  # preempted now
                out.append((s, (self.queue(self._served(s, now)), now, REQUEUED, index), s.promoted))
                continue
            promotion = self.promotion(s, now)
            if promotion is not None:
                out.append((s, (0, now, REQUEUED, index), promotion[1]))
                continue
            queue = s.lane[0] if s.lane is not None else self.queue(self._served(s, now))
            out.append((s, (queue, now, REQUEUED, index), s.promoted))
        return out

    def promotion(self, s: JobState, now: int) -> tuple[Lane, tuple[int, int]] | None:
        """A waiting job due for promotion by `now`: its lane in the top queue, and its service and waiting as
        of its promotion (both count afresh from there); None if it is not due."""
        due = self._promotion(s, now) if self.starvation else None
        if due is None or due > now:
            return None
        return (0, due, MOVED, 0), (s.attained, self._waited(s, now) + (s.promoted[1] if s.promoted else 0))

    def started(self, started: list[JobState], now: int) -> list[tuple[JobState, Lane, tuple[int, int] | None]]:
        """Jobs a decision at `now` starts that were due for promotion: promoted as they start, so they run in
        the top queue with their service counted afresh (the published simulator promotes a job whether or not
        it then starts)."""
        if not self.starvation:
            return []
        promoted = ((s, self.promotion(s, now)) for s in started)
        return [(s, *found) for s, found in promoted if found is not None]

    def wake(self, s: JobState, now: int) -> int | None:
        """When this job's lane next changes by itself: a running job's fall to the next queue, a waiting job's
        promotion. The simulator decides again then."""
        if s.running:
            served = self._served(s, now)
            queue = self.queue(served)
            return None if queue == len(self.thresholds) else now + -(-(self.thresholds[queue] - served) // s.job.gpus)
        due = self._promotion(s, now)
        # Due already (it waited long before this preemption): at the next decision, not again at this instant,
        # where jobs promoted and preempted in turn would never let the clock move.
        return due if due is not None and due > now else None


PUBLISHED = Tiresias()


def thresholds(text: str) -> tuple[int, ...]:
    """Queue thresholds as people type them: whole GPU-seconds, comma-separated (checked when a Tiresias is made)."""
    parts = [p.strip() for p in text.split(",")]
    if not all(p.isascii() and p.isdigit() and len(p) <= 15 for p in parts):
        raise InvalidInput(f"Tiresias queues are whole GPU-seconds, comma-separated, got {text[:100]!r}")
    return tuple(int(p) for p in parts)


class Lines:
    """Tiresias's waiting jobs kept in line between decisions (the simulator's; the live engine ranks afresh),
    so that a decision under a deep backlog walks only as far as GPUs last.

    After a decision every job still waiting stands at the back of its queue in rank order at that instant:
    lane (queue, then, REQUEUED, index). Waiting jobs never reorder among themselves, so instead of rewriting
    every lane at each decision, each line (class and queue) keeps its jobs' positions, and all share `then`,
    the last decision's time. A decision merges the lines with the running jobs and the newcomers (their own
    lanes), and afterwards only what it touched moves (`settle`): a job it stops, or a newcomer left waiting,
    ranks either ahead of a whole line or behind it, so it joins the front or the back. With promotion on, a
    job waiting in a lower queue is due at a time fixed while it waits: a heap of those times takes it out of
    its line when due, and it ranks by its promotion lane until the next decision lines it up in the top
    queue, promoted."""

    def __init__(self, policy: Tiresias) -> None:
        self.policy = policy
        self.then = -1  # the last decision's time: a lined job's lane is (queue, then, REQUEUED, position)
        self.lined = ShapeQueue(None, 2, self._head)  # queue_key: (spot, queue, position, job id)
        self.newcomers: list[JobState] = []  # arrived since the last decision
        self.promoted: list[tuple[tuple[object, ...], JobState]] = []  # (sort key, job) due now, out of line
        self._ends: dict[tuple[object, ...], list[int]] = {}  # per line: [lowest, highest] position given
        self._due: list[tuple[int, int, tuple[object, ...], JobState]] = []  # (due, seq, its queue key, job)
        self._seq = itertools.count()

    def _head(self, line: tuple[object, ...], now: int, usage: Mapping[str, int]) -> tuple[object, ...]:
        return (*line, self.then, REQUEUED)

    def add(self, s: JobState, now: int = 0, usage: Mapping[str, int] | None = None) -> None:
        self.newcomers.append(s)

    def promote(self, now: int) -> list[tuple[tuple[object, ...], JobState]]:
        """Take the jobs due for promotion by `now` out of their lines; each with its sort key (its promotion
        lane: (top queue, due, MOVED, 0))."""
        while self._due and self._due[0][0] <= now:
            due, _, key, s = heapq.heappop(self._due)
            if s.queue_key is key and not s.running:  # still where it waited then
                self.lined.remove(s)
                self.promoted.append(((s.spot, 0, due, MOVED, 0, s.job.id), s))
        return self.promoted

    @property
    def milli(self) -> int:
        return (
            self.lined.milli + sum([s.job.milli for s in self.newcomers]) + sum([s.job.milli for _, s in self.promoted])
        )

    def __len__(self) -> int:
        return len(self.lined) + len(self.newcomers) + len(self.promoted)

    def __iter__(self) -> Iterator[JobState]:
        return itertools.chain(self.lined, self.newcomers, (s for _, s in self.promoted))

    def settle(
        self, now: int, started: list[JobState], moved: list[tuple[tuple[object, ...], JobState]]
    ) -> list[tuple[JobState, Lane, tuple[int, int] | None]]:
        """After the decision at `now`: `started` jobs leave the lines, and `moved` ((sort key, job) in rank
        order: jobs stopped now, newcomers and promoted jobs still waiting) join theirs. Returns the lanes (and
        service since promotion) of the jobs touched: a started job keeps the lane it waited in while it runs
        (running jobs rank by lane); a job lined up now gets its lane as of now."""
        fresh = {id(s) for s in self.newcomers}
        promoted = {id(s) for _, s in self.promoted}
        lanes: list[tuple[JobState, Lane, tuple[int, int] | None]] = []
        due: list[JobState] = []  # started as they were promoted: out of line already
        for s in started:
            if id(s) in fresh:
                continue
            if id(s) in promoted:
                due.append(s)
            else:  # it runs in the lane it waited in
                _, queue, position, _ = s.queue_key
                lanes.append((s, (queue, self.then, REQUEUED, position), s.promoted))  # type: ignore[arg-type]
                self.lined.remove(s)
            s.queue_key = ()  # out of line: a due time still in the heap no longer applies
        lanes += self.policy.started(due, now)  # they run promoted
        self.newcomers, self.promoted = [], []
        front: dict[tuple[object, ...], list[JobState]] = defaultdict(list)
        back: dict[tuple[object, ...], list[JobState]] = defaultdict(list)
        for (spot, queue, time, phase, *_), s in moved:
            ((front if (time, phase) < (self.then, REQUEUED) else back)[(spot, queue)]).append(s)
        for line, jobs in front.items():
            ends = self._ends.setdefault(line, [0, -1])
            ends[0] -= len(jobs)
            lanes += self._line_up(line, jobs, ends[0], now, promoted)
        for line, jobs in back.items():
            ends = self._ends.setdefault(line, [0, -1])
            lanes += self._line_up(line, jobs, ends[1] + 1, now, promoted)
            ends[1] += len(jobs)
        self.then = now
        return lanes

    def _line_up(
        self, line: tuple[object, ...], jobs: list[JobState], first: int, now: int, promoted: set[int]
    ) -> list[tuple[JobState, Lane, tuple[int, int] | None]]:
        """Line `jobs` up from position `first`; returns their lanes as of now (the promoted among them count
        their service and waiting afresh from now)."""
        lanes: list[tuple[JobState, Lane, tuple[int, int] | None]] = []
        _, queue = line
        for position, s in enumerate(jobs, first):
            s.queue_key = (*line, position, s.job.id)
            self.lined.add(s)
            served = s.promoted
            if id(s) in promoted:
                served = (s.attained, self.policy._waited(s, now) + (s.promoted[1] if s.promoted else 0))
            lanes.append((s, (queue, now, REQUEUED, position), served))  # type: ignore[arg-type]
            if self.policy.starvation and queue and s.first_start is not None:  # (a stopped job still runs)
                heapq.heappush(self._due, (self.policy.due(s, now), next(self._seq), s.queue_key, s))
        return lanes
