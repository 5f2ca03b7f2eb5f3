"""The ASGI entry point for uvicorn workers: `uvicorn neocloud.api.asgi:app` (store from NEOCLOUD_DB_URL)."""

from __future__ import annotations

from neocloud import bootstrap
from neocloud.api.app import create_app

app = create_app(bootstrap.build())
