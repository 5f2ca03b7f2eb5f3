"""The capacity ledger: time-bounded holds on pools that never exceed capacity.

A hold claims N GPUs of one pool over a half-open interval [start, end) in integer seconds. The invariant,
checked on every change: at every instant, the GPUs held in a pool (maintenance included) never exceed the
pool's installed GPUs. A change that would break it raises `Overbooked`, naming the first instant and the
excess, and leaves the ledger exactly as it was.

With a power book (core/power.py, `PowerBook`), a hold also draws power: its GPUs at its cap (`cap_w`, default
the TDP), in IT milliwatts. The same invariant then holds at every node of the power tree above its pool (the
site's feed, its hall): at every instant the holds under a node draw no more than the node's limit, or the
change raises `PowerOverbooked`. Maintenance and spare holds draw nothing (their GPUs are off or idle).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING

from immutables import Map

from neocloud.core.bounds import MAX_GPUS, MAX_TIME, MIN_TIME
from neocloud.core.errors import (
    AlreadyExists,
    InvalidInput,
    InvalidInterval,
    Overbooked,
    PowerOverbooked,
    UnknownHold,
    UnknownPool,
    quoted,
)
from neocloud.core.steps import StepFunction
from neocloud.core.timeutil import iso

if TYPE_CHECKING:
    from neocloud.core.power import PowerBook


class HoldKind(StrEnum):
    RESERVED = "reserved"
    ON_DEMAND = "on-demand"
    SPOT = "spot"
    INTERNAL = "internal"
    MAINTENANCE = "maintenance"  # lowers the capacity that can be sold
    SPARE = "spare"  # kept unsold, to replace the failed nodes of reservations (app/assignment.py)


@dataclass(frozen=True, slots=True)
class Hold:
    id: str
    pool: str
    gpus: int
    start: int
    end: int
    kind: HoldKind
    contract_id: str | None = None
    cap_w: int | None = None  # the power cap its GPUs run under; None: their TDP

    def __post_init__(self) -> None:
        check_interval(self.start, self.end)
        check_gpus(self.gpus)


@dataclass(frozen=True, slots=True)
class ProfileStep:
    """One step of a pool's capacity profile over [start, end)."""

    start: int
    end: int
    installed: int
    maintenance: int
    held: int  # GPUs on hold for contracts, maintenance excluded

    @property
    def capacity(self) -> int:
        return self.installed - self.maintenance

    @property
    def free(self) -> int:
        return self.capacity - self.held


def check_interval(start: int, end: int) -> None:
    """A half-open interval of integer seconds within the bounds of time (core/bounds.py)."""
    for t in (start, end):
        if not isinstance(t, int) or isinstance(t, bool):
            raise InvalidInterval("start and end must be integer seconds", start=quoted(start), end=quoted(end))
    if start < MIN_TIME or end > MAX_TIME:
        raise InvalidInterval(
            f"[{quoted(start)}, {quoted(end)}) is not within 1970-01-01 and 9999-12-31", start=start, end=end
        )
    if end <= start:
        raise InvalidInterval(f"end ({end}) must be after start ({start})", start=start, end=end)


def check_gpus(gpus: int) -> None:
    if not isinstance(gpus, int) or isinstance(gpus, bool) or not 0 < gpus <= MAX_GPUS:
        raise InvalidInput(f"GPU count must be a whole number from 1 to {MAX_GPUS:,}, got {quoted(gpus)}", gpus=gpus)


def kw(milliwatts: int) -> Decimal:
    """Milliwatts as exact kilowatts."""
    return Decimal(milliwatts) / 1_000_000


