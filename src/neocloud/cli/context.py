"""Wiring shared by every store-backed command: global options, the composition root, clean errors."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from neocloud import bootstrap
from neocloud.cli.output import reported
from neocloud.core.errors import InvalidInput

settings: dict[str, object] = {}  # set by the top-level callback from --db and --catalog


@contextmanager
def command(as_json: bool) -> Iterator[bootstrap.Context]:
    """Wire a command: report refusals clearly, and release the store's connections afterwards."""
    with reported(as_json):
        if settings.get("server") or os.environ.get("NEOCLOUD_SERVER"):
            raise InvalidInput("this command works on the store only, not against a server (yet): drop --server")
        db, catalog = settings.get("db"), settings.get("catalog")
        ctx = bootstrap.build(
            db if isinstance(db, str) else None,
            catalog if isinstance(catalog, Path) else None,
            bootstrap.Settings.from_env(),
        )
        try:
            yield ctx
        finally:
            ctx.engine.dispose()
