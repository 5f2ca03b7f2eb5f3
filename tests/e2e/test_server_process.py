"""Real server processes: a server started as users start it (the live engine running inside), the CLI
talking to it, and kill -9 in the middle of requests."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import httpx2 as httpx
from typer.testing import CliRunner

from benchmarks.common import tenants_with_keys
from neocloud import bootstrap
from neocloud.cli.main import app

from ..builders import items, sign_args
from ..servers import serve


def test_a_real_server_process(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'served.db'}"
    env = {**os.environ, "NEOCLOUD_DB_URL": url}
    import json

    def run(*args: str) -> Any:  # set up through the CLI, in this process
        out = CliRunner().invoke(app, ["--db", url, *args, "--json"])
        assert out.exit_code == 0, out.output
        return json.loads(out.stdout)

    run("init")
    run("tenant", "add", "lab")
    contract = run(*sign_args(0, "now", "1d", "--kind", "on-demand"))
    token = run("key", "create")["secret"]
    lab_token = run("key", "create", "--tenant", "lab")["secret"]
    server, base = serve(env)
    try:
        pools = httpx.get(f"{base}/pools", headers={"Authorization": f"Bearer {token}"}).json()
        assert [p["name"] for p in items(pools)] == [
            "colossus-1/gb200-nvl72",
            "colossus-1/h100-sxm",
            "colossus-1/h200-sxm",
        ]
        assert httpx.get(f"{base}/pools").status_code == 401
        # The live engine runs in the server: a 1-second workload starts and finishes by itself.
        lab = {"Authorization": f"Bearer {lab_token}"}
        work = httpx.post(
            f"{base}/workloads", headers=lab, json={"contract_id": contract["id"], "gpus_per_task": 8, "duration": 1}
        ).json()
        deadline = time.monotonic() + 30
        while httpx.get(f"{base}/workloads/{work['id']}", headers=lab).json()["status"] != "finished":
            assert time.monotonic() < deadline, "the workload did not finish"
            time.sleep(0.3)
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_kill_9_mid_requests_leaves_nothing_half_written(store_url: str) -> None:
    """Sign contracts as fast as possible, kill -9 the server in the middle, then check the store: every
    contract that books GPUs has its hold, no hold lacks its contract, and the ledger invariant holds.
    (On PostgreSQL the batches run on the server's event loop and write in one pipeline.)"""
    import signal
    import threading

    url = store_url
    env = {**os.environ, "NEOCLOUD_DB_URL": url, "NEOCLOUD_TICK": "0"}
    token = tenants_with_keys(url, ["lab"])["lab"]
    server, base = serve(env)
    signed: list[int] = []

    def hammer() -> None:
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=5) as client:
            for i in range(400):
                try:
                    response = client.post(
                        "/contracts",
                        json={
                            "pool": "colossus-1/h100-sxm",
                            "start": 1_900_000_000 + i,
                            "end": 1_900_086_400,
                            "gpus": 8,
                        },
                    )
                    signed.append(response.status_code)
                except httpx.TransportError:
                    return

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for t in threads:
        t.start()
    while len(signed) < 20:
        time.sleep(0.01)
    server.send_signal(signal.SIGKILL)
    server.wait(timeout=10)
    for t in threads:
        t.join(timeout=30)
    ctx = bootstrap.build(url)
    try:
        with ctx.uow() as uow:
            contracts = uow.contracts.page()
            ledger = uow.ledger.load(["colossus-1/h100-sxm"], lock=False)  # re-checks the invariant
            holds = {h.contract_id for h in ledger.holds()}
        assert {c.id for c in contracts} == holds
        assert len(contracts) >= signed.count(201) > 0
    finally:
        ctx.engine.dispose()


