"""The Python SDK (neocloud.client) against the real API in process: models back, refusals as ApiError with
the API's code and status, pages walked, retries made safe by an idempotency key, a tenant's key scoped."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from neocloud import bootstrap
from neocloud.api.app import create_app
from neocloud.app import auth
from neocloud.client import ApiError, Client
from neocloud.client.local import InProcess

from ..builders import POOL, SOON

DAY = 86_400


@pytest.fixture
def clients(store: bootstrap.Context) -> Iterator[dict[str, Client]]:
    with store.uow() as uow:
        keys = {
            "operator": auth.create_key(uow, 0, store.new_id)[1],
            "lab": auth.create_key(uow, 0, store.new_id, "lab")[1],
        }
    app = create_app(store, tick=0)
    made = {who: Client("http://sdk", key, transport=InProcess(app)) for who, key in keys.items()}
    yield made
    for client in made.values():
        client.close()


def test_signing_refusals_and_retries(clients: dict[str, Client], store: bootstrap.Context) -> None:
    lab = clients["lab"]
    start, end = SOON.start, SOON.start + 30 * DAY
    free = lab.capacity.free(POOL, start=start, end=end).free
    first = lab.contracts.sign(idempotency_key="retry-1", pool=POOL, start=start, end=end, gpus=free // 2)
    again = lab.contracts.sign(idempotency_key="retry-1", pool=POOL, start=start, end=end, gpus=free // 2)
    assert again.id == first.id  # the retry got the first answer
    assert first.gpus == free // 2
    assert lab.capacity.free(POOL, start=start, end=end).free == free - free // 2
    with pytest.raises(ApiError) as refused:
        lab.contracts.sign(pool=POOL, start=start, end=end, gpus=free)
    assert (refused.value.code, refused.value.status) == ("overbooked", 409)
    assert refused.value.details["excess"] == free // 2
    with pytest.raises(ApiError) as reused:
        lab.contracts.sign(idempotency_key="retry-1", pool=POOL, start=start, end=end, gpus=1)
    assert (reused.value.code, reused.value.status) == ("idempotency_key_reused", 409)


def test_pages_walk_every_item_and_a_tenant_sees_its_own(clients: dict[str, Client]) -> None:
    operator = clients["operator"]
    signed = [
        operator.contracts.sign(
            tenant=tenant, pool=POOL, start=SOON.start + i * DAY, end=SOON.start + (i + 1) * DAY, gpus=1
        )
        for i, tenant in enumerate(["lab", "research"] * 3)
    ]
    every = list(operator.pages(operator.contracts.list, limit=2))
    assert sorted(c.id for c in every) == sorted(c.id for c in signed)
    lab = clients["lab"]
    own = list(lab.pages(lab.contracts.list, limit=1))
    assert sorted(c.id for c in own) == sorted(c.id for c in signed if c.tenant_id == "t-lab")
    theirs = next(c for c in signed if c.tenant_id == "t-research")
    with pytest.raises(ApiError) as hidden:
        lab.contracts.get(theirs.id)
    assert (hidden.value.code, hidden.value.status) == ("unknown_contract", 404)


def test_an_unreachable_server_is_an_api_error() -> None:
    with Client("http://127.0.0.1:9", "nck_x", timeout=2) as nowhere, pytest.raises(ApiError) as failed:
        nowhere.fleet.pools()
    assert failed.value.code == "server_unreachable"


def test_the_local_api_is_built_once_per_store(tmp_path: Path) -> None:
    """Client.local reuses the app it built for a store (and still sees what was written through another)."""
    first_url, second_url = f"sqlite:///{tmp_path / 'a.db'}", f"sqlite:///{tmp_path / 'b.db'}"
    with Client.local(first_url) as a, Client.local(first_url) as again, Client.local(second_url) as b:
        assert again.http._transport.asgi.app is a.http._transport.asgi.app
        assert b.http._transport.asgi.app is not a.http._transport.asgi.app
        a.tenants.add("lab")
        assert [t.name for t in again.tenants.list().items] == ["lab"]
        assert b.tenants.list().items == []
