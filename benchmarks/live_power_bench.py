"""The live engine's step under a site's power (app/live.py `_fit_power`) on colossus-1 (30,028 nodes, sold
at 1.3 times its feed, so every step powers idle nodes down): `--workloads` on-demand jobs of 8 to 32 GPUs
submitted and started, then steps with nothing to change, against the same fleet without its feed (no power
step). The two stores are built and stepped in turn, `--rounds` times; CPU time (time.process_time) of each
step; medians.

With `--limits`, the comparison is instead the same powered site with and without ramp limits (1 MW a second
up and down, so the GPUs' floors may hold a draw for 381 s) over a history of `--history` metered runs, one in
a hundred ended within that window: the cost of rebuilding the ramp and the floors each step.

    python -m benchmarks.live_power_bench [--workloads 300] [--steps 9] [--rounds 3] [--limits] [--json]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

from benchmarks.machine import describe, show
from neocloud import bootstrap
from neocloud.adapters.specs import load_fleet
from neocloud.app import live, services
from neocloud.app.billing import ingest_usage
from neocloud.app.commercial import set_quota
from neocloud.app.services import ContractRequest
from neocloud.core.billing.metering import UsageRecord
from neocloud.core.contracts import ContractKind, TenantKind

POOL = "colossus-1/h100-sxm"
SETTLED = 100  # seconds after the starts: their draw is up under a 1 MW a second ramp (about 10 MW rose)


def steps(
    folder: Path, powered: bool, workloads: int, count: int, limits: bool = False, history: int = 0
) -> tuple[list[float], int]:
    """CPU seconds of `count` steps with nothing to change, and how many nodes each powers down."""
    ctx = bootstrap.build(f"sqlite:///{folder / ('power' if powered else 'plain')}{'-limits' * limits}.db")
    now = ctx.now()
    rng = random.Random(1)
    with ctx.uow() as uow:
        [site] = load_fleet("colossus-1", ctx.catalog)
        if limits:
            site = replace(site, ramp_mw_per_s=Decimal(1), fall_mw_per_s=Decimal(1))
        services.add_sites(uow, [site if powered else replace(site, power_mw=None)], ctx.catalog)
        services.add_tenant(uow, "lab", TenantKind.EXTERNAL, ctx.new_id)
        set_quota(uow, "lab", POOL, 100_000)  # every workload may run at once
        request = ContractRequest("lab", ContractKind.ON_DEMAND, POOL, now - 30 * 86_400, now + 30 * 86_400)
        contract = services.sign_contract(uow, request, ctx.catalog, ctx.new_id, now - 30 * 86_400)
        runs = []
        for i in range(history):  # metered runs of the month past; one in a hundred ended within 381 s
            end = now - rng.randrange(1, 300) if i % 100 == 0 else now - rng.randrange(1_000, 30 * 86_400)
            runs.append(UsageRecord.of_run(contract, "h100-sxm", f"past-{i}", 8_000, end - 3_600, end, False))
        ingest_usage(uow, runs)
        for _ in range(workloads):
            live.submit_workload(uow, contract.id, 8, rng.choice([1, 2, 4]), 86_400, now, ctx.new_id)
    engine = live.LiveEngine(ctx.catalog)
    with ctx.uow() as uow:
        engine.reconcile(uow, now)
    times, dark = [], 0
    for i in range(count):
        started = time.process_time()
        with ctx.uow() as uow:
            dark = engine.reconcile(uow, now + SETTLED + i)["powered_down"]
        times.append(time.process_time() - started)
    ctx.engine.dispose()
    return times, dark


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workloads", type=int, default=300)
    parser.add_argument("--steps", type=int, default=9)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--limits", action="store_true", help="Compare with ramp limits instead of without a feed.")
    parser.add_argument("--history", type=int, default=20_000, help="With --limits: metered runs stored.")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.limits:
        limited(args)
        return
    with_power: list[float] = []
    without: list[float] = []
    dark = 0
    with tempfile.TemporaryDirectory() as folder:
        for r in range(args.rounds):  # in turn, so that the machine's noise falls on both
            round_folder = Path(folder) / str(r)
            round_folder.mkdir()
            times, dark = steps(round_folder, True, args.workloads, args.steps)
            with_power.extend(times)
            without.extend(steps(round_folder, False, args.workloads, args.steps)[0])
    power_ms, plain_ms = 1000 * statistics.median(with_power), 1000 * statistics.median(without)
    result: dict[str, Any] = {
        "machine": describe(),
        "workloads": args.workloads,
        "nodes powered down a step": dark,
        "step with the site's power (CPU ms, median)": round(power_ms, 1),
        "step without a feed (CPU ms, median)": round(plain_ms, 1),
        "ratio": round(power_ms / plain_ms, 2),
    }
    show(result, args.json)


def limited(args: argparse.Namespace) -> None:
    """The powered site's step with ramp limits and without, over the same history, in turn."""
    found: dict[bool, list[float]] = {True: [], False: []}
    with tempfile.TemporaryDirectory() as folder:
        for r in range(args.rounds):
            round_folder = Path(folder) / str(r)
            round_folder.mkdir()
            for limits in (True, False):
                found[limits] += steps(round_folder, True, args.workloads, args.steps, limits, args.history)[0]
    with_ms, without_ms = (1000 * statistics.median(found[k]) for k in (True, False))
    show(
        {
            "machine": describe(),
            "workloads": args.workloads,
            "metered runs stored": args.history,
            "step with ramp limits (CPU ms, median)": round(with_ms, 1),
            "step without (CPU ms, median)": round(without_ms, 1),
            "ratio": round(with_ms / without_ms, 2),
        },
        args.json,
    )


if __name__ == "__main__":
    main()
