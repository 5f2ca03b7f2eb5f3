"""A fleet discovered from a real Slurm cluster whose nodes have names of their own (not the fleet's made
names): `neocloud fleet discover` reads them, the books sell them, and a reservation on them becomes a Slurm
reservation on those very nodes."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from neocloud import bootstrap
from neocloud.adapters.slurm.cli import SlurmCli
from neocloud.adapters.slurm.localcluster import LocalSlurm
from neocloud.adapters.specs import parse_fleet
from neocloud.app import cluster_sync, live, services
from neocloud.app.services import ContractRequest
from neocloud.cli.main import app
from neocloud.core.contracts import ContractKind, TenantKind

from ..slurm import fail_or_skip, missing

NAMES = ["gpu1", "gpu2", "gpu10"]  # Slurm's order is by name: gpu1, gpu10, gpu2


@pytest.fixture(scope="module")
def named_cluster() -> Iterator[LocalSlurm]:
    if (reason := missing()) is not None:
        fail_or_skip(reason)
    folder = Path(tempfile.mkdtemp(prefix="neocloud-slurm-named-"))
    cluster = LocalSlurm(folder, [(n, 8) for n in NAMES])
    try:
        cluster.start()
    except Exception as exc:
        cluster.stop()
        fail_or_skip(f"the local Slurm cluster did not start: {exc}")
    yield cluster
    cluster.stop()
    shutil.rmtree(folder, ignore_errors=True)


def cli(store_url: str, *args: str) -> Any:
    result = CliRunner().invoke(app, ["--db", store_url, *args])
    return result.exit_code, result.stdout


def test_a_clusters_own_nodes_are_discovered_sold_and_reserved(
    named_cluster: LocalSlurm, store_url: str, ctx: bootstrap.Context
) -> None:
    conf = str(named_cluster.conf)
    code, printed = cli(
        store_url, "fleet", "discover", "--slurm-conf", conf, "--name", "lab", "--model", "h100=h100-sxm", "--yaml"
    )
    assert code == 0, printed
    spec = yaml.safe_load(printed)
    [group] = spec["sites"][0]["blocks"]
    assert group["node_names"] == ["gpu1", "gpu2", "gpu10"]  # in natural order
    assert parse_fleet(printed, "discovered.yaml", ctx.catalog)[0].gpus == 24  # the spec loads as it is

    code, printed = cli(
        store_url, "fleet", "discover", "--slurm-conf", conf, "--name", "lab", "--model", "h100=h100-sxm", "--json"
    )
    assert code == 0, printed
    view = json.loads(printed)
    assert (view["nodes"], [(p["name"], p["gpus"]) for p in view["pools"]]) == (3, [("lab/h100-sxm", 24)])

    now = ctx.now()
    with ctx.uow() as uow:
        services.add_tenant(uow, "lab", TenantKind.EXTERNAL, lambda p: "t-lab")
        request = ContractRequest("lab", ContractKind.RESERVED, "lab/h100-sxm", now, now + 600, gpus=16)
        contract = services.sign_contract(uow, request, ctx.catalog, ctx.new_id, now)
        live.LiveEngine(ctx.catalog).reconcile(uow, now)
        mine = {s.node for s in uow.assignments.of_contract(contract.id)}
    assert len(mine) == 2
    assert mine <= set(NAMES)
    slurm = SlurmCli(named_cluster.conf)
    cluster_sync.sync(ctx.uow, ctx.catalog, slurm, now)
    assert slurm.reservations()[contract.id].nodes == mine
    slurm.release(contract.id)


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--model", "h100"], "--model wants TYPE=MODEL, got 'h100'"),
        (["--model", "h100=z100"], "GPU type 'h100' is no GPU model of the catalog"),
        (["--power-mw", "NaN"], "--power-mw must be a plain decimal"),
        (["--power-mw", "0"], "--power-mw must be within 0.001 and 100000"),
        (["--name", "a b"], "--name must be 1-64 letters"),
        (["--name", "x" * 65], "--name must be 1-64 letters"),
    ],
)
def test_discovery_refuses_bad_options_and_adds_nothing(
    named_cluster: LocalSlurm, store_url: str, ctx: bootstrap.Context, args: list[str], fragment: str
) -> None:
    code, printed = cli(store_url, "fleet", "discover", "--slurm-conf", str(named_cluster.conf), "--json", *args)
    assert code == 1
    assert fragment in json.loads(printed)["error"]["message"]
    with ctx.uow() as uow:
        assert uow.fleet.list_sites() == []


def test_discovery_needs_a_slurm_configuration(store_url: str) -> None:
    for path in ("/nowhere/slurm.conf", "bad\x00path", "x" * 5000):
        code, printed = cli(store_url, "fleet", "discover", "--slurm-conf", path, "--json")
        assert code == 1
        assert "--slurm-conf: no Slurm configuration" in json.loads(printed)["error"]["message"]
