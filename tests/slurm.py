"""A real Slurm cluster for the tests: four nodes of 8 GPUs named as the fleet below names them, started once
per test process (a few seconds) and stopped at its end. Under CI a machine where it cannot start fails the
tests that need it."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest

from neocloud import bootstrap
from neocloud.adapters.slurm.cli import SlurmCli
from neocloud.adapters.slurm.localcluster import LocalSlurm, missing
from neocloud.adapters.specs import parse_fleet
from neocloud.app import auth, services
from neocloud.core.contracts import TenantKind

from .servers import missing as fail_or_skip
from .servers import serve

POOL = "slurm/h100-sxm"
FLEET = """
sites:
  - name: slurm
    power_mw: 1
    blocks:
      - {name: b, count: 1, racks: 2, nodes_per_rack: 2, node: {gpu_model: h100-sxm, gpus: 8}}
"""  # 4 nodes, 32 GPUs
NODES = [f"b-000-r0{r}-n0{k}" for r in range(2) for k in range(2)]


@pytest.fixture(scope="session")
def slurm_cluster() -> Iterator[LocalSlurm]:
    reason = missing()
    if reason is not None:
        fail_or_skip(reason)
    # Outside pytest's folders, which the munge user cannot enter.
    folder = Path(tempfile.mkdtemp(prefix="neocloud-slurm-"))
    cluster = LocalSlurm(folder, [(n, 8) for n in NODES])
    try:
        cluster.start()
    except (RuntimeError, subprocess.SubprocessError, OSError) as exc:
        cluster.stop()
        said = exc.stderr if isinstance(exc, subprocess.CalledProcessError) else ""
        fail_or_skip(f"the local Slurm cluster did not start: {exc} {said!r}")
    yield cluster
    cluster.stop()
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def slurm(slurm_cluster: LocalSlurm) -> SlurmCli:
    """The cluster as a test finds it: no reservations, every node idle."""
    cli = SlurmCli(slurm_cluster.conf)
    for name in cli.reservations():
        cli.release(name)
    for node in cli.nodes().values():
        if node.state.value != "up":
            cli.resume(node.name)
    return cli


def until(ready: Callable[[], object], timeout: float, what: str) -> float:
    """Seconds until `ready()` is true (polled every 50 ms); fails after `timeout`."""
    start = time.monotonic()
    while not ready():
        assert time.monotonic() - start < timeout, f"{what}: not within {timeout} s"
        time.sleep(0.05)
    return time.monotonic() - start


@contextmanager
def slurm_server(
    ctx: bootstrap.Context, cluster: LocalSlurm, log: Path, tenants: Iterable[str], *args: str, **env: str
) -> Iterator[Callable[..., Any]]:
    """The fleet above and `tenants` (ids t-<name>) in the store, and `neocloud serve` in front of the cluster;
    yields `call(method, path, who, **kw)` -> the JSON of a 2xx answer, `who` a tenant's name or "operator"."""
    with ctx.uow() as uow:
        services.add_sites(uow, parse_fleet(FLEET, "slurm.yaml", ctx.catalog), ctx.catalog)
        keys = {"operator": auth.create_key(uow, 0, ctx.new_id)[1]}
        for name in tenants:
            services.add_tenant(uow, name, TenantKind.EXTERNAL, lambda p, name=name: f"t-{name}")
            keys[name] = auth.create_key(uow, 0, ctx.new_id, name)[1]
    environment = {**os.environ, "NEOCLOUD_DB_URL": ctx.url, "NEOCLOUD_TICK": "1", **env}
    process, base = serve(environment, "--slurm-conf", str(cluster.conf), *args, log=log)

    def call(method: str, path: str, who: str, **kw: Any) -> Any:
        answer = httpx.request(method, base + path, headers={"Authorization": f"Bearer {keys[who]}"}, timeout=10, **kw)
        assert answer.status_code < 300, answer.text
        return answer.json()

    try:
        yield call
    finally:
        process.terminate()
        process.wait(10)
