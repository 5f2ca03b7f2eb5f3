"""Reservations on their own nodes, kept so at every step.

Each step: a reserved or internal contract in force whose GPUs are whole assignment units gets its units
(core/assignment.py chooses them); a contract that ended gives its nodes back; a unit of a contract with a
node down or in maintenance is replaced by a free unit, automatically. Free units with no work are taken
first, then those running only spot work (which keeps its contract's preemption notice: the replacement is
the tenant's once the notice has run), then any. The time a tenant was short of a node becomes an incident
with its real start and end, from which the SLA credit on the invoice follows; the time to heal is reported.

The count ledger promises the GPUs; the assignment names them. Each step only takes free units, so two
contracts never share a node, and a contract never holds more units than its GPUs make.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from neocloud.app.nodes import PoolUnits, units_by_pool
from neocloud.app.ports import UnitOfWork
from neocloud.app.services import NewId, get_pool
from neocloud.core.assignment import Assignment, Unit, choose, units_needed
from neocloud.core.billing.rating import Outage
from neocloud.core.bounds import MAX_TIME, check_count
from neocloud.core.catalog import Catalog
from neocloud.core.contracts import Contract, ContractKind
from neocloud.core.errors import InvalidInput
from neocloud.core.ledger import Hold, HoldKind, Ledger
from neocloud.core.nodes import NodeEvent, NodeState
from neocloud.core.workload import WorkloadStatus

OUT = (NodeState.DOWN, NodeState.MAINTENANCE)  # an assigned node in one of these is replaced


@dataclass(frozen=True, slots=True)
class Healed:
    """A contract's unit `failed` (a node of it out since `down_since`) replaced by `by`, the contract's from `at`."""

    contract_id: str
    failed: str
    by: str
    down_since: int
    at: int

    @property
    def seconds(self) -> int:
        """Time to heal: from the failure to the replacement being the tenant's."""
        return self.at - self.down_since


@dataclass
class Report:
    assigned: int = 0  # units given to contracts in force
    released: int = 0  # spans ended with their contracts
    healed: list[Healed] = field(default_factory=list)
    short: dict[str, int] = field(default_factory=dict)  # contract id -> units it lacks (no free unit)


def assignable(contract: Contract, pools: dict[str, PoolUnits]) -> int | None:
    """How many units the contract is assigned; None when it gets none (not a reservation, or GPUs that
    are not whole units: such a reservation is honoured on the pool's shared nodes)."""
    units = pools.get(contract.pool)
    if not contract.books_capacity or units is None or units.size is None:
        return None
    return units_needed(contract.gpus, units.size)


def assign(uow: UnitOfWork, catalog: Catalog, now: int, new_id: NewId) -> Report:
    """One step (see the module's docstring). The pools it changes are locked as signing locks them, and
    everything is read again under the lock, so concurrent steps never give one node twice."""
    touched = _Step(uow, catalog, now, new_id, write=False).run()
    if not touched:
        return Report()
    uow.ledger.load(sorted(touched), lock=True)
    step = _Step(uow, catalog, now, new_id, write=True)
    step.run()
    return step.report


