"""One tenant floods, another is served (issue 12's flood target): the victim's median latency while another
tenant floods at 32 concurrent connections must stay within 2x its median without the flood.

The server runs as shipped (PostgreSQL, 2 workers, the default per-key limits: 100 requests/s, 16 in flight).
The victim asks for a quote and signs a 1-GPU contract in turn, 10 times a second, from one connection; the
flooder is wrk with 32 connections signing as fast as it can (or asking quotes, --flood quotes). Phases
alternate, victim alone then victim under the flood, `--rounds` times; the figures are medians.

    python -m benchmarks.flood [--rounds 3] [--seconds 15] [--flood signing|quotes]   (prints JSON)
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx2 as httpx

from benchmarks.common import fresh_postgres, server, tenants_with_keys
from benchmarks.machine import describe

POOL = "colossus-1/h100-sxm"
START = 1_893_456_000  # 2030-01-01
FLOOD_LUA = """
local counter = 0
function request()
  counter = counter + 1
  local start = %d + counter * 3600
  local body = string.format('{"pool":"%s","start":%%d,"end":%%d,"gpus":1}', start, start + 3600)
  return wrk.format("POST", "/v1/contracts", {["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer %s"}, body)
end
"""


def victim(base: str, secret: str, seconds: float, offset: int) -> list[float]:
    """Sequential requests, 10 a second: a quote, then a signing; each one's latency in ms."""
    latencies: list[float] = []
    deadline = time.monotonic() + seconds
    quote = {"pool": POOL, "start": START, "end": START + 86_400}
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {secret}"}, timeout=30) as client:
        i = 0
        while time.monotonic() < deadline:
            i += 1
            started = time.perf_counter()
            if i % 2:
                response = client.get("/capacity/free", params=quote)
            else:
                start = START + 10**7 + (offset + i) * 3600
                response = client.post(
                    "/contracts", json={"pool": POOL, "start": start, "end": start + 3600, "gpus": 1}
                )
            latencies.append((time.perf_counter() - started) * 1000)
            if response.status_code not in (200, 201):
                raise SystemExit(f"the victim was refused: {response.status_code} {response.text[:200]}")
            time.sleep(max(0.0, 0.1 - (time.perf_counter() - started)))
    return latencies


def flood(wrk: str, base: str, secret: str, seconds: float, what: str) -> dict[str, Any]:
    root = base.removesuffix("/v1")
    if what == "quotes":
        url = f"{base}/capacity/free?pool={POOL}&start={START}&end={START + 86_400}"
        command = [wrk, "-t1", "-c32", f"-d{seconds}s", "-H", f"Authorization: Bearer {secret}", url]
        script = None
    else:
        script = Path(os.environ.get("TMPDIR", "/tmp")) / f"neocloud-flood-{uuid.uuid4().hex[:8]}.lua"
        script.write_text(FLOOD_LUA % (START + uuid.uuid4().int % 10**6 * 3600, POOL, secret))
        command = [wrk, "-t1", "-c32", f"-d{seconds}s", "-s", str(script), root]
    try:
        out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    finally:
        if script is not None:
            script.unlink()
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    refused = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"requests": total, "refused": int(refused.group(1)) if refused else 0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--flood", choices=["signing", "quotes"], default="signing")
    args = parser.parse_args()
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("wrk is needed (apt-get install wrk)")
    report: dict[str, Any] = {"machine": describe(), "store": "PostgreSQL", "workers": 2, "flood": args.flood}
    rounds = []
    with fresh_postgres() as url:
        keys = tenants_with_keys(url, ["victim", "flooder"])
        with server(url, NEOCLOUD_TICK="0") as (_, base):
            victim(base, keys["victim"], 3, 0)  # warm-up: connections, caches, the first compilations
            for r in range(args.rounds):
                alone = victim(base, keys["victim"], args.seconds, (2 * r + 1) * 10_000)
                flooded: dict[str, Any] = {}
                attacker = threading.Thread(
                    target=lambda into=flooded: into.update(flood(wrk, base, keys["flooder"], args.seconds, args.flood))
                )
                attacker.start()
                time.sleep(0.5)  # the flood under way
                loaded = victim(base, keys["victim"], args.seconds - 1, (2 * r + 2) * 10_000)
                attacker.join()
                rounds.append(
                    {
                        "alone_median_ms": round(statistics.median(alone), 2),
                        "flooded_median_ms": round(statistics.median(loaded), 2),
                        "ratio": round(statistics.median(loaded) / statistics.median(alone), 2),
                        "alone_p99_ms": round(statistics.quantiles(alone, n=100)[98], 2),
                        "flooded_p99_ms": round(statistics.quantiles(loaded, n=100)[98], 2),
                        "victim_requests": len(alone) + len(loaded),
                        "flooder": flooded,
                    }
                )
    report["rounds"] = rounds
    report["median_ratio"] = statistics.median(r["ratio"] for r in rounds)
    report["target"] = "victim's flooded median <= 2x its median alone"
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
