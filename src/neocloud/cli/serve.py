"""`neocloud serve` and `neocloud key`: run the API server, and manage API keys."""

from __future__ import annotations

import logging
import logging.config
import os
import tempfile
from typing import Annotated

import typer
import uvicorn

from neocloud import bootstrap
from neocloud.app import auth, listings, services
from neocloud.app.pages import Page
from neocloud.app.views import key_view
from neocloud.cli.context import command, settings
from neocloud.cli.output import console, emit_json, emit_page, more, reported, table
from neocloud.cli.paging import DEFAULT_LIMIT, Cursor, Every, Limit, collect, remote_page
from neocloud.cli.remote import remote
from neocloud.cli.timefmt import parse_time, show_time
from neocloud.core.errors import InvalidInput

key_app = typer.Typer(help="API keys (stored hashed; the secret is shown once).", no_args_is_help=True)
Json = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]
KEY_FIELDS = ("id", "role", "tenant_id", "created_at", "expires_at", "last_used_at", "revoked_at")


@key_app.command("create")
def key_create(
    tenant: Annotated[str | None, typer.Option(help="Tenant id or name (default: an operator key).")] = None,
    expires: Annotated[str | None, typer.Option(help="When it stops working: +90d, an ISO date, Unix seconds.")] = None,
    json: Json = False,
) -> None:
    """Create an API key and print its secret once (against a server: a tenant's key, operator only)."""
    with reported(json):
        now = bootstrap.wall_clock()
        expires_at = None if expires is None else parse_time(expires, now)
        api = remote()
        if api is not None:
            if tenant is None:
                raise InvalidInput("against a server, name the tenant (--tenant); operator keys are made locally")
            made = api.call("POST", f"/tenants/{tenant}/keys", json={"expires_at": expires_at})
        else:
            with command(json) as ctx, ctx.uow() as uow:
                key, secret = auth.create_key(uow, ctx.now(), ctx.new_id, tenant, expires_at)
            made = key_view(key, secret)
    if json:
        emit_json(made)
    else:
        until = "" if made["expires_at"] is None else f", until {show_time(int(str(made['expires_at'])))}"
        console.print(
            f"{made['role']} key {made['id']}: {made['secret']}\n(shown once; neocloud keeps only its digest{until})"
        )


@key_app.command("list")
def key_list(
    tenant: Annotated[str | None, typer.Option(help="Only this tenant's keys (id or name).")] = None,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
    every: Every = False,
    json: Json = False,
) -> None:
    """API keys by creation: role, tenant, expiry, last use (to within a minute), revocation. Never a secret."""
    with reported(json):
        api = remote()
        if api is not None:
            page = collect(remote_page(api, "/keys", {"tenant": tenant}, dict), cursor, limit, every)
        else:
            with command(json) as ctx, ctx.uow() as uow:
                tenant_id = services.get_tenant(uow, tenant).id if tenant else None
                stored = collect(
                    lambda c, n: listings.KEYS.fetch(c, n, lambda a, k: uow.list_api_keys(tenant_id, after=a, limit=k)),
                    cursor,
                    limit,
                    every,
                )
                page = Page([key_view(k) for k in stored.items], stored.next_cursor)
        if json:
            emit_page([{f: k[f] for f in KEY_FIELDS} for k in page.items], page.next_cursor)
            return
        table(
            "API keys",
            ["id", "role", "tenant", "created", "expires", "last used", "revoked"],
            [(k["id"], k["role"], k["tenant_id"] or "", *(_when(k[f]) for f in KEY_FIELDS[3:])) for k in page.items],
        )
        more(page.next_cursor, json)


def _when(t: object) -> str:
    return "" if t is None else show_time(int(str(t)))


@key_app.command("revoke")
def key_revoke(key_id: str, json: Json = False) -> None:
    """Revoke an API key: it stops working at once (a server's other workers: within 2 s)."""
    with reported(json):
        api = remote()
        if api is not None:
            revoked_at = api.call("POST", f"/keys/{key_id}/revoke")["revoked_at"]
        else:
            with command(json) as ctx, ctx.uow() as uow:
                revoked_at = auth.revoke_key(uow, key_id, ctx.now()).revoked_at
    if json:
        emit_json({"id": key_id, "revoked_at": revoked_at})
    else:
        console.print(f"key {key_id} revoked")


def serve(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Worker processes.")] = 1,
    operator_key: Annotated[bool, typer.Option(help="Create and print an operator key before starting.")] = False,
    wait: Annotated[float | None, typer.Option(help="Seconds to wait for the store at boot (default 60).")] = None,
) -> None:
    """Run the REST API (OpenAPI at /docs and /openapi.json), waiting for its store if it is not up yet."""
    logging.config.dictConfig(LOGGING)
    say = logging.getLogger("neocloud.server").warning
    with reported(False):
        db = settings.get("db")
        config = bootstrap.Settings.from_env(db_url=db, workers=workers, store_wait_s=wait)
        ctx = bootstrap.build_when_ready(config, say)
        try:
            if operator_key:
                with ctx.uow() as uow:
                    key, secret = auth.create_key(uow, ctx.now(), ctx.new_id)
                console.print(f"operator key {key.id}: {secret}")
                console.print(f"try: curl -H 'Authorization: Bearer {secret}' http://{host}:{port}/v1/pools")
        finally:
            ctx.engine.dispose()
    # The workers build their own context from the environment, and share one folder for their metrics.
    os.environ.update(
        NEOCLOUD_DB_URL=ctx.url, NEOCLOUD_WORKERS=str(workers), NEOCLOUD_STORE_WAIT_S=str(config.store_wait_s)
    )
    os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="neocloud-metrics-"))
    if settings.get("catalog"):
        console.print("note: --catalog applies to local commands; the server uses the packaged catalog")
    uvicorn.run(
        "neocloud.api.asgi:app",
        host=host,
        port=port,
        workers=workers,
        log_config=LOGGING,
        log_level="warning",
        access_log=False,
    )


# uvicorn configures logging in each worker: its own loggers at warning, and neocloud's (the access log, one
# JSON line per request, and errors with their request ids) at info, on standard error.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(message)s"}, "uvicorn": {"format": "%(levelname)s: %(message)s"}},
    "handlers": {
        "neocloud": {"class": "logging.StreamHandler", "formatter": "plain", "stream": "ext://sys.stderr"},
        "uvicorn": {"class": "logging.StreamHandler", "formatter": "uvicorn", "stream": "ext://sys.stderr"},
    },
    "loggers": {
        "neocloud": {"handlers": ["neocloud"], "level": "INFO", "propagate": False},
        "uvicorn": {"handlers": ["uvicorn"], "level": "WARNING", "propagate": False},
    },
}
