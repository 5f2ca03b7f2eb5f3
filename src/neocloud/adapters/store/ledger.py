"""The pools' calendars in SQL, and the read-only snapshots of them this process keeps.

Every change to a pool's holds bumps the pool's version in the same transaction, and each hold row carries
the version that last wrote it: a kept ledger catches up by reading only the holds written since."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence

from sqlalchemy import Connection, Engine, Row, and_, insert, or_, select, update
from sqlalchemy.orm import Session

from neocloud.adapters.store import codec
from neocloud.adapters.store.session import Transaction
from neocloud.adapters.store.tables import HoldRow, PoolRow, SiteRow
from neocloud.core.catalog import Catalog
from neocloud.core.errors import UnknownPool, quoted
from neocloud.core.ledger import Hold, HoldKind, Ledger
from neocloud.core.power import Group, PowerBook, merged, power_groups

Versions = tuple[int, ...]  # a group's pools' versions, in the group's order


class LedgerSnapshots:
    """Read-only ledgers of single groups of pools, kept between transactions: (the pools' versions, when they
    were last read, ledger). A group is one pool, or every pool under one site's power nodes (core/power.py,
    `power_groups`): those are loaded, locked and kept together. One per engine, owned by the composition
    root (bootstrap.Context). A snapshot younger than `fresh_for` seconds is served without asking the store,
    so a change from another process shows in quotes within that time; a change this process makes drops the
    snapshot at once. Booking never uses snapshots: it reads the pools under their lock."""

    def __init__(self, fresh_for: float = 0.05) -> None:
        self.fresh_for = fresh_for
        self._kept: dict[Group, tuple[Versions, float, Ledger]] = {}
        # Each pool's group and the group's power book: sites and pools never change once added.
        self.groups: dict[str, tuple[Group, PowerBook | None]] = {}

    def group(self, pool: str) -> Group:
        return self.groups.get(pool, ((pool,), None))[0]

    def fresh(self, pool: str) -> Ledger | None:
        """The kept ledger of the pool's group, if it is fresh."""
        kept = self._kept.get(self.group(pool))
        return kept[2] if kept is not None and time.monotonic() - kept[1] < self.fresh_for else None

    def get(self, pool: str) -> tuple[Versions, Ledger] | None:
        kept = self._kept.get(self.group(pool))
        return None if kept is None else (kept[0], kept[2])

    def keep(self, group: Group, versions: Versions, ledger: Ledger) -> None:
        ledger.settle()  # readers share it: none of them may have changes left to merge
        self._kept[group] = (versions, time.monotonic(), ledger)

    def drop(self, pool: str) -> None:
        self._kept.pop(self.group(pool), None)

    def clear(self) -> None:
        self._kept.clear()
        self.groups.clear()


