"""Several sites of one owner: which to rent out and which to keep.

Internal work is one pool: each site brings work of its own (`load`, a share of its GPUs), and the sites
kept run all of it, shared among them in proportion to their GPUs. Renting a site out moves its work to the
sites kept, at a cost per GPU of work moved and with a delay during which the moved work is not served.
Sites are rented over the scenario lease's months (the scenario's own site under the lease itself, the
others as reserved blocks at their price); before and after, every site runs internal work. A site's GPUs
are bought, and cost, from the month it comes online (`online`): capex timing is a lever.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from itertools import pairwise, product

from neocloud.core.billing.periods import month
from neocloud.core.errors import InvalidInput
from neocloud.core.scenario.costs import HourlyCost
from neocloud.core.scenario.strategies import SECONDS_PER_DAY, Lease, Sale

MAX_SITES = 6  # 2^6 choices of which to rent


@dataclass(frozen=True, slots=True)
class Site:
    name: str
    gpus: int
    cost: HourlyCost  # per GPU-hour
    capex: Decimal  # paid in the month the site comes online (or the horizon's first, if it is already)
    load: float  # the internal work of its own: the share of its GPUs it asks for
    shadow_usd_per_gpu_hour: Decimal  # what a GPU-hour of internal work run there is worth
    online: str  # YYYY-MM
    rent_usd_per_gpu_hour: Decimal | None = None  # renting it out earns this; None: under the scenario's lease
    sale: Sale | None = None  # its GPUs sold at the horizon's end; None: kept

    def __post_init__(self) -> None:
        if self.gpus <= 0:
            raise InvalidInput(f"site {self.name} has no GPUs")
        if not 0 <= self.load <= 10:
            raise InvalidInput(f"site {self.name}: load must be in [0, 10], got {self.load}")

    def online_in(self, key: str) -> bool:
        return month(key).start >= month(self.online).start


@dataclass(frozen=True, slots=True)
class Move:
    """What moving internal work from a rented site to the kept ones costs: once, per GPU of work moved
    (the GPUs its site's load keeps busy), and the days the moved work waits before it runs again."""

    usd_per_gpu: Decimal = Decimal(0)
    days: int = 0

    def __post_init__(self) -> None:
        if self.usd_per_gpu < 0 or self.days < 0:
            raise InvalidInput("moving work cannot cost or take less than nothing")


@dataclass(frozen=True, slots=True)
class Portfolio:
    sites: tuple[Site, ...]  # the scenario's own site first
    move: Move = Move()

    def __post_init__(self) -> None:
        if not 1 <= len(self.sites) <= MAX_SITES:
            raise InvalidInput(f"a portfolio has 1 to {MAX_SITES} sites, got {len(self.sites)}")
        names = [s.name for s in self.sites]
        if len(set(names)) != len(names):
            raise InvalidInput(f"site names must be unique, got {names}")

    def choices(self) -> list[tuple[bool, ...]]:
        """Every choice of which sites to rent (True) and which to keep, keeping all first."""
        return list(product((False, True), repeat=len(self.sites)))

    def name(self, choice: tuple[bool, ...]) -> str:
        rented = [s.name for s, r in zip(self.sites, choice, strict=True) if r]
        kept = [s.name for s, r in zip(self.sites, choice, strict=True) if not r]
        if not rented:
            return "keep all"
        if not kept:
            return "rent all"
        return f"rent {', '.join(rented)}; keep {', '.join(kept)}"


@dataclass(frozen=True, slots=True)
class Regime:
    """A share of a month in which the sites `kept` run the internal work of the sites `working`."""

    share: Decimal
    kept: tuple[int, ...]
    working: tuple[int, ...]

    def capacity(self, sites: tuple[Site, ...]) -> int:
        return sum(sites[i].gpus for i in self.kept)

    def work(self, sites: tuple[Site, ...]) -> float:
        """GPUs of internal work asked for."""
        return sum(sites[i].load * sites[i].gpus for i in self.working)


def regimes(portfolio: Portfolio, choice: tuple[bool, ...], leases: Sequence[Lease], key: str) -> list[Regime]:
    """How month `key` splits: a rented site (under its lease, `leases[i]`) is not kept while its lease is in
    force, and its work runs on the kept sites, except in the lease's first `move.days`, while that work
    moves; every other site online is kept and runs its own work."""
    period = month(key)
    online = [i for i, s in enumerate(portfolio.sites) if s.online_in(key)]
    rented = [i for i in online if choice[i]]
    spans = {}
    for i in rented:
        begins = month(leases[i].start).start
        spans[i] = (begins, leases[i].ends_at, min(leases[i].ends_at, begins + portfolio.move.days * SECONDS_PER_DAY))
    cuts = sorted(
        {period.start, period.end} | {t for span in spans.values() for t in span if period.start < t < period.end}
    )
    shares: dict[tuple[tuple[int, ...], tuple[int, ...]], Decimal] = {}
    for a, b in pairwise(cuts):
        leased = {i for i, (begins, ends, _) in spans.items() if begins <= a < ends}
        moving = {i for i, (begins, _, moved) in spans.items() if begins <= a < moved}
        kept = tuple(i for i in online if i not in leased)
        working = tuple(i for i in online if i not in moving)
        shares[(kept, working)] = shares.get((kept, working), Decimal(0)) + Decimal(b - a) / period.seconds
    return [Regime(share, kept, working) for (kept, working), share in shares.items()]


def moved_gpus(portfolio: Portfolio, choice: tuple[bool, ...], lease_start: str) -> Decimal:
    """GPUs of internal work moved when the lease begins: the work of the rented sites online by then (a site
    rented before it comes online moves none: its work starts on the kept sites)."""
    moved = sum(s.load * s.gpus for s, r in zip(portfolio.sites, choice, strict=True) if r and s.online_in(lease_start))
    return Decimal(f"{moved:.9g}")
