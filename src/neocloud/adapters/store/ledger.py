"""The pools' calendars in SQL, and the read-only snapshots of them this process keeps.

Every change to a pool's holds bumps the pool's version in the same transaction, and each hold row carries
the version that last wrote it: a kept ledger catches up by reading only the holds written since."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence

from sqlalchemy import Connection, Engine, Row, insert, select, update
from sqlalchemy.orm import Session

from neocloud.adapters.store import codec
from neocloud.adapters.store.session import Transaction
from neocloud.adapters.store.tables import HoldRow, PoolRow
from neocloud.core.errors import UnknownPool, quoted
from neocloud.core.ledger import Hold, HoldKind, Ledger


class LedgerSnapshots:
    """Read-only ledgers of single pools, kept between transactions: (pool version, when the version was last
    read, ledger). One per engine, owned by the composition root (bootstrap.Context). A snapshot younger than
    `fresh_for` seconds is served without asking the store, so a change from another process shows in quotes
    within that time; a change this process makes drops the snapshot at once. Booking never uses snapshots:
    it reads the pool under its lock."""

    def __init__(self, fresh_for: float = 0.05) -> None:
        self.fresh_for = fresh_for
        self._kept: dict[str, tuple[int, float, Ledger]] = {}

    def fresh(self, pool: str) -> Ledger | None:
        kept = self._kept.get(pool)
        return kept[2] if kept is not None and time.monotonic() - kept[1] < self.fresh_for else None

    def get(self, pool: str) -> tuple[int, Ledger] | None:
        kept = self._kept.get(pool)
        return None if kept is None else (kept[0], kept[2])

    def keep(self, pool: str, version: int, ledger: Ledger) -> None:
        self._kept[pool] = (version, time.monotonic(), ledger)

    def drop(self, pool: str) -> None:
        self._kept.pop(pool, None)

    def clear(self) -> None:
        self._kept.clear()


class SqlLedger:
    def __init__(self, tx: Transaction, snapshots: LedgerSnapshots, reader: Engine | None) -> None:
        """`reader`: on PostgreSQL, an autocommit engine that snapshots are read on, outside any transaction
        (a third of the cost of a session; each read is still atomic)."""
        self._tx = tx
        self._snapshots = snapshots
        self._reader = reader
        self._touched: dict[str, set[str]] = {}  # pool -> ids of the holds this transaction wrote
        self._locked: dict[str, tuple[int, Ledger]] = {}  # single-pool ledgers read under lock, by version

    def load(self, pools: Iterable[str], *, lock: bool) -> Ledger:
        """PostgreSQL locks with SELECT ... FOR UPDATE on the pool rows, in name order so that two writers never
        deadlock; on SQLite every transaction already holds the database's single write lock."""
        names = sorted(set(pools))
        single = names[0] if len(names) == 1 else None
        if not lock and single is not None and single not in self._touched:
            fresh = self._snapshots.fresh(single)
            if fresh is not None:
                return fresh
        query = (
            select(PoolRow.name, PoolRow.gpus, PoolRow.version).where(PoolRow.name.in_(names)).order_by(PoolRow.name)
        )
        if lock and self._tx.postgres:
            query = query.with_for_update()
        if self._reader is not None and not lock:
            with self._reader.connect() as connection:
                return self._load(names, {row.name: row for row in connection.execute(query)}, lock, connection)
        session = self._tx.session
        return self._load(names, {row.name: row for row in session.execute(query)}, lock, session)

    def _load(
        self, names: list[str], rows: dict[str, Row[str, int, int]], lock: bool, db: Connection | Session
    ) -> Ledger:
        for name in names:
            if name not in rows:
                raise UnknownPool(f"unknown pool {quoted(name)}", pool=name)
        single = names[0] if len(names) == 1 else None
        if lock and single in self._locked:
            return self._locked[single][1]  # this transaction's own ledger of the pool, changes included
        # Snapshots are the committed state: not for a pool this transaction has changed.
        if single is not None and single not in self._touched:
            version = rows[single].version
            kept = self._snapshots.get(single)
            if kept is not None and kept[0] == version and not lock:
                self._snapshots.keep(single, version, kept[1])
                return kept[1]
            if kept is not None and kept[0] <= version:
                mine = kept[1].copy()  # catch up from the kept ledger (a copy: readers share it)
                if kept[0] < version:
                    _catch_up(mine, single, kept[0], db)
                if lock:
                    self._locked[single] = (version, mine)
                else:
                    self._snapshots.keep(single, version, mine)
                return mine
        ledger = Ledger({name: rows[name].gpus for name in names})
        h = HoldRow
        found = db.execute(
            select(h.id, h.pool, h.gpus, h.start, h.end, h.kind, h.contract_id).where(
                h.pool.in_(names), h.deleted.is_(False)
            )
        )
        ledger.restore(Hold(i, p, g, s, e, HoldKind(k), c) for i, p, g, s, e, k, c in found)
        if single is not None and single not in self._touched:
            if lock:
                self._locked[single] = (rows[single].version, ledger)
            else:
                self._snapshots.keep(single, rows[single].version, ledger)
        return ledger

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
            locked = self._locked.get(row.pool)
            if locked is not None:
                row.version = locked[0] + 1
            self._touch(row.pool, hold_id)

    def _values(self, hold: Hold) -> dict[str, object]:
        """The hold's columns, stamped with the pool's next version when the pool is ours (read under lock:
        its next version is the one this commit makes); noted as touched, for the commit to bump."""
        self._touch(hold.pool, hold.id)
        locked = self._locked.get(hold.pool)
        return codec.hold_values(hold) | {"version": 0 if locked is None else locked[0] + 1}

    def _touch(self, pool: str, hold_id: str) -> None:
        self._touched.setdefault(pool, set()).add(hold_id)
        self._snapshots.drop(pool)  # this process reads its own change at once

    # The unit of work's commit --------------------------------------------------------------------------

    @property
    def bumps_blind(self) -> bool:
        """Whether holds changed and the versions can be bumped without reading any answer: every changed pool
        was read under lock, so its holds already carry the new version."""
        return bool(self._touched) and set(self._touched) <= set(self._locked)

    def bump_versions(self, db: Connection) -> None:
        """Bump the version of every pool whose holds changed (once per pool), stamping the holds written
        without the pool's lock with it."""
        for pool in sorted(self._touched):
            bump = update(PoolRow).where(PoolRow.name == pool).values(version=PoolRow.version + 1)
            if pool in self._locked:
                db.execute(bump)
            else:
                version = db.execute(bump.returning(PoolRow.version)).scalar_one()
                held = sorted(self._touched[pool])
                db.execute(update(HoldRow).where(HoldRow.id.in_(held)).values(version=version))

    def committed(self) -> None:
        """A pool's ledger read under lock and changed here is, once committed, exactly its next version: keep
        it as the snapshot."""
        for pool in self._touched:
            if pool in self._locked:
                version, ledger = self._locked[pool]
                self._snapshots.keep(pool, version + 1, ledger)
        self.forget()

    def forget(self) -> None:
        self._touched, self._locked = {}, {}


def _catch_up(ledger: Ledger, pool: str, since: int, db: Connection | Session) -> None:
    """Apply the holds written after version `since`: removed ones first, then the current ones."""
    h = HoldRow
    changed = db.execute(
        select(h.id, h.gpus, h.start, h.end, h.kind, h.contract_id, h.deleted).where(h.pool == pool, h.version > since)
    ).all()
    for hold_id, *_ in changed:
        if ledger.has(hold_id):
            ledger.cancel(hold_id)
    for i, g, s, e, k, c, deleted in changed:
        if not deleted:
            ledger.book(Hold(i, pool, g, s, e, HoldKind(k), c))