class SqlLedger:
    def __init__(self, tx: Transaction, snapshots: LedgerSnapshots, reader: Engine | None, catalog: Catalog) -> None:
        """`reader`: on PostgreSQL, an autocommit engine that snapshots are read on, outside any transaction
        (a third of the cost of a session; each read is still atomic). `catalog`: for the power book."""
        self._tx = tx
        self._snapshots = snapshots
        self._reader = reader
        self._catalog = catalog
        self._touched: dict[str, set[str]] = {}  # pool -> ids of the holds this transaction wrote
        self._locked: dict[Group, tuple[Versions, Ledger]] = {}  # single-group ledgers read under lock
        self._locked_at: dict[str, int] = {}  # each of their pools' version when read

    def load(self, pools: Iterable[str], *, lock: bool) -> Ledger:
        """The ledger of the pools and of every pool in their groups. PostgreSQL locks with SELECT ... FOR UPDATE
        on the pool rows, in name order so that two writers never deadlock; on SQLite every transaction already
        holds the database's single write lock."""
        groups = self._groups(sorted(set(pools)))
        names = sorted({name for group, _ in groups.values() for name in group})
        single = next(iter(groups.values()))[0] if len({g for g, _ in groups.values()}) == 1 else None
        if not lock and single is not None and not self._changed(single):
            fresh = self._snapshots.fresh(single[0])
            if fresh is not None:
                return fresh
        query = (
            select(PoolRow.name, PoolRow.gpus, PoolRow.version).where(PoolRow.name.in_(names)).order_by(PoolRow.name)
        )
        if lock and self._tx.postgres:
            query = query.with_for_update()
        book = merged(book for _, book in groups.values())
        if self._reader is not None and not lock:
            with self._reader.connect() as connection:
                rows = {row.name: row for row in connection.execute(query)}
                return self._load(names, single, book, rows, lock, connection)
        session = self._tx.session
        return self._load(names, single, book, {row.name: row for row in session.execute(query)}, lock, session)

    def _groups(self, pools: list[str]) -> dict[str, tuple[Group, PowerBook | None]]:
        """Each known pool's group and book, reading the sites of pools not seen before; unknown pools are
        refused."""
        known = self._snapshots.groups
        missing = [p for p in pools if p not in known]
        if missing:
            session = self._tx.session
            sites = session.scalars(select(PoolRow.site).where(PoolRow.name.in_(missing)).distinct()).all()
            for row in session.scalars(select(SiteRow).where(SiteRow.name.in_(sites))):
                known.update(power_groups(codec.site_from_json(row.spec), self._catalog))
        for pool in pools:
            if pool not in known:
                raise UnknownPool(f"unknown pool {quoted(pool)}", pool=pool)
        return {pool: known[pool] for pool in pools}

    def _changed(self, group: Group) -> bool:
        return any(pool in self._touched for pool in group)

    def _load(
        self,
        names: list[str],
        single: Group | None,
        book: PowerBook | None,
        rows: dict[str, Row[str, int, int]],
        lock: bool,
        db: Connection | Session,
    ) -> Ledger:
        if lock and single in self._locked:
            return self._locked[single][1]  # this transaction's own ledger of the group, changes included
        versions = tuple(rows[name].version for name in names)
        # Snapshots are the committed state: not for a group this transaction has changed.
        if single is not None and not self._changed(single):
            kept = self._snapshots.get(single[0])
            if kept is not None and kept[0] == versions and not lock:
                self._snapshots.keep(single, versions, kept[1])
                return kept[1]
            if kept is not None and all(was <= now for was, now in zip(kept[0], versions, strict=True)):
                mine = kept[1].copy()  # catch up from the kept ledger (a copy: readers share it)
                behind = [(name, was) for name, was, now in zip(names, kept[0], versions, strict=True) if was < now]
                if behind:
                    _catch_up(mine, behind, db)
                self._keep(single, versions, mine, lock)
                return mine
        ledger = Ledger({name: rows[name].gpus for name in names}, power=book)
        h = HoldRow
        found = db.execute(
            select(h.id, h.pool, h.gpus, h.start, h.end, h.kind, h.contract_id, h.cap_w).where(
                h.pool.in_(names), h.deleted.is_(False)
            )
        )
        ledger.restore(Hold(i, p, g, s, e, HoldKind(k), c, w) for i, p, g, s, e, k, c, w in found)
        if single is not None and not self._changed(single):
            self._keep(single, versions, ledger, lock)
        return ledger

    def _keep(self, group: Group, versions: Versions, ledger: Ledger, lock: bool) -> None:
        if lock:
            self._locked[group] = (versions, ledger)
            self._locked_at.update(zip(group, versions, strict=True))
        else:
            self._snapshots.keep(group, versions, ledger)

    def add(self, holds: Sequence[Hold]) -> None:
        """Insert new holds: one statement, however many, sent with whatever comes next."""
        self._tx.queue(insert(HoldRow), [self._values(h) for h in holds])

    def save(self, hold: Hold) -> None:
        self._tx.session.merge(HoldRow(**self._values(hold)))

    def delete(self, hold_id: str) -> None:
        """Mark the hold deleted (kept, so that readers catching up see it go)."""
        row = self._tx.session.get(HoldRow, hold_id)
        if row is not None and not row.deleted:
            row.deleted = True
            if row.pool in self._locked_at:
                row.version = self._locked_at[row.pool] + 1
            self._touch(row.pool, hold_id)

    def _values(self, hold: Hold) -> dict[str, object]:
        """The hold's columns, stamped with the pool's next version when the pool is ours (read under lock:
        its next version is the one this commit makes); noted as touched, for the commit to bump."""
        self._touch(hold.pool, hold.id)
        locked = self._locked_at.get(hold.pool)
        return codec.hold_values(hold) | {"version": 0 if locked is None else locked + 1}

    def _touch(self, pool: str, hold_id: str) -> None:
        self._touched.setdefault(pool, set()).add(hold_id)
        self._snapshots.drop(pool)  # this process reads its own change at once

    # The unit of work's commit --------------------------------------------------------------------------

    @property
    def bumps_blind(self) -> bool:
        """Whether holds changed and the versions can be bumped without reading any answer: every changed pool
        was read under lock, so its holds already carry the new version."""
        return bool(self._touched) and set(self._touched) <= set(self._locked_at)

    def bump_versions(self, db: Connection) -> None:
        """Bump the version of every pool whose holds changed (once per pool), stamping the holds written
        without the pool's lock with it."""
        for pool in sorted(self._touched):
            bump = update(PoolRow).where(PoolRow.name == pool).values(version=PoolRow.version + 1)
            if pool in self._locked_at:
                db.execute(bump)
            else:
                version = db.execute(bump.returning(PoolRow.version)).scalar_one()
                held = sorted(self._touched[pool])
                db.execute(update(HoldRow).where(HoldRow.id.in_(held)).values(version=version))

    def committed(self) -> None:
        """A group's ledger read under lock and changed here is, once committed, exactly its next versions (one
        further for each changed pool): keep it as the snapshot."""
        for group, (versions, ledger) in self._locked.items():
            if self._changed(group):
                bumped = tuple(v + (pool in self._touched) for pool, v in zip(group, versions, strict=True))
                self._snapshots.keep(group, bumped, ledger)
        self.forget()

    def forget(self) -> None:
        self._touched, self._locked, self._locked_at = {}, {}, {}


def _catch_up(ledger: Ledger, behind: list[tuple[str, int]], db: Connection | Session) -> None:
    """Apply the holds written to each pool after its version: every removed or changed one first, then the
    current ones (so that no step in between draws more power than the end state)."""
    h = HoldRow
    since = or_(*(and_(h.pool == pool, h.version > was) for pool, was in behind))
    changed = db.execute(
        select(h.id, h.pool, h.gpus, h.start, h.end, h.kind, h.contract_id, h.cap_w, h.deleted).where(since)
    ).all()
    for hold_id, *_ in changed:
        if ledger.has(hold_id):
            ledger.cancel(hold_id)
    for i, p, g, s, e, k, c, w, deleted in changed:
        if not deleted:
            ledger.book(Hold(i, p, g, s, e, HoldKind(k), c, w))
