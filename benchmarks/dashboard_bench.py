"""The dashboard's pages at scale: colossus-1, `--contracts` contracts and `--workloads` workloads (a tenth
of them waiting or running) over 20 tenants, a year of invoices per tenant (a line per contract) and 300
past analyses, in a SQLite store. Each page's server CPU time
(time.process_time, the request through the whole app in this process), p50 and p95 of `--runs`, for the
operator and for one tenant; and what a first load transfers: the page and its stylesheet (the pages load
nothing else), as sent and gzip-compressed (as a compressing proxy would send them; neocloud does not
compress).

Targets (issue 16): p95 <= 100 ms per page; <= 500 KB transferred per page, first load, compressed.

    python -m benchmarks.dashboard_bench [--contracts 10000] [--workloads 100000] [--runs 20] [--json]
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import re
import statistics
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from benchmarks.common import tenants_with_keys
from benchmarks.machine import describe
from neocloud import bootstrap
from neocloud.api.app import create_app, tune_collector
from neocloud.app.records import Analysis, StoredInvoice, StoredWorkload
from neocloud.app.services import ContractRequest, sign_contract
from neocloud.core.billing.periods import month_of
from neocloud.core.billing.rating import Line
from neocloud.core.contracts import ContractKind
from neocloud.core.workload import Job, PriorityClass, WorkloadStatus

POOLS = ["colossus-1/h100-sxm", "colossus-1/h200-sxm"]
TENANTS = [f"t{i:02d}" for i in range(20)]


def build(url: str, contracts: int, workloads: int) -> dict[str, str]:
    keys = tenants_with_keys(url, TENANTS)
    ctx = bootstrap.build(url)
    rng = random.Random(1)
    now = ctx.now()
    signed: list[tuple[str, str]] = []
    with ctx.uow() as uow:
        ids = {t.name: t.id for t in uow.tenants.page()}
        for i in range(contracts):
            tenant = TENANTS[i % len(TENANTS)]
            start = now - rng.randrange(0, 86_400 * 60)
            request = ContractRequest(tenant, ContractKind.ON_DEMAND, rng.choice(POOLS), start, start + 86_400 * 365)
            signed.append((ids[tenant], sign_contract(uow, request, ctx.catalog, ctx.new_id, now).id))
    batch = 5_000
    for first in range(0, workloads, batch):
        with ctx.uow() as uow:
            for i in range(first, min(first + batch, workloads)):
                tenant, contract = signed[i % len(signed)]
                submit = now - rng.randrange(0, 86_400 * 30)
                job = Job(f"w-{i:012x}", submit, 3600, 8, 1, tenant, PriorityClass.ON_DEMAND)
                active = i % 10 == 0
                status = WorkloadStatus.PENDING if active else WorkloadStatus.FINISHED
                uow.workloads.save(
                    StoredWorkload(
                        job, contract, status, 3600 if active else 0, finished=None if active else submit + 3600
                    )
                )
    with ctx.uow() as uow:  # a year of invoices per tenant, a line per contract; analyses run before
        month = month_of(now)
        for _ in range(12):
            month = month_of(month.start - 1)
            for id_ in ids.values():
                lines = tuple(
                    Line(
                        id_, c, "usage", "on-demand usage", Decimal(100), "GPU-hour", Decimal("3.00"), Decimal("300.00")
                    )
                    for t, c in signed[: 25 * len(TENANTS)]
                    if t == id_
                )
                uow.billing.save_invoice(StoredInvoice(ctx.new_id("inv"), id_, month.key, now, lines))
        for i in range(300):
            found = {"trace": "synthetic:1000", "fleet": "uniform:8x8", "jobs": 1000, "results": []}
            uow.analyses.add(Analysis(ctx.new_id("an"), "comparison", f"run {i}", {}, now - i, "key", result=found))
    ctx.engine.dispose()
    return keys


def signed_in(client: TestClient, key: str) -> None:
    form = client.get("/sign-in")
    token = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert token is not None
    assert client.post("/sign-in", data={"key": key, "csrf": token.group(1)}, follow_redirects=False).status_code == 303


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--contracts", type=int, default=10_000)
    parser.add_argument("--workloads", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result: dict[str, Any] = {"machine": describe(), "contracts": args.contracts, "workloads": args.workloads}
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'dashboard.db'}"
        started = time.process_time()
        keys = build(url, args.contracts, args.workloads)
        result["setup CPU s"] = round(time.process_time() - started, 1)
        ctx = bootstrap.build(url, settings=bootstrap.Settings(tick=0, rate_limit=0))
        app = create_app(ctx, tick=0)
        tune_collector()  # as a server's worker does (api/asgi.py)
        pages = [
            "/",
            "/contracts",
            "/contracts?kind=on-demand&pool=colossus-1/h200-sxm&order=end",
            "/workloads",
            "/capacity?pool=colossus-1/h100-sxm",
            "/book?pool=colossus-1/h100-sxm&kind=reserved&gpus=64&days=30",
            "/billing",
            f"/billing?period={month_of(month_of(ctx.now()).start - 1).key}",
        ]
        stylesheet = len(gzip.compress(TestClient(app).get("/static/dashboard.css").content))
        for who in ("operator", TENANTS[0]):
            client = TestClient(app)
            signed_in(client, keys[who])
            first = client.get("/contracts").text
            detail = re.search(r'href="(/contracts/c-[0-9a-f]+)"', first)
            assert detail is not None
            for page in [*pages, detail.group(1), *(["/analyses"] if who == "operator" else [])]:
                client.get(page)  # the first builds what is kept
                times, size = [], 0
                for _ in range(args.runs):
                    t = time.process_time()
                    answer = client.get(page)
                    times.append(time.process_time() - t)
                    assert answer.status_code == 200, (page, answer.status_code)
                    size, packed = len(answer.content), len(gzip.compress(answer.content))
                times.sort()
                p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
                result[f"{who} {page}"] = {
                    "p50 ms": round(1000 * statistics.median(times), 1),
                    "p95 ms": round(1000 * p95, 1),
                    "KB": round(size / 1024, 1),
                    "first load gzip KB": round((packed + stylesheet) / 1024, 1),
                }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"{result.pop('machine')}; {result.pop('contracts'):,} contracts, {result.pop('workloads'):,} workloads")
    print(f"setup: {result.pop('setup CPU s')} CPU s; server CPU per page, p50 / p95 of {args.runs}; size as sent;")
    print("first load (page and stylesheet) gzip-compressed:")
    for name, figures in result.items():
        print(
            f"  {name:72} {figures['p50 ms']:7.1f} {figures['p95 ms']:7.1f} ms {figures['KB']:7.1f} KB"
            f" {figures['first load gzip KB']:6.1f} KB"
        )


if __name__ == "__main__":
    main()
