"""The API in the caller's own process, on the local store: what the CLI runs without --server, so that each
command has one code path, through the API, whether the API is here or on a server."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
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


# The app for each store, settings and catalog, built once per process (the last few kept): building it
# (FastAPI prepares every route's models) costs more than most commands, and a script or a test may call
# Client.local many times.
_apps: OrderedDict[tuple[str | None, Path | None, bootstrap.Settings], tuple[bootstrap.Context, Any]] = OrderedDict()
KEPT = 4


def local_client(client: type[Client], db_url: str | None, catalog: Path | None) -> Client:
    key = (db_url, catalog, bootstrap.Settings.from_env())
    if key in _apps:
        _apps.move_to_end(key)
    else:
        ctx = bootstrap.build(db_url, catalog, key[2])
        _apps[key] = ctx, create_app(ctx, tick=0, local=True)
        while len(_apps) > KEPT:
            _apps.popitem(last=False)[1][0].engine.dispose()
    ctx, app = _apps[key]
    made = client("http://local", transport=InProcess(app))
    made.closing.append(ctx.engine.dispose)  # its connections; the engine opens new ones when used again
    return made
