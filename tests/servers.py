"""Real processes for the tests: `neocloud serve` on a free port, and a private PostgreSQL the test starts and
stops itself (initdb and pg_ctl on a free port; the machine's shared server on 5432 is never touched)."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import httpx2 as httpx
import pytest

NEOCLOUD = str(Path(sys.executable).with_name("neocloud"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(env: dict[str, str], *args: str, log: Path | None = None) -> tuple[subprocess.Popen[bytes], str]:
    """`neocloud serve` on a free port, once it answers /v1/health. Its standard error goes to `log`."""
    port = free_port()
    errors = log.open("wb") if log is not None else None
    try:
        server = subprocess.Popen(
            [NEOCLOUD, "serve", "--port", str(port), *args],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=errors or subprocess.DEVNULL,
        )
    finally:
        if errors is not None:
            errors.close()  # the server has its own copy
    base = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return server, base
        except httpx.TransportError:
            pass
        assert server.poll() is None, "the server exited"
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.2)


def _tool(name: str) -> str:
    found = shutil.which(name) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))), None)
    if found is None:
        missing(f"PostgreSQL's {name} not found (Debian: apt-get install postgresql)")
    return found


def missing(message: str) -> NoReturn:
    """A real part a test needs is not there: under CI that fails the test; elsewhere (a laptop without it)
    the test is skipped, so the rest can still run."""
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        pytest.fail(message)
    pytest.skip(message)


@dataclass
class PrivatePostgres:
    """A PostgreSQL instance of the test's own, to stop and start at will."""

    data: Path
    port: int
    as_postgres: list[str]  # run the tools as the postgres user when we are root (initdb refuses root)

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _ctl(self, *args: str) -> None:
        command = [*self.as_postgres, _tool("pg_ctl"), "-D", str(self.data), "-w", "-t", "30", *args]
        subprocess.run(command, check=True, capture_output=True)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._ctl("-o", options, "-l", str(self.data / "log"), "start")

    def stop(self) -> None:
        self._ctl("-m", "fast", "stop")


@contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    """A fresh cluster in a folder of its own (outside pytest's, which the postgres user cannot enter)."""
    home = Path(tempfile.mkdtemp(prefix="neocloud-pg-"))
    data = home / "data"
    as_postgres: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root
        shutil.chown(home, "postgres")
        as_postgres = ["runuser", "-u", "postgres", "--"]
    try:
        subprocess.run(
            [*as_postgres, _tool("initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync"],
            check=True,
            capture_output=True,
        )
        instance = PrivatePostgres(data, free_port(), as_postgres)
        instance.start()
        try:
            yield instance
        finally:
            subprocess.run(
                [*as_postgres, _tool("pg_ctl"), "-D", str(data), "-m", "immediate", "stop"], capture_output=True
            )
    finally:
        shutil.rmtree(home, ignore_errors=True)
