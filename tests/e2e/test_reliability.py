"""The server as a real process under failure: its store going away and coming back, one tenant's hostile
requests among another's valid ones, metrics with several workers, the access log."""

from __future__ import annotations

import json
import os
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx2 as httpx

from benchmarks.common import tenants_with_keys
from neocloud import bootstrap
from neocloud.core.billing.periods import month

from ..servers import private_postgres, serve

POOL = "colossus-1/h100-sxm"
SOON = month("2030-01")


def prepared(url: str, **env: str) -> tuple[dict[str, str], dict[str, str]]:
    """A store with the default fleet, tenants lab and rival, and their keys (made in this process, as the
    benchmarks make theirs); the server's environment."""
    keys = tenants_with_keys(url, ["lab", "rival"])
    return {**os.environ, "NEOCLOUD_DB_URL": url, "NEOCLOUD_TICK": "0", **env}, keys


def contract(i: int) -> dict[str, Any]:
    return {"pool": POOL, "start": SOON.start + i * 60, "end": SOON.start + i * 60 + 3600, "gpus": 1}


def test_the_store_goes_away_and_comes_back(tmp_path: Path) -> None:
    """`serve` waits for a store that is not up yet; then every acknowledged signing is in the store
    afterwards, 503 `store_unavailable` while it is away, answering again within 5 s of its return, without a
    restart."""
    with private_postgres() as postgres:
        env, keys = prepared(postgres.url, NEOCLOUD_RATE_LIMIT="0", NEOCLOUD_MAX_IN_FLIGHT="1000")
        postgres.stop()  # first, `serve` waits for a store that is not up yet
        log = tmp_path / "server.log"

        def start_once_waited_for() -> None:  # not on a timer: a slow start would find the store up already
            deadline = time.monotonic() + 60
            while "waiting up to 60 s" not in (log.read_text() if log.exists() else ""):
                if time.monotonic() > deadline:
                    break
                time.sleep(0.05)
            postgres.start()

        later = threading.Thread(target=start_once_waited_for)
        later.start()
        server, base = serve(env, "--workers", "2", log=log)
        later.join()
        waited = "waiting up to 60 s for the store" in log.read_text()
        acknowledged: list[str] = []
        statuses: Counter[int] = Counter()
        stop = threading.Event()

        def sign_on(worker: int) -> None:
            with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {keys['lab']}"}, timeout=15) as c:
                i = worker * 1_000_000
                while not stop.is_set():
                    i += 1
                    response = c.post("/contracts", json=contract(i))
                    statuses[response.status_code] += 1
                    if response.status_code == 201:
                        acknowledged.append(response.json()["id"])
                    elif response.status_code == 503:
                        assert response.json()["error"]["code"] == "store_unavailable"
                        assert response.headers["retry-after"] == "1"
                        time.sleep(0.05)

        signers = [threading.Thread(target=sign_on, args=(w,)) for w in range(4)]
        try:
            assert waited
            for t in signers:
                t.start()
            time.sleep(2)
            postgres.stop()
            time.sleep(1)
            ready = httpx.get(f"{base}/ready", timeout=10)
            assert (ready.status_code, ready.json()["error"]["code"]) == (503, "store_unavailable")
            time.sleep(2)
            down = sum(statuses.values())
            postgres.start()
            back = time.monotonic()
            while httpx.get(f"{base}/ready", timeout=10).status_code != 200:
                time.sleep(0.1)
            recovered = time.monotonic() - back
            time.sleep(2)
        finally:
            stop.set()
            for t in signers:
                if t.ident is not None:  # started
                    t.join(timeout=30)
            server.terminate()
            server.wait(timeout=30)
        assert statuses[503] > 0, statuses
        assert set(statuses) <= {201, 503}, statuses  # nothing else: no 500, no hang
        assert sum(statuses.values()) > down  # signing went on after the return
        assert recovered <= 5.0, f"ready again {recovered:.1f} s after the store came back"
        ctx = bootstrap.build(postgres.url)
        try:
            with ctx.uow() as uow:
                stored = {c.id for c in uow.contracts.page()}
        finally:
            ctx.engine.dispose()
        assert set(acknowledged) <= stored  # every acknowledged write is there
        assert len(acknowledged) > 0


