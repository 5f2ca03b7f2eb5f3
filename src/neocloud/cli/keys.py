"""`neocloud key` and `neocloud serve`: API keys, and the server."""

from __future__ import annotations

import os
from typing import Annotated, Any

import typer

from neocloud.cli.answers import answer, owned_list
from neocloud.cli.args import Json, group
from neocloud.cli.context import connect, options, store
from neocloud.cli.output import emit_json, out, reported, table
from neocloud.cli.timefmt import parse_time, show_time
from neocloud.cli.tree import help_of

key_app = group(help=help_of("key"))


@key_app.command("create")
def key_create(
    ctx: typer.Context,
    tenant: Annotated[
        str | None, typer.Option(help="Tenant id or name (default: an operator key, on the store).")
    ] = None,
    expires: Annotated[str | None, typer.Option(help="When it stops working: +90d, an ISO date, Unix seconds.")] = None,
    json: Json = False,
) -> None:
    """Create an API key and print its secret once. A tenant's key through the API (a server's too); an
    operator key on the store only, on the server's machine."""
    from neocloud.bootstrap import wall_clock

    expires_at = None
    with reported(json):
        expires_at = None if expires is None else parse_time(expires, wall_clock())
    if tenant is not None:
        with connect(ctx, json) as api:
            made: Any = api.keys.create(tenant, expires_at)
    else:
        with store(ctx, json) as built:
            from neocloud.app import auth
            from neocloud.app.views import key_view

            with built.uow() as uow:
                key, secret = auth.create_key(uow, built.now(), built.new_id, None, expires_at)
            made = key_view(key, secret)
    view = made.model_dump(mode="json") if hasattr(made, "model_dump") else made
    if json:
        emit_json(view)
        return
    until = "" if view["expires_at"] is None else f", until {show_time(view['expires_at'])}"
    out().print(
        f"{view['role']} key {view['id']}: {view['secret']}\n(shown once; neocloud keeps only its digest{until})"
    )


owned_list(
    key_app,
    "API keys by creation: role, tenant, expiry, last use (to within a minute), revocation. Never a secret.",
    lambda api: api.keys.list,
    lambda keys, shown: table(
        "API keys",
        ["id", "role", "tenant", "created", "expires", "last used", "revoked"],
        [
            (
                k.id,
                k.role,
                shown.get(k.tenant_id or "", k.tenant_id or ""),
                *(
                    "" if t is None else show_time(t)
                    for t in (k.created_at, k.expires_at, k.last_used_at, k.revoked_at)
                ),
            )
            for k in keys
        ],
    ),
)


@key_app.command("revoke")
def key_revoke(ctx: typer.Context, key_id: str, json: Json = False) -> None:
    """Revoke an API key: it stops working at once (a server's other workers: within 2 s)."""
    answer(ctx, json, lambda api: api.keys.revoke(key_id), lambda key, _: out().print(f"key {key_id} revoked"))


def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Worker processes.")] = 1,
    operator_key: Annotated[bool, typer.Option(help="Create and print an operator key before starting.")] = False,
    wait: Annotated[float | None, typer.Option(help="Seconds to wait for the store at boot (default 60).")] = None,
    slurm_conf: Annotated[
        str | None, typer.Option(help="Keep this Slurm cluster (its slurm.conf) in step: reservations, node states.")
    ] = None,
    executor: Annotated[
        str | None, typer.Option(help="Where work runs: timed (the stand-in) or slurm (needs --slurm-conf).")
    ] = None,
) -> None:
    """Run the REST API (OpenAPI at /docs and /openapi.json), waiting for its store if it is not up yet."""
    import logging
    import logging.config
    import tempfile

    import uvicorn

    from neocloud import bootstrap
    from neocloud.app import auth

    logging.config.dictConfig(LOGGING)
    say = logging.getLogger("neocloud.server").warning
    opts = options(ctx)
    with reported(False):
        config = bootstrap.Settings.from_env(
            db_url=opts.db, workers=workers, store_wait_s=wait, slurm_conf=slurm_conf, executor=executor
        )
        built = bootstrap.build_when_ready(config, say)
        try:
            if operator_key:
                with built.uow() as uow:
                    key, secret = auth.create_key(uow, built.now(), built.new_id)
                out().print(f"operator key {key.id}: {secret}")
                out().print(f"try: curl -H 'Authorization: Bearer {secret}' http://{host}:{port}/v1/pools")
        finally:
            built.engine.dispose()
    # The workers build their own context from the environment, and share one folder for their metrics.
    os.environ.update(
        NEOCLOUD_DB_URL=built.url,
        NEOCLOUD_WORKERS=str(workers),
        NEOCLOUD_STORE_WAIT_S=str(config.store_wait_s),
        NEOCLOUD_SLURM_CONF=config.slurm_conf,
        NEOCLOUD_EXECUTOR=config.executor,
    )
    os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="neocloud-metrics-"))
    if opts.catalog:
        out().print("note: --catalog applies to local commands; the server uses the packaged catalog")
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
