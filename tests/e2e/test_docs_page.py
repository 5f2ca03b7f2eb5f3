"""The API's documentation page in a real browser (tests/browser.py), with no way out to the internet:
Swagger UI loads from neocloud itself and renders every operation of the OpenAPI 3.1 schema."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest

from ..browser import SCREENSHOTS, offline_page
from ..servers import serve


@pytest.fixture
def origin(tmp_path: Path) -> Iterator[str]:
    env = {**os.environ, "NEOCLOUD_DB_URL": f"sqlite:///{tmp_path / 'docs.db'}", "NEOCLOUD_TICK": "0"}
    process, base = serve(env)
    try:
        yield base.removesuffix("/v1")
    finally:
        process.terminate()
        process.wait(10)


def test_the_docs_page_renders_every_operation_offline(browser: Any, origin: str) -> None:
    schema = httpx.get(f"{origin}/openapi.json").json()
    assert schema["openapi"].startswith("3.1")
    operations = sum(len(methods) for methods in schema["paths"].values())
    outside: list[str] = []
    page = offline_page(browser, origin, outside)
    page.goto(f"{origin}/docs")
    page.wait_for_selector(".opblock", timeout=15_000)
    assert page.locator(".opblock").count() == operations
    assert "neocloud" in page.locator(".info .title").inner_text()
    assert page.locator(".errors-wrapper").count() == 0  # Swagger UI's "could not render" box
    assert outside == [], "the page asked for nothing beyond neocloud"
    page.screenshot(path=str(SCREENSHOTS / "api-docs.png"))


def test_the_docs_files_are_served_compressed_and_kept() -> None:
    from fastapi.testclient import TestClient

    from neocloud import bootstrap
    from neocloud.api.app import create_app

    ctx = bootstrap.build("sqlite://")
    client = TestClient(create_app(ctx, tick=0))
    answer = client.get("/docs/swagger-ui-bundle.js", headers={"Accept-Encoding": "gzip"})
    assert answer.status_code == 200
    assert answer.headers["content-encoding"] == "gzip"
    assert int(answer.headers["content-length"]) < 500_000  # compressed: the page's whole weight, nearly
    assert "max-age" in answer.headers["cache-control"]
    assert client.get("/docs/../app.py").status_code in (401, 404)
