"""The API under load on PostgreSQL with 2 uvicorn workers, over loopback.

Targets (issue 5): >= 1,000 requests/s for capacity quotes (issue 17: >= 0.5 of a bare FastAPI endpoint of the
same shape, benchmarks/bare_app.py, under the same settings, run alternating); contract signing p99 <= 50 ms
at 32 concurrent clients (issue 17: >= 1.5x the transactions/s of pgbench running a transaction shaped like
a signing from 32 clients, and a p99 no higher than its, alternating); 10,000 concurrent booking attempts on a
nearly full pool: zero overbooking, every refusal a 409, the ledger invariant checked afterwards. Quotes and
signing are driven by wrk (a C client: the load generator takes little of the cores the server shares), the
booking stampede by an asyncio client that checks every answer.

    python -m benchmarks.api_bench [--pg postgresql://postgres@127.0.0.1:5432/postgres]
        [--only quotes|signing|stampede]   (prints JSON)

The server gets this process's environment (NEOCLOUD_GC_DEFAULTS=1 runs it with Python's collector defaults),
without the per-key rate and in-flight limits unless the environment sets them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx2 as httpx
import psycopg

from benchmarks.machine import describe
from neocloud import bootstrap
from neocloud.adapters.specs import parse_fleet
from neocloud.app import auth, services
from neocloud.app.services import ContractRequest
from neocloud.core.contracts import ContractKind, TenantKind

FLEET = """
sites:
  - name: bench
    power_mw: 10
    blocks:
      - {name: quote, count: 1, racks: 16, nodes_per_rack: 8, node: {gpu_model: h100-sxm, gpus: 8}}
      - {name: tight, count: 1, racks: 1, nodes_per_rack: 125, node: {gpu_model: h200-sxm, gpus: 8}}
"""  # bench/h100-sxm: 1,024 GPUs; bench/h200-sxm: 1,000 GPUs
START, END = 1_893_456_000, 1_893_456_000 + 30 * 86_400  # 2030-01


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def prepare(url: str) -> dict[str, str]:
    ctx = bootstrap.build(url)
    with ctx.uow() as uow:
        services.add_sites(uow, parse_fleet(FLEET, "bench.yaml", ctx.catalog), ctx.catalog)
        services.add_tenant(uow, "lab", TenantKind.EXTERNAL, lambda p: "t-lab")
        _, secret = auth.create_key(uow, 0, ctx.new_id, "lab")
        # The tight pool is 90 % sold before the stampede: 100 GPUs are left.
        services.sign_contract(
            uow,
            ContractRequest("lab", ContractKind.RESERVED, "bench/h200-sxm", START, END, gpus=900),
            ctx.catalog,
            ctx.new_id,
            ctx.now(),
        )
    ctx.engine.dispose()
    return {"secret": secret}


async def timed_posts(
    base: str, secret: str, bodies: list[dict[str, Any]], concurrency: int
) -> list[tuple[int, float]]:
    results: list[tuple[int, float]] = []
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    headers = {"Authorization": f"Bearer {secret}"}
    async with httpx.AsyncClient(
        base_url=base, headers=headers, timeout=60, limits=httpx.Limits(max_connections=concurrency)
    ) as client:

        async def worker() -> None:
            while not queue.empty():
                body = queue.get_nowait()
                started = time.perf_counter()
                response = await client.post("/contracts", json=body)
                results.append((response.status_code, time.perf_counter() - started))

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return results


# Each request signs 1 GPU for a different hour, so none is refused however many are sent.
SIGN_LUA = """
local counter, threads = 0, 0
function setup(thread) thread:set("tid", threads); threads = threads + 1 end
function request()
  counter = counter + 1
  local start = %d + (tid * 1000000 + counter) * 3600
  local body = string.format('{"kind":"reserved","pool":"bench/h100-sxm","start":%%d,"end":%%d,"gpus":1}',
    start, start + 3600)
  return wrk.format("POST", "/v1/contracts",
    {["Content-Type"] = "application/json", ["Authorization"] = "Bearer %s"}, body)
end
"""


def sign_with_wrk(wrk: str, base: str, secret: str, seconds: int = 10) -> dict[str, Any]:
    """Signing latency measured by wrk (a C client, so the load generator takes less of the shared cores)."""
    script = Path(os.environ.get("TMPDIR", "/tmp")) / f"neocloud-sign-{uuid.uuid4().hex[:8]}.lua"
    script.write_text(SIGN_LUA % (START, secret))
    try:
        out = subprocess.run(
            [wrk, "-t2", "-c32", f"-d{seconds}s", "--latency", "-s", str(script), base.removesuffix("/v1")],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        script.unlink()

    def ms(label: str) -> float:
        value, unit = re.search(rf"{label}\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
        return round(float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit], 1)

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "requests_per_s": round(float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))),  # type: ignore[union-attr]
        "non_2xx": int(errors.group(1)) if errors else 0,
        "p50_ms": ms("50%"),
        "p90_ms": ms("90%"),
        "p99_ms": ms("99%"),
    }


# The database's own limit for a signing: pgbench running one transaction shaped like a signing (lock the
# pool's row, insert the contract and its hold, bump the pool's version), from as many clients as wrk uses.
PGBENCH_SCHEMA = """
CREATE TABLE ref_pool (name text PRIMARY KEY, version bigint NOT NULL);
INSERT INTO ref_pool VALUES ('bench/h100-sxm', 0);
CREATE TABLE ref_contract (id bigserial PRIMARY KEY, tenant text NOT NULL, pool text NOT NULL REFERENCES ref_pool,
    kind text NOT NULL, start_s bigint NOT NULL, end_s bigint NOT NULL, gpus integer NOT NULL, price numeric);
