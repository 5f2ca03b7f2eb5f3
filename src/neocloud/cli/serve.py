"""`neocloud serve` and `neocloud key`: run the API server, and manage API keys locally."""

from __future__ import annotations

import os
from typing import Annotated

import typer
import uvicorn

from neocloud.app import auth
from neocloud.cli.context import command, settings
from neocloud.cli.output import console, emit_json, reported
from neocloud.cli.remote import remote
from neocloud.core.errors import InvalidInput

key_app = typer.Typer(help="API keys (stored hashed; the secret is shown once).", no_args_is_help=True)
Json = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]


@key_app.command("create")
def key_create(
    tenant: Annotated[str | None, typer.Option(help="Tenant id or name (default: an operator key).")] = None,
    json: Json = False,
) -> None:
    """Create an API key and print its secret once (against a server: a tenant's key, operator only)."""
    with reported(json):
        api = remote()
        if api is not None:
            if tenant is None:
                raise InvalidInput("against a server, name the tenant (--tenant); operator keys are made locally")
            made = api.call("POST", f"/tenants/{tenant}/keys")
        else:
            with command(json) as ctx, ctx.uow() as uow:
                key, secret = auth.create_key(uow, ctx.now(), ctx.new_id, tenant)
            made = {"id": key.id, "role": key.role, "tenant_id": key.tenant_id, "secret": secret}
    if json:
        emit_json(made)
    else:
        console.print(
            f"{made['role']} key {made['id']}: {made['secret']}\n(shown once; neocloud keeps only its digest)"
        )


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
    port: Annotated[int, typer.Option()] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 1,
    operator_key: Annotated[bool, typer.Option(help="Create and print an operator key before starting.")] = False,
) -> None:
    """Run the REST API (OpenAPI at /docs and /openapi.json)."""
    with command(False) as ctx:
        url = ctx.url
        if operator_key:
            with ctx.uow() as uow:
                key, secret = auth.create_key(uow, ctx.now(), ctx.new_id)
            console.print(f"operator key {key.id}: {secret}")
            console.print(f"try: curl -H 'Authorization: Bearer {secret}' http://{host}:{port}/v1/pools")
    os.environ["NEOCLOUD_DB_URL"] = url  # the workers build their own context from it
    if settings.get("catalog"):
        console.print("note: --catalog applies to local commands; the server uses the packaged catalog")
    uvicorn.run("neocloud.api.asgi:app", host=host, port=port, workers=workers, log_level="warning")
