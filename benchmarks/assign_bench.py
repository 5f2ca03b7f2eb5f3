"""Reservations' nodes on colossus-1 (30,028 nodes): the live engine's step, which the server runs every
second, with `--contracts` reservations of whole units (8-GPU nodes, 72-GPU NVL72 racks) in force. CPU time
(time.process_time) of: the step that gives every reservation its nodes; a step with nothing to change
(median of `--runs`); and a step that heals one failed node.

    python -m benchmarks.assign_bench [--contracts 300] [--runs 9] [--json]
"""

from __future__ import annotations

import argparse
import contextlib
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import tenants_with_keys
from benchmarks.machine import describe, show
from neocloud import bootstrap
from neocloud.app import live, services
from neocloud.app.nodes import set_state
from neocloud.app.services import ContractRequest
from neocloud.core.contracts import ContractKind
from neocloud.core.errors import Overbooked
from neocloud.core.nodes import NodeState

UNITS = {"colossus-1/h100-sxm": 8, "colossus-1/h200-sxm": 8, "colossus-1/gb200-nvl72": 72}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--contracts", type=int, default=300)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rng = random.Random(1)
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'assign.db'}"
        tenants_with_keys(url, ["lab"])
        ctx = bootstrap.build(url)
        now = ctx.now()
        signed = 0
        with ctx.uow() as uow:
            for _ in range(args.contracts):
                pool = rng.choice(sorted(UNITS))
                gpus = UNITS[pool] * rng.choice([1, 2, 4, 8, 16, 64])
                request = ContractRequest("lab", ContractKind.RESERVED, pool, now, now + 30 * 86_400, gpus=gpus)
                with contextlib.suppress(Overbooked):  # the pool is full: the next may be smaller
                    services.sign_contract(uow, request, ctx.catalog, ctx.new_id, now)
                    signed += gpus
        engine = live.LiveEngine(ctx.catalog)

        def step(at: int) -> tuple[float, dict[str, int]]:
            started = time.process_time()
            with ctx.uow() as uow:
                counts = engine.reconcile(uow, at)
            return time.process_time() - started, counts

        first, counts = step(now)
        steady = [step(now + 1 + i)[0] for i in range(args.runs)]
        with ctx.uow() as uow:
            node = min(s.node for s in uow.assignments.current() if s.pool == "colossus-1/h100-sxm")
            set_state(uow, ctx.catalog, node, NodeState.DOWN, "bench", now + 20)
        heal, healed = step(now + 21)
        result: dict[str, Any] = {
            "machine": describe(),
            "contracts tried": args.contracts,
            "gpus reserved": signed,
            "nodes assigned": counts["assigned"],
            "first step, every reservation given its nodes (CPU s)": round(first, 2),
            f"a step with nothing to change, median of {args.runs} (CPU ms)": round(
                1000 * statistics.median(steady), 1
            ),
            "a step healing one failed node (CPU ms)": round(1000 * heal, 1),
            "healed": healed["healed"],
        }
    show(result, args.json)


if __name__ == "__main__":
    main()