class PoolLedger:
    """The calendar of one pool."""

    __slots__ = ("_held", "_maintenance", "installed", "name")

    def __init__(self, name: str, installed: int) -> None:
        if installed < 0:
            raise InvalidInput(f"pool {name} cannot have {installed} GPUs", pool=name)
        self.name = name
        self.installed = installed
        self._held = StepFunction()  # every hold, maintenance included: the invariant's left side
        self._maintenance = StepFunction()

    @property
    def calendars(self) -> tuple[StepFunction, StepFunction]:
        return self._held, self._maintenance

    def copy(self) -> PoolLedger:
        made = PoolLedger(self.name, self.installed)
        made._held, made._maintenance = self._held.copy(), self._maintenance.copy()
        return made

    def free(self, start: int, end: int) -> int:
        """GPUs free over the whole of [start, end): the minimum of the free profile."""
        check_interval(start, end)
        return self.installed - self._held.max_over(start, end)

    def profile(self, start: int, end: int) -> list[ProfileStep]:
        check_interval(start, end)
        cuts = sorted({start, *self._held.breakpoints(start, end), *self._maintenance.breakpoints(start, end)})
        steps = []
        for step_start, step_end in zip(cuts, [*cuts[1:], end], strict=True):
            maintenance = self._maintenance.value_at(step_start)
            held = self._held.value_at(step_start) - maintenance
            steps.append(ProfileStep(step_start, step_end, self.installed, maintenance, held))
        return steps

    def earliest_start(self, gpus: int, duration: int, not_before: int) -> int:
        """The earliest t >= not_before with `gpus` free over all of [t, t + duration)."""
        check_gpus(gpus)
        if duration <= 0:
            raise InvalidInterval(f"duration must be positive, got {duration}", duration=duration)
        if gpus > self.installed:
            raise Overbooked(
                f"pool {self.name} has {self.installed} GPUs; {gpus} can never fit",
                pool=self.name,
                installed=self.installed,
                requested=gpus,
            )
        return self._held.first_window(not_before, duration, self.installed - gpus)

    def check_fits(self, gpus: int, start: int, end: int) -> None:
        """Raise Overbooked, naming the first instant and the largest excess, if `gpus` do not fit."""
        limit = self.installed - gpus
        first = self._held.first_above(start, end, limit)
        if first is None:
            return
        instant, _ = first
        excess = self._held.max_over(start, end) - limit
        raise Overbooked(
            f"pool {self.name}: {gpus:,} GPUs over [{iso(start)}, {iso(end)}) exceed its free capacity by up"
            f" to {excess:,} GPUs, first at {iso(instant)}",
            pool=self.name,
            at=instant,
            excess=excess,
            requested=gpus,
            installed=self.installed,
        )

    def add(self, hold: Hold) -> None:
        self.check_fits(hold.gpus, hold.start, hold.end)
        self.put(hold)

    def put(self, hold: Hold) -> None:
        """Add a hold already checked to fit."""
        self._apply(hold, +1)

    def restore(self, holds: list[Hold]) -> None:
        """Load saved holds in one sweep (O(n log n)), then check the invariant once over the whole calendar.
        Refused, changing nothing, if they overbook."""
        held = StepFunction.of((h.start, h.end, h.gpus) for h in holds)
        peak, at = held.peak() or (0, 0)
        if peak > self.installed:
            raise Overbooked(
                f"pool {self.name}: stored holds exceed its capacity by {peak - self.installed:,} GPUs at {iso(at)}",
                pool=self.name,
                at=at,
                excess=peak - self.installed,
            )
        self._held = held
        self._maintenance = StepFunction.of((h.start, h.end, h.gpus) for h in holds if h.kind is HoldKind.MAINTENANCE)

    @property
    def empty(self) -> bool:
        return self._held.is_zero()

    def remove(self, hold: Hold) -> None:
        self._apply(hold, -1)

    def _apply(self, hold: Hold, sign: int) -> None:
        self._held.add(hold.start, hold.end, sign * hold.gpus)
        if hold.kind is HoldKind.MAINTENANCE:
            self._maintenance.add(hold.start, hold.end, sign * hold.gpus)


