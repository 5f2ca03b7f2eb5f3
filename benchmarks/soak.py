"""A bounded soak (issue 12's soak target): mixed load on a server as shipped for `--minutes` (default 10);
0 errors, and each worker's resident memory growing no more than 10 % after the warm-up.

The server: PostgreSQL, 2 workers, the live engine stepping every second, the default per-key limits. Four
tenants, each on its own connection at about 20 requests a second: quotes, signings of 1-GPU contracts,
contract lists, workloads of 1 to 3 s submitted under an on-demand contract (the engine runs, finishes and
meters them), workload lists, usage lists. An error is any answer other than the one the request must get,
or no answer. Latency and memory are sampled every minute; the first minute is the warm-up.

    python -m benchmarks.soak [--minutes 10] [--tenants 4]   (prints JSON; a line per minute on stderr)
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
from collections import Counter
from typing import Any

import httpx2 as httpx

from benchmarks.common import fresh_postgres, server, tenants_with_keys, workers_rss_mib
from benchmarks.machine import describe
from neocloud.core.billing.periods import month_of

POOL = "colossus-1/h100-sxm"
START = 1_893_456_000  # 2030-01-01


class Load:
    """One tenant's mixed requests on one connection, each checked against the answer it must get."""

    def __init__(self, base: str, secret: str, index: int) -> None:
        self.client = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {secret}"}, timeout=30)
        self.index, self.i = index, 0
        self.latencies: list[float] = []
        self.by_call: dict[str, list[float]] = {}
        self.errors: Counter[str] = Counter()
        self.requests = 0
        now = int(time.time())
        body = {"pool": POOL, "kind": "on-demand", "start": now, "end": now + 7 * 86_400}
        self.on_demand = self.client.post("/contracts", json=body).json()["id"]

    def one(self) -> None:
        self.i += 1
        step = self.i % 7
        start = START + (self.index * 10**7 + self.i) * 3600
        period = month_of(int(time.time())).key
        calls = {
            0: ("GET", "/capacity/free", {"params": {"pool": POOL, "start": START, "end": START + 86_400}}, 200),
            1: ("POST", "/contracts", {"json": {"pool": POOL, "start": start, "end": start + 3600, "gpus": 1}}, 201),
            2: ("GET", "/contracts", {"params": {"limit": 50}}, 200),
            3: (
                "POST",
                "/workloads",
                {"json": {"contract_id": self.on_demand, "gpus_per_task": 8, "duration": 1 + self.i % 3}},
                201,
            ),
            4: ("GET", "/workloads", {"params": {"limit": 50}}, 200),
            5: ("GET", "/usage", {"params": {"period": period, "limit": 50}}, 200),
            6: (
                "GET",
                "/capacity/profile",
                {"params": {"pool": POOL, "start": START, "end": START + 30 * 86_400}},
                200,
            ),
        }
        method, path, kw, expected = calls[step]
        started = time.perf_counter()
        try:
            status = self.client.request(method, path, **kw).status_code
        except httpx.TransportError as exc:
            status, expected = -1, 0
            self.errors[f"{method} {path}: {type(exc).__name__}"] += 1
        ms = (time.perf_counter() - started) * 1000
        self.latencies.append(ms)
        self.by_call.setdefault(f"{method} {path}", []).append(ms)
        self.requests += 1
        if status != expected and status != -1:
            self.errors[f"{method} {path}: {status}"] += 1


def drift_by_call(loads: list[Load]) -> dict[str, list[float]]:
    """Per kind of request: the median latency of its first tenth and of its last tenth, over all tenants."""
    out = {}
    for call in sorted({c for load in loads for c in load.by_call}):
        first = [ms for load in loads for ms in load.by_call.get(call, [])[: len(load.by_call.get(call, [])) // 10]]
        last = [ms for load in loads for ms in load.by_call.get(call, [])[-(len(load.by_call.get(call, [])) // 10) :]]
        out[call] = [round(statistics.median(first), 2), round(statistics.median(last), 2)]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--tenants", type=int, default=4)
    args = parser.parse_args()
    report: dict[str, Any] = {"machine": describe(), "store": "PostgreSQL", "workers": 2, "minutes": args.minutes}
    samples = []
    with fresh_postgres() as url:
        names = [f"soak{i}" for i in range(args.tenants)]
        keys = tenants_with_keys(url, names)
        with server(url, NEOCLOUD_TICK="1") as (process, base):
            loads = [Load(base, keys[name], i) for i, name in enumerate(names)]
            stop = threading.Event()

            def drive(load: Load) -> None:
                while not stop.is_set():
                    started = time.perf_counter()
                    load.one()
                    time.sleep(max(0.0, 0.05 - (time.perf_counter() - started)))

            threads = [threading.Thread(target=drive, args=(load,)) for load in loads]
            for t in threads:
                t.start()
            began = time.monotonic()
            seen = 0
            for minute in range(1, int(args.minutes) + 1):
                time.sleep(max(0.0, began + minute * 60 - time.monotonic()))
                latencies = [ms for load in loads for ms in load.latencies]
                window, seen = latencies[seen:], len(latencies)
                sample = {
                    "minute": minute,
                    "requests": len(window),
                    "p50_ms": round(statistics.median(window), 2),
                    "p99_ms": round(statistics.quantiles(window, n=100)[98], 2),
                    "errors": sum(sum(load.errors.values()) for load in loads),
                    "workers_rss_mib": workers_rss_mib(process),
                }
                samples.append(sample)
                print(json.dumps(sample), file=sys.stderr, flush=True)
            stop.set()
            for t in threads:
                t.join(timeout=60)
    errors: Counter[str] = Counter()
    for load in loads:
        errors.update(load.errors)
    warm, last = samples[0]["workers_rss_mib"], samples[-1]["workers_rss_mib"]
    report |= {
        "requests": sum(load.requests for load in loads),
        "errors": sum(errors.values()),
        "error_kinds": dict(errors),
        "per_minute": samples,
        "rss_after_warm_up_mib": warm,
        "rss_at_end_mib": last,
        "rss_growth_after_warm_up": [round(b / a - 1, 3) for a, b in zip(sorted(warm), sorted(last), strict=False)],
        "p50_drift": round(samples[-1]["p50_ms"] / samples[0]["p50_ms"], 2),
        "p50_ms_first_and_last_tenth_by_call": drift_by_call(loads),
        "target": "0 errors; worker RSS growth <= 10 % after the warm-up (minute 1)",
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
