"""Capacity ledger at scale: 1,000,000 GPUs in 200 pools with 100,000 holds.

Targets (issue 2): free-capacity and earliest-start queries p99 <= 1 ms; book + cancel >= 20,000 operations/s.
Prints medians over --repeats runs of each measurement, and the peak memory of the process.

With --power (issue 18: power-ledger operations as fast as the GPU ledger's, same sizes), the same ledger is
built twice, once keeping power too: the 200 pools in 20 sites of 10, each site's feed holding 90 % of its
GPUs at TDP, holds capped at random. Both are measured in turn, round after round, in CPU time; it prints
the medians and the power ledger's ratio to the GPU ledger's.

    python -m benchmarks.ledger_bench [--repeats 3] [--json] [--power]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import resource
import statistics
import time
from collections.abc import Callable
from decimal import Decimal

from benchmarks.machine import describe
from neocloud.adapters.specs import default_catalog
from neocloud.core.errors import Overbooked
from neocloud.core.ledger import Hold, HoldKind, Ledger
from neocloud.core.power import MILLIWATTS_PER_KW, PoolPower, PowerBook, gpu_power

POOLS = 200
GPUS_PER_POOL = 5_000
HOLDS = 100_000
HORIZON = 365 * 86_400
QUERIES = 20_000
CHURN = 20_000
ONE_POOL_GPUS = 10_000_000  # room for every hold: the measure is the structure, not refusals
CAPS = (None, None, 500, 600)  # holds' caps: half at TDP (a GPU-only ledger ignores them)


SITES = 20  # with --power: ten pools a site


def power_book(gpus_per_pool: int) -> PowerBook:
    """Each site's feed holds 90 % of its H100s at TDP (IT power)."""
    h100 = gpu_power(default_catalog()["h100-sxm"])
    per_site = POOLS // SITES
    feed = int(Decimal("0.9") * per_site * gpus_per_pool * h100.it_kw() * MILLIWATTS_PER_KW)
    return PowerBook(
        {f"site-{s:02d}": feed for s in range(SITES)},
        {f"pool-{p:03d}": PoolPower(h100, (f"site-{p // per_site:02d}",)) for p in range(POOLS)},
    )


def build(
    rng: random.Random, holds: int = HOLDS, gpus_per_pool: int = GPUS_PER_POOL, power: PowerBook | None = None
) -> Ledger:
    ledger = Ledger({f"pool-{p:03d}": gpus_per_pool for p in range(POOLS)}, power=power)
    booked = attempt = 0
    while booked < holds:
        attempt += 1
        start = rng.randrange(HORIZON)
        hold = Hold(
            f"h{attempt}",
            f"pool-{rng.randrange(POOLS):03d}",
            rng.randint(1, 64),
            start,
            start + rng.randint(3_600, 90 * 86_400),
            HoldKind.RESERVED,
            cap_w=rng.choice(CAPS),
        )
        try:
            ledger.book(hold)
            booked += 1
        except Overbooked:
            continue
    ledger.settle()  # as the store keeps a ledger: every change merged (core/steps.py)
    return ledger


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def time_queries(
    ledger: Ledger, rng: random.Random, clock: Callable[[], int] = time.perf_counter_ns
) -> dict[str, float]:
    """Free capacity (with power: the GPUs bookable at a cap) and earliest starts at random."""
    free_ns, earliest_ns = [], []
    for _ in range(QUERIES):
        pool = f"pool-{rng.randrange(POOLS):03d}"
        start = rng.randrange(HORIZON)
        end = start + rng.randint(3_600, 60 * 86_400)
        cap = rng.choice(CAPS)
        t0 = clock()
        ledger.bookable(pool, start, end, cap)
        t1 = clock()
        ledger.earliest_start(pool, rng.randint(1, 4_000), rng.randint(3_600, 30 * 86_400), start, cap)
        t2 = clock()
        free_ns.append(t1 - t0)
        earliest_ns.append(t2 - t1)
    return {
        "free_p50_ms": percentile(free_ns, 0.50) / 1e6,
        "free_p99_ms": percentile(free_ns, 0.99) / 1e6,
        "earliest_p50_ms": percentile(earliest_ns, 0.50) / 1e6,
        "earliest_p99_ms": percentile(earliest_ns, 0.99) / 1e6,
    }


