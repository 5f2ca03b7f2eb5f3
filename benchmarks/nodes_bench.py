"""The node inventory's requests on colossus-1 (30,028 nodes), through the API in this process: a page of
nodes, one pool's page, the counts by pool and state, one node, a drain and its resume. Each request's CPU
time (time.process_time), median of `--runs`.

    python -m benchmarks.nodes_bench [--runs 9] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.common import tenants_with_keys
from benchmarks.machine import describe
from neocloud.client import Client

NODE = "h100-array-000-r00-n00"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'nodes.db'}"
        tenants_with_keys(url, [])  # the colossus-1 fleet
        with Client.local(url) as nc:
            nc.nodes.change("h200-array-000-r00-n00", "down", "bench")
            requests: dict[str, Callable[[], Any]] = {
                "GET /v1/nodes (a page of 100)": lambda: nc.nodes.list(limit=100),
                "GET /v1/nodes?pool= (a page of 100)": lambda: nc.nodes.list(pool="colossus-1/gb200-nvl72", limit=100),
                "GET /v1/nodes?state=down": lambda: nc.nodes.list(state="down"),
                "GET /v1/nodes/states": lambda: nc.nodes.states(),
                "GET /v1/nodes/{name}": lambda: nc.nodes.get(NODE),
                "POST drain, then resume": lambda: (nc.nodes.change(NODE, "drain"), nc.nodes.change(NODE, "resume")),
            }
            result: dict[str, Any] = {"machine": describe(), "nodes": len(list(nc.pages(nc.nodes.list, limit=1000)))}
            for name, request in requests.items():
                request()  # the first builds what is kept
                times = []
                for _ in range(args.runs):
                    started = time.process_time()
                    request()
                    times.append(time.process_time() - started)
                result[name] = round(1000 * statistics.median(times), 1)
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"{result.pop('machine')}; {result.pop('nodes'):,} nodes; CPU ms, median of {args.runs}")
    for name, ms in result.items():
        print(f"  {name:40} {ms:8.1f}")


if __name__ == "__main__":
    main()
