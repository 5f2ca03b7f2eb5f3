"""The REST API in-process (both stores) and as a real uvicorn process: auth, isolation, errors, idempotency."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from fastapi.testclient import TestClient

from neocloud import bootstrap
from neocloud.api.app import create_app
from neocloud.app import auth, billing
from neocloud.core.billing.metering import UsageRecord, usage_key
from neocloud.core.billing.periods import month

from ..builders import POOL, SOON, contract_body, items, snapshot
from ..servers import serve

MAY = month("2025-05")


def test_health_ready_metrics_and_openapi(api: Any) -> None:
    assert api("GET", "/health") == {"status": "ok"}
    assert api("GET", "/ready") == {"status": "ready"}
    assert b"neocloud_contracts_signed_total" in api("GET", "/metrics").content
    document = TestClient(create_app(api.ctx)).get("/openapi.json").json()
    assert "/v1/contracts" in document["paths"]
    assert document["paths"]["/v1/contracts"]["post"]["responses"]["409"]


def test_keys_are_required_and_checked(api: Any) -> None:
    assert api("GET", "/pools", status=401)["error"]["code"] == "unauthenticated"
    assert api("GET", "/pools", headers={"Authorization": "Bearer nck_wrong"}, status=401)["error"]["message"] == (
        "unknown API key"
    )
    assert api("GET", "/pools", headers={"Authorization": "Basic abc"}, status=401)
    assert [p["name"] for p in items(api("GET", "/pools", "lab"))] == [POOL]
    assert api("GET", "/tenants", "lab", status=403)["error"]["code"] == "forbidden"
    key = api("POST", "/tenants/lab/keys", "operator", status=201)
    assert key["secret"].startswith("nck_")
    assert api("GET", "/pools", headers={"X-API-Key": key["secret"]})
    api("POST", f"/keys/{key['id']}/revoke", "operator")
    revoked = api("GET", "/pools", headers={"X-API-Key": key["secret"]}, status=401)
    assert "revoked" in revoked["error"]["message"]


def test_contracts_errors_map_to_rest_statuses(api: Any) -> None:
    signed = api("POST", "/contracts", "lab", json=contract_body(100), status=201)
    assert (signed["tenant_id"], signed["gpus"], signed["price_per_gpu_hour"]) == ("t-lab", 100, "2.400000")
    before = snapshot(api.ctx)
    assert api("POST", "/contracts", "lab", json=contract_body(29), status=409)["error"]["code"] == "overbooked"
    bad_end = contract_body(1, end=SOON.start)
    assert api("POST", "/contracts", "lab", json=bad_end, status=422)["error"]["code"] == "invalid_interval"
    assert api("POST", "/contracts", "lab", json={"pool": POOL}, status=422)["error"]["code"] == "invalid_request"
    assert (
        api(
            "POST", "/contracts", "lab", content=b"{not json", headers={"Content-Type": "application/json"}, status=400
        )["error"]["code"]
        == "malformed_request"
    )
    assert api("POST", "/contracts", "lab", json=contract_body(1, pool="x/y"), status=404)["error"]["code"] == (
        "unknown_pool"
    )
    assert api("POST", "/contracts", "operator", json=contract_body(1), status=422)["error"]["details"] == {
        "field": "tenant"
    }
    assert snapshot(api.ctx) == before  # every refusal left the store as it was
    free = api("GET", "/capacity/free", "lab", params={"pool": POOL, "start": SOON.start, "end": SOON.end})
    assert free["free"] == 28
    quote = api(
        "GET",
        "/capacity/earliest",
        "research",
        params={"pool": POOL, "gpus": 100, "duration": 3600, "not_before": SOON.start},
    )
    assert quote["start"] == SOON.end + 30 * 86_400


def test_tenants_never_see_each_other(api: Any) -> None:
    # Signed by the operator for May 2025 (a month that has ended, to invoice it): tenants sign from now on.
    mine = api("POST", "/contracts", "operator", json=contract_body(8, MAY, tenant="lab"), status=201)
    theirs = api("POST", "/contracts", "operator", json=contract_body(8, MAY, tenant="research"), status=201)
    assert [c["id"] for c in items(api("GET", "/contracts", "lab"))] == [mine["id"]]
    assert [c["id"] for c in items(api("GET", "/contracts", "lab", params={"tenant": "lab"}))] == [mine["id"]]
    refused = api("GET", "/contracts", "lab", params={"tenant": "research"}, status=403)  # refused, not re-targeted
    assert refused["error"]["code"] == "forbidden"
    assert api("GET", f"/contracts/{theirs['id']}", "lab", status=404)["error"]["code"] == "unknown_contract"
    assert api("POST", f"/contracts/{theirs['id']}/cancel", "lab", status=404)
    assert {c["id"] for c in items(api("GET", "/contracts", "operator"))} == {mine["id"], theirs["id"]}
    ctx = api.ctx
    with ctx.uow() as uow:
        for contract, tenant in ((mine, "t-lab"), (theirs, "t-research")):
            billing.ingest_usage(
                uow,
                [
                    UsageRecord(
                        usage_key(contract["id"], "j", MAY.start),
                        tenant,
                        contract["id"],
                        POOL,
                        "h100-sxm",
                        1000,
                        MAY.start,
                        MAY.start + 3600,
                        "j",
                    )
                ],
            )
    assert [u["contract_id"] for u in items(api("GET", "/usage", "lab", params={"period": "2025-05"}))] == [mine["id"]]
    assert len(items(api("GET", "/usage", "operator", params={"period": "2025-05"}))) == 2
    invoice = api("POST", "/invoices", "operator", json={"tenant": "research", "period": "2025-05"}, status=201)
    assert Decimal(invoice["total"]) > 0
    assert api("GET", f"/invoices/{invoice['id']}", "lab", status=404)["error"]["code"] == "not_found"
    assert items(api("GET", "/invoices", "lab")) == []
    assert api("GET", f"/invoices/{invoice['id']}", "research")["id"] == invoice["id"]
    assert api("POST", "/invoices", "lab", json={"tenant": "lab", "period": "2025-05"}, status=403)
    # The endpoints behind the rest of the CLI: the same rules.
    assert api("POST", f"/contracts/{theirs['id']}/extend", "lab", json={"end": theirs["end"] + 1}, status=404)
    assert api("GET", f"/invoices/{invoice['id']}/export", "lab", status=404)["error"]["code"] == "not_found"
    exported = api("GET", f"/invoices/{invoice['id']}/export", "research", params={"format": "csv"})
    assert exported.text.startswith("contract_id,")
    operator_only = [
        ("PUT", f"/contracts/{mine['id']}/terms", {"json": {"minimum_per_period": "1"}}),
        ("POST", "/maintenance", {"json": {"pool": POOL, "gpus": 1, "start": MAY.start, "end": MAY.end}}),
        ("GET", "/holds", {"params": {"pool": POOL}}),
        ("POST", "/maintenance/m-x/cancel", {"params": {"pool": POOL}}),
        ("POST", "/incidents", {"json": {"pool": POOL, "start": MAY.start, "end": MAY.end}}),
        ("GET", "/incidents", {"params": {"period": "2025-05"}}),
        ("POST", "/usage", {"json": {"records": []}}),
        ("GET", "/revenue", {}),
        ("GET", "/revenue/capacity", {"params": {"period": "2025-05"}}),
        ("GET", "/tenants", {}),
        ("PUT", "/agreements", {"json": {"tenant": "lab", "pool": POOL, "price_per_gpu_hour": "1.50"}}),
        ("DELETE", "/agreements", {"params": {"tenant": "lab", "pool": POOL, "kind": "reserved"}}),
        ("PUT", "/tenants/lab/credit-limit", {"json": {"usd": "1.00"}}),
        ("PUT", "/tenants/lab/quotas", {"json": {"pool": POOL, "gpus": 1}}),
        ("POST", "/tenants/lab/keys", {}),
    ]
    for method, path, kw in operator_only:
        assert api(method, path, "lab", status=403, **kw)["error"]["code"] == "forbidden", path


def test_idempotency_keys_make_creating_posts_safe_to_retry(api: Any) -> None:
    headers = {"Idempotency-Key": "sign-1"}
    first = api("POST", "/contracts", "lab", json=contract_body(8), headers=dict(headers), status=201)
    again = api("POST", "/contracts", "lab", json=contract_body(8), headers=dict(headers), status=201)
    assert again == first
    assert len(items(api("GET", "/contracts", "lab"))) == 1
    reused = api("POST", "/contracts", "lab", json=contract_body(9), headers=dict(headers), status=409)
    assert reused["error"]["code"] == "idempotency_key_reused"
    # Keys are per caller: another tenant's same key is a different request.
    api("POST", "/contracts", "research", json=contract_body(8), headers=dict(headers), status=201)


def test_workloads_through_the_api(api: Any) -> None:
    import time as clock

    now = int(clock.time())
    contract = api(
        "POST",
        "/contracts",
        "lab",
        json={"pool": POOL, "start": now - 60, "end": now + 86_400, "kind": "on-demand"},
        status=201,
    )
    body = {"contract_id": contract["id"], "gpus_per_task": 8, "tasks": 2, "duration": 600}
    work = api("POST", "/workloads", "lab", json=body, status=201)
    assert (work["status"], work["gpus"]) == ("pending", 16)
    assert api("POST", "/workloads", "research", json=body, status=404)["error"]["code"] == "unknown_contract"
    assert api("GET", f"/workloads/{work['id']}", "research", status=404)["error"]["code"] == "not_found"
    assert items(api("GET", "/workloads", "research")) == []
    from neocloud.app.live import LiveEngine

    with api.ctx.uow() as uow:
        LiveEngine(api.ctx.catalog).reconcile(uow, now + 1)
    shown = api("GET", f"/workloads/{work['id']}", "lab")
    assert shown["status"] == "running"
    assert sum(g for _, g in shown["allocation"]) == 16
    assert api("POST", f"/workloads/{work['id']}/cancel", "research", status=404)
    assert api("POST", f"/workloads/{work['id']}/cancel", "lab")["status"] == "cancelled"
    assert api("POST", f"/workloads/{work['id']}/cancel", "lab", status=409)["error"]["code"] == "invalid_state"


def test_a_real_server_process(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'served.db'}"
    neocloud = str(Path(sys.executable).with_name("neocloud"))
    env = {**os.environ, "NEOCLOUD_DB_URL": url}
    import json

    def run(*args: str) -> Any:
        out = subprocess.run([neocloud, *args, "--json"], env=env, check=True, capture_output=True, text=True)
        return json.loads(out.stdout)

    run("init")
    run("tenant", "add", "lab")
    contract = run(
        "contract",
        "sign",
        "--tenant",
        "lab",
        "--kind",
        "on-demand",
        "--pool",
        "colossus-1/h100-sxm",
        "--start",
        "now",
        "--term",
        "1d",
    )
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
    import json
    import signal
    import threading

    url = store_url
    neocloud = str(Path(sys.executable).with_name("neocloud"))
    env = {**os.environ, "NEOCLOUD_DB_URL": url, "NEOCLOUD_TICK": "0"}
    subprocess.run([neocloud, "init"], env=env, check=True, capture_output=True)
    subprocess.run([neocloud, "tenant", "add", "lab"], env=env, check=True, capture_output=True)
    token = json.loads(
        subprocess.run(
            [neocloud, "key", "create", "--tenant", "lab", "--json"],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )["secret"]
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

    neocloud = str(Path(sys.executable).with_name("neocloud"))
    env = {**os.environ, "NEOCLOUD_DB_URL": f"sqlite:///{tmp_path / 'remote.db'}", "NEOCLOUD_TICK": "0"}
    subprocess.run([neocloud, "init"], env=env, check=True, capture_output=True)
    operator_key = json.loads(
        subprocess.run(
            [neocloud, "key", "create", "--json"], env=env, check=True, capture_output=True, text=True
        ).stdout
    )["secret"]
    server, base = serve(env)
    client_env = {k: v for k, v in os.environ.items() if k != "NEOCLOUD_DB_URL"}
    client_env |= {"NEOCLOUD_SERVER": base.removesuffix("/v1"), "NEOCLOUD_API_KEY": operator_key}

    def cli(*args: str, code: int = 0) -> Any:
        out = subprocess.run([neocloud, *args, "--json"], env=client_env, capture_output=True, text=True)
        assert out.returncode == code, out.stdout + out.stderr
        return json.loads(out.stdout)

    try:
        assert cli("tenant", "add", "lab")["name"] == "lab"
        assert [t["name"] for t in items(cli("tenant", "list"))] == ["lab"]
        contract = cli(
            "contract",
            "sign",
            "--tenant",
            "lab",
            "--pool",
            "colossus-1/h100-sxm",
            "--gpus",
            "100000",
            "--start",
            "2030-01-01",
            "--term",
            "30d",
        )
        assert contract["gpus"] == 100_000
        assert [c["id"] for c in items(cli("contract", "list", "--tenant", "lab"))] == [contract["id"]]
        free = cli("capacity", "free", "colossus-1/h100-sxm", "--start", "2030-01-01", "--end", "+1d")
        assert free["free"] == 50_016
        assert [
            p["held"]
            for p in cli("capacity", "profile", "colossus-1/h100-sxm", "--start", "2029-12-31", "--end", "+5d")
        ] == [0, 100_000]
        refused = cli(
            "contract",
            "sign",
            "--tenant",
            "lab",
            "--pool",
            "colossus-1/h100-sxm",
            "--gpus",
            "60000",
            "--start",
            "2030-01-01",
            "--term",
            "1d",
            code=1,
        )
        assert refused["error"]["code"] == "overbooked"  # the server's code, passed through
        assert cli("contract", "cancel", contract["id"])["status"] == "cancelled"
        [site] = cli("fleet", "show")
        assert (site["name"], site["gpus"]) == ("colossus-1", sum(p["gpus"] for p in site["pools"]))
        now = cli(
            "contract",
            "sign",
            "--tenant",
            "lab",
            "--pool",
            "colossus-1/h100-sxm",
            "--gpus",
            "64",
            "--start",
            "now",
            "--term",
            "30d",
        )
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
        html = subprocess.run(
            [neocloud, "invoice", "export", invoice["id"], "--format", "html"],
            env=client_env,
            capture_output=True,
            text=True,
        )
        assert html.returncode == 0
        assert "<html" in html.stdout.lower()
        for store_only in (["init"], ["workload", "step"]):
            assert cli(*store_only, code=1)["error"]["code"] == "invalid_input"
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_requests_with_a_key_not_in_the_cache_share_one_lookup(store: bootstrap.Context) -> None:
    with store.uow() as uow:
        key, secret = auth.create_key(uow, 0, store.new_id, "lab")
    lookups: list[int] = []

    def counted() -> Any:
        lookups.append(1)
        return store.uow()

    keys = auth.KeyCache()

    async def sixteen_at_once() -> list[auth.Principal]:
        return await asyncio.gather(*(keys.look_up(counted, secret) for _ in range(16)))

    assert {who.key_id for who in asyncio.run(sixteen_at_once())} == {key.id}
    assert len(lookups) == 1
    assert asyncio.run(keys.look_up(counted, secret)).key_id == key.id
    assert len(lookups) == 1  # the second time, from the cache


def test_keys_are_remembered_for_seconds_and_revocation_reaches_every_worker(
    store: bootstrap.Context,
) -> None:
    with store.uow() as uow:
        key, secret = auth.create_key(uow, 0, store.new_id, "lab")
    clock = [100.0]
    here, there = auth.KeyCache(ttl=2.0, clock=lambda: clock[0]), auth.KeyCache(ttl=2.0, clock=lambda: clock[0])
    assert here.authenticate(store.uow, secret).tenant_id == there.authenticate(store.uow, secret).tenant_id
    with store.uow() as uow:
        auth.revoke_key(uow, key.id, 1)
    here.forget(key.id)  # the worker that revoked forgets at once
    with pytest.raises(auth.Unauthenticated, match="revoked"):
        here.authenticate(store.uow, secret)
    assert there.authenticate(store.uow, secret).key_id == key.id  # another worker, within its 2 s
    clock[0] += 2.0
    with pytest.raises(auth.Unauthenticated, match="revoked"):
        there.authenticate(store.uow, secret)
    with pytest.raises(auth.Unauthenticated, match="missing API key"):
        here.authenticate(store.uow, None)