def time_churn(
    ledger: Ledger, rng: random.Random, round_: int, clock: Callable[[], float] = time.perf_counter
) -> float:
    """Book CHURN holds and cancel them again; operations per second, refusals counted as operations."""
    holds = []
    for i in range(CHURN):
        start = rng.randrange(HORIZON)
        holds.append(
            Hold(
                f"c{round_}-{i}",
                f"pool-{rng.randrange(POOLS):03d}",
                rng.randint(1, 64),
                start,
                start + rng.randint(3_600, 30 * 86_400),
                HoldKind.RESERVED,
                cap_w=rng.choice(CAPS),
            )
        )
    t0 = clock()
    booked = []
    for hold in holds:
        with contextlib.suppress(Overbooked):
            booked.append(ledger.book(hold))
    for hold in booked:
        ledger.cancel(hold.id)
    ledger.settle()  # the changes still waiting are merged within the time measured, as a commit merges them
    elapsed = clock() - t0
    return (len(holds) + len(booked)) / elapsed


def one_pool(rng: random.Random, holds: int, samples: int) -> dict[str, float]:
    """One pool holding `holds` holds (loaded at once): each operation's p50 and p99 over `samples`, CPU ms.
    Before the chunked step function every book touched every step its hold covered (linear in the pool's
    holds: p50 118 ms, p99 276 ms at 1,000,000)."""
    pool = "pool"
    ledger = Ledger({pool: ONE_POOL_GPUS})
    made = []
    for i in range(holds):
        start = rng.randrange(HORIZON)
        made.append(
            Hold(f"h{i}", pool, rng.randint(1, 64), start, start + rng.randint(3_600, 7 * 86_400), HoldKind.RESERVED)
        )
    t0 = time.process_time()
    ledger.restore(made)
    loaded_s = time.process_time() - t0
    timed: dict[str, list[float]] = {"book": [], "cancel": [], "free": [], "earliest": [], "copy": []}

    def clock(name: str, action: Callable[[], object]) -> None:
        t = time.process_time_ns()
        action()
        timed[name].append((time.process_time_ns() - t) / 1e6)

    for i in range(samples):
        start = rng.randrange(HORIZON)
        hold = Hold(f"s{i}", pool, rng.randint(1, 64), start, start + rng.randint(3_600, 30 * 86_400), HoldKind.SPOT)
        # Each change merged at once, as a commit does before readers share the ledger (core/steps.py: a burst
        # of changes is merged in batches, cheaper; time_churn measures that).
        clock("book", lambda hold=hold: (ledger.book(hold), ledger.settle()))
        clock("cancel", lambda hold=hold: (ledger.cancel(hold.id), ledger.settle()))
        end = start + rng.randint(3_600, 60 * 86_400)
        clock("free", lambda start=start, end=end: ledger.free(pool, start, end))
        clock("earliest", lambda start=start: ledger.earliest_start(pool, 64, 7 * 86_400, start))
        if i % 20 == 0:
            clock("copy", ledger.copy)
    out = {"holds": holds, "load_cpu_s": round(loaded_s, 2)}
    for name, ms in timed.items():
        out[f"{name}_p50_ms"] = round(percentile(ms, 0.50), 4)
        out[f"{name}_p99_ms"] = round(percentile(ms, 0.99), 4)
    return out


