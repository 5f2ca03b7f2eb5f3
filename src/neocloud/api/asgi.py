"""The ASGI entry point for uvicorn workers: `uvicorn neocloud.api.asgi:app`. Settings come from the
environment (bootstrap.Settings: NEOCLOUD_DB_URL, NEOCLOUD_TICK, ...); a worker that starts while its store is
away waits for it (NEOCLOUD_STORE_WAIT_S)."""

from __future__ import annotations

import gc
import logging

from neocloud import bootstrap
from neocloud.api.app import create_app

settings = bootstrap.Settings.from_env()
app = create_app(bootstrap.build_when_ready(settings, logging.getLogger("neocloud.server").warning))

# A server process allocates fast and keeps little. With the collector's defaults (the young generation
# collected every 700 allocations) collections were most of the signing p99: 140 ms, against 62 ms with
# young collections every 50,000 allocations (medians of 4 side by side, benchmarks/api_bench.py). Freezing
# what the imports made keeps it out of the rare full collections, which took 40-70 ms here.
if not settings.gc_defaults:
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