CREATE TABLE ref_hold (id bigserial PRIMARY KEY, contract bigint NOT NULL REFERENCES ref_contract,
    pool text NOT NULL,
    start_s bigint NOT NULL, end_s bigint NOT NULL, gpus integer NOT NULL);
"""
PGBENCH_SIGNING = """\\set start random(1893456000, 2893456000)
BEGIN;
SELECT version FROM ref_pool WHERE name = 'bench/h100-sxm' FOR UPDATE;
INSERT INTO ref_contract (tenant, pool, kind, start_s, end_s, gpus, price)
    VALUES ('t-lab', 'bench/h100-sxm', 'reserved', :start, :start + 3600, 1, 2.4) RETURNING id \\gset
INSERT INTO ref_hold (contract, pool, start_s, end_s, gpus) VALUES (:id, 'bench/h100-sxm', :start, :start + 3600, 1);
UPDATE ref_pool SET version = version + 1 WHERE name = 'bench/h100-sxm';
COMMIT;
"""


def pgbench_signing(pgbench: str, url: str, seconds: int) -> dict[str, float]:
    """pgbench's transactions per second and p99 latency (from its per-transaction log) for PGBENCH_SIGNING."""
    folder = Path(os.environ.get("TMPDIR", "/tmp")) / f"neocloud-pgbench-{uuid.uuid4().hex[:8]}"
    folder.mkdir()
    try:
        script = folder / "signing.sql"
        script.write_text(PGBENCH_SIGNING)
        run = subprocess.run(
            [pgbench, "-n", "-c32", "-j2", f"-T{seconds}", "-f", str(script), "-l", f"--log-prefix={folder}/tx", url],
            capture_output=True,
            text=True,
            check=False,
        )
        if run.returncode != 0:
            raise SystemExit(f"pgbench failed ({run.returncode}): {run.stderr.strip()[-600:]}")
        out = run.stdout
        latencies = sorted(int(line.split()[2]) for log in folder.glob("tx.*") for line in log.read_text().splitlines())
    finally:
        shutil.rmtree(folder)
    tps = float(re.search(r"tps = ([\d.]+)", out).group(1))  # type: ignore[union-attr]
    return {"tps": tps, "p99_ms": latencies[int(0.99 * (len(latencies) - 1))] / 1000}


