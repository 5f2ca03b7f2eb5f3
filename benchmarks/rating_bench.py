"""Rating throughput: 10,000,000 usage records streamed through per-contract meters, on one core.

Target (issue 4): <= 60 s with bounded memory. Records are generated on the fly (never all in memory) for
1,000 contracts, a fifth of them reserved (whose run edges are kept, 32 bytes a run, to find overage).

    python -m benchmarks.rating_bench [--records N] [--json]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import time
from collections.abc import Iterator
from decimal import Decimal

from benchmarks.machine import describe
from neocloud.core.billing.metering import UsageRecord
from neocloud.core.billing.periods import month
from neocloud.core.billing.rating import ContractMeter
from neocloud.core.contracts import Contract, ContractKind

PERIOD = month("2027-04")
KINDS = [
    ContractKind.RESERVED,
    ContractKind.ON_DEMAND,
    ContractKind.ON_DEMAND,
    ContractKind.SPOT,
    ContractKind.INTERNAL,
]


def contracts(count: int) -> list[Contract]:
    return [
        Contract(
            f"c{i}",
            f"t{i % 100}",
            KINDS[i % len(KINDS)],
            "s1/h100-sxm",
            PERIOD.start - 86_400,
            PERIOD.end + 86_400,
            Decimal("2.40"),
            gpus=64 if KINDS[i % len(KINDS)] is ContractKind.RESERVED else 0,
            overage_per_gpu_hour=Decimal("3.00"),
            preemption_notice_s=30,
        )
        for i in range(count)
    ]


def records(count: int, book: list[Contract], seed: int) -> Iterator[UsageRecord]:
    rng = random.Random(seed)
    span = PERIOD.end - PERIOD.start
    for i in range(count):
        c = book[rng.randrange(len(book))]
        start = PERIOD.start + rng.randrange(span)
        yield UsageRecord(
            f"j{i}@{start}",
            c.tenant_id,
            c.id,
            c.pool,
            "h100-sxm",
            1000 * rng.choice((1, 2, 4, 8)),
            start,
            start + rng.randrange(60, 36_000),
            f"j{i}",
            rng.random() < 0.1,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=10_000_000)
    parser.add_argument("--contracts", type=int, default=1_000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    book = contracts(args.contracts)
    # Generating records costs about as much as rating them: time generation alone, then both, and subtract.
    started = time.perf_counter()
    for _ in records(args.records, book, 1):
        pass
    generate = time.perf_counter() - started
    meters = {c.id: ContractMeter(c, PERIOD) for c in book}
    started = time.perf_counter()
    for r in records(args.records, book, 1):
        meters[r.contract_id].add(r)
    lines = [line for m in meters.values() for line in m.lines()]
    total = time.perf_counter() - started
    rating = total - generate
    result = {
        "machine": describe(),
        "records": args.records,
        "contracts": args.contracts,
        "lines": len(lines),
        "generate_s": round(generate, 1),
        "generate_and_rate_s": round(total, 1),
        "rating_s": round(rating, 1),
        "records_per_s": round(args.records / rating),
        "billed": str(sum(line.amount for line in lines)),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }
    print(json.dumps(result, indent=2) if args.json else "\n".join(f"{k}: {v}" for k, v in result.items()))


if __name__ == "__main__":
    main()
