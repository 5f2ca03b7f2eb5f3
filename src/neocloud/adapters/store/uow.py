"""The SQL unit of work: one transaction per `with` block, committed only by the caller."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from types import TracebackType
from typing import Self
from weakref import WeakKeyDictionary

import psycopg
from sqlalchemy import Connection, Engine, Insert, Row, and_, func, insert, or_, select, tuple_, update
from sqlalchemy.orm import Session, sessionmaker

from neocloud.adapters.store import codec
from neocloud.adapters.store.commercial import CommercialRows
from neocloud.adapters.store.database import is_unavailable, unavailable
from neocloud.adapters.store.paging import Key, page
from neocloud.adapters.store.tables import (
    ApiKeyRow,
    BillingTermsRow,
    ContractRow,
    HoldRow,
    IdempotencyRow,
    IncidentRow,
    InvoiceRow,
    PoolRow,
    SiteRow,
    TenantRow,
    UsageRow,
    WorkloadRow,
)
from neocloud.app.ports import ApiKey, Incident, StoredInvoice, StoredResponse, StoredWorkload
from neocloud.core.billing.invoice import BillingTerms
from neocloud.core.billing.metering import UsageRecord
from neocloud.core.billing.rating import Outage
from neocloud.core.contracts import Contract, Tenant
from neocloud.core.errors import UnknownPool, quoted
from neocloud.core.fleet import Pool, Site
from neocloud.core.ledger import Hold, HoldKind, Ledger
from neocloud.core.workload import Job, PriorityClass

# Read-only ledger snapshots per engine and pool: (pool version, when the version was last read, ledger of
# that pool alone). A snapshot younger than SNAPSHOT_FRESH_FOR seconds is served without asking the store,
# so a change shows in quotes within that time (a change this process makes drops the snapshot at once).
# Booking never uses snapshots: it reads the pool under its lock.
SNAPSHOT_FRESH_FOR = 0.05
_SNAPSHOTS: WeakKeyDictionary[Engine, dict[str, tuple[int, float, Ledger]]] = WeakKeyDictionary()
_AUTOCOMMIT: WeakKeyDictionary[Engine, Engine] = WeakKeyDictionary()


@contextlib.contextmanager
def _pipeline(session: Session) -> Iterator[None]:
    """PostgreSQL's pipeline mode: the statements inside are sent without waiting for each one's answer.
    An error still surfaces, at the latest when the pipeline ends, and fails the transaction."""
    driver = session.connection().connection.driver_connection
    assert isinstance(driver, psycopg.Connection)
    with driver.pipeline():
        yield


def _autocommit(engine: Engine) -> Engine:
    found = _AUTOCOMMIT.get(engine)
    if found is None:
        found = _AUTOCOMMIT[engine] = engine.execution_options(isolation_level="AUTOCOMMIT")
    return found


class SqlUnitOfWork(CommercialRows):
    def __init__(self, engine: Engine, *, read_only: bool = False) -> None:
        """`read_only`: on PostgreSQL, ledger snapshots are read outside any transaction, on a plain
        connection (a third of the cost of a session); each read is still atomic."""
        self._engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._postgres = engine.dialect.name == "postgresql"
        self._reader = _autocommit(engine) if read_only and self._postgres else None
        self._session: Session | None = None
        self._touched: dict[str, set[str]] = {}  # pool -> ids of the holds this transaction wrote
        self._locked: dict[str, tuple[int, Ledger]] = {}  # single-pool ledgers read under lock, by version
        self._unsent: list[tuple[Insert, list[dict[str, object]]]] = []  # new rows, sent before anything else

    @property
    def session(self) -> Session:
        """The transaction's session, with every new row sent: what comes next may read or refer to them."""
        session = self._open()
        if self._unsent:
            self._send(session)
        return session

    def _open(self) -> Session:
        if self._session is None:
            raise RuntimeError("use the unit of work inside a `with` block")
        return self._session

    def _send(self, session: Session) -> None:
        unsent, self._unsent = self._unsent, []
        if not unsent:
            return
        session.flush()  # rows added through the session first: ours may refer to them
        db = session.connection()
        for statement, rows in unsent:
            db.execute(statement, rows)

    def __enter__(self) -> Self:
        self._session = self._sessions()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Commit, or roll back on an error. A store that is away (or too slow) is raised as StoreUnavailable,
        one error whatever the driver: the caller answers 503 and may retry; nothing was written."""
        session = self._open()
        try:
            if exc_type is None:
                self.commit()
            else:
                self._unsent = []
                with contextlib.suppress(Exception):  # a lost connection cannot roll back; it is dropped anyway
                    session.rollback()
        except Exception as failed:
            if is_unavailable(failed):
                raise unavailable(failed) from failed
            raise
        finally:
            with contextlib.suppress(Exception):
                session.close()
            self._session = None
        if exc is not None and is_unavailable(exc):
            raise unavailable(exc) from exc

    def commit(self) -> None:
        """Commit, bumping the version of every pool whose holds changed (once per pool). A pool's ledger
        read under lock and changed here is, once committed, exactly its next version: keep it.

        When every changed pool was read under lock its new rows and version bumps need no answers, so on
        PostgreSQL they go in one pipeline: one round trip, then the commit's. (The commit stays outside:
        once it is done the session may hand the connection back to the pool.)"""
        touched, locked, session = self._touched, self._locked, self._open()
        pipelined = self._postgres and bool(touched) and set(touched) <= set(locked)
        with _pipeline(session) if pipelined else contextlib.nullcontext():
            self._send(session)
            for pool in sorted(touched):
                db = session.connection()  # plain statements: no ORM bookkeeping needed
                bump = update(PoolRow).where(PoolRow.name == pool).values(version=PoolRow.version + 1)
                if pool in locked:  # its holds were stamped with its next version as they were written
                    db.execute(bump)
                else:
                    version = db.execute(bump.returning(PoolRow.version)).scalar_one()
                    db.execute(update(HoldRow).where(HoldRow.id.in_(sorted(touched[pool]))).values(version=version))
        self._touched, self._locked = {}, {}
        session.commit()
        kept = _SNAPSHOTS.setdefault(self._engine, {})
        for pool in touched:
            if pool in locked:
                version, ledger = locked[pool]
                kept[pool] = (version + 1, time.monotonic(), ledger)

    def ping(self) -> None:
        self.session.execute(select(1))

    # Fleet ---------------------------------------------------------------------------------------------

    def add_site(self, site: Site) -> None:
        self.session.add(SiteRow(name=site.name, spec=codec.site_to_json(site)))
        self.session.flush()  # pools refer to the site
        self.session.add_all(
            PoolRow(name=p.name, site=p.site, gpu_model=p.gpu_model, block=p.block, gpus=p.gpus) for p in site.pools()
        )
        self.session.flush()

    def get_site(self, name: str) -> Site | None:
        row = self.session.get(SiteRow, name)
        return None if row is None else codec.site_from_json(row.spec)

    def list_sites(self) -> list[Site]:
        rows = self.session.scalars(select(SiteRow).order_by(SiteRow.name))
        return [codec.site_from_json(row.spec) for row in rows]

    def list_pools(self) -> list[Pool]:
        return [codec.pool_from_row(r) for r in self.session.scalars(select(PoolRow).order_by(PoolRow.name))]

    def get_pool(self, name: str) -> Pool | None:
        p = PoolRow
        found = self.session.execute(select(p.name, p.site, p.gpu_model, p.block, p.gpus).where(p.name == name)).first()
        return None if found is None else Pool(*found)

    # Ledger --------------------------------------------------------------------------------------------

    def load_ledger(self, pools: Iterable[str], *, lock: bool) -> Ledger:
        """The calendars of `pools`. With `lock`, concurrent writers to these pools wait until we end.

        PostgreSQL: SELECT ... FOR UPDATE on the pool rows, in name order so that two writers never
        deadlock. SQLite: every transaction already holds the database's single write lock.

        Without `lock` the ledger is a read-only snapshot: one pool's is kept in memory, shared, and reused
        while the pool's version (bumped with every change to its holds, in the same transaction) stands.
        """
        names = sorted(set(pools))
        if not lock and len(names) == 1 and names[0] not in self._touched:
            kept = _SNAPSHOTS.get(self._engine, {}).get(names[0])
            if kept is not None and time.monotonic() - kept[1] < SNAPSHOT_FRESH_FOR:
                return kept[2]
        query = (
            select(PoolRow.name, PoolRow.gpus, PoolRow.version).where(PoolRow.name.in_(names)).order_by(PoolRow.name)
        )
        if lock and self._postgres:
            query = query.with_for_update()
        if self._reader is not None and not lock:
            with self._reader.connect() as connection:
                return self._load(names, {row.name: row for row in connection.execute(query)}, lock, connection)
        return self._load(names, {row.name: row for row in self.session.execute(query)}, lock, self.session)

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
        cache = _SNAPSHOTS.setdefault(self._engine, {}) if single is not None and single not in self._touched else None
        if cache is not None and single is not None:
            version = rows[single].version
            cached = cache.get(single)
            if cached is not None and cached[0] == version and not lock:
                cache[single] = (version, time.monotonic(), cached[2])
                return cached[2]
            if cached is not None and cached[0] <= version:
                # Catch up from the kept ledger: only the holds written since (a copy: readers share it).
                mine = cached[2].copy()
                if cached[0] < version:
                    self._catch_up(mine, single, cached[0], db)
                if lock:
                    self._locked[single] = (version, mine)
                else:
                    cache[single] = (version, time.monotonic(), mine)
                return mine
        ledger = Ledger({name: rows[name].gpus for name in names})
        columns = (
            HoldRow.id,
            HoldRow.pool,
            HoldRow.gpus,
            HoldRow.start,
            HoldRow.end,
            HoldRow.kind,
            HoldRow.contract_id,
        )
        rows_ = db.execute(select(*columns).where(HoldRow.pool.in_(names), HoldRow.deleted.is_(False)))
        ledger.restore(Hold(i, p, g, s, e, HoldKind(k), c) for i, p, g, s, e, k, c in rows_)
        if single is not None and lock and single not in self._touched:
            self._locked[single] = (rows[single].version, ledger)
        elif cache is not None and single is not None:
            cache[single] = (rows[single].version, time.monotonic(), ledger)
        return ledger

    @staticmethod
    def _catch_up(ledger: Ledger, pool: str, since: int, db: Connection | Session) -> None:
        """Apply the holds written after version `since`: removed ones first, then the current ones."""
        columns = (HoldRow.id, HoldRow.gpus, HoldRow.start, HoldRow.end, HoldRow.kind, HoldRow.contract_id)
        changed = db.execute(
            select(*columns, HoldRow.deleted).where(HoldRow.pool == pool, HoldRow.version > since)
        ).all()
        for hold_id, *_ in changed:
            if ledger.has(hold_id):
                ledger.cancel(hold_id)
        for i, g, s, e, k, c, deleted in changed:
            if not deleted:
                ledger.book(Hold(i, pool, g, s, e, HoldKind(k), c))

    def save_hold(self, hold: Hold) -> None:
        """Update a hold (or insert it)."""
        self.session.merge(HoldRow(**self._hold_values(hold)))

    def _hold_values(self, hold: Hold) -> dict[str, object]:
        """The hold's columns, stamped with the pool's next version when the pool is ours (read under lock:
        its next version is the one this commit makes); noted as touched, for the commit to bump."""
        self._touch(hold.pool, hold.id)
        locked = self._locked.get(hold.pool)
        return codec.hold_values(hold) | {"version": 0 if locked is None else locked[0] + 1}

    def delete_hold(self, hold_id: str) -> None:
        """Mark the hold deleted (kept, so that readers catching up see it go)."""
        row = self.session.get(HoldRow, hold_id)
        if row is not None and not row.deleted:
            row.deleted = True
            locked = self._locked.get(row.pool)
            if locked is not None:
                row.version = locked[0] + 1
            self._touch(row.pool, hold_id)

    def _touch(self, pool: str, hold_id: str) -> None:
        self._touched.setdefault(pool, set()).add(hold_id)
        _SNAPSHOTS.get(self._engine, {}).pop(pool, None)  # this process reads its own change at once

    # Tenants and contracts -----------------------------------------------------------------------------

    def add_tenant(self, tenant: Tenant) -> None:
        self.session.add(TenantRow(id=tenant.id, name=tenant.name, kind=str(tenant.kind)))
        self.session.flush()

    def get_tenant(self, key: str) -> Tenant | None:
        """A tenant by id or by name."""
        rows = self.session.scalars(select(TenantRow).where(or_(TenantRow.id == key, TenantRow.name == key))).all()
        row = next((r for r in rows if r.id == key), rows[0] if rows else None)  # the id wins over a name
        return None if row is None else codec.tenant_from_row(row)

    def list_tenants(self, *, after: Key | None = None, limit: int | None = None) -> list[Tenant]:
        query = page(select(TenantRow), (TenantRow.name,), after, limit)
        return [codec.tenant_from_row(r) for r in self.session.scalars(query)]

    def add_contracts(self, contracts: Sequence[Contract], holds: Sequence[Hold] = ()) -> None:
        """Insert new contracts, then their holds: one statement per table, however many, sent with
        whatever comes next (at the latest, the commit)."""
        if contracts:
            self._unsent.append((insert(ContractRow), [codec.contract_values(c) for c in contracts]))
        if holds:
            self._unsent.append((insert(HoldRow), [self._hold_values(h) for h in holds]))

    def save_contract(self, contract: Contract) -> None:
        """Update a contract (or insert it)."""
        self.session.merge(codec.contract_to_row(contract))
        self.session.flush()

    def get_contract(self, contract_id: str) -> Contract | None:
        """The contract as committed now: read again even if this transaction has read it before (after a
        pool's lock it may have changed)."""
        row = self.session.get(ContractRow, contract_id, populate_existing=True)
        return None if row is None else codec.contract_from_row(row)

    def get_contracts(self, contract_ids: Iterable[str]) -> dict[str, Contract]:
        wanted = sorted(set(contract_ids))
        if not wanted:
            return {}
        rows = self.session.scalars(select(ContractRow).where(ContractRow.id.in_(wanted)))
        return {r.id: codec.contract_from_row(r) for r in rows}

    def holding(self, pools: Iterable[str], at: int) -> list[Contract]:
        """Reserved and internal contracts of these pools whose GPUs are held at `at` (their holds' terms are
        the contracts' own, a cancelled contract's shortened to its notice)."""
        c = ContractRow
        query = select(c).where(
            c.pool.in_(sorted(set(pools))), c.end > at, c.start <= at, c.gpus > 0, c.kind.in_(("reserved", "internal"))
        )
        return [codec.contract_from_row(r) for r in self.session.scalars(query.order_by(c.start, c.id))]

    def list_contracts(
        self, tenant_id: str | None = None, *, after: Key | None = None, limit: int | None = None
    ) -> list[Contract]:
        query = select(ContractRow)
        if tenant_id is not None:
            query = query.where(ContractRow.tenant_id == tenant_id)
        query = page(query, (ContractRow.start, ContractRow.id), after, limit)
        return [codec.contract_from_row(r) for r in self.session.scalars(query)]

    # Metering and invoices ----------------------------------------------------------------------------

    def save_usage(self, records: Iterable[UsageRecord]) -> None:
        self.session.add_all(codec.usage_to_row(r) for r in records)
        self.session.flush()

    def usage_by_keys(self, keys: Iterable[str]) -> list[UsageRecord]:
        wanted = sorted(set(keys))
        rows: list[UsageRow] = []
        for i in range(0, len(wanted), 500):  # keep IN lists short
            rows.extend(self.session.scalars(select(UsageRow).where(UsageRow.key.in_(wanted[i : i + 500]))))
        return [codec.usage_from_row(r) for r in rows]

    def usage_of_jobs(self, pairs: Iterable[tuple[str, str]]) -> list[UsageRecord]:
        wanted = sorted(set(pairs))
        rows: list[UsageRow] = []
        for i in range(0, len(wanted), 200):
            chunk = wanted[i : i + 200]
            clause = or_(*(and_(UsageRow.contract_id == c, UsageRow.job_id == j) for c, j in chunk))
            rows.extend(self.session.scalars(select(UsageRow).where(clause)))
        return [codec.usage_from_row(r) for r in rows]

    def usage_between(
        self, start: int, end: int, tenant_id: str | None = None, *, after: Key | None = None, limit: int | None = None
    ) -> list[UsageRecord]:
        query = select(UsageRow).where(UsageRow.start < end, UsageRow.end > start)
        if tenant_id is not None:
            query = query.where(UsageRow.tenant_id == tenant_id)
        query = page(query, (UsageRow.start, UsageRow.key), after, limit)
        return [codec.usage_from_row(r) for r in self.session.scalars(query)]

    def invoiced_periods(self, tenant_ids: Iterable[str]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        query = select(InvoiceRow.tenant_id, InvoiceRow.period).where(InvoiceRow.tenant_id.in_(sorted(set(tenant_ids))))
        for tenant, period in self.session.execute(query):
            out.setdefault(tenant, []).append(period)
        return out

    def invoiced_periods_on_pool(self, pool: str) -> set[str]:
        tenants = select(ContractRow.tenant_id).where(ContractRow.pool == pool).distinct()
        query = select(InvoiceRow.period).where(InvoiceRow.tenant_id.in_(tenants)).distinct()
        return set(self.session.scalars(query))

    def save_invoice(self, invoice: StoredInvoice) -> None:
        self.session.add(
            InvoiceRow(
                id=invoice.id,
                tenant_id=invoice.tenant_id,
                period=invoice.period,
                issued_at=invoice.issued_at,
                total=invoice.total,
                lines=[codec.line_to_json(line) for line in invoice.lines],
            )
        )
        self.session.flush()

    def get_invoice(self, invoice_id: str) -> StoredInvoice | None:
        row = self.session.get(InvoiceRow, invoice_id)
        return None if row is None else _invoice(row)

    def list_invoices(
        self,
        tenant_id: str | None = None,
        period: str | None = None,
        *,
        after: Key | None = None,
        limit: int | None = None,
    ) -> list[StoredInvoice]:
        query = select(InvoiceRow)
        if tenant_id is not None:
            query = query.where(InvoiceRow.tenant_id == tenant_id)
        if period is not None:
            query = query.where(InvoiceRow.period == period)
        query = page(query, (InvoiceRow.period, InvoiceRow.tenant_id), after, limit)
        return [_invoice(r) for r in self.session.scalars(query)]

    def add_incident(self, incident_id: str, outage: Outage, description: str) -> None:
        self.session.add(
            IncidentRow(
                id=incident_id,
                pool=outage.pool,
                start=outage.start,
                end=outage.end,
                gpus=outage.gpus,
                contract_id=outage.contract_id,
                description=description,
            )
        )
        self.session.flush()

    def incidents_between(self, pools: Iterable[str], start: int, end: int) -> list[Outage]:
        query = (
            select(IncidentRow)
            .where(IncidentRow.pool.in_(sorted(set(pools))), IncidentRow.start < end, IncidentRow.end > start)
            .order_by(IncidentRow.start, IncidentRow.id)
        )
        return [Outage(r.pool, r.start, r.end, r.gpus, r.contract_id) for r in self.session.scalars(query)]

    def list_incidents(
        self, pools: Iterable[str], start: int, end: int, *, after: Key | None = None, limit: int | None = None
    ) -> list[Incident]:
        i = IncidentRow
        query = select(i).where(i.pool.in_(sorted(set(pools))), i.start < end, i.end > start)
        return [
            Incident(r.id, r.pool, r.start, r.end, r.gpus, r.contract_id, r.description)
            for r in self.session.scalars(page(query, (i.start, i.id), after, limit))
        ]

    def get_billing_terms(self, contract_ids: Iterable[str]) -> dict[str, BillingTerms]:
        query = select(BillingTermsRow).where(BillingTermsRow.contract_id.in_(sorted(set(contract_ids))))
        return {
            r.contract_id: BillingTerms(Decimal(r.minimum_per_period), Decimal(r.prepaid_balance))
            for r in self.session.scalars(query)
        }

    def save_billing_terms(self, contract_id: str, terms: BillingTerms) -> None:
        self.session.merge(
            BillingTermsRow(
                contract_id=contract_id,
                minimum_per_period=terms.minimum_per_period,
                prepaid_balance=terms.prepaid_balance,
            )
        )
        self.session.flush()

    # API keys and idempotency -------------------------------------------------------------------------

    def save_api_key(self, key: ApiKey) -> None:
        self.session.merge(
            ApiKeyRow(
                id=key.id,
                digest=key.digest,
                role=key.role,
                tenant_id=key.tenant_id,
                created_at=key.created_at,
                revoked_at=key.revoked_at,
                expires_at=key.expires_at,
                last_used_at=key.last_used_at,
            )
        )
        self.session.flush()

    def api_key_by_digest(self, digest: str) -> ApiKey | None:
        k = ApiKeyRow  # every request authenticates: plain columns, no ORM object
        columns = (k.id, k.digest, k.role, k.tenant_id, k.created_at, k.revoked_at, k.expires_at, k.last_used_at)
        found = self.session.execute(select(*columns).where(k.digest == digest)).first()
        return None if found is None else ApiKey(*found)

    def touch_api_key(self, key_id: str, now: int) -> None:
        self.session.execute(update(ApiKeyRow).where(ApiKeyRow.id == key_id).values(last_used_at=now))

    def get_api_key(self, key_id: str) -> ApiKey | None:
        row = self.session.get(ApiKeyRow, key_id)
        return None if row is None else _api_key(row)

    def list_api_keys(
        self, tenant_id: str | None = None, *, after: Key | None = None, limit: int | None = None
    ) -> list[ApiKey]:
        query = select(ApiKeyRow) if tenant_id is None else select(ApiKeyRow).where(ApiKeyRow.tenant_id == tenant_id)
        query = page(query, (ApiKeyRow.created_at, ApiKeyRow.id), after, limit)
        return [_api_key(r) for r in self.session.scalars(query)]

    def stored_responses(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], StoredResponse]:
        wanted = sorted(set(keys))
        if not wanted:
            return {}
        i = IdempotencyRow
        rows = self.session.execute(
            select(i.scope, i.key, i.fingerprint, i.status, i.body).where(tuple_(i.scope, i.key).in_(wanted))
        )
        return {(r.scope, r.key): StoredResponse(r.fingerprint, r.status, r.body) for r in rows}

    def store_responses(self, responses: Iterable[tuple[str, str, StoredResponse]], now: int) -> None:
        values = [
            {"scope": s, "key": k, "fingerprint": r.fingerprint, "status": r.status, "body": r.body, "created_at": now}
            for s, k, r in responses
        ]
        if values:
            self._unsent.append((insert(IdempotencyRow), values))

    # Workloads ----------------------------------------------------------------------------------------

    def save_workload(self, workload: StoredWorkload) -> None:
        job = workload.job
        self.session.merge(
            WorkloadRow(
                id=job.id,
                tenant_id=job.tenant,
                contract_id=workload.contract_id,
                gpu_model=job.gpu_model or "",
                gpus_per_task=job.gpus_per_task,
                tasks=job.tasks,
                duration=job.duration,
                priority=str(job.priority),
                submit=job.submit,
                status=workload.status,
                remaining=workload.remaining,
                attained=workload.attained,
                started=workload.started,
                first_start=workload.first_start,
                finished=workload.finished,
                preemptions=workload.preemptions,
                allocation=None if workload.allocation is None else [list(a) for a in workload.allocation],
            )
        )
        self.session.flush()

    def get_workload(self, workload_id: str) -> StoredWorkload | None:
        row = self.session.get(WorkloadRow, workload_id)
        return None if row is None else _workload(row)

    def list_workloads(
        self, tenant_id: str | None = None, *, after: Key | None = None, limit: int | None = None
    ) -> list[StoredWorkload]:
        query = select(WorkloadRow)
        if tenant_id is not None:
            query = query.where(WorkloadRow.tenant_id == tenant_id)
        query = page(query, (WorkloadRow.submit, WorkloadRow.id), after, limit)
        return [_workload(r) for r in self.session.scalars(query)]

    def count_workloads(self) -> dict[tuple[str, str], int]:
        w, c = WorkloadRow, ContractRow
        query = select(c.pool, w.status, func.count()).join(c, c.id == w.contract_id).group_by(c.pool, w.status)
        return {(pool, status): n for pool, status, n in self.session.execute(query)}

    def active_workloads(self, *, lock: bool) -> list[StoredWorkload]:
        query = select(WorkloadRow).where(WorkloadRow.status.in_(("pending", "running")))
        if lock and self._postgres:
            query = query.with_for_update()
        return [_workload(r) for r in self.session.scalars(query.order_by(WorkloadRow.submit, WorkloadRow.id))]


def _workload(row: WorkloadRow) -> StoredWorkload:
    job = Job(
        row.id,
        row.submit,
        row.duration,
        row.gpus_per_task,
        row.tasks,
        row.tenant_id,
        PriorityClass(row.priority),
        gpu_model=row.gpu_model or None,
    )
    allocation = None if row.allocation is None else tuple((str(n), int(str(g))) for n, g in row.allocation)
    return StoredWorkload(
        job,
        row.contract_id,
        row.status,
        row.remaining,
        row.attained,
        row.started,
        row.first_start,
        row.finished,
        row.preemptions,
        allocation,
    )


def _api_key(row: ApiKeyRow) -> ApiKey:
    return ApiKey(
        row.id, row.digest, row.role, row.tenant_id, row.created_at, row.revoked_at, row.expires_at, row.last_used_at
    )


def _invoice(row: InvoiceRow) -> StoredInvoice:
    return StoredInvoice(
        row.id, row.tenant_id, row.period, row.issued_at, tuple(codec.line_from_json(line) for line in row.lines)
    )