def test_a_tenants_hostile_requests_never_touch_anothers(store_url: str, tmp_path: Path) -> None:
    """The poison test against a real server, on both stores: one tenant sends malformed and refused requests
    as fast as it can while another signs; every one of the victim's requests succeeds."""
    env, keys = prepared(store_url, NEOCLOUD_RATE_LIMIT="0", NEOCLOUD_MAX_IN_FLIGHT="1000")
    server, base = serve(env, "--workers", "2")
    hostile = [
        {"content": b'{"pool": "' + POOL.encode() + b'", "start": NaN, "end": 1}'},
        {"json": {**contract(1), "gpus": "1"}},
        {"json": {**contract(1), "gpus": 10**9}},
        {"json": {**contract(1), "price_per_gpu_hour": "0"}},
        {"json": {**contract(1), "tenant": "lab"}},
        {"json": {**contract(1), "pool": "x\x00y"}},
        {"json": {**contract(1), "start": 1, "end": 2}},
        {"content": b"[" * 50_000 + b"]" * 50_000},
        {"content": b"\xff\xfe"},
        {"json": {**contract(1), "gpus": 200_000}},  # overbooked
    ]
    victim: list[int] = []
    attacker: Counter[int] = Counter()

    def attack() -> None:
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {keys['rival']}"}, timeout=30) as c:
            for i in range(300):
                request = hostile[i % len(hostile)]
                headers = {"Content-Type": "application/json"}
                attacker[c.post("/contracts", headers=headers, **request).status_code] += 1

    def sign(offset: int) -> None:
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {keys['lab']}"}, timeout=30) as c:
            for i in range(50):
                victim.append(c.post("/contracts", json=contract(offset + i)).status_code)

    threads = [threading.Thread(target=attack) for _ in range(2)] + [
        threading.Thread(target=sign, args=(k * 100,)) for k in range(3)
    ]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert victim == [201] * 150
    assert sum(attacker.values()) == 600
    assert all(400 <= status < 500 for status in attacker), attacker


def test_metrics_add_up_over_workers_and_every_request_is_logged(tmp_path: Path) -> None:
    env, keys = prepared(f"sqlite:///{tmp_path / 'metrics.db'}")
    log = tmp_path / "server.log"
    server, base = serve(env, "--workers", "2", log=log)
    headers = {"Authorization": f"Bearer {keys['lab']}"}
    try:
        with httpx.Client(base_url=base, headers=headers, timeout=30) as c:
            for i in range(40):
                assert c.post("/contracts", json=contract(i)).status_code == 201
            for _ in range(20):
                assert c.get("/pools").status_code == 200
        totals = []
        for _ in range(6):  # each scrape may land on either worker: each must see both workers' counts
            text = httpx.get(f"{base}/metrics", timeout=30).text
            signed = [line for line in text.splitlines() if line.startswith("neocloud_contracts_signed_total ")]
            totals.append(float(signed[0].split()[1]))
            pools = [
                line
                for line in text.splitlines()
                if line.startswith("neocloud_http_requests_total{") and 'route="/v1/pools"' in line
            ]
            assert sum(float(line.split()[-1]) for line in pools) == 20
            assert f'neocloud_pool_gpus{{pool="{POOL}",state="installed"}} 150016.0' in text
            assert f'neocloud_pool_gpus{{pool="{POOL}",state="held"}} 0.0' in text  # the holds start in 2030
            assert f'neocloud_queue_depth{{pool="{POOL}"}} 0.0' in text
            assert f'neocloud_nodes{{pool="{POOL}",state="up"}} 18752.0' in text
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert totals == [40.0] * 6
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    signed = [r for r in lines if r["route"] == "/v1/contracts"]
    assert len(signed) == 40
    assert {(r["method"], r["status"]) for r in signed} == {("POST", 201)}
    assert len({r["request_id"] for r in lines}) == len(lines)
    lab = {r["tenant"] for r in signed}
    assert len(lab) == 1
    assert lab == {r["tenant"] for r in lines if r["route"] == "/v1/pools"} != {None}
    assert keys["lab"] not in log.read_text()
