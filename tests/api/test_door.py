"""The door every request passes (api/door.py), in-process: keys before bodies, per-key rate and in-flight
limits, one error shape for faults of ours and for a store that is away, the access log, every list paged."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

import httpx2 as httpx
import pytest
from fastapi.testclient import TestClient

from neocloud import bootstrap
from neocloud.adapters.store.database import make_engine
from neocloud.adapters.store.uow import SqlStore
from neocloud.api.app import create_app
from neocloud.api.ratelimit import RateLimiter
from neocloud.app import auth
from neocloud.core.billing.periods import month

from ..builders import POOL


def app_with(ctx: bootstrap.Context, **settings: Any) -> Any:
    ctx.settings = bootstrap.Settings(**{**{"tick": 0.0}, **settings})
    return create_app(ctx)


@pytest.fixture
def keys(store: bootstrap.Context) -> dict[str, str]:
    with store.uow() as uow:
        return {
            "operator": auth.create_key(uow, 0, store.new_id)[1],
            "lab": auth.create_key(uow, 0, store.new_id, "lab")[1],
            "research": auth.create_key(uow, 0, store.new_id, "research")[1],
        }


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def test_the_token_bucket_refills_at_its_rate_and_caps_requests_in_flight() -> None:
    now = [0.0]
    limiter = RateLimiter(rate=2, burst=3, max_in_flight=2, clock=lambda: now[0])
    first, second = limiter.admit("k"), limiter.admit("k")
    assert (first.admitted, second.admitted) == (True, True)
    busy = limiter.admit("k")  # two in flight already
    assert (busy.admitted, busy.retry_after) == (False, 1)
    limiter.done("k")
    limiter.done("k")
    assert limiter.admit("k").admitted  # the third token of the burst
    limiter.done("k")
    empty = limiter.admit("k")
    assert (empty.admitted, empty.retry_after, empty.remaining) == (False, 1, 0)
    now[0] += 0.5  # one token back at 2 per second
    assert limiter.admit("k").admitted
    assert limiter.admit("other").admitted  # each key its own bucket
    off = RateLimiter(rate=0, burst=1, max_in_flight=100, clock=lambda: now[0])
    assert all(off.admit("k").admitted for _ in range(50))


def test_a_flooding_key_gets_paced_429s_and_another_key_is_served(
    store: bootstrap.Context,
    keys: dict[str, str],
) -> None:
    client = TestClient(app_with(store, rate_limit=5, rate_burst=5))
    started = time.monotonic()
    answers = []
    for _ in range(15):
        sent = time.monotonic()
        response = client.get("/v1/pools", headers=bearer(keys["lab"]))
        answers.append((response, time.monotonic() - sent))
    elapsed = time.monotonic() - started
    admitted = [r for r, _ in answers if r.status_code == 200]
    refused = [(r, took) for r, took in answers if r.status_code == 429]
    assert [r.status_code for r, _ in answers[:5]] == [200] * 5  # the burst of 5
    assert refused  # then more than 5 a second
    assert len(admitted) + len(refused) == 15
    assert len(admitted) <= 5 + 5 * elapsed + 1  # never more than the burst and the rate
    # Each refusal is held until a retry could pass, so a client retrying at once is paced to the rate: its
    # refusals come no faster than tokens do (unpaced, these ten would take milliseconds all together).
    assert len(refused) <= 5 * elapsed + 2
    assert sum(took for _, took in refused) >= 0.1 * len(refused)
    r = refused[0][0]
    assert (r.headers["retry-after"], r.headers["ratelimit-remaining"]) == ("1", "0")
    assert r.json()["error"]["code"] == "rate_limited"
    assert client.get("/v1/pools", headers=bearer(keys["research"])).status_code == 200
    assert client.get("/v1/health").status_code == 200  # the public paths are not limited


def test_keys_are_checked_before_the_body_is_read(store: bootstrap.Context, keys: dict[str, str]) -> None:
    app = app_with(store)
    read: list[int] = []

    async def call(headers: list[tuple[bytes, bytes]]) -> int:
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            read.append(1)
            return {"type": "http.request", "body": b'{"name": "x"}', "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        scope = {
            "type": "http",
            "http_version": "1.1",
            "method": "POST",
            "path": "/v1/tenants",
            "raw_path": b"/v1/tenants",
            "query_string": b"",
            "headers": headers,
            "scheme": "http",
            "server": ("test", 80),
            "client": ("test", 1),
            "root_path": "",
        }
        await app(scope, receive, send)
        return int(sent[0]["status"])

    assert asyncio.run(call([(b"content-type", b"application/json")])) == 401
    assert read == []  # refused on the headers alone
    assert asyncio.run(call([(b"content-length", b"999999999")])) == 413
    assert read == []


def test_a_fault_of_ours_is_a_json_500_with_the_request_id_in_the_log(
    store: bootstrap.Context,
    keys: dict[str, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = app_with(store)

    @app.get("/v1/broken")
    def broken() -> None:
        raise RuntimeError("a bug")

    client = TestClient(app, raise_server_exceptions=False)
    with caplog.at_level(logging.INFO):
        response = client.get("/v1/broken", headers=bearer(keys["lab"]))
    assert response.status_code == 500
    error = response.json()["error"]
    assert error["code"] == "internal"
    rid = error["request_id"]
    assert rid in error["message"]
    assert response.headers["x-request-id"] == rid
    failed = [r for r in caplog.records if r.name == "neocloud.errors"]
    assert rid in failed[0].getMessage()
    assert failed[0].exc_info is not None
    access = [json.loads(r.getMessage()) for r in caplog.records if r.name == "neocloud.access"]
    assert access[-1] == {
        "request_id": rid,
        "key": access[-1]["key"],
        "tenant": "t-lab",
        "method": "GET",
        "route": "/v1/broken",
        "status": 500,
        "ms": access[-1]["ms"],
    }
    assert keys["lab"] not in caplog.text  # never a secret


def test_a_store_that_is_away_answers_503_and_writes_nothing(store: bootstrap.Context, keys: dict[str, str]) -> None:
    client = TestClient(app_with(store), raise_server_exceptions=False)
    assert client.get("/v1/pools", headers=bearer(keys["lab"])).status_code == 200  # the key is cached now
    good = store.store
    store.store = SqlStore(make_engine("postgresql://nobody@127.0.0.1:1/none"), store.catalog)  # nobody answers
    try:
        for method, path, kw in (
            ("GET", "/v1/ready", {}),
            ("GET", "/v1/contracts", {}),
            (
                "POST",
                "/v1/contracts",
                {"json": {"pool": POOL, "start": month("2030-01").start, "end": month("2030-02").start, "gpus": 8}},
            ),
        ):
            response = client.request(method, path, headers=bearer(keys["lab"]), **kw)
            assert response.status_code == 503, response.text
            assert response.json()["error"]["code"] == "store_unavailable"
            assert response.headers["retry-after"] == "1"
        uncached = client.get("/v1/pools", headers=bearer(keys["research"]))  # its key cannot be looked up
        assert (uncached.status_code, uncached.json()["error"]["code"]) == (503, "store_unavailable")
    finally:
        store.engine.dispose()
        store.store = good
    assert client.get("/v1/ready").status_code == 200  # back at once: nothing to restart


LISTS = [
    ("/contracts", {}),
    ("/workloads", {}),
    ("/usage", {"period": "2030-01"}),
    ("/invoices", {}),
    ("/tenants", {}),
    ("/keys", {}),
    ("/holds", {"pool": POOL}),
    ("/incidents", {"period": "2030-01"}),
    ("/agreements", {}),
    ("/revenue", {}),
    ("/revenue/capacity", {"period": "2030-01"}),
    ("/availability", {"period": "2030-01"}),
    ("/pools", {}),
    ("/sites", {}),
    ("/nodes", {}),
    ("/nodes/states", {}),
    ("/capacity/profile", {"pool": POOL, "start": month("2029-12").start, "end": month("2030-03").start}),
]


def test_every_list_pages_and_the_pages_add_up_to_the_list(store: bootstrap.Context, keys: dict[str, str]) -> None:
    client = TestClient(app_with(store, rate_limit=0))
    op = bearer(keys["operator"])
    jan = month("2030-01")
    for i in range(7):
        start = jan.start + i * 86_400
        body = {
            "tenant": "lab",
            "pool": POOL,
            "start": start,
            "end": start + 3 * 86_400,
            "gpus": 1,
            "sla_uptime": "0.99",
        }
        client.post("/v1/contracts", headers=op, json=body).raise_for_status()
        client.post("/v1/tenants", headers=op, json={"name": f"t{i}"}).raise_for_status()
        client.post(
            "/v1/incidents", headers=op, json={"pool": POOL, "start": start, "end": start + 60}
        ).raise_for_status()
        client.post("/v1/tenants/lab/keys", headers=op).raise_for_status()
    paths = client.get("/openapi.json").json()["paths"]
    paged = {p for p, ops in paths.items() if "cursor" in {q["name"] for q in ops.get("get", {}).get("parameters", [])}}
    assert paged == {f"/v1{path}" for path, _ in LISTS}
    for path, params in LISTS:
        whole = client.get(f"/v1{path}", headers=op, params={**params, "limit": 1000}).json()
        assert whole["next_cursor"] is None
        walked: list[Any] = []
        cursor = None
        while True:
            page = client.get(
                f"/v1{path}", headers=op, params={**params, "limit": 2, **({"cursor": cursor} if cursor else {})}
            )
            assert page.status_code == 200, page.text
            walked += page.json()["items"]
            cursor = page.json()["next_cursor"]
            if cursor is None:
                break
        assert walked == whole["items"], path
    contracts_cursor = client.get("/v1/contracts", headers=op, params={"limit": 1}).json()["next_cursor"]
    other = client.get("/v1/workloads", headers=op, params={"cursor": contracts_cursor})
    assert (other.status_code, other.json()["error"]["code"]) == (422, "invalid_cursor")


def test_requests_with_an_unexpected_failure_fail_alone(store: bootstrap.Context, keys: dict[str, str]) -> None:
    """The poison test, in-process: one tenant's requests raise inside the signing batch (here: a fault
    injected in drafting), interleaved with another tenant's valid ones. Only the poisoned ones fail."""
    from neocloud.app import signing

    app = app_with(store, rate_limit=0, max_in_flight=1000)
    drafted = signing.draft_contract

    def poisoned(request: Any, tenant: Any, *args: Any, **kw: Any) -> Any:
        if tenant.name == "research":
            raise ZeroDivisionError("poison")
        return drafted(request, tenant, *args, **kw)

    signing.draft_contract = poisoned  # type: ignore[assignment]
    sizes: list[int] = []
    app.state.signing.observe = sizes.append
    jan = month("2030-01")

    async def all_at_once() -> list[tuple[str, int]]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:

            async def sign(who: str, i: int) -> tuple[str, int]:
                body = {"pool": POOL, "start": jan.start + i * 3600, "end": jan.start + i * 3600 + 60, "gpus": 1}
                response = await client.post("/v1/contracts", headers=bearer(keys[who]), json=body)
                return who, response.status_code

            return await asyncio.gather(*(sign("research" if i % 2 else "lab", i) for i in range(60)))

    try:
        outcomes = asyncio.run(all_at_once())
    finally:
        signing.draft_contract = drafted
    assert sorted(set(outcomes)) == [("lab", 201), ("research", 500)]
    assert max(sizes) > 1  # the poisoned requests shared batches with the valid ones
    with store.uow() as uow:
        assert len(uow.contracts.page("t-lab")) == 30
        assert uow.contracts.page("t-research") == []
