"""The store goes away and comes back (issue 12's outage target): every acknowledged write present afterwards,
503s while it is away, the server answering again within 5 s of its return.

A private PostgreSQL (initdb and pg_ctl on a free port, tests/servers.py) behind `neocloud serve --workers
2`; four clients sign contracts without pause; the store is stopped for `--down` seconds, `--rounds` times.

    python -m benchmarks.outage [--rounds 3] [--down 5]   (prints JSON)
"""

from __future__ import annotations

import argparse
import json
import statistics
import threading
import time
from collections import Counter
from typing import Any

import httpx2 as httpx

from benchmarks.common import server, tenants_with_keys
from benchmarks.machine import describe
from neocloud import bootstrap
from tests.servers import private_postgres

POOL = "colossus-1/h100-sxm"
START = 1_893_456_000  # 2030-01-01


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--down", type=float, default=5)
    args = parser.parse_args()
    report: dict[str, Any] = {"machine": describe(), "workers": 2, "down_s": args.down}
    recoveries, first_503 = [], []
    statuses: Counter[int] = Counter()
    acknowledged: list[str] = []
    with private_postgres() as postgres:
        keys = tenants_with_keys(postgres.url, ["lab"])
        env = {"NEOCLOUD_TICK": "0", "NEOCLOUD_RATE_LIMIT": "0", "NEOCLOUD_MAX_IN_FLIGHT": "1000"}
        with server(postgres.url, **env) as (_, base):
            stop = threading.Event()

            def sign(worker: int) -> None:
                headers = {"Authorization": f"Bearer {keys['lab']}"}
                with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
                    i = worker * 10**7
                    while not stop.is_set():
                        i += 1
                        start = START + i * 60
                        body = {"pool": POOL, "start": start, "end": start + 3600, "gpus": 1}
                        response = client.post("/contracts", json=body)
                        statuses[response.status_code] += 1
                        if response.status_code == 201:
                            acknowledged.append(response.json()["id"])
                        elif response.status_code == 503:
                            time.sleep(0.05)

            signers = [threading.Thread(target=sign, args=(w,)) for w in range(4)]
            for t in signers:
                t.start()
            try:
                for _ in range(args.rounds):
                    time.sleep(3)
                    before = statuses[503]
                    postgres.stop()
                    stopped = time.monotonic()
                    while statuses[503] == before:
                        time.sleep(0.01)
                    first_503.append(time.monotonic() - stopped)
                    time.sleep(max(0.0, args.down - (time.monotonic() - stopped)))
                    postgres.start()
                    back = time.monotonic()
                    while httpx.get(f"{base}/ready", timeout=10).status_code != 200:
                        time.sleep(0.05)
                    recoveries.append(time.monotonic() - back)
                time.sleep(3)
            finally:
                stop.set()
                for t in signers:
                    t.join(timeout=60)
        ctx = bootstrap.build(postgres.url)
        with ctx.uow() as uow:
            stored = {c.id for c in uow.contracts.page()}
        ctx.engine.dispose()
    report |= {
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "acknowledged": len(acknowledged),
        "acknowledged_missing": len(set(acknowledged) - stored),
        "seconds_to_first_503": [round(s, 2) for s in first_503],
        "seconds_to_ready_after_return": [round(s, 2) for s in recoveries],
        "median_seconds_to_ready": round(statistics.median(recoveries), 2),
        "target": "every acknowledged write present; 503s while away; ready within 5 s of the store's return",
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