def compare_power(args: argparse.Namespace) -> None:
    """The GPU ledger and the same one keeping power, built from one seed and measured in turn, CPU time."""
    t0 = time.process_time()
    gpus_only = build(random.Random(args.seed), args.holds, args.gpus_per_pool)
    t1 = time.process_time()
    with_power = build(random.Random(args.seed), args.holds, args.gpus_per_pool, power_book(args.gpus_per_pool))
    t2 = time.process_time()
    found: dict[str, dict[str, list[float]]] = {"gpus": {}, "power": {}}
    for r in range(args.repeats):
        for name, ledger in (("gpus", gpus_only), ("power", with_power)):
            rng = random.Random(args.seed + 1 + r)  # the same queries and bookings for both
            measured = time_queries(ledger, rng, time.process_time_ns)
            measured["book_cancel_ops_per_s"] = time_churn(ledger, rng, r, time.process_time)
            for key, value in measured.items():
                found[name].setdefault(key, []).append(value)
    medians = {name: {k: statistics.median(v) for k, v in runs.items()} for name, runs in found.items()}
    result = {
        "machine": describe(),
        "pools": POOLS,
        "sites": SITES,
        "holds": args.holds,
        "build_cpu_s": {"gpus": round(t1 - t0, 2), "power": round(t2 - t1, 2)},
        "gpus": {k: round(v, 4) for k, v in medians["gpus"].items()},
        "power": {k: round(v, 4) for k, v in medians["power"].items()},
        "ratio_power_to_gpus": {k: round(medians["power"][k] / medians["gpus"][k], 2) for k in medians["gpus"]},
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"machine: {result['machine']}")
    print(
        f"{args.holds:,} holds in {POOLS} pools; with power, {SITES} sites' feeds"
        f" (built in CPU s: {result['build_cpu_s']})"
    )
    print(f"{'':28}{'GPU ledger':>14}{'with power':>14}{'ratio':>8}")
    for key, label in (
        ("free_p50_ms", "free/bookable p50 ms"),
        ("free_p99_ms", "free/bookable p99 ms"),
        ("earliest_p50_ms", "earliest start p50 ms"),
        ("earliest_p99_ms", "earliest start p99 ms"),
        ("book_cancel_ops_per_s", "book + cancel ops/s"),
    ):
        g, p = medians["gpus"][key], medians["power"][key]
        print(f"{label:28}{g:>14,.4f}{p:>14,.4f}{p / g:>8.2f}")
    print(f"(medians of {args.repeats} rounds, CPU time; the same queries and bookings for both)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--holds", type=int, default=HOLDS, help="Holds over the 200 pools.")
    parser.add_argument("--gpus-per-pool", type=int, default=GPUS_PER_POOL)
    parser.add_argument(
        "--one-pool", type=int, metavar="HOLDS", help="Instead: one pool with HOLDS holds (issue 17: 1,000,000)."
    )
    parser.add_argument("--power", action="store_true", help="Compare with the same ledger keeping power.")
    args = parser.parse_args()
    if args.power:
        compare_power(args)
        return
    if args.one_pool:
        found = one_pool(random.Random(args.seed), args.one_pool, 2_000)
        found["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
        print(json.dumps({"machine": describe(), **found}, indent=None if args.json else 2))
        return
    rng = random.Random(args.seed)

    t0 = time.perf_counter()
    ledger = build(rng, args.holds, args.gpus_per_pool)
    build_s = time.perf_counter() - t0
    breakpoints = sum(len(p._held) for p in ledger.pools.values())
    runs = [time_queries(ledger, rng) for _ in range(args.repeats)]
    churn = [time_churn(ledger, rng, r) for r in range(args.repeats)]
    result = {
        "machine": describe(),
        "pools": POOLS,
        "gpus": POOLS * args.gpus_per_pool,
        "holds": args.holds,
        "breakpoints": breakpoints,
        "build_s": round(build_s, 2),
        **{k: round(statistics.median(r[k] for r in runs), 4) for k in runs[0]},
        "book_cancel_ops_per_s": round(statistics.median(churn)),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "targets": {"query_p99_ms": 1.0, "book_cancel_ops_per_s": 20_000},
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"machine: {result['machine']}")
    print(
        f"ledger: {result['gpus']:,} GPUs in {POOLS} pools, {args.holds:,} holds, {breakpoints:,} breakpoints"
        f" (built in {result['build_s']} s)"
    )
    print(
        f"free capacity:  p50 {result['free_p50_ms']:.4f} ms   p99 {result['free_p99_ms']:.4f} ms"
        "   (target p99 <= 1 ms)"
    )
    print(
        f"earliest start: p50 {result['earliest_p50_ms']:.4f} ms   p99 {result['earliest_p99_ms']:.4f} ms"
        "   (target p99 <= 1 ms)"
    )
    print(f"book + cancel:  {result['book_cancel_ops_per_s']:,} operations/s   (target >= 20,000)")
    print(f"peak memory:    {result['peak_rss_mib']} MiB RSS")
    print(f"(medians of {args.repeats} runs of {QUERIES:,} queries and {CHURN:,} bookings each)")


if __name__ == "__main__":
    main()
