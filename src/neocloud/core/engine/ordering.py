"""Ordering policies: which waiting (and, for preemptive ones, running) jobs deserve GPUs first.

Each policy is a sort key over job states at a time `now`, lowest first, ending in a unique tie-break
(submit time, then job id), plus how the engine applies it:

- preemptive: running jobs are re-ranked with waiting ones at every decision, and lose their GPUs to
  better-ranked jobs (SRTF, SRSF, Tiresias);
- strict: a job that cannot start blocks the ones behind it (FIFO), unless the policy backfills (EASY);
- otherwise greedy: every job that fits starts, in order (SJF, fair share, greedy FIFO);
- interleaving: the jobs are planned at each decision into groups that share GPUs (Muri; see
  interleave.py); a waiting job's key stands still, so they wait in a queue as static orderings' do.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from neocloud.core.engine.running import RunningOrder, by_remaining
from neocloud.core.engine.state import JobState
from neocloud.core.engine.tiresias import PUBLISHED, Lines, Tiresias
from neocloud.core.engine.waiting import ShapeQueue

SortKey = tuple[float, ...]
KeyFn = Callable[[JobState, int, Mapping[str, int]], SortKey]
# (jobs a decision leaves waiting, in rank order, or starts; now) -> those that move, each with its lane and
# promotion; see tiresias.py
RequeueFn = Callable[[list[JobState], int], list[tuple[JobState, tuple[int, ...], tuple[int, int] | None]]]
WakeFn = Callable[[JobState, int], int | None]  # (job, now) -> when its key next changes by itself, if ever


@dataclass(frozen=True, slots=True)
class Ordering:
    name: str
    key: KeyFn  # (job, now, GPUs in use per tenant) -> sort key
    preemptive: bool = False
    strict: bool = False
    backfill: bool = False
    static: bool = True  # a waiting job's key never changes (a running one's may): queues can stay sorted
    doc: str = ""
    requeued: RequeueFn | None = None  # jobs that wait on after a decision move in line (Tiresias)
    promoted: RequeueFn | None = None  # jobs a decision starts that move up as they start (Tiresias)
    wake: WakeFn | None = None  # decide again when a job's key changes between events (Tiresias)
    interleave: bool = False  # groups jobs of one shape onto the same GPUs (Muri; core/engine/interleave.py)
    # A dynamic ordering whose waiting jobs stand in lines they never reorder within (fair share, Tiresias): the
    # structure a simulator keeps them in between decisions (core/engine/waiting.py); None: ranked afresh
    lines: Callable[[], ShapeQueue | Lines] | None = None
    # A preemptive ordering whose running jobs keep their order between decisions (SRTF, SRSF, Tiresias): how the
    # simulator keeps them in rank order (core/engine/running.py); None: ranked afresh
    running: RunningOrder | None = None


def fifo_key(s: JobState, now: int, usage: Mapping[str, int]) -> SortKey:
    return (s.job.submit,)


def sjf_key(s: JobState, now: int, usage: Mapping[str, int]) -> SortKey:
    return (s.job.estimate if s.job.estimate is not None else s.job.duration, s.job.submit)


def srtf_key(s: JobState, now: int, usage: Mapping[str, int]) -> SortKey:
    return (s.remaining_at(now), s.job.submit)


def srsf_key(s: JobState, now: int, usage: Mapping[str, int]) -> SortKey:
    return (s.remaining_at(now) * s.job.gpus, s.job.submit)


def least_attained_key(s: JobState, now: int, usage: Mapping[str, int]) -> SortKey:
    return (s.attained_at(now), s.job.submit)


def fair_share_key(s: JobState, now: int, usage: Mapping[str, int]) -> SortKey:
    """DRF over one resource (GPUs): the tenant using the least goes first."""
    return (usage.get(s.job.tenant, 0), s.job.submit)


def tenant_lines() -> ShapeQueue:
    """Fair share's waiting jobs: a line per tenant (and class), by arrival; a line ranks by the GPUs its tenant
    uses when a decision begins, as `fair_share_key` does."""
    return ShapeQueue(
        lambda s, now, usage: (s.spot, s.job.tenant, s.job.submit, s.job.id),
        2,
        lambda line, now, usage: (line[0], usage.get(line[1], 0)),  # type: ignore[call-overload]
    )


def tiresias_ordering(policy: Tiresias) -> Ordering:
    return Ordering(
        "tiresias",
        policy.key,
        preemptive=True,
        static=False,
        doc="discretized 2D-LAS on attained GPU-seconds (3 queues at 3,250 and 7,200), in line within a queue; "
        "needs no durations",
        requeued=policy.requeued,
        promoted=policy.started,
        wake=policy.wake,
        lines=lambda: Lines(policy),
        running=RunningOrder(lambda s, now: (s.spot, *policy.lane(s, now), s.job.id)),
    )


ORDERINGS: dict[str, Ordering] = {
    o.name: o
    for o in (
        Ordering("fifo", fifo_key, strict=True, doc="first come, first served; the head blocks the queue"),
        Ordering(
            "fifo-greedy",
            fifo_key,
            doc="first come, first served, skipping jobs that do not fit (the Alibaba PAI 2020 simulator's FIFO)",
        ),
        Ordering("sjf", sjf_key, doc="shortest job first by (oracle or estimated) duration; non-preemptive"),
        Ordering(
            "srtf", srtf_key, preemptive=True, running=by_remaining(lambda job: 1), doc="shortest remaining time first"
        ),
        Ordering(
            "srsf",
            srsf_key,
            preemptive=True,
            running=by_remaining(lambda job: job.gpus),
            doc="shortest remaining service (time x GPUs)",
        ),
        tiresias_ordering(PUBLISHED),
        Ordering(
            "muri-s",
            srsf_key,
            preemptive=True,
            interleave=True,
            doc="Muri-S: shortest remaining service first, interleaving jobs whose bottlenecks differ on shared GPUs",
        ),
        Ordering(
            "muri-l",
            least_attained_key,
            preemptive=True,
            interleave=True,
            doc="Muri-L: least attained GPU-seconds first (needs no durations), interleaving on shared GPUs",
        ),
        Ordering(
            "fair", fair_share_key, static=False, lines=tenant_lines, doc="fair share across tenants (DRF on GPUs)"
        ),
        Ordering("easy", fifo_key, strict=True, backfill=True, doc="FIFO with EASY backfilling on estimates"),
    )
}
"""Every ordering policy by name."""
