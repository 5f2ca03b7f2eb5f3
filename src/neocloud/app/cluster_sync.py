"""Keep a workload manager (Slurm) in step with neocloud, once per server step.

- **Node states, both ways.** A node the manager reports down, draining or in maintenance while neocloud
  has it up is marked so in the inventory, at the manager's own time of the change and with its reason
  (prefixed `slurm:`); the reservation it belongs to is then healed by the next engine step
  (app/assignment.py). When the manager has it up again, so does neocloud. The other way, a node an
  operator takes out of service in neocloud is drained in the manager (reason prefixed `neocloud:`), and
  resumed there when it is resumed here. A node the manager reports down is down here whatever neocloud had
  decided, so that a failure under a drain still heals.
- **Accounts and reservations.** Each tenant with nodes of its own is an account; each contract with nodes
  is a reservation of the same name on exactly those nodes until the contract's end, for its tenant's
  account: created when the contract gets its nodes, updated when one is replaced or the contract is
  extended or cancelled, deleted when it ends. Only reservations named as contracts are neocloud's: others
  are left alone.

The manager is read before the store's transaction and written after it, so a slow manager never holds a
transaction; a manager that does not answer raises WorkloadManagerUnavailable and the next step tries again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from neocloud.app.nodes import set_state
from neocloud.app.ports import ManagedNode, ManagedReservation, UnitOfWork, WorkloadManager
from neocloud.core.catalog import Catalog
from neocloud.core.errors import UnknownNode
from neocloud.core.nodes import NodeEvent, NodeState

FROM_MANAGER = "slurm: "
FROM_US = "neocloud: "
CONTRACT_PREFIX = "c-"  # contract ids; the reservations neocloud made are named so


@dataclass
class SyncReport:
    nodes_read: int = 0  # changes of state taken from the manager
    drained: int = 0  # pushed to the manager
    resumed: int = 0
    accounts: int = 0
    reserved: int = 0
    updated: int = 0
    released: int = 0


def sync(uow_of: Callable[[], UnitOfWork], catalog: Catalog, manager: WorkloadManager, now: int) -> SyncReport:
    report = SyncReport()
    managed, existing, accounts = manager.nodes(), manager.reservations(), manager.accounts()
    with uow_of() as uow:
        _read_states(uow, catalog, managed, now, report)
        ours = uow.nodes.current()
        wanted = _wanted(uow, managed, now)
    for account in sorted({a for r in wanted.values() for a in r.accounts} - accounts):
        manager.add_account(account)
        report.accounts += 1
    for name in sorted(existing.keys() - wanted.keys()):  # first: their nodes may be another's now
        if name.startswith(CONTRACT_PREFIX):
            manager.release(name)
            report.released += 1
    for name, reservation in sorted(wanted.items()):
        had = existing.get(name)
        if had is None:
            manager.reserve(reservation, now)
            report.reserved += 1
        elif (had.nodes, had.end) != (reservation.nodes, reservation.end):
            manager.update(reservation)
            report.updated += 1
    _push_states(manager, managed, ours, report)
    return report


def _read_states(
    uow: UnitOfWork, catalog: Catalog, managed: dict[str, ManagedNode], now: int, report: SyncReport
) -> None:
    ours = uow.nodes.current()
    for name, node in sorted(managed.items()):
        mine = ours.get(name)
        state = mine.state if mine is not None else NodeState.UP
        if node.reason.startswith(FROM_US.strip()):  # our own drain, as the manager reports it back
            continue
        failed = node.state is NodeState.DOWN and state in (NodeState.UP, NodeState.DRAINING)
        if (node.state is not NodeState.UP and state is NodeState.UP) or failed:
            wanted, why = node.state, FROM_MANAGER + (node.reason or node.state.value)
        elif node.state is NodeState.UP and mine is not None and state is not NodeState.UP and _theirs(mine):
            wanted, why = NodeState.UP, FROM_MANAGER + "back in service"
        else:
            continue
        at = max(min(node.since or now, now), mine.at if mine is not None else 0)  # never before our last change
        try:
            set_state(uow, catalog, name, wanted, why[:200], at)
        except UnknownNode:  # a node of the manager's that the fleet does not have
            continue
        report.nodes_read += 1


def _theirs(event: NodeEvent) -> bool:
    return event.reason.startswith(FROM_MANAGER)


def _wanted(uow: UnitOfWork, managed: dict[str, ManagedNode], now: int) -> dict[str, ManagedReservation]:
    """A reservation per contract with nodes now, on those of its nodes the manager has."""
    nodes: dict[str, set[str]] = {}
    for span in uow.assignments.current():
        if span.since <= now and span.node in managed:
            nodes.setdefault(span.contract_id, set()).add(span.node)
    contracts = uow.contracts.get_many(nodes) if nodes else {}
    return {
        c.id: ManagedReservation(c.id, frozenset(nodes[c.id]), frozenset({c.tenant_id}), c.end)
        for c in contracts.values()
    }


def _push_states(
    manager: WorkloadManager, managed: dict[str, ManagedNode], ours: dict[str, NodeEvent], report: SyncReport
) -> None:
    """Our own changes to the manager: out of service here (by an operator), drained there; back here, resumed."""
    for name, node in sorted(managed.items()):
        mine = ours.get(name)
        out_here = mine is not None and mine.state is not NodeState.UP and not _theirs(mine)
        if out_here and node.state is NodeState.UP:
            assert mine is not None
            manager.drain(name, FROM_US + (mine.reason or mine.state.value))
            report.drained += 1
        elif not out_here and node.state is not NodeState.UP and node.reason.startswith(FROM_US.strip()):
            manager.resume(name)
            report.resumed += 1
