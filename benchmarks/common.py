"""What the server benchmarks share: a fresh PostgreSQL database, a store with a fleet and tenants, a server
process and its workers' memory."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx2 as httpx
import psycopg

from neocloud import bootstrap
from neocloud.adapters.specs import load_fleet
from neocloud.app import auth, services
from neocloud.core.contracts import TenantKind

PG = "postgresql://postgres@127.0.0.1:5432/postgres"


@contextmanager
def fresh_postgres(admin_url: str = PG) -> Iterator[str]:
    name = f"neocloud_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def tenants_with_keys(url: str, names: list[str]) -> dict[str, str]:
    """The default fleet (colossus-1), the tenants and one key each (and "operator")."""
    ctx = bootstrap.build(url)
    try:
        with ctx.uow() as uow:
            services.add_sites(uow, load_fleet("colossus-1", ctx.catalog), ctx.catalog, skip_existing=True)
            keys = {"operator": auth.create_key(uow, 0, ctx.new_id)[1]}
            for name in names:
                services.add_tenant(uow, name, TenantKind.EXTERNAL, ctx.new_id)
                keys[name] = auth.create_key(uow, 0, ctx.new_id, name)[1]
    finally:
        ctx.engine.dispose()
    return keys


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def server(url: str, workers: int = 2, **env: str) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """`neocloud serve` with its settings from `env` (NEOCLOUD_*), until it answers /v1/ready."""
    port = free_port()
    environment = {**os.environ, "NEOCLOUD_DB_URL": url, **env}
    neocloud = str(Path(sys.executable).with_name("neocloud"))
    process = subprocess.Popen(
        [neocloud, "serve", "--port", str(port), "--workers", str(workers)],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/ready", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise SystemExit("the server did not start")
            time.sleep(0.3)
        time.sleep(2)  # every worker up, not only the first to answer
        yield process, base
    finally:
        process.terminate()
        process.wait(timeout=30)


def workers_rss_mib(process: subprocess.Popen[bytes]) -> list[float]:
    """Resident memory of the server's worker processes (its children), MiB."""
    children = Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()
    sizes = []
    for pid in children:
        try:
            if "spawn_main" not in Path(f"/proc/{pid}/cmdline").read_text():  # not a worker (a resource tracker)
                continue
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        kib = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))
        sizes.append(round(kib / 1024, 1))
    return sizes
