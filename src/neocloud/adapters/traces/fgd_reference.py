"""The FGD artifact's expected results (analysis_allo_discrete.csv): allocation % by arrived % per run."""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

from neocloud.core.errors import InvalidSpec

# The artifact's policy directories, by our policy names.
POLICY_DIRS = {
    "random": "01-Random",
    "dotprod": "02-DotProd",
    "gpuclustering": "03-GpuClustering",
    "gpupacking": "04-GpuPacking",
    "bestfit": "05-BestFit",
    "fgd": "06-FGD",
}


def read_reference(path: Path, workload: str, at: tuple[int, ...] = (100, 130)) -> dict[str, dict[int, float]]:
    """Mean allocation % over the artifact's seeds, per policy, at each arrived % in `at`."""
    names = {v: k for k, v in POLICY_DIRS.items()}
    sums: dict[str, dict[int, float]] = defaultdict(lambda: defaultdict(float))
    counts: dict[str, int] = defaultdict(int)
    try:
        handle = path.open(newline="")
    except OSError as exc:
        raise InvalidSpec(f"{path}: cannot read: {exc.strerror}", file=str(path)) from None
    with handle:
        for row in csv.DictReader(handle):
            policy = names.get(row.get("sc_policy", ""))
            if row.get("workload") != workload or policy is None:
                continue
            counts[policy] += 1
            for pct in at:
                sums[policy][pct] += float(row[str(pct)])
    return {p: {pct: total / counts[p] for pct, total in by_pct.items()} for p, by_pct in sums.items()}
