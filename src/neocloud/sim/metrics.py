"""What a simulation measured: job completion and queueing times, makespan, utilization, preemptions, and
the same per tenant. Percentiles use the nearest-rank method."""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from neocloud.core.engine.state import JobState
from neocloud.core.workload import MILLI

if TYPE_CHECKING:
    from neocloud.core.engine.config import EngineConfig
    from neocloud.core.power import PowerBudget


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in [0, 100]); 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return float(ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)])


@dataclass(frozen=True, slots=True)
class PowerChange:
    """A power budget's change in a replay, and what meeting it took."""

    at: int
    budget_kw: Decimal
    gpus: int  # the most GPUs the budget feeds
    dark_gpus: int  # GPUs on nodes powered down after it
    preempted: int  # jobs stopped for it
    shortfall_gpus: int  # GPUs of work that may not be stopped, still running over the budget
    capped: int = 0  # jobs whose GPUs it capped (they run slower until the budget changes again)


@dataclass(frozen=True, slots=True)
class Stats:
    jobs: int
    avg_jct: float
    median_jct: float
    p99_jct: float
    avg_queueing: float
    p99_queueing: float
    gpu_hours: float

    @classmethod
    def of(cls, finished: Sequence[JobState]) -> Stats:
        jct = [s.finish - s.job.submit for s in finished if s.finish is not None]
        wait = [s.first_start - s.job.submit for s in finished if s.first_start is not None]
        n = len(jct)
        return cls(
            jobs=n,
            avg_jct=sum(jct) / n if n else 0.0,
            median_jct=percentile(jct, 50),
            p99_jct=percentile(jct, 99),
            avg_queueing=sum(wait) / n if n else 0.0,
            p99_queueing=percentile(wait, 99),
            gpu_hours=sum(s.job.milli * s.job.duration for s in finished) / 3600 / MILLI,
        )


@dataclass(frozen=True, slots=True)
class SimResult:
    ordering: str
    placement: str
    seed: int
    jobs: int
    finished: int
    unfinished: int  # never fit the cluster, or still waiting when nothing could free room
    overall: Stats
    makespan: int  # from the first submission to the last completion
    utilization: float  # GPU-busy time / (GPUs x makespan)
    fragmentation: float  # time-average share of free GPUs stranded on partly used nodes
    preemptions: int
    per_tenant: dict[str, Stats] = field(default_factory=dict)
    # (time, milli-GPUs busy, free milli-GPUs stranded on partly used nodes) after each change, flat: a long
    # replay changes millions of times, and three machine integers a change keep that small
    allocation_timeline: Sequence[int] = ()
    power_changes: tuple[PowerChange, ...] = ()  # under a power budget: each of its changes and what it took
    ramp_waits: int = 0  # under a ramp limit: decisions put off while started work's draw was still rising
    capped_kw: tuple[tuple[int, Decimal], ...] = ()  # under a budget that caps: (from, kW all the caps save)
    # under a fall limit: (at, kW the GPUs' floors hold after it, falling at the rate), and the kWh they burned
    floor_kw: tuple[tuple[int, Decimal], ...] = ()
    floor_kwh: Decimal = Decimal(0)

    def to_dict(self, timeline: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "ordering": self.ordering,
            "placement": self.placement,
            "seed": self.seed,
            "jobs": self.jobs,
            "finished": self.finished,
            "unfinished": self.unfinished,
            "makespan_s": self.makespan,
            "utilization": round(self.utilization, 6),
            "preemptions": self.preemptions,
            **{k: round(v, 3) if isinstance(v, float) else v for k, v in _stats(self.overall).items()},
            "per_tenant": {t: _stats(s) for t, s in sorted(self.per_tenant.items())},
        }
        if timeline:
            flat = self.allocation_timeline
            out["allocation_timeline"] = [
                [t, _gpus(busy), _gpus(stranded)]
                for t, busy, stranded in zip(flat[::3], flat[1::3], flat[2::3], strict=True)
            ]
        return out


def _gpus(milli: int) -> int | float:
    """Milli-GPUs as GPUs, whole where they are whole."""
    return milli // MILLI if milli % MILLI == 0 else milli / MILLI


def _stats(s: Stats) -> dict[str, Any]:
    return {
        k: round(getattr(s, k), 3) if isinstance(getattr(s, k), float) else getattr(s, k)
        for k in Stats.__dataclass_fields__
    }


def summarize(
    states: Sequence[JobState],
    unfinished: Sequence[JobState],
    timeline: Sequence[int],
    total_milli: int,
    config: EngineConfig,
) -> SimResult:
    finished = [s for s in states if s.finish is not None]
    start = min((s.job.submit for s in states), default=0)
    end = max((s.finish for s in finished if s.finish is not None), default=start)
    busy = free = stranded = 0
    spans = itertools.pairwise(timeline[::3])  # one fewer than the changes: the last one lasts no time here
    for (t1, t2), used, strand in zip(spans, timeline[1::3], timeline[2::3], strict=False):
        busy += (t2 - t1) * used
        free += (t2 - t1) * (total_milli - used)
        stranded += (t2 - t1) * strand
    makespan = end - start
    tenants: dict[str, list[JobState]] = defaultdict(list)
    for s in finished:
        tenants[s.job.tenant].append(s)
    return SimResult(
        ordering=config.ordering,
        placement=config.placement,
        seed=config.seed,
        jobs=len(states),
        finished=len(finished),
        unfinished=len(unfinished),
        overall=Stats.of(finished),
        makespan=makespan,
        utilization=busy / (total_milli * makespan) if makespan else 0.0,
        fragmentation=stranded / free if free else 0.0,
        preemptions=sum(s.preemptions for s in states),
        per_tenant={t: Stats.of(group) for t, group in tenants.items()},
        allocation_timeline=timeline,
    )


def power_over(result: SimResult, budget: PowerBudget) -> tuple[Decimal, list[int]]:
    """From a replay's timeline: the most its running GPUs drew (facility kW, less what caps saved, with what
    the GPUs' floors held) and every instant their draw exceeded the budget in force then (none, if the engine
    kept it). Checked where the GPUs running, the caps, the floors or the budget change: between those the
    floors only fall."""
    flat = result.allocation_timeline
    busy_at = dict(zip(flat[::3], flat[1::3], strict=True))
    saved_at, floor_at = dict(result.capped_kw), dict(result.floor_kw)
    peak, over, busy, saved, floor = Decimal(0), [], 0, Decimal(0), (0, Decimal(0))
    for t in sorted({*busy_at, *saved_at, *floor_at, *(start for start, _ in budget.steps)}):
        busy, saved = busy_at.get(t, busy), saved_at.get(t, saved)
        floor = (t, floor_at[t]) if t in floor_at else floor
        held = floor[1] - (t - floor[0]) * (budget.fall_kw_per_s or 0)
        draw = budget.kw_per_gpu * busy / MILLI - saved + max(Decimal(0), held)
        peak = max(peak, draw)
        if draw > budget.at(t):
            over.append(t)
    return peak, over
