"""Every performance benchmark, one after another, and one table of their figures: each measure beside its
reference where one exists (the ratio), its target, and whether it was met. Each benchmark runs as its own
process, as it would alone; the table says which command reproduces each row.

    python -m benchmarks.all [--only ledger,engine,api,scenario,rating,dashboard,cli] [--json]   (make bench)

The robustness runs (fuzz_api, flood, outage, soak) are not here: they check behaviour under abuse, not speed,
and soak alone takes ten minutes.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from rich.console import Console
from rich.table import Table

from benchmarks.engine_bench import BACKLOG, INTERLEAVE_BACKLOG, STANDING
from benchmarks.machine import describe


@dataclass(frozen=True, slots=True)
class Row:
    measure: str
    result: str
    reference: str  # what it is measured against on the same machine, or ""
    target: str
    met: bool | None  # None: no target
    command: str


def _ms(value: float) -> str:
    return f"{value:.3f} ms" if value < 1 else f"{value:.1f} ms"


def ledger_rows(r: dict[str, Any], command: str) -> list[Row]:
    return [
        Row("ledger, 100k holds / 200 pools: free p99", _ms(r["free_p99_ms"]), "", "<= 1 ms",
            r["free_p99_ms"] <= 1, command),
        Row("ledger, 100k holds / 200 pools: earliest start p99", _ms(r["earliest_p99_ms"]), "", "<= 1 ms",
            r["earliest_p99_ms"] <= 1, command),
        Row("ledger, 100k holds / 200 pools: book + cancel", f"{r['book_cancel_ops_per_s']:,}/s", "", ">= 20,000/s",
            r["book_cancel_ops_per_s"] >= 20_000, command),
    ]  # fmt: skip


def power_rows(r: dict[str, Any], command: str) -> list[Row]:
    """The same ledger keeping 20 sites' power against the GPU ledger alone (issue 18: as fast)."""
    g, p, ratio = r["gpus"], r["power"], r["ratio_power_to_gpus"]
    return [
        Row("ledger with power, 100k holds: bookable p99", _ms(p["free_p99_ms"]),
            f"GPU ledger {_ms(g['free_p99_ms'])}: {ratio['free_p99_ms']}", "<= 1 ms", p["free_p99_ms"] <= 1, command),
        Row("ledger with power, 100k holds: earliest p99", _ms(p["earliest_p99_ms"]),
            f"GPU ledger {_ms(g['earliest_p99_ms'])}: {ratio['earliest_p99_ms']}", "<= 1 ms",
            p["earliest_p99_ms"] <= 1, command),
        Row("ledger with power, 100k holds: book + cancel", f"{p['book_cancel_ops_per_s']:,.0f}/CPU-s",
            f"GPU ledger {g['book_cancel_ops_per_s']:,.0f}: {ratio['book_cancel_ops_per_s']}",
            ">= 20,000/s, as fast as the GPU ledger", p["book_cancel_ops_per_s"] >= 20_000 and ratio[
                "book_cancel_ops_per_s"] >= 1, command),
    ]  # fmt: skip


def live_power_rows(r: dict[str, Any], command: str) -> list[Row]:
    """The live engine's step keeping colossus-1's power, against the same fleet without a feed: the server
    steps once a second, so a step must stay well within it."""
    ms = r["step with the site's power (CPU ms, median)"]
    return [
        Row(f"live step, colossus-1, {r['workloads']} workloads, site power kept", _ms(ms),
            f"no feed {_ms(r['step without a feed (CPU ms, median)'])}: {r['ratio']}", "<= 100 ms",
            ms <= 100, command),
    ]  # fmt: skip


