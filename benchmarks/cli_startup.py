"""How long the CLI takes to start: `neocloud --help` beside `python -c "import typer, rich"` (the floor
any Typer + Rich command pays), alternating, each in a fresh process. Reports the medians of wall time and
of the child's CPU time (user + system), and their ratios; target: `--help` <= 1.5x.

    python -m benchmarks.cli_startup [--runs 21] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

BIN = Path(sys.executable).parent
COMMANDS = {
    "neocloud --help": [str(BIN / "neocloud"), "--help"],
    "import typer, rich": [sys.executable, "-c", "import typer, rich"],
}


def timed(command: list[str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the child)."""
    before = os.times()
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, env={**os.environ, "COLUMNS": "100"})
    wall = time.perf_counter() - start
    after = os.times()
    cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    for command in COMMANDS.values():  # warm the file cache and the bytecode
        timed(command)
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in COMMANDS}
    for _ in range(args.runs):
        for name, command in COMMANDS.items():
            samples[name].append(timed(command))
    medians = {
        name: {
            "wall_ms": 1000 * statistics.median(w for w, _ in runs),
            "cpu_ms": 1000 * statistics.median(c for _, c in runs),
        }
        for name, runs in samples.items()
    }
    help_, floor = medians["neocloud --help"], medians["import typer, rich"]
    result = {
        "runs": args.runs,
        "medians": medians,
        "ratio_wall": help_["wall_ms"] / floor["wall_ms"],
        "ratio_cpu": help_["cpu_ms"] / floor["cpu_ms"],
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    for name, m in medians.items():
        print(f"{name:20} wall {m['wall_ms']:6.1f} ms   CPU {m['cpu_ms']:6.1f} ms   (median of {args.runs})")
    print(f"ratio: wall {result['ratio_wall']:.2f}x, CPU {result['ratio_cpu']:.2f}x (target <= 1.5x)")


if __name__ == "__main__":
    main()
