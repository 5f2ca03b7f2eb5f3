"""The engine under a power budget, on either clock: which running work is capped and which stops, and how
many free GPUs stay powered, so that what runs never draws more than a node of the power tree may carry.

The simulator asks when a replay's budget changes (sim/simulator.py), the live engine at every step
(app/live.py); both then cap and stop the work named, and power down whole nodes until no more free GPUs
remain than the budget feeds. Free GPUs plus running ones within the budget is what keeps it between decisions:
work that starts takes a free GPU, work that ends gives one back. A site's ramp limits (`Ramp`) space the
engine's starts so that its draw rises no faster than the rate, and hold what ends on the GPUs' power floors so
that it falls no faster than the rate.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from neocloud.core.catalog import Catalog
from neocloud.core.fleet import Site
from neocloud.core.power import SHED_ORDER, feed_node, gpu_power, hall_node


@dataclass(frozen=True, slots=True)
class Feed:
    """What a pool's GPUs draw on: the power nodes above it, and what one of its free GPUs would draw once
    work starts there (at most its TDP's share of IT power, or a replay's kW per GPU)."""

    nodes: tuple[str, ...]
    kw_per_gpu: Decimal


@dataclass(frozen=True, slots=True)
class Cap:
    """How far a running job's GPUs may be capped: from `cap_w` (where they run now) down to `min_w`, each watt
    saving `kw_per_watt` over all of its GPUs."""

    cap_w: int
    min_w: int
    kw_per_watt: Decimal


@dataclass(frozen=True, slots=True)
class Draw:
    """One running job: what it draws now, and where it stands in the order work is capped and stopped."""

    key: str
    pool: str
    gpus: int
    kw: Decimal
    priority: str  # its contract's kind: spot, on-demand, internal or reserved (SHED_ORDER)
    started: int
    preemptible: bool = True
    cap: Cap | None = None  # None: it may not be capped (reserved work runs at its contracted power)


@dataclass(frozen=True, slots=True)
class Fit:
    stop: tuple[str, ...]  # keys of the running work to stop, in the order chosen
    powered: Mapping[str, int]  # free GPUs each pool keeps powered (pools under no node: all of them)
    over_kw: Mapping[str, Decimal]  # what work that may not stop still draws over a node's limit
    caps: Mapping[str, int] = field(default_factory=dict)  # running work capped: its GPUs' new cap, in watts


def fit(
    limits: Mapping[str, Decimal],
    feeds: Mapping[str, Feed],
    free: Mapping[str, int],
    running: Sequence[Draw],
) -> Fit:
    """Fit running work and free GPUs under every node's limit (kW).

    Contract kind by contract kind (spot, on-demand, internal, reserved last; within a kind the last started
    first), running work under a node over its limit is first capped (each job only as far as that node
    needs, in whole watts, at most to its lowest cap), then stopped, until no node is over; what a stop freed
    beyond the need goes back to the kind's capped work, the last capped first. Then the headroom
    left at each node is shared among the free GPUs of the pools under it in proportion to what they would
    draw, each pool keeping the share its tightest node allows, in whole GPUs down."""
    drawn = dict.fromkeys(limits, Decimal(0))
    for d in running:
        for node in feeds[d.pool].nodes:
            drawn[node] += d.kw

    def excess(d: Draw) -> Decimal:
        return max((drawn[n] - limits[n] for n in feeds[d.pool].nodes), default=Decimal(0))

    def ease(d: Draw, kw: Decimal) -> None:
        for node in feeds[d.pool].nodes:
            drawn[node] -= kw

    kw_now = {d.key: d.kw for d in running}
    freed: dict[str, int] = dict(free)
    stop: list[str] = []
    caps: dict[str, int] = {}
    order = sorted(running, key=lambda d: (SHED_ORDER.index(d.priority), -d.started, d.key))
    for kind in SHED_ORDER:
        group = [d for d in order if d.priority == kind]
        for d in group:  # cap first
            if d.cap is None or (short := excess(d)) <= 0:
                continue
            watts = min(d.cap.cap_w - d.cap.min_w, math.ceil(short / d.cap.kw_per_watt))
            if watts > 0:
                caps[d.key] = d.cap.cap_w - watts
                kw_now[d.key] -= watts * d.cap.kw_per_watt
                ease(d, watts * d.cap.kw_per_watt)
        for d in group:  # then stop
            if not d.preemptible or excess(d) <= 0:
                continue
            stop.append(d.key)
            caps.pop(d.key, None)
            ease(d, kw_now[d.key])
            freed[d.pool] = freed.get(d.pool, 0) + d.gpus
        for d in reversed(group):  # a stop may have freed more than was short: caps given back, last first
            if d.key not in caps or d.cap is None:
                continue
            room = min((limits[n] - drawn[n] for n in feeds[d.pool].nodes), default=Decimal(0))
            watts = min(d.cap.cap_w - caps[d.key], math.floor(room / d.cap.kw_per_watt))
            if watts > 0:
                caps[d.key] += watts
                kw_now[d.key] += watts * d.cap.kw_per_watt
                ease(d, -watts * d.cap.kw_per_watt)
                if caps[d.key] == d.cap.cap_w:
                    del caps[d.key]
    over = {n: drawn[n] - limits[n] for n in drawn if drawn[n] > limits[n]}
    wanted = dict.fromkeys(limits, Decimal(0))
    for pool, gpus in freed.items():
        for node in feeds[pool].nodes if pool in feeds else ():
            wanted[node] += gpus * feeds[pool].kw_per_gpu
    headroom = {n: max(Decimal(0), limits[n] - drawn[n]) for n in limits}
    # of the free GPUs' draw below each node, the share its headroom powers
    share = {n: Decimal(1) if wanted[n] <= headroom[n] else headroom[n] / wanted[n] for n in limits}
    powered = {
        pool: gpus if pool not in feeds or not feeds[pool].nodes
        else math.floor(gpus * min(share[n] for n in feeds[pool].nodes))
        for pool, gpus in freed.items()
    }  # fmt: skip
    return Fit(tuple(stop), powered, over, caps)


def dark_nodes(free: Sequence[int], powered: int, kept: Collection[int] = ()) -> list[int]:
    """Nodes to power down so that at most `powered` of the free GPUs (`free`, by node) stay powered: those
    with the most free GPUs first (the fewest nodes), ties by index; nodes in `kept` (a reservation's own)
    only when the others are not enough."""
    left = sum(free)
    if left <= powered:
        return []
    top = max(free)
    buckets: list[list[int]] = [[] for _ in range(2 * (top + 1))]  # by (kept, free GPUs), each in index order
    for node, gpus in enumerate(free):
        if gpus:
            buckets[(node in kept) * (top + 1) + top - gpus].append(node)
    dark: list[int] = []
    for bucket in buckets:
        for node in bucket:
            if left <= powered:
                return dark
            dark.append(node)
            left -= free[node]
    return dark


def site_feeds(
    site: Site, catalog: Catalog, pue: Decimal, depth: Decimal
) -> tuple[dict[str, Decimal], dict[str, Feed]]:
    """A site's power nodes as the machines meet them now, in IT kW: the feed (its facility MW at this month's
    PUE, cut by a curtailment's `depth`) and each hall (its IT MW); and each pool's feed, a free GPU counted at
    its TDP. What the ledger sells may be oversubscribed (core/power.power_book); what runs may not."""
    limits: dict[str, Decimal] = {}
    above: dict[str | None, tuple[str, ...]] = {None: ()}
    if site.power_mw is not None:
        limits[feed_node(site)] = site.power_mw * 1000 / pue * (1 - depth)
        above[None] = (feed_node(site),)
    for hall in site.halls:
        limits[hall_node(site, hall.name)] = hall.mw * 1000
        above[hall.name] = (*above[None], hall_node(site, hall.name))
    feeds = {}
    for pool in site.pools():
        fed_by = site.hall_of(pool)
        nodes = above[None if fed_by is None else fed_by.name]
        feeds[pool.name] = Feed(nodes, gpu_power(catalog[pool.gpu_model]).it_kw(None))
    return limits, feeds


@dataclass(slots=True)
class Ramp:
    """How fast a site's draw may change (facility kW a second), as the engine sees it at each instant's net
    change in what its running work draws.

    Rising (`kw_per_s`): a decision's starts rise one after another, each over its draw / the rate; while they
    rise no other work starts, and the engine decides again once they are up. A decision that starts more than
    a second's rise is let through when the ramp is idle (a large gang staggers its own start); the next waits
    for all of it.

    Falling (`fall_kw_per_s`): what running work stops drawing (it ended, or the scheduler stopped it) is held
    by the GPUs' power floors and brought down at the rate; work that starts meanwhile takes that draw over
    before it rises. The held draw costs energy (`floor_kwh`), never capacity: the work it replaced drew as
    much. A budget that shrinks (a curtailment) lets the floor fall at once as far as it must."""

    kw_per_s: Decimal | None
    fall_kw_per_s: Decimal | None = None
    done_at: Decimal = Decimal("-Infinity")  # when what has started so far is all up
    floor_kw: Decimal = Decimal(0)  # held by the floors at `floor_at`, falling since at fall_kw_per_s
    floor_at: int = 0
    floor_kwh: Decimal = Decimal(0)  # what the floors have burned

    @classmethod
    def of(
        cls, kw_per_s: Decimal | None, changes: Iterable[tuple[int, Decimal]], fall_kw_per_s: Decimal | None = None
    ) -> Ramp:
        """The ramp after `changes` (when, facility kW: + a start, - an end), as a clock that keeps no state
        rebuilds it: each instant's changes netted."""
        ramp, net = cls(kw_per_s, fall_kw_per_s), defaultdict[int, Decimal](Decimal)
        for when, kw in changes:
            net[when] += kw
        for when in sorted(net):
            ramp.change(when, net[when])
        return ramp

    def busy(self, now: int) -> bool:
        return self.done_at > now

    def free_at(self) -> int:
        """The first whole second the engine may start work again."""
        return math.ceil(self.done_at)

    def floor(self, now: int) -> Decimal:
        """The draw the floors hold at `now`."""
        self._fall_to(now)
        return self.floor_kw

    def burned_kwh(self) -> Decimal:
        """What the floors burn in all, once what they hold now has fallen."""
        left = self.floor_kw / self.fall_kw_per_s if self.fall_kw_per_s else Decimal(0)
        return self.floor_kwh + self.floor_kw / 2 * left / 3600

    def change(self, now: int, kw: Decimal) -> None:
        """Running work's draw changed by `kw` at `now` (all of an instant's starts and stops, netted)."""
        self._fall_to(now)
        if kw < 0:
            if self.fall_kw_per_s is not None:
                self.floor_kw -= kw
            return
        taken = min(self.floor_kw, kw)
        self.floor_kw -= taken
        if self.kw_per_s is not None and kw > taken:
            self.done_at = max(self.done_at, Decimal(now)) + (kw - taken) / self.kw_per_s

    def clip(self, now: int, kw: Decimal) -> None:
        """The budget leaves the floors `kw` at most: they fall that far at once."""
        self._fall_to(now)
        self.floor_kw = min(self.floor_kw, max(Decimal(0), kw))

    def _fall_to(self, now: int) -> None:
        if self.floor_kw and self.fall_kw_per_s is not None and now > self.floor_at:
            seconds, left = Decimal(now - self.floor_at), self.floor_kw / self.fall_kw_per_s
            after = Decimal(0) if seconds >= left else self.floor_kw - seconds * self.fall_kw_per_s
            self.floor_kwh += (self.floor_kw + after) / 2 * min(seconds, left) / 3600
            self.floor_kw = after
        self.floor_at = max(self.floor_at, now)
