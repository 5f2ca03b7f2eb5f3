"""The API in the caller's own process, on the local store: what the CLI runs without --server, so that each
command has one code path, through the API, whether the API is here or on a server."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx2 as httpx

from neocloud import bootstrap
from neocloud.api.app import create_app

if TYPE_CHECKING:
    from neocloud.client import Client


class InProcess(httpx.BaseTransport):
    """A synchronous transport to an ASGI app in this process: each request runs on an event loop of its own
    (the app's batching and its threads live within the request)."""

    def __init__(self, app: Any) -> None:
        self.asgi = httpx.ASGITransport(app=app)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        async def call() -> httpx.Response:
            response = await self.asgi.handle_async_request(request)
            content = await response.aread()
            return httpx.Response(response.status_code, headers=response.headers, content=content)

        return asyncio.run(call())


def local_client(client: type[Client], db_url: str | None, catalog: Path | None) -> Client:
    ctx = bootstrap.build(db_url, catalog, bootstrap.Settings.from_env())
    made = client("http://local", transport=InProcess(create_app(ctx, tick=0, local=True)))
    made.closing.append(ctx.engine.dispose)
    return made
