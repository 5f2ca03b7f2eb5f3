"""The REST API in-process (both stores) and as a real uvicorn process: auth, isolation, errors, idempotency."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from neocloud import bootstrap
from neocloud.api.app import create_app
from neocloud.app import auth, billing
from neocloud.core.billing.metering import UsageRecord, usage_key
from neocloud.core.billing.periods import month

from ..builders import POOL, SOON, contract_body, items, snapshot

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


@pytest.mark.parametrize(
    ("command", "code"),
    [
        ({"run": ""}, "invalid_request"),
        ({"run": "x" * 4097}, "invalid_request"),
        ({"run": "rm -rf /\nreboot"}, "invalid_input"),  # one line
        ({"run": "a\x00b"}, "invalid_input"),
        ({"run": "ok", "env": {"1BAD": "x"}}, "invalid_request"),
        ({"run": "ok", "env": {f"V{i}": "x" for i in range(65)}}, "invalid_request"),
        ({"run": "ok", "env": {"A": "x\x1by"}}, "invalid_input"),
        ({"run": "ok", "workdir": "relative/dir"}, "invalid_input"),
        ({"run": "ok", "output": "/" + "o" * 1024}, "invalid_request"),
        ({"run": "ok", "shell": "zsh"}, "invalid_request"),
        ("python train.py", "invalid_request"),
    ],
)
def test_workload_commands_are_bounded(api: Any, command: Any, code: str) -> None:
    import time as clock

    now = int(clock.time())
    body = {"pool": POOL, "start": now - 60, "end": now + 86_400, "kind": "on-demand"}
    contract = api("POST", "/contracts", "lab", json=body, status=201)
    work = {"contract_id": contract["id"], "duration": 60, "command": command}
    assert api("POST", "/workloads", "lab", json=work, status=422)["error"]["code"] == code
    assert items(api("GET", "/workloads", "lab")) == []
    good = {**work, "command": {"run": "python train.py", "env": {"STEPS": "10"}, "workdir": "/work", "output": "/w/o"}}
    shown = api("POST", "/workloads", "lab", json=good, status=201)
    assert shown["command"] == good["command"]


@pytest.mark.parametrize(
    ("times", "code"),
    [
        ({"stages": []}, "invalid_request"),
        ({"stages": [0.1] * 9}, "invalid_request"),
        ({"stages": [-0.1, 1.0]}, "invalid_request"),
        ({"stages": [1e300]}, "invalid_request"),
        ({"stages": ["0.2"]}, "invalid_request"),
        ({"stages": [True, 1.0]}, "invalid_request"),
        ({"stages": 0.5}, "invalid_request"),
        ({"stages": [0.0, 0.0, 0.0]}, "invalid_input"),  # no stage takes any time
        ({"stages": [0.2, 0.6], "iteration": 0}, "invalid_request"),
        ({"stages": [0.2, 0.6], "iteration": "1"}, "invalid_request"),
        ({"iteration": 1.0}, "invalid_input"),  # an iteration time without the stages it is made of
    ],
)
def test_workload_stage_times_are_bounded(api: Any, times: dict[str, Any], code: str) -> None:
    import time as clock

    now = int(clock.time())
    body = {"pool": POOL, "start": now - 60, "end": now + 86_400, "kind": "on-demand"}
    contract = api("POST", "/contracts", "lab", json=body, status=201)
    work = {"contract_id": contract["id"], "duration": 60, "gpus_per_task": 8}
    assert api("POST", "/workloads", "lab", json=work | times, status=422)["error"]["code"] == code
    assert items(api("GET", "/workloads", "lab")) == []
    shown = api("POST", "/workloads", "lab", json=work | {"stages": [0.2, 0.6, 1]}, status=201)
    assert (shown["stages"], shown["iteration"], shown["group"], shown["pace"]) == ([0.2, 0.6, 1.0], 1.8, [], 1.0)
    plain = api("POST", "/workloads", "lab", json=work, status=201)
    assert (plain["stages"], plain["iteration"]) == (None, None)
