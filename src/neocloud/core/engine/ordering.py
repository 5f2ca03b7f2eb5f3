"""Ordering policies: which waiting (and, for preemptive ones, running) jobs deserve GPUs first.

Each policy is a sort key over job states at a time `now`, lowest first, ending in a unique tie-break
(submit time, then job id), plus how the engine applies it:

- preemptive: running jobs are re-ranked with waiting ones at every decision, and lose their GPUs to
  better-ranked jobs (SRTF, SRSF, Tiresias);
- strict: a job that cannot start blocks the ones behind it (FIFO), unless the policy backfills (EASY);
- otherwise greedy: every job that fits starts, in order (SJF, fair share, greedy FIFO).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from neocloud.core.engine.state import JobState

SortKey = tuple[float, ...]
KeyFn = Callable[[JobState, int, Mapping[str, int]], SortKey]


@dataclass(frozen=True, slots=True)
class Ordering:
    name: str
    key: KeyFn  # (job, now, GPUs in use per tenant) -> sort key
    preemptive: bool = False
    strict: bool = False
    backfill: bool = False
    static: bool = True  # the key never changes while a job waits: queues can stay sorted
    doc: str = ""


def fifo_key(s: JobState, now: int, usage: Mapping[str, int]) -> SortKey:
    return (s.job.submit,)


def sjf_key(s: JobState, now: int, usage: Mapping[str, int]) -> SortKey:
    return (s.job.estimate if s.job.estimate is not None else s.job.duration, s.job.submit)


def srtf_key(s: JobState, now: int, usage: Mapping[str, int]) -> SortKey:
    return (s.remaining_at(now), s.job.submit)


def srsf_key(s: JobState, now: int, usage: Mapping[str, int]) -> SortKey:
    return (s.remaining_at(now) * s.job.gpus, s.job.submit)


TIRESIAS_THRESHOLDS = (3250,)  # GPU-seconds: 2 queues, as the Muri and Tiresias evaluations configure it


def tiresias_queue(attained: int, thresholds: tuple[int, ...] = TIRESIAS_THRESHOLDS) -> int:
    return sum(1 for t in thresholds if attained >= t)


def tiresias_key(s: JobState, now: int, usage: Mapping[str, int]) -> SortKey:
    """Discretized 2D-LAS: the queue of the job's attained GPU-service, then FIFO within a queue."""
    return (tiresias_queue(s.attained_at(now)), s.job.submit)


def fair_share_key(s: JobState, now: int, usage: Mapping[str, int]) -> SortKey:
    """DRF over one resource (GPUs): the tenant using the least goes first."""
    return (usage.get(s.job.tenant, 0), s.job.submit)


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
        Ordering("srtf", srtf_key, preemptive=True, static=False, doc="shortest remaining time first"),
        Ordering("srsf", srsf_key, preemptive=True, static=False, doc="shortest remaining service (time x GPUs)"),
        Ordering(
            "tiresias",
            tiresias_key,
            preemptive=True,
            static=False,
            doc="discretized 2D-LAS on attained GPU-seconds; needs no durations",
        ),
        Ordering("fair", fair_share_key, static=False, doc="fair share across tenants (DRF on GPUs)"),
        Ordering("easy", fifo_key, strict=True, backfill=True, doc="FIFO with EASY backfilling on estimates"),
    )
}
"""Every ordering policy by name."""
