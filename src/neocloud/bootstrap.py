"""The composition root: the one place that builds the store, the catalog, the clock and id source."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from neocloud.adapters.specs import load_catalog
from neocloud.adapters.store.database import default_url, make_engine, migrate
from neocloud.adapters.store.uow import SqlUnitOfWork
from neocloud.core.catalog import Catalog


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def wall_clock() -> int:
    return int(time.time())


@dataclass
class Context:
    url: str
    engine: Engine
    catalog: Catalog

    def uow(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.engine)

    def reader(self) -> SqlUnitOfWork:
        """A unit of work for reads only: capacity snapshots come without a transaction's round trips."""
        return SqlUnitOfWork(self.engine, read_only=True)

    def now(self) -> int:
        return wall_clock()

    def new_id(self, prefix: str) -> str:
        return new_id(prefix)


def build(url: str | None = None, catalog_file: Path | None = None) -> Context:
    """Connect to the store (migrating it to the newest schema) and load the catalog."""
    url = url or default_url()
    engine = make_engine(url)
    migrate(engine)
    return Context(url=url, engine=engine, catalog=load_catalog(catalog_file))