def test_the_cli_talks_to_a_server(tmp_path: Path) -> None:
    import json

    url = f"sqlite:///{tmp_path / 'remote.db'}"
    env = {**os.environ, "NEOCLOUD_DB_URL": url, "NEOCLOUD_TICK": "0"}
    operator_key = tenants_with_keys(url, [])["operator"]
    server, base = serve(env)
    # The CLI in this process (as the CLI tier runs it), configured from the environment as users do.
    server_url = base.removesuffix("/v1")
    client_env = {"NEOCLOUD_DB_URL": None, "NEOCLOUD_SERVER": server_url, "NEOCLOUD_API_KEY": operator_key}
    runner = CliRunner()

    def cli(*args: str, code: int = 0) -> Any:
        out = runner.invoke(app, [*args, "--json"], env=client_env)
        assert out.exit_code == code, out.output
        return json.loads(out.stdout)

    try:
        assert cli("tenant", "add", "lab")["name"] == "lab"
        assert [t["name"] for t in items(cli("tenant", "list"))] == ["lab"]
        contract = cli(*sign_args(100000, "2030-01-01", "30d"))
        assert contract["gpus"] == 100_000
        assert [c["id"] for c in items(cli("contract", "list", "--tenant", "lab"))] == [contract["id"]]
        free = cli("capacity", "free", "colossus-1/h100-sxm", "--start", "2030-01-01", "--end", "+1d")
        assert free["free"] == 50_016
        assert [
            p["held"]
            for p in cli("capacity", "profile", "colossus-1/h100-sxm", "--start", "2029-12-31", "--end", "+5d")
        ] == [0, 100_000]
        refused = cli(*sign_args(60000, "2030-01-01", "1d"), code=1)
        assert refused["error"]["code"] == "overbooked"  # the server's code, passed through
        assert cli("contract", "cancel", contract["id"])["status"] == "cancelled"
        [site] = cli("fleet", "show")
        assert (site["name"], site["gpus"]) == ("colossus-1", sum(p["gpus"] for p in site["pools"]))
        now = cli(*sign_args(64, "now", "30d"))
        work = cli("workload", "submit", "--contract", now["id"], "--duration", "2h", "--gpus-per-task", "8")
        assert (work["status"], work["gpus"], work["duration"]) == ("pending", 8, 7200)
        assert [w["id"] for w in items(cli("workload", "list", "--tenant", "lab"))] == [work["id"]]
        assert cli("workload", "show", work["id"])["contract_id"] == now["id"]
        assert cli("workload", "cancel", work["id"])["status"] == "cancelled"
        assert cli("workload", "show", "w-nope", code=1)["error"]["code"] == "not_found"
        assert items(cli("usage", "list", "--period", "2030-01")) == []
        invoice = cli("invoice", "generate", "--tenant", "lab", "--period", "2026-10")
        assert (invoice["period"], invoice["total"]) == ("2026-10", "0.00")
        assert [i["id"] for i in items(cli("invoice", "list"))] == [invoice["id"]]
        assert cli("invoice", "show", invoice["id"])["lines"] == invoice["lines"]
        key = cli("key", "create", "--tenant", "lab")
        assert key["role"] == "tenant"
        assert cli("key", "revoke", key["id"])["revoked_at"] is not None
        pool = "colossus-1/h100-sxm"
        down = cli("maintenance", "add", pool, "--gpus", "16", "--start", "2031-01-01", "--end", "+1d")
        assert [h["kind"] for h in items(cli("maintenance", "list", pool))] == ["reserved", "maintenance"]
        assert cli("maintenance", "cancel", pool, down["id"])["id"] == down["id"]
        longer = cli("contract", "extend", now["id"], "--end", "+10d")
        assert longer["end"] == now["end"] + 10 * 86_400
        assert cli("contract", "terms", now["id"], "--minimum", "1000")["minimum_per_period"] == "1000.00"
        outage = cli("incident", "add", pool, "--start", "2031-02-01", "--end", "+4h", "--contract", now["id"])
        assert (outage["contract_id"], outage["end"] - outage["start"]) == (now["id"], 4 * 3600)
        assert len(items(cli("incident", "list", "--period", "2031-02"))) == 1
        run = ["usage", "add", "--contract", now["id"], "--job", "j1", "--gpus", "8", "--start", "now", "--end", "now"]
        assert cli(*run, code=1)["error"]["code"] == "invalid_interval"  # end must follow start: nothing written
        assert cli("revenue", "--period", "2026-10", "--capacity")["revenue"] == []
        html = runner.invoke(app, ["invoice", "export", invoice["id"], "--format", "html"], env=client_env)
        assert html.exit_code == 0, html.output
        assert "<html" in html.stdout.lower()
        for store_only in (["init"], ["workload", "step"]):
            assert cli(*store_only, code=1)["error"]["code"] == "invalid_input"
    finally:
        server.terminate()
        server.wait(timeout=10)
