"""Engines and migrations for SQLite (the embedded default) and PostgreSQL."""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from platformdirs import user_data_dir
from sqlalchemy import Engine, create_engine, event

ENV_URL = "NEOCLOUD_DB_URL"


def default_url() -> str:
    """NEOCLOUD_DB_URL, else a SQLite file in the per-user data directory."""
    url = os.environ.get(ENV_URL)
    if url:
        return url
    directory = Path(user_data_dir("neocloud", appauthor=False))
    directory.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{directory / 'neocloud.db'}"


def make_engine(url: str) -> Engine:
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if not url.startswith("sqlite"):
        return create_engine(url, pool_size=10, max_overflow=20)
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