def signing_beside_pgbench(wrk: str, pgbench: str, base: str, url: str, secret: str, rounds: int = 3) -> dict[str, Any]:
    """Signing through the API (wrk) and the signing-shaped transaction straight to PostgreSQL (pgbench), 32
    clients each, alternating, after a warm-up of each; medians."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(PGBENCH_SCHEMA)
    sign_with_wrk(wrk, base, secret, 3)
    pgbench_signing(pgbench, url, 3)
    ours, theirs = [], []
    for _ in range(rounds):
        ours.append(sign_with_wrk(wrk, base, secret))
        theirs.append(pgbench_signing(pgbench, url, 10))
    rate = statistics.median(r["requests_per_s"] for r in ours)
    p99 = statistics.median(r["p99_ms"] for r in ours)
    ref_rate = statistics.median(r["tps"] for r in theirs)
    ref_p99 = statistics.median(r["p99_ms"] for r in theirs)
    return {
        "requests_per_s": round(rate),
        "p50_ms": statistics.median(r["p50_ms"] for r in ours),
        "p99_ms": p99,
        "non_2xx": sum(r["non_2xx"] for r in ours),
        "runs": ours,
        "pgbench_tps": round(ref_rate),
        "pgbench_p99_ms": round(ref_p99, 1),
        "pgbench_runs": [{"tps": round(r["tps"]), "p99_ms": round(r["p99_ms"], 1)} for r in theirs],
        "ratio_to_pgbench": round(rate / ref_rate, 2),
        "p99_ratio_to_pgbench": round(p99 / ref_p99, 2),
        "tool": f"wrk -t2 -c32 -d10s and pgbench -c32 -j2 -T10, {rounds} rounds alternating, medians",
    }


def _wait_until_up(url: str, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise SystemExit(f"{what} did not start")
        time.sleep(0.3)


def _wrk_rate(wrk: str, url: str, secret: str, seconds: int) -> tuple[float, int]:
    out = subprocess.run(
        [wrk, "-t2", "-c32", f"-d{seconds}s", "-H", f"Authorization: Bearer {secret}", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rate, int(errors.group(1)) if errors else 0


def quotes_beside_bare(wrk: str, quote: str, secret: str, rounds: int = 3) -> dict[str, Any]:
    """Quotes against a bare FastAPI endpoint of the same shape under the same uvicorn settings (2 workers),
    alternating, after a warm-up of each (so that both workers of each server have started and are warm)."""
    port = _port()
    bare = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "benchmarks.bare_app:app", "--port", str(port), "--workers", "2",
         "--log-level", "warning", "--no-access-log"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    reference = f"http://127.0.0.1:{port}/v1/capacity/free?pool=bench/h100-sxm&start={START}&end={END}"
    try:
        _wait_until_up(reference, 30, "the reference server")
        for url in (quote, reference):
            _wrk_rate(wrk, url, secret, 3)  # warm-up, not counted
        ours, bare_rates, non_2xx = [], [], 0
        for _ in range(rounds):
            rate, errors = _wrk_rate(wrk, quote, secret, 10)
            ours.append(rate)
            non_2xx += errors
            bare_rates.append(_wrk_rate(wrk, reference, secret, 10)[0])
    finally:
        bare.terminate()
        bare.wait(timeout=20)
    median, reference_median = statistics.median(ours), statistics.median(bare_rates)
    return {
        "requests_per_s": round(median),
        "runs": [round(r) for r in ours],
        "bare_fastapi_requests_per_s": round(reference_median),
        "bare_runs": [round(r) for r in bare_rates],
        "ratio_to_bare": round(median / reference_median, 2),
        "non_2xx": non_2xx,
        "tool": f"wrk -t2 -c32 -d10s, {rounds} rounds alternating with the bare endpoint, medians",
    }


def check_ledger(url: str) -> dict[str, int]:
    """Rebuild every pool's ledger from the stored holds: booking them again re-checks the invariant."""
    ctx = bootstrap.build(url)
    with ctx.uow() as uow:
        pools = [p.name for p in uow.fleet.list_pools()]
        ledger = uow.ledger.load(pools, lock=False)  # raises Overbooked if any instant is over capacity
        held = {p: ledger.pool(p).installed - ledger.free(p, START, END) for p in pools}
    ctx.engine.dispose()
    return held


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--only", choices=["quotes", "signing", "stampede"])
    args = parser.parse_args()
    wanted = {args.only} if args.only else {"quotes", "signing", "stampede"}
    name = f"neocloud_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(args.pg, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = args.pg.rsplit("/", 1)[0] + f"/{name}"
    report: dict[str, Any] = {"machine": describe(), "store": "PostgreSQL", "workers": 2}
    server = None
    try:
        secret = prepare(url)["secret"]
        port = _port()
        # The server's capacity, not a tenant's allowance: no per-key rate or in-flight limit (one key drives
        # the whole load here; benchmarks/flood.py measures the limits).
        env = {
            "NEOCLOUD_RATE_LIMIT": "0",
            "NEOCLOUD_MAX_IN_FLIGHT": "100000",
            **os.environ,
            "NEOCLOUD_DB_URL": url,
            "NEOCLOUD_TICK": "0",
        }
        neocloud = str(Path(sys.executable).with_name("neocloud"))
        server = subprocess.Popen(
            [neocloud, "serve", "--port", str(port), "--workers", "2"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}/v1"
        _wait_until_up(f"{base}/ready", 60, "the server")

        wrk = shutil.which("wrk")
        quote = f"{base}/capacity/free?pool=bench/h100-sxm&start={START}&end={END}"
        if "quotes" not in wanted:
            pass
        elif wrk:
            report["quotes"] = quotes_beside_bare(wrk, quote, secret)
        else:
            report["quotes"] = "wrk not installed (apt-get install wrk)"

        pgbench = shutil.which("pgbench")
        if "signing" not in wanted:
            pass
        elif wrk and pgbench:
            report["signing"] = signing_beside_pgbench(wrk, pgbench, base, url, secret)
        else:
            report["signing"] = "wrk or pgbench not installed (apt-get install wrk postgresql-client)"

        if "stampede" in wanted:
            stampede = [{"kind": "reserved", "pool": "bench/h200-sxm", "start": START, "end": END, "gpus": 1}] * 10_000
            started = time.perf_counter()
            results = asyncio.run(timed_posts(base, secret, stampede, 64))
            statuses = {str(s): sum(1 for c, _ in results if c == s) for s in sorted({c for c, _ in results})}
            held = check_ledger(url)
            report["booking_stampede"] = {
                "attempts": len(results),
                "concurrency": 64,
                "seconds": round(time.perf_counter() - started, 1),
                "statuses": statuses,
                "gpus_free_before": 100,
                "h200_gpus_held_after": held["bench/h200-sxm"],
                "overbooked": held["bench/h200-sxm"] > 1000,
            }
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=20)
        with psycopg.connect(args.pg, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