def live_limits_rows(r: dict[str, Any], command: str) -> list[Row]:
    """The same step with the site's ramp limits, rebuilding its ramp and floors from the metered runs."""
    ms = r["step with ramp limits (CPU ms, median)"]
    return [
        Row(f"live step, colossus-1, ramp and fall limits, {r['metered runs stored']:,} runs metered", _ms(ms),
            f"no limits {_ms(r['step without (CPU ms, median)'])}: {r['ratio']}", "<= 100 ms", ms <= 100, command),
    ]  # fmt: skip


def one_pool_rows(r: dict[str, Any], command: str) -> list[Row]:
    limits = {"book": 1.0, "cancel": 1.0, "earliest": 1.0, "free": 0.1}
    return [
        Row(f"ledger, one pool, {r['holds']:,} holds: {name} p99", _ms(r[f"{name}_p99_ms"]), "", f"<= {limit} ms",
            r[f"{name}_p99_ms"] <= limit, command)
        for name, limit in limits.items()
    ]  # fmt: skip


def engine_rows(r: dict[str, Any], command: str) -> list[Row]:
    s, p = r["synthetic"], r["philly"]
    bare = s["bare_loop"]
    rows = [
        Row(f"simulator, {s['jobs']:,} synthetic jobs, FIFO + best fit", f"{s['jobs_per_s']:,} jobs/CPU-s",
            f"bare heapq loop {bare['jobs_per_s']:,}: {s['ratio_to_bare']}", ">= 0.35 of the bare loop",
            s["ratio_to_bare"] >= 0.35, command),
        Row("simulator: memory the replay adds", f"{s['simulator_kib_per_job']} KiB/job", "", "<= 0.5 KB/job",
            s["simulator_kib_per_job"] * 1024 <= 500, command),
    ]  # fmt: skip
    for policy, limit in (("fifo", 10.0), ("sjf", 10.0), ("srtf", 1.5)):
        rows.append(
            Row(f"simulator, Philly {p['jobs']:,} jobs: {policy.upper()}", f"{p[policy]['seconds']} CPU-s", "",
                f"<= {limit} CPU-s", p[policy]["seconds"] <= limit, command)
        )  # fmt: skip
    b = r["backlog"]
    for policy in BACKLOG:
        small, all_jobs = b[f"{policy} 20000"], b[f"{policy} {b['jobs']}"]
        whole = all_jobs["seconds"]
        growth = (whole / b["jobs"]) / max(small["seconds"] / 20_000, 1e-9)  # CPU per job: all against 20,000
        rows.append(Row(f"deep backlog: Philly as PAI input, {b['jobs']:,} jobs, 6,500 pooled GPUs, {policy}",
                        f"{whole} CPU-s (avg wait {all_jobs['avg_queueing_s']:,} s)",
                        f"20,000 jobs: {small['seconds']} CPU-s; per job {growth:.1f}x",
                        "per-job cost <= 2x as the backlog grows",
                        growth <= 2, command))  # fmt: skip
    st = r["standing"]
    for policy, load in STANDING.items():
        deep = st[f"{policy} {load}"]
        rows.append(Row(f"standing backlog: {st['jobs']:,} synthetic jobs at {load}x of 100,000 GPUs, {policy}",
                        f"{deep['jobs_per_s']:,} jobs/CPU-s (peak {deep['peak_waiting']:,} waiting)",
                        f"at 0.9x: {st[f'{policy} 0.9']['jobs_per_s']:,}: {st[f'{policy} ratio']}x",
                        "within 2x of no backlog, >= 100,000 waiting",
                        st[f"{policy} ratio"] <= 2 and deep["peak_waiting"] >= 100_000, command))  # fmt: skip
    ib = r["interleave-backlog"]
    for policy in ("muri-s", "muri-l"):
        small, deep = (ib[f"{policy} {count}"] for count in INTERLEAVE_BACKLOG)
        rows.append(Row(f"interleaving backlog: {INTERLEAVE_BACKLOG[1]:,} jobs waiting at once, 512 GPUs, {policy}",
                        f"{deep['ms_per_job']} CPU-ms/job", f"{INTERLEAVE_BACKLOG[0]:,} waiting: {small['ms_per_job']}:"
                        f" {ib[f'{policy} ratio']}x", "per-job cost <= 2x as the backlog triples",
                        ib[f"{policy} ratio"] <= 2, command))  # fmt: skip
    for trace, runs in r["muri"].items():
        for policy, tolerance in (("srtf", 0.05), ("srsf", 0.05), ("tiresias", 0.10)):
            m = runs[policy]
            rows.append(Row(f"Muri artifact {trace}, 64 GPUs: {policy} average JCT", f"{m['avg_jct_s']:,} s",
                            f"published {m['published_s']:,} s: {m['ratio']}", f"within {tolerance:.0%}",
                            abs(m["ratio"] - 1) <= tolerance, command))  # fmt: skip
    for trace, runs in r["interleave"].items():
        for policy in ("muri-s", "muri-l"):
            m = runs[policy]
            rows.append(Row(f"Muri artifact {trace}, 64 GPUs: {policy} average JCT", f"{m['avg_jct_s']:,} s",
                            f"published {m['published_s']:,} s: {m['ratio']}", "within 10%",
                            abs(m["ratio"] - 1) <= 0.10, command))  # fmt: skip
    return rows