class _Step:
    def __init__(self, uow: UnitOfWork, catalog: Catalog, now: int, new_id: NewId, *, write: bool) -> None:
        self.uow, self.now, self.new_id, self.write = uow, now, new_id, write
        self.pools = units_by_pool(uow, catalog)
        self.rows = uow.assignments.current()
        self.states = uow.nodes.current()
        self.report = Report()
        self.touched: set[str] = set()
        self._busy: dict[str, tuple[int, int]] | None = None
        self._free: dict[str, dict[str, tuple[Unit, tuple[int, int]]]] = {}  # pool -> free unit -> its work

    def run(self) -> set[str]:
        in_force = {c.id: c for c in self.uow.contracts.holding(self.pools, self.now)}
        spans: dict[str, list[Assignment]] = defaultdict(list)
        for row in self.rows:
            spans[row.contract_id].append(row)
        ended = spans.keys() - in_force.keys()
        for contract in self.uow.contracts.get_many(ended).values() if ended else ():
            for row in spans.pop(contract.id):
                self._end(row, max(row.since, min(contract.end, self.now)))
                self.report.released += 1
        self.rows = [r for r in self.rows if r.contract_id not in ended]  # free again for this very step
        for contract in in_force.values():
            need = assignable(contract, self.pools)
            if need is not None:
                self._keep(contract, need, spans.get(contract.id, []))
        return self.touched

    def _keep(self, contract: Contract, need: int, spans: list[Assignment]) -> None:
        """Mark the contract's failed nodes and recovered ones; give it the units it lacks, replacing failed ones."""
        pool = self.pools[contract.pool]
        by_unit: dict[str, list[Assignment]] = defaultdict(list)
        for row in spans:
            by_unit[pool.of_node[row.node].name].append(self._follow(row))
        failing = {u: rows for u, rows in by_unit.items() if any(r.down_since is not None for r in rows)}
        missing = need - len(by_unit)
        if missing <= 0 and not failing:
            return
        self.touched.add(contract.pool)
        order = sorted(failing, key=lambda u: (min(r.down_since or 0 for r in failing[u]), u))
        picked = self._take(contract.pool, missing + len(order))
        for unit, notice in picked[: max(missing, 0)]:
            self._give(contract, unit, self.now + notice)
            self.report.assigned += 1
        for name, (unit, notice) in zip(order, picked[max(missing, 0) :], strict=False):
            at = self.now + notice
            for row in failing[name]:
                self._end(row, at, replaced_by=unit.name)
            self._give(contract, unit, at)
            down = min(r.down_since for r in failing[name] if r.down_since is not None)
            self.report.healed.append(Healed(contract.id, name, unit.name, down, at))
        if len(picked) < missing + len(order):
            self.report.short[contract.id] = missing + len(order) - len(picked)

    def _follow(self, row: Assignment) -> Assignment:
        """The span as its node's state now says: down since its failure, or recovered (the time it was out
        is an incident)."""
        event: NodeEvent | None = self.states.get(row.node)
        out = event is not None and event.state in OUT
        if out and row.down_since is None:
            assert event is not None
            row = replace(row, down_since=max(event.at, row.since))
        elif not out and row.down_since is not None:
            self._incident(row, event.at if event is not None else self.now, "back up")
            row = replace(row, down_since=None)
        else:
            return row
        self.touched.add(row.pool)
        if self.write:
            self.uow.assignments.save(row)
        return row

    def _end(self, row: Assignment, at: int, replaced_by: str | None = None) -> None:
        self.touched.add(row.pool)
        if row.down_since is not None:
            self._incident(row, at, f"replaced by {replaced_by}" if replaced_by else "contract ended")
        if self.write:
            self.uow.assignments.save(replace(row, until=at))

    def _incident(self, row: Assignment, end: int, how: str) -> None:
        assert row.down_since is not None
        if self.write and end > row.down_since:
            gpus = self._gpus(row)
            outage = Outage(row.pool, row.down_since, end, gpus, row.contract_id)
            what = f"node {row.node} out of service {end - row.down_since} s; {how}"
            self.uow.billing.add_incident(self.new_id("inc"), outage, what)

    def _gpus(self, row: Assignment) -> int:
        unit = self.pools[row.pool].of_node[row.node]
        return unit.gpus // len(unit.nodes)

    def _give(self, contract: Contract, unit: Unit, since: int) -> None:
        rows = [Assignment(contract.id, contract.pool, node, since) for node in unit.nodes]
        self.rows += rows
        self._free.get(contract.pool, {}).pop(unit.name, None)
        if self.write:
            self.uow.assignments.add(rows)

    def _take(self, pool: str, count: int) -> list[tuple[Unit, int]]:
        """Up to `count` free units of the pool, each with the notice its spot work is owed: idle units if
        enough, else idle or running only spot work, else any."""
        free = self._free_units(pool)
        for worst in (0, 1, 2):
            chosen = choose([u for u, (level, _) in free.values() if level <= worst], count)
            if chosen is not None:
                return [(u, free[u.name][1][1]) for u in chosen]
        return [(u, free[u.name][1][1]) for u in choose([u for u, _ in free.values()], len(free)) or []]

    def _free_units(self, pool: str) -> dict[str, tuple[Unit, tuple[int, int]]]:
        """The pool's units that no contract holds and whose nodes are all up, with the work on them; made
        once per step (after ended contracts let theirs go), then kept as units are given."""
        if pool not in self._free:
            taken = {r.node for r in self.rows}
            busy = self._work()
            self._free[pool] = {
                u.name: (u, max((busy.get(n, (0, 0)) for n in u.nodes), default=(0, 0)))
                for u in self.pools[pool].units
                if not any(
                    n in taken or ((e := self.states.get(n)) is not None and e.state is not NodeState.UP)
                    for n in u.nodes
                )
            }
        return self._free[pool]

    def _work(self) -> dict[str, tuple[int, int]]:
        """Each node running work: (1, the notice owed) if only spot work, else (2, 0)."""
        if self._busy is None:
            running = [w for w in self.uow.workloads.active(lock=False) if w.status is WorkloadStatus.RUNNING]
            contracts = self.uow.contracts.get_many({w.contract_id for w in running})
            busy: dict[str, tuple[int, int]] = {}
            for w in running:
                c = contracts[w.contract_id]
                level = (1, c.preemption_notice_s) if c.kind is ContractKind.SPOT else (2, 0)
                for node, _ in w.allocation or ():
                    busy[node] = max(busy.get(node, (0, 0)), level)
            self._busy = busy
        return self._busy


