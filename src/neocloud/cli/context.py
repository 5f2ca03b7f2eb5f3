"""What every command gets from the command line's global options: the API to talk to (a server, or the local
store in this process: one code path either way), or the store itself for the few commands that act on it.

Nothing heavy is imported here at import time: `neocloud --help` loads neither the store nor the server."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from neocloud.cli.output import reported
from neocloud.core.errors import InvalidInput

if TYPE_CHECKING:
    from neocloud import bootstrap
    from neocloud.client import Client


@dataclass(frozen=True, slots=True)
class Options:
    """The global options, set once by the top-level callback (flags first, then NEOCLOUD_SERVER and
    NEOCLOUD_API_KEY; the store's settings are bootstrap.Settings')."""

    db: str | None = None
    catalog: Path | None = None
    server: str | None = None
    api_key: str | None = None


def options(ctx: typer.Context) -> Options:
    found = ctx.find_root().obj
    return found if isinstance(found, Options) else Options()


@contextmanager
def connect(ctx: typer.Context, as_json: bool) -> Iterator[Client]:
    """The API: the server of --server (with --api-key), else the local store's, in this process, as the
    operator. Refusals print as errors (exit 1)."""
    with reported(as_json):
        opts = options(ctx)
        from neocloud.client import Client

        if opts.server:
            if not opts.api_key:
                raise InvalidInput("--server needs --api-key (or NEOCLOUD_API_KEY)")
            client = Client(opts.server, opts.api_key)
        else:
            client = Client.local(opts.db, opts.catalog)
        try:
            yield client
        finally:
            client.close()


@contextmanager
def store(ctx: typer.Context, as_json: bool) -> Iterator[bootstrap.Context]:
    """The store itself, for the commands that act on it rather than through the API (init, fleet import,
    workload step, serve, operator keys): refused with --server."""
    with reported(as_json):
        opts = options(ctx)
        if opts.server:
            raise InvalidInput("this command works on the store only, not against a server: drop --server")
        from neocloud import bootstrap

        built = bootstrap.build(opts.db, opts.catalog, bootstrap.Settings.from_env())
        try:
            yield built
        finally:
            built.engine.dispose()