class Ledger:
    """Every pool's calendar and every hold, indexed by id."""

    def __init__(self, pools: dict[str, int] | None = None, power: PowerBook | None = None) -> None:
        self._pools: dict[str, PoolLedger] = {}
        self._holds: Map[str, Hold] = Map()  # persistent: a copy shares it, a change makes a new version
        for name, installed in (pools or {}).items():
            self.add_pool(name, installed)
        self.power = power
        # Per node of the power tree, what the holds under it draw (IT milliwatts) at each instant.
        self._draw = {node: StepFunction() for node in power.limits} if power else {}

    def copy(self) -> Ledger:
        """An independent ledger in the same state (holds are immutable and shared)."""
        made = Ledger(power=self.power)
        made._pools = {name: pool.copy() for name, pool in self._pools.items()}
        made._holds = self._holds
        made._draw = {node: drawn.copy() for node, drawn in self._draw.items()}
        return made

    def settle(self) -> None:
        """Merge every calendar's pending changes (core/steps.py): before the ledger is shared between threads,
        which then only read it."""
        for calendar in self._calendars():
            calendar.settle()

    @property
    def waiting(self) -> int:
        """Changes waiting to be merged, over every calendar: a query would merge them (and so write)."""
        return sum(calendar.waiting for calendar in self._calendars())

    def _calendars(self) -> Iterator[StepFunction]:
        for pool in self._pools.values():
            yield from pool.calendars
        yield from self._draw.values()

    def add_pool(self, name: str, installed: int) -> None:
        if name in self._pools:
            raise AlreadyExists(f"pool {name} already exists", pool=name)
        self._pools[name] = PoolLedger(name, installed)

    def pool(self, name: str) -> PoolLedger:
        try:
            return self._pools[name]
        except KeyError:
            raise UnknownPool(f"unknown pool {quoted(name)}", pool=name) from None

    @property
    def pools(self) -> dict[str, PoolLedger]:
        return dict(self._pools)

    def hold(self, hold_id: str) -> Hold:
        try:
            return self._holds[hold_id]
        except KeyError:
            raise UnknownHold(f"unknown hold {quoted(hold_id)}", hold=hold_id) from None

    def holds(self, pool: str | None = None) -> Iterator[Hold]:
        """Every hold (of a pool), in no particular order."""
        return (h for h in self._holds.values() if pool is None or h.pool == pool)

    # Queries -------------------------------------------------------------------------------------------

    def free(self, pool: str, start: int, end: int) -> int:
        return self.pool(pool).free(start, end)

    def profile(self, pool: str, start: int, end: int) -> list[ProfileStep]:
        return self.pool(pool).profile(start, end)

    def earliest_start(self, pool: str, gpus: int, duration: int, not_before: int, cap_w: int | None = None) -> int:
        """The earliest start >= not_before where `gpus` (at `cap_w`) fit the pool and its power for `duration`:
        each calendar's earliest window in turn, from the latest found, until all of them agree."""
        calendar = self.pool(pool)
        power = self.power
        draw = self._at_nodes(pool, gpus * power.per_gpu(pool, cap_w)) if power and pool in power.pools else ()
        for node, milliwatts in draw:
            if self._room(node, milliwatts) < 0:
                raise PowerOverbooked(
                    f"{node} carries {self.power_limit(node) / 1e6:,.1f} kW; {gpus:,} GPUs drawing"
                    f" {milliwatts / 1e6:,.1f} kW can never fit",
                    node=node, requested_kw=str(kw(milliwatts)),
                )  # fmt: skip
        t = not_before
        while True:
            found = calendar.earliest_start(gpus, duration, t)
            for node, milliwatts in draw:
                found = self._draw[node].first_window(found, duration, self._room(node, milliwatts))
            if found == t:
                return t
            t = found

    # Power ---------------------------------------------------------------------------------------------

    def power_nodes(self, pool: str) -> tuple[str, ...]:
        """The nodes of the power tree above a pool whose limits this ledger keeps (none without a book)."""
        return self.power.nodes_of(pool) if self.power else ()

    def power_free(self, node: str, start: int, end: int) -> int:
        """IT milliwatts free at a node over the whole of [start, end)."""
        check_interval(start, end)
        return self.power_limit(node) - self._draw[node].max_over(start, end)

    def bookable(self, pool: str, start: int, end: int, cap_w: int | None = None) -> int:
        """GPUs of the pool that can be booked over the whole of [start, end) at `cap_w`: free GPUs, and no more
        than every node above the pool has free power for."""
        gpus = self.free(pool, start, end)
        if self.power is not None:
            for node in self.power_nodes(pool):
                gpus = min(gpus, max(0, self.power_free(node, start, end)) // self.power.per_gpu(pool, cap_w))
        return gpus

    def power_limit(self, node: str) -> int:
        if self.power is None or node not in self.power.limits:
            raise InvalidInput(f"no power node {quoted(node)} in this ledger", node=node)
        return self.power.limits[node]

    def power_profile(self, node: str, start: int, end: int) -> list[tuple[int, int, int]]:
        """(start, end, IT milliwatts drawn) of a node's steps over [start, end)."""
        self.power_limit(node)
        check_interval(start, end)
        return list(self._draw[node].steps(start, end))

    def _draws(self, hold: Hold) -> tuple[tuple[str, int], ...]:
        """(node, IT milliwatts) the hold draws at each node above its pool; a cap out of range is refused."""
        return () if self.power is None else self._at_nodes(hold.pool, self.power.draw(hold))

    def _at_nodes(self, pool: str, milliwatts: int) -> tuple[tuple[str, int], ...]:
        assert self.power is not None
        return tuple([(node, milliwatts) for node in self.power.nodes_of(pool)]) if milliwatts else ()

    def _room(self, node: str, milliwatts: int) -> int:
        """The most a node of this ledger's power tree may draw before a hold of `milliwatts` is added."""
        assert self.power is not None
        return self.power.limits[node] - milliwatts

    def _check_power(self, hold: Hold, draws: tuple[tuple[str, int], ...]) -> None:
        for node, milliwatts in draws:
            drawn = self._draw[node]
            first = drawn.first_above(hold.start, hold.end, self._room(node, milliwatts))
            if first is None:
                continue
            excess = drawn.max_over(hold.start, hold.end) + milliwatts - self.power_limit(node)
            cap = f"{hold.cap_w:,} W" if hold.cap_w is not None else "their TDP"
            raise PowerOverbooked(
                f"{node}: {hold.gpus:,} GPUs at {cap} draw {milliwatts / 1e6:,.1f} kW over [{iso(hold.start)},"
                f" {iso(hold.end)}) and exceed its power by up to {excess / 1e6:,.1f} kW, first at {iso(first[0])}",
                node=node,
                at=first[0],
                excess_kw=str(kw(excess)),
                requested_kw=str(kw(milliwatts)),
                limit_kw=str(kw(self.power_limit(node))),
            )

    def _apply_power(self, hold: Hold, draws: tuple[tuple[str, int], ...], sign: int) -> None:
        for node, milliwatts in draws:
            self._draw[node].add(hold.start, hold.end, sign * milliwatts)

    def _redraw(self) -> None:
        """Every node's draw again from every hold: for loading."""
        if self.power is None:
            return
        under: dict[str, list[tuple[int, int, int]]] = {node: [] for node in self._draw}
        for hold in self._holds.values():
            for node, milliwatts in self._draws(hold):
                under[node].append((hold.start, hold.end, milliwatts))
        self._draw = {node: StepFunction.of(intervals) for node, intervals in under.items()}

    # Changes: each one checks first and then applies, so a refusal changes nothing. -------------------

    def book(self, hold: Hold) -> Hold:
        if hold.id in self._holds:
            raise AlreadyExists(f"hold {hold.id} already exists", hold=hold.id)
        pool, draws = self.pool(hold.pool), self._draws(hold)
        pool.check_fits(hold.gpus, hold.start, hold.end)
        self._check_power(hold, draws)
        pool.put(hold)
        self._apply_power(hold, draws, +1)
        self._holds = self._holds.set(hold.id, hold)
        return hold

    def restore(self, holds: Iterable[Hold]) -> None:
        """Load holds saved earlier (from the store), all at once; refused, changing nothing, if they overbook."""
        by_pool: dict[str, list[Hold]] = {}
        for hold in holds:
            if hold.id in self._holds:
                raise AlreadyExists(f"hold {hold.id} already exists", hold=hold.id)
            by_pool.setdefault(hold.pool, []).append(hold)
        fresh = {}
        for name, pool_holds in by_pool.items():
            pool = self.pool(name)
            if not pool.empty:
                raise AlreadyExists(f"pool {name} already has holds; restore only into an empty ledger", pool=name)
            fresh[name] = PoolLedger(name, pool.installed)
            fresh[name].restore(pool_holds)  # may refuse; nothing is replaced until every pool is checked
        self._pools.update(fresh)
        with self._holds.mutate() as holds:
            for pool_holds in by_pool.values():
                for h in pool_holds:
                    holds[h.id] = h
            self._holds = holds.finish()
        self._redraw()  # stored holds are loaded as they are: only changes are checked against the power

    def book_all(self, holds: Iterable[Hold]) -> list[Hold]:
        """Book several holds as one: all of them or, on the first refusal, none."""
        booked: list[Hold] = []
        try:
            for hold in holds:
                booked.append(self.book(hold))
        except Exception:
            for hold in reversed(booked):
                self.cancel(hold.id)
            raise
        return booked

    def has(self, hold_id: str) -> bool:
        return hold_id in self._holds

    def cancel(self, hold_id: str) -> Hold:
        hold = self.hold(hold_id)
        self._pools[hold.pool].remove(hold)
        self._apply_power(hold, self._draws(hold), -1)
        self._holds = self._holds.delete(hold_id)
        return hold

    def extend(self, hold_id: str, *, end: int | None = None, gpus: int | None = None) -> Hold:
        """Make a hold longer and/or larger; refused if the growth does not fit."""
        hold = self.hold(hold_id)
        new_end = hold.end if end is None else end
        new_gpus = hold.gpus if gpus is None else gpus
        if new_end < hold.end or new_gpus < hold.gpus:
            raise InvalidInput(
                "extend cannot make a hold shorter or smaller; use shrink",
                hold=hold_id,
                end=new_end,
                gpus=new_gpus,
            )
        return self._replace(hold, replace(hold, end=new_end, gpus=new_gpus))

    def shrink(self, hold_id: str, *, end: int | None = None, gpus: int | None = None) -> Hold:
        """Make a hold shorter and/or smaller; it stays non-empty (cancel it instead)."""
        hold = self.hold(hold_id)
        new_end = hold.end if end is None else end
        new_gpus = hold.gpus if gpus is None else gpus
        if new_end > hold.end or new_gpus > hold.gpus:
            raise InvalidInput(
                "shrink cannot make a hold longer or larger; use extend",
                hold=hold_id,
                end=new_end,
                gpus=new_gpus,
            )
        return self._replace(hold, replace(hold, end=new_end, gpus=new_gpus))

    def _replace(self, old: Hold, new: Hold) -> Hold:
        pool, was, will = self._pools[old.pool], self._draws(old), self._draws(new)
        pool.remove(old)
        self._apply_power(old, was, -1)
        try:
            pool.check_fits(new.gpus, new.start, new.end)
            self._check_power(new, will)
        except Exception:
            pool.put(old)  # it fitted before the removal, so it fits again
            self._apply_power(old, was, +1)
            raise
        pool.put(new)
        self._apply_power(new, will, +1)
        self._holds = self._holds.set(new.id, new)
        return new
