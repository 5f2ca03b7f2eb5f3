"""Shared fixtures. `store_url` runs a test on both backends: a SQLite file and a fresh PostgreSQL database.

PostgreSQL listens on 127.0.0.1:5432 on the development machines and in CI. Under CI=true a test that
cannot reach it fails; elsewhere it is skipped with the reason, so a laptop without PostgreSQL still works.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from neocloud import bootstrap
from neocloud.adapters.specs import default_catalog
from neocloud.core.catalog import Catalog

from .browser import browser  # noqa: F401  (a fixture)
from .builders import seed
from .memory_store import MemoryStore
from .servers import missing
from .slurm import slurm, slurm_cluster  # noqa: F401  (fixtures)

PG_ADMIN_URL = os.environ.get("NEOCLOUD_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
# The shared traces sit beside the repository (../shared/traces), in development and in CI.
TRACES = Path(os.environ.get("NEOCLOUD_TRACES", Path(__file__).resolve().parents[2] / "shared" / "traces"))


@pytest.fixture(scope="session")
def traces() -> Path:
    assert TRACES.is_dir(), f"shared traces not found at {TRACES}; set NEOCLOUD_TRACES"
    return TRACES


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return default_catalog()


def _pg_admin() -> psycopg.Connection:
    try:
        return psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        missing(f"PostgreSQL not reachable at {PG_ADMIN_URL}: {exc}")


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database, dropped afterwards."""
    name = f"neocloud_test_{uuid.uuid4().hex[:10]}"
    with _pg_admin() as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with _pg_admin() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'neocloud.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def ctx(store_url: str) -> Iterator[bootstrap.Context]:
    context = bootstrap.build(store_url)
    yield context
    context.engine.dispose()


@pytest.fixture
def store(ctx: bootstrap.Context) -> bootstrap.Context:
    """The real store, on both backends, with the small fleet and two tenants of tests/builders.py."""
    return seed(ctx)


@pytest.fixture
def memory(catalog: Catalog) -> MemoryStore:
    """The in-memory store with the same fleet and tenants: for use cases, where no database is on trial."""
    return seed(MemoryStore(catalog))
