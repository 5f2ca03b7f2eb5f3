"""The node inventory through the API: operator only, states and history, refusals that write nothing."""

from __future__ import annotations

from typing import Any

import pytest

NODE = "b-000-r00-n00"


def test_nodes_their_states_and_history(api: Any) -> None:
    listed = api("GET", "/nodes?limit=1000", "operator")
    assert len(listed["items"]) == 16
    assert {n["state"] for n in listed["items"]} == {"up"}
    assert api("POST", f"/nodes/{NODE}/drain", "operator", json={"reason": "fan alarm"})["state"] == "draining"
    assert api("POST", f"/nodes/{NODE}/down", "operator")["state"] == "down"
    shown = api("GET", f"/nodes/{NODE}", "operator")
    assert [(e["state"], e["reason"]) for e in shown["history"]] == [("draining", "fan alarm"), ("down", "")]
    assert [n["name"] for n in api("GET", "/nodes?state=down", "operator")["items"]] == [NODE]
    counts = api("GET", "/nodes/states?pool=s1/h100-sxm", "operator")["items"]
    assert [(c["state"], c["nodes"], c["gpus"]) for c in counts] == [("down", 1, 8), ("up", 15, 120)]
    assert api("POST", f"/nodes/{NODE}/resume", "operator")["state"] == "up"
    pages = [api("GET", "/nodes?limit=5", "operator")]
    while pages[-1]["next_cursor"]:
        pages.append(api("GET", f"/nodes?limit=5&cursor={pages[-1]['next_cursor']}", "operator"))
    assert [n["name"] for p in pages for n in p["items"]] == [n["name"] for n in listed["items"]]


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code"),
    [
        ("GET", "/nodes", None, 403, "forbidden"),  # a tenant's key
        ("POST", f"/nodes/{NODE}/resume", None, 409, "invalid_state"),  # up already
        ("POST", "/nodes/nowhere/drain", None, 404, "unknown_node"),
        ("POST", f"/nodes/{NODE}/drain", {"reason": "a\x00b"}, 422, "invalid_request"),
        ("POST", f"/nodes/{NODE}/drain", {"reason": "x" * 501}, 422, "invalid_request"),
        ("POST", f"/nodes/{NODE}/drain", {"reason": 5}, 422, "invalid_request"),
        ("POST", f"/nodes/{NODE}/drain", {"state": "up"}, 422, "invalid_request"),
        ("GET", "/nodes?state=broken", None, 422, "invalid_request"),
        ("GET", "/nodes/" + "n" * 201, None, 422, "invalid_request"),
        ("POST", f"/nodes/{NODE}/reboot", None, 404, None),
    ],
)
def test_refusals_write_nothing(api: Any, method: str, path: str, body: Any, status: int, code: str | None) -> None:
    who = "lab" if path == "/nodes" else "operator"
    refused = api(method, path, who, status=status, json=body)
    if code is not None:
        assert refused["error"]["code"] == code
    assert api("GET", f"/nodes/{NODE}", "operator")["history"] == []


def test_a_reservations_nodes_are_its_tenants_to_see(api: Any) -> None:
    now = api.ctx.now()
    body = {"pool": "s1/h100-sxm", "start": now, "end": now + 30 * 86_400, "gpus": 16}
    contract = api("POST", "/contracts", "lab", json=body, status=201)
    assert api("GET", f"/contracts/{contract['id']}/nodes", "lab") == []  # until the engine's next step
    with api.ctx.uow() as uow:
        api.ctx.live_engine().reconcile(uow, now + 1)
    spans = api("GET", f"/contracts/{contract['id']}/nodes", "lab")
    assert [(s["since"], s["until"], s["down_since"]) for s in spans] == [(now + 1, None, None)] * 2
    mine = api("GET", "/nodes?tenant=lab", "operator")["items"]
    assert [(n["name"], n["contract"], n["tenant"]) for n in mine] == [
        (s["node"], contract["id"], "t-lab") for s in spans
    ]
    assert api("GET", "/nodes?tenant=research", "operator")["items"] == []
    assert api("GET", f"/nodes/{spans[0]['node']}", "operator")["contract"] == contract["id"]
    # Another tenant learns nothing of it; a tenant filter naming no tenant is refused.
    assert (
        api("GET", f"/contracts/{contract['id']}/nodes", "research", status=404)["error"]["code"] == "unknown_contract"
    )
    assert api("GET", "/nodes?tenant=ghost", "operator", status=404)["error"]["code"] == "unknown_tenant"
    assert api("GET", "/nodes?tenant=lab", "lab", status=403)["error"]["code"] == "forbidden"


def test_spares_through_the_api(api: Any) -> None:
    pool = "s1/h100-sxm"
    assert api("GET", f"/spares?pool={pool}", "operator")["units"] == 0
    kept = api("PUT", "/spares", "operator", json={"pool": pool, "units": 2})
    assert (kept["units"], kept["gpus"]) == (2, 16)
    for body, status, code in [
        ({"pool": pool, "units": -1}, 422, "invalid_request"),
        ({"pool": pool, "units": 1.5}, 422, "invalid_request"),
        ({"pool": pool, "units": "2"}, 422, "invalid_request"),
        ({"pool": pool, "units": 17}, 422, "invalid_input"),  # 16 nodes
        ({"pool": "s1/none", "units": 1}, 404, "unknown_pool"),
    ]:
        assert api("PUT", "/spares", "operator", json=body, status=status)["error"]["code"] == code
    assert api("PUT", "/spares", "lab", json={"pool": pool, "units": 1}, status=403)["error"]["code"] == "forbidden"
    now = api.ctx.now()
    body = {"pool": pool, "start": now + 60, "end": now + 86_400, "gpus": 120}
    assert api("POST", "/contracts", "lab", json=body, status=409)["error"]["code"] == "overbooked"  # 112 are for sale
    assert api("GET", f"/spares?pool={pool}", "operator")["units"] == 2