def owners(rows: Iterable[Assignment], now: int) -> dict[str, str]:
    """Node -> the contract it is assigned to now (spans that begin later, after a notice, not yet)."""
    return {r.node: r.contract_id for r in rows if r.since <= now}


@dataclass(frozen=True, slots=True)
class Spares:
    """Units of a pool kept unsold from `since` on, so that a reservation's failed node always finds a
    replacement; they run spot and on-demand work while idle, as any free node does."""

    pool: str
    units: int
    gpus: int
    since: int | None


def spares(uow: UnitOfWork, catalog: Catalog, pool: str, now: int) -> Spares:
    """The pool's spares now."""
    get_pool(uow, pool)
    hold = _spare_hold(uow.ledger.load([pool], lock=False), pool, now)
    size = _unit_size(uow, catalog, pool)
    return Spares(pool, 0, 0, None) if hold is None else Spares(pool, hold.gpus // size, hold.gpus, hold.start)


def set_spares(uow: UnitOfWork, catalog: Catalog, pool: str, units: int, now: int, new_id: NewId) -> Spares:
    """Keep `units` of the pool unsold from now on (0: none): a hold of kind spare in the ledger, refused
    (overbooked) where the capacity is sold already."""
    get_pool(uow, pool)
    size = _unit_size(uow, catalog, pool)
    check_count(units, "units", 0, len(units_by_pool(uow, catalog)[pool].units))
    ledger = uow.ledger.load([pool], lock=True)
    current = _spare_hold(ledger, pool, now)
    if current is not None:
        if current.start < now:  # kept as it was until now
            uow.ledger.save(ledger.shrink(current.id, end=now))
        else:
            ledger.cancel(current.id)
            uow.ledger.delete(current.id)
    if not units:
        return Spares(pool, 0, 0, None)
    hold = ledger.book(Hold(new_id("spare"), pool, units * size, now, MAX_TIME, HoldKind.SPARE))
    uow.ledger.save(hold)
    return Spares(pool, units, hold.gpus, now)


def _spare_hold(ledger: Ledger, pool: str, now: int) -> Hold | None:
    spares = (h for h in ledger.holds(pool) if h.kind is HoldKind.SPARE and h.end > now)
    return min(spares, key=lambda h: (h.start, h.id), default=None)  # the ledger lists holds in no order


def _unit_size(uow: UnitOfWork, catalog: Catalog, pool: str) -> int:
    size = units_by_pool(uow, catalog)[pool].size
    if size is None:
        raise InvalidInput(f"pool {pool} has nodes of different sizes: its reservations get no nodes", pool=pool)
    return size
