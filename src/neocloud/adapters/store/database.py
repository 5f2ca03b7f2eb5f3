"""Engines and migrations for SQLite (the embedded default) and PostgreSQL."""

from __future__ import annotations

import sqlite3
from importlib import resources
from pathlib import Path
from typing import Any

import psycopg
from alembic import command
from alembic.config import Config
from platformdirs import user_data_dir
from sqlalchemy import Engine, create_engine, event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url

from neocloud.core.errors import InvalidInput, StoreUnavailable


def default_url() -> str:
    """The store when none is given (bootstrap.Settings.db_url, NEOCLOUD_DB_URL): a SQLite file in the
    per-user data directory."""
    directory = Path(user_data_dir("neocloud", appauthor=False))
    directory.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{directory / 'neocloud.db'}"


def make_engine(url: str) -> Engine:
    """An engine for a store URL; a URL that is not one is refused (invalid_input), naming what was wrong."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    try:
        parsed = make_url(url)
    except sa_exc.ArgumentError:
        raise InvalidInput(
            f"bad store URL {shown(url)}: use sqlite:///FILE or postgresql://...", url=shown(url)
        ) from None
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise InvalidInput(f"store URL {shown(url)}: neocloud stores in SQLite or PostgreSQL", url=shown(url))
    if parsed.get_backend_name() == "postgresql":
        try:
            # Fail fast when the server is away: requests answer 503 within seconds, not after minutes.
            return create_engine(
                parsed, pool_size=10, max_overflow=20, pool_timeout=10, connect_args={"connect_timeout": 5}
            )
        except (sa_exc.ArgumentError, ImportError) as exc:
            raise InvalidInput(f"bad store URL {shown(url)}: {exc}", url=shown(url)) from None
    engine = create_engine(url, connect_args={"timeout": 30})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin; WAL lets readers run beside
        # the single writer.
        dbapi_connection.isolation_level = None
        dbapi_connection.execute("PRAGMA foreign_keys=ON")
        if url != "sqlite://" and ":memory:" not in url:
            dbapi_connection.execute("PRAGMA journal_mode=WAL")

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # One writer at a time: take SQLite's write lock when the transaction starts, so that two
        # processes can never both read a pool's free capacity and then both book it.
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(resources.files("neocloud.adapters.store") / "migrations"))
    config.attributes["engine"] = engine
    return config


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest migration (creates it in an empty database)."""
    command.upgrade(alembic_config(engine), "head")


def shown(url: str) -> str:
    """A store URL as it may be printed or logged: without its password."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except sa_exc.ArgumentError:
        return url if len(url) <= 80 else url[:80] + "..."


def is_unavailable(exc: BaseException) -> bool:
    """The store could not be reached, or did not answer in time: retrying later may succeed."""
    if isinstance(exc, sa_exc.DBAPIError):
        return exc.connection_invalidated or isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError)
    return isinstance(
        exc, sa_exc.TimeoutError | psycopg.OperationalError | psycopg.InterfaceError | sqlite3.OperationalError
    )


def unavailable(exc: BaseException, url: str | None = None) -> StoreUnavailable:
    """The error to answer for a store that is away: one line, no password, the driver's reason."""
    reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    where = f" at {shown(url)}" if url else ""
    return StoreUnavailable(f"the store{where} is unavailable: {reason[0] if reason else type(exc).__name__}")
