"""Possible futures of a scenario, month by month: internal demand and the market price of GPU-hours.

A path holds, per month of the horizon, a demand factor (internal work asked for, over the steady demand of
the single-future run) and a market index (what a GPU-hour of the fleet rents for, over today's catalog
prices). Both are 1 in every month of a path with no growth, cycle, shock, drift or volatility, so such a
path is the single future exactly.

- Demand: exp(growth x years) x (1 + amplitude x sin(2 pi month / cycle)) x permanent shocks (Poisson
  arrivals, each moving demand by a uniform share in [-size, +size]) x exp(deviation).
- Market, per GPU model: exp(log(1 - decline) x years + deviation), one deviation shared by every model (the
  market moves together) and a decline of its own (new generations push older ones down); the fleet's index
  weighs each model by what its GPUs rent for.

Each deviation is a mean-reverting AR(1) process starting at 0 (today is known): x' = phi x + e with
phi = 0.5 ** (1 / half-life in months) and e ~ N(0, sd^2 (1 - phi^2)), so `sd` is its long-run spread.
`fit_price_trend` calibrates the market's decline and spread on a dated price history.
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from neocloud.core.errors import InvalidInput


@dataclass(frozen=True, slots=True)
class Deviation:
    """A mean-reverting deviation in log terms: its long-run standard deviation and half-life in months."""

    sd: float = 0.0
    half_life_months: float = 6.0

    def __post_init__(self) -> None:
        if not 0 <= self.sd <= 10:  # in log terms: 10 is a factor of e^10 either way
            raise InvalidInput(f"a deviation's sd must be in [0, 10], got {self.sd}")
        if not (math.isfinite(self.half_life_months) and self.half_life_months > 0):
            raise InvalidInput(f"a half-life must be positive, got {self.half_life_months} months")

    def walk(self, months: int, rng: random.Random) -> list[float]:
        phi = 0.5 ** (1 / self.half_life_months)
        step = self.sd * math.sqrt(1 - phi * phi)
        x, out = 0.0, []
        for _ in range(months):
            out.append(x)
            x = phi * x + (rng.gauss(0.0, step) if step else 0.0)
        return out


@dataclass(frozen=True, slots=True)
class DemandModel:
    growth_per_year: float = 0.0  # e.g. 0.2: demand grows 20 % a year in the mean
    cycle_amplitude: float = 0.0  # share of demand a cycle adds at its peak (and takes at its trough)
    cycle_months: float = 12.0
    shocks_per_year: float = 0.0
    shock_size: float = 0.0  # each shock moves demand by a uniform share in [-size, +size], for good
    deviation: Deviation = field(default_factory=Deviation)

    def __post_init__(self) -> None:
        _finite(self, "growth_per_year", "cycle_amplitude", "cycle_months", "shocks_per_year", "shock_size")
        if not -1 < self.growth_per_year <= 10:
            raise InvalidInput(f"demand growth must be in (-1, 10] a year, got {self.growth_per_year}")
        if not 0 <= self.cycle_amplitude < 1:
            raise InvalidInput(f"a demand cycle's amplitude must be in [0, 1), got {self.cycle_amplitude}")
        if self.cycle_months <= 0 or self.shocks_per_year < 0 or not 0 <= self.shock_size < 1:
            raise InvalidInput("cycle_months must be > 0, shocks_per_year >= 0 and shock_size in [0, 1)")

    def path(self, months: int, rng: random.Random) -> list[float]:
        deviation = self.deviation.walk(months, rng)
        level, out = 1.0, []
        for t in range(months):
            if t and self.shocks_per_year and rng.random() < 1 - math.exp(-self.shocks_per_year / 12):
                level *= 1 + rng.uniform(-self.shock_size, self.shock_size)
            trend = math.exp(math.log1p(self.growth_per_year) * t / 12)
            cycle = 1 + self.cycle_amplitude * math.sin(2 * math.pi * t / self.cycle_months)
            out.append(trend * cycle * level * math.exp(deviation[t]))
        return out


@dataclass(frozen=True, slots=True)
class MarketModel:
    """Market prices of the fleet's GPU models. `weights`: what each model's GPUs rent for at today's prices
    (GPUs x price), for the fleet's index; `decline_per_year`: each model's trend (a model missing has none)."""

    weights: Mapping[str, float]
    decline_per_year: Mapping[str, float] = field(default_factory=dict)
    deviation: Deviation = field(default_factory=Deviation)

    def __post_init__(self) -> None:
        if not self.weights or any(not (math.isfinite(w) and w > 0) for w in self.weights.values()):
            raise InvalidInput("the market needs a positive weight for each GPU model")
        for model, d in self.decline_per_year.items():
            if not (math.isfinite(d) and -1 < d < 1):
                raise InvalidInput(f"{model}: a price decline must be in (-1, 1) a year, got {d}")

    def path(self, months: int, rng: random.Random) -> list[float]:
        deviation = self.deviation.walk(months, rng)
        total = sum(self.weights.values())
        out = []
        for t in range(months):
            priced = sum(
                w * math.exp(math.log1p(-self.decline_per_year.get(m, 0.0)) * t / 12 + deviation[t])
                for m, w in self.weights.items()
            )
            out.append(priced / total)
        return out


@dataclass(frozen=True, slots=True)
class Path:
    demand: tuple[float, ...]  # per month: internal demand over the steady demand
    market: tuple[float, ...]  # per month: the fleet's market price over today's


def paths(count: int, months: int, demand: DemandModel, market: MarketModel, seed: int) -> list[Path]:
    """`count` paths of `months` months; the same seed gives the same paths, and path i does not depend on
    how many are drawn (each has its own generator)."""
    if not 1 <= count <= 1_000_000:
        raise InvalidInput(f"paths must be between 1 and 1,000,000, got {count}")
    out = []
    for i in range(count):
        rng = random.Random(f"{seed}:{i}")
        out.append(Path(tuple(demand.path(months, rng)), tuple(market.path(months, rng))))
    return out


@dataclass(frozen=True, slots=True)
class PricePoint:
    years: float  # e.g. 2024.08 for late January 2024
    usd_per_gpu_hour: float
    series: str  # points of one series are comparable (one tier or contract kind); series differ by a level


def fit_price_trend(history: Sequence[PricePoint]) -> tuple[float, float]:
    """(decline per year, long-run sd of the log deviation) of a price history: a least-squares line through
    log prices with one level per series and a common slope; the sd is that of the residuals (one degree of
    freedom lost per level and the slope)."""
    by_series: dict[str, list[PricePoint]] = defaultdict(list)
    for p in history:
        if not (p.usd_per_gpu_hour > 0 and math.isfinite(p.usd_per_gpu_hour) and math.isfinite(p.years)):
            raise InvalidInput(f"a price history needs positive, finite prices, got {p}")
        by_series[p.series].append(p)
    points = [(p.years, math.log(p.usd_per_gpu_hour), s) for s, ps in by_series.items() for p in ps]
    freedom = len(points) - len(by_series) - 1
    if freedom < 1:
        raise InvalidInput("a price history needs more points than series plus one to fit a trend")
    means = {
        s: (sum(p.years for p in ps) / len(ps), sum(math.log(p.usd_per_gpu_hour) for p in ps) / len(ps))
        for s, ps in by_series.items()
    }
    sxy = sum((t - means[s][0]) * (y - means[s][1]) for t, y, s in points)
    sxx = sum((t - means[s][0]) ** 2 for t, _, s in points)
    if sxx == 0:
        raise InvalidInput("a price history needs points at different dates")
    slope = sxy / sxx
    residuals = [y - means[s][1] - slope * (t - means[s][0]) for t, y, s in points]
    return -math.expm1(slope), math.sqrt(sum(r * r for r in residuals) / freedom)


def _finite(obj: object, *names: str) -> None:
    for name in names:
        if not math.isfinite(getattr(obj, name)):
            raise InvalidInput(f"{name} must be a finite number, got {getattr(obj, name)}")
