"""The API tier's fixture: a client of the in-process API on the seeded store, with a key per role."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from neocloud import bootstrap
from neocloud.api.app import create_app
from neocloud.app import auth


@pytest.fixture
def api(store: bootstrap.Context) -> Any:
    with store.uow() as uow:
        keys = {
            "operator": auth.create_key(uow, 0, store.new_id)[1],
            "lab": auth.create_key(uow, 0, store.new_id, "lab")[1],
            "research": auth.create_key(uow, 0, store.new_id, "research")[1],
        }
    client = TestClient(create_app(store))

    def call(method: str, path: str, who: str | None = None, status: int = 200, **kw: Any) -> Any:
        headers = kw.pop("headers", {})
        if who:
            headers["Authorization"] = f"Bearer {keys[who]}"
        response = client.request(method, f"/v1{path}", headers=headers, **kw)
        assert response.status_code == status, response.text
        return response.json() if response.headers.get("content-type", "").startswith("application/json") else response

    call.keys = keys  # type: ignore[attr-defined]
    call.ctx = store  # type: ignore[attr-defined]
    return call
