"""The ASGI entry point for uvicorn workers: `uvicorn neocloud.api.asgi:app`. The store comes from
NEOCLOUD_DB_URL; NEOCLOUD_TICK sets the live engine's period in seconds (default 1; 0 turns it off);
NEOCLOUD_GC_DEFAULTS=1 keeps Python's garbage-collector settings (see below)."""

from __future__ import annotations

import gc
import os

from neocloud import bootstrap
from neocloud.api.app import create_app

app = create_app(bootstrap.build(), tick=float(os.environ.get("NEOCLOUD_TICK", "1")))

# A server process allocates fast and keeps little. With the collector's defaults (the young generation
# collected every 700 allocations) collections were most of the signing p99: 140 ms, against 62 ms with
# young collections every 50,000 allocations (medians of 4 side by side, benchmarks/api_bench.py). Freezing
# what the imports made keeps it out of the rare full collections, which took 40-70 ms here.
if os.environ.get("NEOCLOUD_GC_DEFAULTS") != "1":
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
