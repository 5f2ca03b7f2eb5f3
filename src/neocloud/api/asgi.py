"""The ASGI entry point for uvicorn workers: `uvicorn neocloud.api.asgi:app`. Settings come from the
environment (bootstrap.Settings: NEOCLOUD_DB_URL, NEOCLOUD_TICK, ...); a worker that starts while its store is
away waits for it (NEOCLOUD_STORE_WAIT_S)."""

from __future__ import annotations

import logging

from neocloud import bootstrap
from neocloud.api.app import create_app, tune_collector

settings = bootstrap.Settings.from_env()
app = create_app(bootstrap.build_when_ready(settings, logging.getLogger("neocloud.server").warning))
if not settings.gc_defaults:
    tune_collector()