def api_rows(r: dict[str, Any], command: str) -> list[Row]:
    q, s, b = r["quotes"], r["signing"], r["booking_stampede"]
    return [
        Row("quotes, 2 workers, 32 clients", f"{q['requests_per_s']:,}/s",
            f"bare FastAPI {q['bare_fastapi_requests_per_s']:,}/s: {q['ratio_to_bare']}", ">= 0.5 of bare",
            q["ratio_to_bare"] >= 0.5, command),
        Row("signing, 2 workers, 32 clients: rate", f"{s['requests_per_s']:,}/s",
            f"pgbench {s['pgbench_tps']:,} tps: {s['ratio_to_pgbench']}", ">= 1.5x pgbench",
            s["ratio_to_pgbench"] >= 1.5, command),
        Row("signing, 2 workers, 32 clients: p99", _ms(s["p99_ms"]),
            f"pgbench {_ms(s['pgbench_p99_ms'])}: {s['p99_ratio_to_pgbench']}", "<= pgbench's; <= 50 ms",
            s["p99_ratio_to_pgbench"] <= 1 and s["p99_ms"] <= 50, command),
        Row("10,000 bookings at once on 100 free GPUs", f"{b['h200_gpus_held_after']:,} of 1,000 GPUs held",
            str(b["statuses"]), "no overbooking", not b["overbooked"], command),
    ]  # fmt: skip


def scenario_rows(r: dict[str, Any], command: str) -> list[Row]:
    return [
        Row("default scenario: CPU in the main process", f"{r['default_scenario_main_cpu_seconds']} CPU-s", "",
            "<= 15 CPU-s", r["default_scenario_main_cpu_seconds"] <= 15, command),
        Row("default scenario: wall time", f"{r['default_scenario_seconds']} s",
            f"one by one {r['one_by_one_seconds']} s: {r['parallel_over_one_by_one']}", "<= 0.60 of one by one",
            r["parallel_over_one_by_one"] <= 0.6, command),
        Row("default sweep on local Ray", f"{r['sweep']['seconds']} s", "", "<= 600 s",
            r["sweep"]["seconds"] <= 600, command),
        Row(f"default scenario over {r['futures']['paths']:,} possible futures", f"{r['futures']['seconds']} s",
            f"{r['futures']['main_cpu_seconds']} CPU-s in the main process", "<= 600 s",
            r["futures"]["seconds"] <= 600, command),
    ]  # fmt: skip


def rating_rows(r: dict[str, Any], command: str) -> list[Row]:
    return [
        Row(f"rating {r['records']:,} usage records", f"{r['rating_s']} s, {r['peak_rss_mib']} MiB", "", "<= 60 s",
            r["rating_s"] <= 60, command)
    ]  # fmt: skip


