"""The ASGI entry point for uvicorn workers: `uvicorn neocloud.api.asgi:app`. The store comes from
NEOCLOUD_DB_URL; NEOCLOUD_TICK sets the live engine's period in seconds (default 1; 0 turns it off)."""

from __future__ import annotations

import os

from neocloud import bootstrap
from neocloud.api.app import create_app

app = create_app(bootstrap.build(), tick=float(os.environ.get("NEOCLOUD_TICK", "1")))
