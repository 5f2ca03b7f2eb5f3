"""Generated requests at scale (issue 12's fuzzing target): >= 20,000 requests with a tenant's key and the
operator's, every operation alone and then in chains along the links schemathesis infers; 0 answers >= 500,
every answer as documented, and no refused request writes anything (each is checked against a digest of
every table, before and after).

    python -m benchmarks.fuzz_api [--store sqlite|postgresql] [--examples 140] [--chains 600] [--steps 10]

Prints JSON: requests, answers by status, refusals and how many of them wrote, CPU seconds. It stops at the
first answer that fails a check, printing it.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import uuid
from typing import Any

import psycopg

from benchmarks.machine import describe
from tests.fuzzing import fuzz, operations_and_links, served

PG = "postgresql://postgres@127.0.0.1:5432/postgres"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--examples", type=int, default=140, help="requests per operation and key")
    parser.add_argument("--chains", type=int, default=600, help="chains of calls per key")
    parser.add_argument("--steps", type=int, default=10, help="calls per chain, at most")
    args = parser.parse_args()
    name = f"neocloud_fuzz_{uuid.uuid4().hex[:8]}"
    if args.store == "postgresql":
        with psycopg.connect(PG, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        url = PG.rsplit("/", 1)[0] + f"/{name}"
    else:
        url = f"sqlite:///{tempfile.mkdtemp()}/fuzz.db"
    report: dict[str, Any] = {"machine": describe(), "store": args.store}
    try:
        app, ctx, keys = served(url)
        operations, links = operations_and_links(app)
        started, cpu = time.perf_counter(), time.process_time()
        tally = fuzz(app, ctx, keys, args.examples, args.chains, args.steps)
        report |= {
            "operations": operations,
            "links": links,
            "keys": sorted(keys),
            "requests": tally.requests,
            "statuses": {str(k): v for k, v in sorted(tally.statuses.items())},
            "server_errors": sum(v for k, v in tally.statuses.items() if k >= 500),
            "refused": tally.refused,
            "refused_that_wrote": tally.wrote_when_refused,
            "seconds": round(time.perf_counter() - started, 1),
            "cpu_seconds": round(time.process_time() - cpu, 1),
        }
        ctx.engine.dispose()
    finally:
        if args.store == "postgresql":
            with psycopg.connect(PG, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
