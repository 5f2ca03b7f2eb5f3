"""Units of work run from an event loop without blocking it.

On PostgreSQL they run on the loop itself: the store's code is unchanged (it runs in a greenlet) and each of
its round trips is awaited through psycopg's async driver, so the loop serves requests in the meantime. A
thread would also keep the loop free, but after every round trip it waits for the GIL behind the busy loop;
with a dozen trips per signing batch that wait was most of the batch under load. SQLite has no async driver
here and one writer at a time, so its units of work run in a thread.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

from sqlalchemy import Engine
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine
from sqlalchemy.orm import Session

from neocloud.adapters.store.uow import SqlUnitOfWork
from neocloud.app.ports import UnitOfWork

T = TypeVar("T")


class Transactions(Protocol):
    """Runs `work` in a new unit of work, committed when it returns, rolled back when it raises."""

    def __call__(self, work: Callable[[UnitOfWork], T]) -> Awaitable[T]: ...
    async def aclose(self) -> None: ...


def transactions_for(engine: Engine) -> Transactions:
    return OnTheLoop(engine) if engine.dialect.name == "postgresql" else InAThread(engine)


def _within(uow: SqlUnitOfWork, work: Callable[[UnitOfWork], T]) -> T:
    with uow:
        return work(uow)


class InAThread:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    async def __call__(self, work: Callable[[UnitOfWork], T]) -> T:
        return await asyncio.to_thread(_within, SqlUnitOfWork(self._engine), work)

    async def aclose(self) -> None:
        return None


class OnTheLoop:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine  # the store's own engine: ledger snapshots stay shared with its readers
        self._async: AsyncEngine | None = None  # made on first use, on the loop that uses it

    async def __call__(self, work: Callable[[UnitOfWork], T]) -> T:
        if self._async is None:
            self._async = create_async_engine(self._engine.url, pool_size=2, max_overflow=8)
        async with AsyncSession(self._async, expire_on_commit=False) as session:

            def run(sync_session: Session) -> T:
                return _within(SqlUnitOfWork(self._engine, session=sync_session), work)

            return await session.run_sync(run)

    async def aclose(self) -> None:
        if self._async is not None:
            await self._async.dispose()
            self._async = None
