"""Demand for a scenario: one window of internal work sized to a slice of the site, and the spot buyers who
take the kept GPUs' idle hours.

A site of 220,000 GPUs is not simulated GPU by GPU: the scenario simulates a slice that carries the
internal demand at the site's load and scales what the slice did to the site. A trace keeps its jobs and
their timing; the slice is the number of GPUs on which the trace offers the load asked for. A synthetic
demand is generated for a slice of a given size, with gang sizes as shares of it, so it scales the same way.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, replace

from neocloud.core.errors import InvalidInput
from neocloud.core.workload import Job, PriorityClass

HOUR, DAY, WEEK = 3600, 86_400, 7 * 86_400
INTERNAL, SPOT = "internal", "spot"


@dataclass(frozen=True, slots=True)
class InternalDemand:
    """Internal jobs submitted over [0, window) seconds, and the slice (GPUs) that carries them at the
    demand the scenario asks for."""

    jobs: tuple[Job, ...]
    window: int
    slice_gpus: float

    def __post_init__(self) -> None:
        if self.window <= 0 or self.slice_gpus <= 0:
            raise InvalidInput("internal demand needs a positive window and slice")

    @property
    def largest_gang(self) -> int:
        return max((j.gpus for j in self.jobs), default=0)

    @property
    def offered_gpu_seconds(self) -> int:
        return sum(j.gpus * j.duration for j in self.jobs)

    @property
    def load(self) -> float:
        """The share of the slice's GPU-time the jobs ask for."""
        return self.offered_gpu_seconds / (self.window * self.slice_gpus)


def from_trace(jobs: Sequence[Job], load: float, copies: int = 1, seed: int = 0) -> InternalDemand:
    """A trace as internal demand: its jobs keep their sizes, durations, estimates and timing (moved to start
    at 0, under one tenant); the slice is what makes them offer `load` of its GPU-hours over the trace's span.
    `copies` > 1 lays that many copies of the trace over the window, each turned by a random offset (wrapping
    at the window's end), for a slice that many times larger: more jobs to share the GPUs, less queueing
    from the slice being small, and as many times the simulation's work."""
    if not jobs:
        raise InvalidInput("the demand trace has no jobs")
    if load <= 0:
        raise InvalidInput(f"the internal load must be positive, got {load}")
    if copies < 1:
        raise InvalidInput(f"copies must be at least 1, got {copies}")
    origin = min(j.submit for j in jobs)
    window = max(j.submit for j in jobs) - origin + 1
    rng = random.Random(seed)
    offsets = [0, *(rng.randrange(window) for _ in range(copies - 1))]
    ordered = sorted(jobs, key=lambda j: (j.submit, j.id))
    copied = [
        replace(j, id=f"i{c}.{k}", submit=(j.submit - origin + offset) % window, tenant=INTERNAL)
        for c, offset in enumerate(offsets)
        for k, j in enumerate(ordered)
    ]
    moved = tuple(sorted(copied, key=lambda j: (j.submit, j.id)))
    offered = sum(j.gpus * j.duration for j in moved)
    return InternalDemand(moved, window, offered / (window * load))


@dataclass(frozen=True, slots=True)
class Campaigns:
    """Training campaigns: large gangs that run for days to weeks."""

    per_month: float  # campaigns started per 30 days
    share: tuple[float, float]  # gang size as a share of the slice: uniform in [low, high]
    days: tuple[float, float]  # duration: uniform in [low, high]


@dataclass(frozen=True, slots=True)
class Inference:
    """Diurnal inference: GPUs busy follow a daily sine (peak at `peak_hour` UTC), lower on weekends."""

    mean_share: float  # of the slice, over a weekday
    peak_to_trough: float = 2.0
    weekend_factor: float = 0.7
    peak_hour: int = 15  # 11:00 ET, the middle of the 8-14 ET peak, in UTC
    block_hours: int = 1  # one gang per block, sized to the level at its start


def synthetic(
    slice_gpus: int, days: int, campaigns: Campaigns | None, inference: Inference | None, seed: int, node_gpus: int = 8
) -> InternalDemand:
    """Generated internal demand over `days` on a slice of `slice_gpus`, in whole nodes of `node_gpus`."""
    if slice_gpus < node_gpus or days <= 0:
        raise InvalidInput(
            f"a synthetic demand needs at least one node and one day, got {slice_gpus} GPUs, {days} days"
        )
    rng = random.Random(seed)
    window = days * DAY
    jobs: list[Job] = []
    if campaigns is not None and campaigns.per_month > 0:
        t = rng.expovariate(campaigns.per_month / (30 * DAY))
        while t < window:
            nodes = max(1, round(rng.uniform(*campaigns.share) * slice_gpus / node_gpus))
            duration = max(HOUR, round(rng.uniform(*campaigns.days) * DAY))
            jobs.append(Job(f"c{len(jobs)}", int(t), duration, node_gpus, nodes, tenant=INTERNAL))
            t += rng.expovariate(campaigns.per_month / (30 * DAY))
    if inference is not None and inference.mean_share > 0:
        jobs.extend(_inference(inference, slice_gpus, window, node_gpus))
    return InternalDemand(tuple(sorted(jobs, key=lambda j: (j.submit, j.id))), window, float(slice_gpus))


def _inference(spec: Inference, slice_gpus: int, window: int, node_gpus: int) -> list[Job]:
    # Level = mean x (1 + a cos(...)), with a chosen so that peak / trough = r: a = (r - 1) / (r + 1).
    swing = (spec.peak_to_trough - 1) / (spec.peak_to_trough + 1)
    step = spec.block_hours * HOUR
    jobs = []
    for t in range(0, window, step):
        hour = (t % DAY) / HOUR
        weekend = (t // DAY) % 7 in (5, 6)  # day 0 is a Monday
        level = spec.mean_share * (1 + swing * math.cos(2 * math.pi * (hour - spec.peak_hour) / 24))
        nodes = round(level * (spec.weekend_factor if weekend else 1) * slice_gpus / node_gpus)
        if nodes > 0:
            jobs.append(Job(f"n{t // step}", t, min(step, window - t), node_gpus, nodes, tenant=INTERNAL))
    return jobs


def spot_buyers(gpus: int, window: int, load: float, job_gpus: int, job_hours: float, seed: int) -> list[Job]:
    """Spot jobs offering `load` of `gpus` over [0, window): Poisson arrivals of `job_gpus`-GPU jobs of
    `job_hours` each. They run only on idle GPUs and are preempted when internal work needs them."""
    if load <= 0 or gpus <= 0:
        return []
    rng = random.Random(seed)
    duration = max(1, round(job_hours * HOUR))
    rate = load * gpus / (job_gpus * duration)  # arrivals per second
    jobs: list[Job] = []
    t = rng.expovariate(rate)
    while t < window:
        jobs.append(Job(f"s{len(jobs)}", int(t), duration, job_gpus, tenant=SPOT, priority=PriorityClass.SPOT))
        t += rng.expovariate(rate)
    return jobs