def dashboard_rows(r: dict[str, Any], command: str) -> list[Row]:
    pages = {k: v for k, v in r.items() if isinstance(v, dict)}
    p95 = max(v["p95 ms"] for v in pages.values())
    first = max(v["first load gzip KB"] for v in pages.values())
    return [
        Row(f"dashboard, {len(pages)} pages: slowest server CPU p95", _ms(p95), "", "<= 100 ms", p95 <= 100, command),
        Row("dashboard: largest first load, gzip", f"{first} KB", "", "<= 500 KB", first <= 500, command),
    ]


def cli_rows(r: dict[str, Any], command: str) -> list[Row]:
    ours = r["medians"]["neocloud --help"]["wall_ms"]
    return [
        Row(
            "neocloud --help",
            _ms(ours),
            f"import typer, rich: {r['ratio_wall']:.2f}x wall",
            "<= 1.5x",
            r["ratio_wall"] <= 1.5,
            command,
        )
    ]


# name -> (arguments after python -m, its rows)
BENCHMARKS: dict[str, tuple[list[str], Callable[[dict[str, Any], str], list[Row]]]] = {
    "ledger": (["benchmarks.ledger_bench", "--json"], ledger_rows),
    "ledger-one-pool": (["benchmarks.ledger_bench", "--one-pool", "1000000", "--json"], one_pool_rows),
    "ledger-power": (["benchmarks.ledger_bench", "--power", "--json"], power_rows),
    "live-power": (["benchmarks.live_power_bench", "--json"], live_power_rows),
    "live-limits": (["benchmarks.live_power_bench", "--limits", "--json"], live_limits_rows),
    "engine": (["benchmarks.engine_bench", "--json"], engine_rows),
    "api": (["benchmarks.api_bench"], api_rows),
    "scenario": (["benchmarks.scenario_bench", "--json"], scenario_rows),
    "rating": (["benchmarks.rating_bench", "--json"], rating_rows),
    "dashboard": (["benchmarks.dashboard_bench", "--json"], dashboard_rows),
    "cli": (["benchmarks.cli_startup", "--json"], cli_rows),
}


def run(name: str) -> tuple[list[Row], float]:
    arguments, rows = BENCHMARKS[name]
    started = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", *arguments], capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    command = "python -m " + " ".join(a for a in arguments if a != "--json")
    if out.returncode != 0:
        failed = out.stderr.strip().splitlines()[-1:] or ["no output"]
        return [Row(name, f"failed: {failed[0]}", "", "", False, command)], seconds
    try:
        return rows(json.loads(out.stdout), command), seconds
    except (KeyError, TypeError, ValueError) as error:  # e.g. wrk missing: the report says so instead of figures
        return [Row(name, f"no figures: {error!r}", "", "", False, command)], seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", help=f"comma-separated, of: {', '.join(BENCHMARKS)}")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    names = args.only.split(",") if args.only else list(BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}")
    console = Console(stderr=True)
    rows: list[Row] = []
    for name in names:
        with console.status(f"{name}…"):
            found, seconds = run(name)
        console.print(f"{name}: {seconds:.0f} s")
        rows += found
    if args.json:
        print(json.dumps({"machine": describe(), "rows": [asdict(r) for r in rows]}, indent=2))
    else:
        table = Table(title=describe(), show_lines=False)
        for column in ("measure", "result", "reference on this machine: ratio", "target", "met", "command"):
            table.add_column(column, overflow="fold")
        for r in rows:
            met = "" if r.met is None else ("yes" if r.met else "NO")
            table.add_row(r.measure, r.result, r.reference, r.target, met, r.command)
        Console(width=220).print(table)
    sys.exit(0 if all(r.met is not False for r in rows) else 1)


if __name__ == "__main__":
    main()
