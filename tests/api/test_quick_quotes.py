"""Free capacity answered without the framework (api/quick.py) answers exactly what the route answers, for
plain queries and hostile ones alike, on both stores; the door still counts it under its route."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from neocloud import bootstrap
from neocloud.api import quick
from neocloud.api.app import create_app
from neocloud.app import auth

from ..builders import POOL, SOON, reserved, sign

PLAIN = f"pool={POOL}&start={SOON.start}&end={SOON.end}"
ODD = [
    PLAIN,
    f"pool={POOL.replace('/', '%2F')}&start={SOON.start}&end={SOON.end}",
    f"start={SOON.start}&end={SOON.end}&pool={POOL}",
    f"pool={POOL}&start={SOON.end}&end={SOON.start}",  # backwards: 422 from the route
    f"pool={POOL}&start={SOON.start}&end={SOON.start}",
    f"pool={POOL}&start=NaN&end={SOON.end}",
    f"pool={POOL}&start=-1&end={SOON.end}",
    f"pool={POOL}&start=%2B5&end={SOON.end}",
    f"pool={POOL}&start={SOON.start}&end=99999999999999999999",
    f"pool={POOL}&start={SOON.start}&end=253402300800",  # the last instant allowed
    f"pool={POOL}&start={SOON.start}&end=253402300801",
    f"pool={POOL}&pool=s1/other&start={SOON.start}&end={SOON.end}",
    f"pool={POOL}&start={SOON.start}&end={SOON.end}&cursor=x",
    f"pool=s1/none&start={SOON.start}&end={SOON.end}",  # unknown: 404 from the route
    f"pool=s1%2Fh100-sxm%00&start={SOON.start}&end={SOON.end}",
    f"pool=%C3%A9&start={SOON.start}&end={SOON.end}",
    f"pool={'a' * 201}&start={SOON.start}&end={SOON.end}",
    f"pool={POOL}&start={SOON.start}",
    f"pool&start={SOON.start}&end={SOON.end}",
    "",
]


@pytest.fixture
def client(store: bootstrap.Context) -> Any:
    sign(store, reserved(40, start=SOON.start + 86_400, days=10))
    with store.uow() as uow:
        key = auth.create_key(uow, 0, store.new_id, "lab")[1]
    http = TestClient(create_app(store))
    http.headers["Authorization"] = f"Bearer {key}"
    http.ctx = store  # type: ignore[attr-defined]
    return http


def _both_ways(client: Any, query: str, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, Any, bool]:
    """The route's answer (no snapshot kept), then the answer with the snapshot the route just kept, and
    whether the quick path gave it."""
    client.ctx.snapshots.clear()
    routed = client.get(f"/v1/capacity/free?{query}")
    answered: list[bytes | None] = []
    real = quick.free_capacity

    def spied(ctx: bootstrap.Context, q: bytes) -> bytes | None:
        answered.append(real(ctx, q))
        return answered[-1]

    monkeypatch.setattr(quick, "free_capacity", spied)
    again = client.get(f"/v1/capacity/free?{query}")
    monkeypatch.setattr(quick, "free_capacity", real)
    return routed, again, bool(answered and answered[0] is not None)


@pytest.mark.parametrize("query", ODD)
def test_the_quick_answer_is_the_routes(client: Any, query: str, monkeypatch: pytest.MonkeyPatch) -> None:
    routed, again, was_quick = _both_ways(client, query, monkeypatch)
    assert (again.status_code, again.content, again.headers["content-type"]) == (
        routed.status_code,
        routed.content if routed.status_code == 200 else again.content,  # errors carry their own request id
        routed.headers["content-type"],
    )
    if routed.status_code != 200:
        assert again.json()["error"]["code"] == routed.json()["error"]["code"]
        assert not was_quick
    assert was_quick == (query in ODD[:3] or query == ODD[9])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(start=st.integers(-5, 2 * 10**11), length=st.integers(-10, 10**9))
def test_any_window_is_answered_alike(client: Any, start: int, length: int, monkeypatch: pytest.MonkeyPatch) -> None:
    routed, again, _ = _both_ways(client, f"pool={POOL}&start={start}&end={start + length}", monkeypatch)
    assert again.status_code == routed.status_code
    if routed.status_code == 200:
        assert again.content == routed.content


def test_the_door_counts_it_under_its_route(client: Any) -> None:
    def counted() -> float:
        line = 'neocloud_http_requests_total{method="GET",route="/v1/capacity/free",status="200"} '
        found = [row for row in client.get("/v1/metrics").text.splitlines() if row.startswith(line)]
        return float(found[0].removeprefix(line)) if found else 0.0

    client.get(f"/v1/capacity/free?{PLAIN}")  # keeps the snapshot
    before = counted()
    for _ in range(3):
        assert client.get(f"/v1/capacity/free?{PLAIN}").status_code == 200
    assert counted() == before + 3  # the metrics are the process's: counted from what they were
