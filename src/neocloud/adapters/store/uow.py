"""The SQL unit of work: one transaction per `with` block over every repository, committed only by the caller."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from types import TracebackType
from typing import Self

import psycopg
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from neocloud.adapters.store.analyses import SqlAnalyses
from neocloud.adapters.store.assignments import SqlAssignments
from neocloud.adapters.store.billing import SqlBilling
from neocloud.adapters.store.contracts import SqlContracts
from neocloud.adapters.store.database import is_unavailable, unavailable
from neocloud.adapters.store.fleet import SqlFleet
from neocloud.adapters.store.keys import SqlKeys
from neocloud.adapters.store.ledger import LedgerSnapshots, SqlLedger
from neocloud.adapters.store.nodes import SqlNodes
from neocloud.adapters.store.session import Transaction
from neocloud.adapters.store.tenants import SqlTenants
from neocloud.adapters.store.workloads import SqlWorkloads
from neocloud.app.ports import (
    AnalysisRepository,
    AssignmentRepository,
    BillingRepository,
    ContractRepository,
    FleetRepository,
    KeyRepository,
    LedgerRepository,
    NodeRepository,
    TenantRepository,
    WorkloadRepository,
)
from neocloud.core.catalog import Catalog


@contextlib.contextmanager
def _pipeline(session: Session) -> Iterator[None]:
    """PostgreSQL's pipeline mode: the statements inside are sent without waiting for each one's answer.
    An error still surfaces, at the latest when the pipeline ends, and fails the transaction."""
    driver = session.connection().connection.driver_connection
    assert isinstance(driver, psycopg.Connection)
    with driver.pipeline():
        yield


class SqlUnitOfWork:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        snapshots: LedgerSnapshots,
        catalog: Catalog,
        *,
        postgres: bool,
        reader: Engine | None,
    ) -> None:
        """`snapshots`: the engine's kept ledgers; `reader`: the engine that snapshots are read on outside any
        transaction (PostgreSQL only, for units of work that only read)."""
        self._tx = Transaction(sessions, postgres=postgres)
        self.fleet: FleetRepository = SqlFleet(self._tx)
        self._ledger = SqlLedger(self._tx, snapshots, reader, catalog)
        self.ledger: LedgerRepository = self._ledger
        self.tenants: TenantRepository = SqlTenants(self._tx)
        self.contracts: ContractRepository = SqlContracts(self._tx)
        self.billing: BillingRepository = SqlBilling(self._tx)
        self.keys: KeyRepository = SqlKeys(self._tx)
        self.workloads: WorkloadRepository = SqlWorkloads(self._tx)
        self.nodes: NodeRepository = SqlNodes(self._tx)
        self.assignments: AssignmentRepository = SqlAssignments(self._tx)
        self.analyses: AnalysisRepository = SqlAnalyses(self._tx)

    def __enter__(self) -> Self:
        self._tx.begin()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Commit, or roll back on an error. A store that is away (or too slow) is raised as StoreUnavailable,
        one error whatever the driver: the caller answers 503 and may retry; nothing was written."""
        session = self._tx.open
        try:
            if exc_type is None:
                self.commit()
            else:
                with contextlib.suppress(Exception):  # a lost connection cannot roll back; it is dropped anyway
                    session.rollback()
        except Exception as failed:
            if is_unavailable(failed):
                raise unavailable(failed) from failed
            raise
        finally:
            with contextlib.suppress(Exception):
                session.close()
            self._tx.end()
            self._ledger.forget()
        if exc is not None and is_unavailable(exc):
            raise unavailable(exc) from exc

    def commit(self) -> None:
        """Commit, with every pool whose holds changed one version further.

        When every changed pool was read under lock, its new rows and version bumps need no answers, so on
        PostgreSQL they go in one pipeline: one round trip, then the commit's. (The commit stays outside:
        once it is done the session may hand the connection back to the pool.)"""
        session = self._tx.open
        with _pipeline(session) if self._tx.postgres and self._ledger.bumps_blind else contextlib.nullcontext():
            self._tx.send()
            self._ledger.bump_versions(session.connection())
        session.commit()
        self._ledger.committed()

    def ping(self) -> None:
        self._tx.session.execute(select(1))


class SqlStore:
    """A store's engine with what its units of work share: the session factory and the ledger snapshots kept
    between units of work (one set per engine)."""

    def __init__(self, engine: Engine, catalog: Catalog) -> None:
        self.engine = engine
        self.catalog = catalog
        self.snapshots = LedgerSnapshots()
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._postgres = engine.dialect.name == "postgresql"
        # Snapshots read by units of work that only read go outside any transaction on PostgreSQL.
        self._reader = engine.execution_options(isolation_level="AUTOCOMMIT") if self._postgres else None

    def uow(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self._sessions, self.snapshots, self.catalog, postgres=self._postgres, reader=None)

    def reader(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self._sessions, self.snapshots, self.catalog, postgres=self._postgres, reader=self._reader)
