"""A real Slurm cluster for the tests: four nodes of 8 GPUs named as the fleet below names them, started once
per test process (a few seconds) and stopped at its end. Under CI a machine where it cannot start fails the
tests that need it."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from neocloud.adapters.slurm.cli import SlurmCli
from neocloud.adapters.slurm.localcluster import LocalSlurm, missing

from .servers import missing as fail_or_skip

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
