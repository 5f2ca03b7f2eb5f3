"""The best mix: a linear program (solved by HiGHS) that chooses, for the site's GPUs over the horizon, the
share leased under the lease, the share rented as reserved blocks under the lease's terms, reserved blocks of
given terms sold at the market price of their first month, and what the kept GPUs do (internal work, with or
without spot resale of idle hours), to maximise the expected value over the possible futures.

Contracts are chosen once, for every path (they are signed today); what the kept GPUs do is chosen per path
and month. Each side's exit rule ends the lease (and the reserved share under its terms) on a path as it does
for the fixed strategies; blocks sold at market have no exit. The kept GPUs' value at a month's demand comes
from the simulations at a few kept shares (the *knots*: every strategy's, 0, and `extra_kept`), each with or
without resale as simulated; between knots the program may mix two neighbouring ones (a convex combination,
as a month partly under a lease already is). So every fixed strategy is a point the program can choose, at
exactly its value on the same paths: the mix is never worth less than the best of them.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from decimal import Decimal

import numpy as np

from neocloud.core.billing.periods import month
from neocloud.core.errors import InvalidInput
from neocloud.core.scenario.paths import Path
from neocloud.core.scenario.strategies import SECONDS_PER_HOUR, Prices, Strategy, kept_after_credit
from neocloud.sim.scenario import Operate, Operations, Scenario
from neocloud.sim.uncertainty import MixOptions, Uncertainty, knots, month_prices, notice, rates_at, to_decimal


@dataclass(frozen=True, slots=True)
class Block:
    start: str  # month
    months: int
    share: float


@dataclass(frozen=True, slots=True)
class Mix:
    lease_share: float  # of the site, under the lease (and its exits)
    reserved_share: float  # as reserved blocks under the lease's terms (and its exits), at the reserved price
    blocks: tuple[Block, ...]  # sold at the market price of their first month, no exit
    kept: tuple[float, ...]  # per month: the mean share kept over the paths
    resale: tuple[float, ...]  # per month: the mean share of the kept GPU-time offered as spot
    value: Decimal  # expected over the paths, as the strategies' values are
    fixed: tuple[tuple[str, Decimal], ...]  # each fixed strategy's expected value on the same paths, as priced


def best_mix(
    scenario: Scenario,
    u: Uncertainty,
    options: MixOptions,
    drawn: Sequence[Path],
    grid: Sequence[float],
    operations: Operate,
    fixed: Sequence[tuple[str, Decimal]] = (),
) -> Mix:
    """Solve the program on `drawn` (the paths), with the kept GPUs' simulations from `operations`; `fixed`:
    the fixed strategies' expected values on the same paths, reported beside the mix's."""
    import highspy  # the `scenario` extra; imported only when a mix is asked for

    months = scenario.months
    hours = [Decimal(month(k).seconds) / SECONDS_PER_HOUR for k in months]
    up_hours = [scenario.up_hours(k) for k in months]  # what the kept GPUs run, as priced for the strategies
    availability = [scenario.reliability.availability(k, scenario.node_gpus) for k in months]
    gpus, credit = scenario.site_gpus, [kept_after_credit(scenario.lease, a) for a in availability]
    ks = knots(scenario, options)
    tables = {kn: {d: operations(1 - kn[0], kn[1], d) for d in grid} for kn in ks}
    terms = [(start, term) for term in options.block_terms for start in range(len(months))]
    n_paths, n_months, n_knots, n_blocks = len(drawn), len(months), len(ks), len(terms)
    # Per path-month: the share of the month the lease (0) and the reserved share (1) are in force; what the
    # lease, the reserved share and each block earn, and the kept GPUs at each knot are worth ($M).
    in_force = np.zeros((n_paths, n_months, 2))
    earns = np.zeros((n_paths, n_months, 2 + n_blocks))
    kept_value = np.zeros((n_paths, n_months, n_knots))
    over_level = np.zeros((n_paths, n_months, n_knots))  # job-hours waited per hour beyond the service level
    level = options.max_queueing_hours
    offers = (Strategy("lease", Decimal(1)), Strategy("reserved", Decimal(1), offer="reserved"))
    for p, path in enumerate(drawn):
        prices = month_prices(scenario, u, path)
        shares = [_share_in_force(scenario, u, o, path, prices) for o in offers]
        for t in range(n_months):
            h, c = hours[t], credit[t]
            in_force[p, t] = [float(shares[0][t]), float(shares[1][t])]
            earns[p, t, 0] = float(scenario.lease.usd_per_month * shares[0][t] * c) / 1e6
            earns[p, t, 1] = float(gpus * h * scenario.prices.reserved_usd_per_gpu_hour * shares[1][t] * c) / 1e6
            for b, (start, term) in enumerate(terms):
                if start <= t < start + term:  # at the market's reserved price of its first month
                    signed = scenario.prices.reserved_usd_per_gpu_hour * to_decimal(path.market[start])
                    earns[p, t, 2 + b] = float(gpus * h * signed * c) / 1e6
            for j, kn in enumerate(ks):
                up = up_hours[t]
                kept_value[p, t, j] = float(_kept_value(tables[kn], grid, path.demand[t], up, prices[t], kn[1])) / 1e6
                if level is not None:
                    waited = rates_at(tables[kn], grid, path.demand[t]).use(Decimal(1)).queueing_job_hours
                    over_level[p, t, j] = float(waited) - level * _arrivals_per_hour(
                        scenario, tables[kn][1.0], path.demand[t]
                    )
    costs = sum((scenario.cost.total * gpus * h for h in hours), Decimal(0))  # and any sale, alike for all
    if scenario.sale is not None:
        costs -= scenario.sale.proceeds - scenario.sale.book_value

    # Columns: the lease's share, the reserved share, each block's share, then each path-month's knot weights.
    first = 2 + n_blocks
    n = first + n_paths * n_months * n_knots
    # HiGHS minimises: the negated mean over paths.
    objective = np.concatenate([-earns.sum(axis=(0, 1)) / n_paths, -kept_value.reshape(-1) / n_paths])
    # Rows, two per path-month: its knot weights sum to 1; the kept share (their mix of knots) and the
    # shares rented and in force that month make the whole site.
    pm = np.arange(n_paths * n_months)
    weights_cols = first + pm[:, None] * n_knots + np.arange(n_knots)[None, :]
    block_live = np.array([[start <= t < start + term for start, term in terms] for t in range(n_months)], dtype=float)
    rows = [np.repeat(2 * pm, n_knots), np.repeat(2 * pm + 1, n_knots)]
    cols = [weights_cols.reshape(-1), weights_cols.reshape(-1)]
    vals = [np.ones(n_paths * n_months * n_knots), np.tile(np.array([float(k) for k, _ in ks]), n_paths * n_months)]
    for product in (0, 1):
        rows.append(2 * pm + 1)
        cols.append(np.full(n_paths * n_months, product))
        vals.append(in_force[:, :, product].reshape(-1))
    if n_blocks:
        live = np.tile(block_live, (n_paths, 1))  # (n_paths*n_months, n_blocks)
        live_row, live_block = np.nonzero(live)
        rows.append(2 * live_row + 1)
        cols.append(2 + live_block)
        vals.append(live[live_row, live_block])
    row_count = 2 * n_paths * n_months
    lower, upper = np.ones(row_count), np.ones(row_count)
    if level is not None:  # a third row per path-month: the mean wait of its knots within the level
        rows.append(row_count + np.repeat(pm, n_knots))
        cols.append(weights_cols.reshape(-1))
        vals.append(over_level.reshape(-1))
        lower = np.concatenate([lower, np.full(n_paths * n_months, -highspy.kHighsInf)])
        upper = np.concatenate([upper, np.zeros(n_paths * n_months)])
        row_count += n_paths * n_months
    row, col, val = (np.concatenate(x) for x in (rows, cols, vals))
    keep = val != 0
    row, col, val = row[keep], col[keep], val[keep]
    order = np.lexsort((row, col))
    model = highspy.HighsLp()
    model.num_col_, model.num_row_ = n, row_count
    model.col_cost_, model.col_lower_, model.col_upper_ = objective, np.zeros(n), np.ones(n)
    model.row_lower_, model.row_upper_ = lower, upper
    model.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    model.a_matrix_.start_ = np.searchsorted(col[order], np.arange(n + 1)).astype(np.int32)
    model.a_matrix_.index_ = row[order].astype(np.int32)
    model.a_matrix_.value_ = val[order]
    with _stdout_to_stderr():  # HiGHS prints its banner to the process's stdout when a solver is made
        solver = highspy.Highs()  # type: ignore[no-untyped-call]
    solver.setOptionValue("output_flag", False)
    solver.passModel(model)
    solver.run()
    status = solver.getModelStatus()
    if status == highspy.HighsModelStatus.kInfeasible:
        raise InvalidInput(f"no mix keeps internal jobs waiting {level} h or less on average on every path")
    if status != highspy.HighsModelStatus.kOptimal:
        raise InvalidInput(f"the mix's program was not solved: {solver.modelStatusToString(status)}")
    x = np.array(solver.getSolution().col_value)
    weights = x[first:].reshape(n_paths, n_months, n_knots)
    kept_at = np.array([float(k) for k, _ in ks])
    kept = (weights * kept_at).sum(axis=2).mean(axis=0)
    resold = (weights * kept_at * np.array([float(r) for _, r in ks])).sum(axis=2).mean(axis=0)
    value = Decimal(repr(-solver.getInfo().objective_function_value)) * 1_000_000 - costs
    return Mix(
        lease_share=float(x[0]),
        reserved_share=float(x[1]),
        blocks=tuple(Block(months[s], term, float(x[2 + b])) for b, (s, term) in enumerate(terms) if x[2 + b] > 1e-9),
        kept=tuple(float(v) for v in kept),
        resale=tuple(float(r / k) if k > 1e-12 else 0.0 for r, k in zip(resold, kept, strict=True)),
        value=value,
        fixed=tuple(fixed),
    )


@contextmanager
def _stdout_to_stderr() -> Iterator[None]:
    """Point file descriptor 1 at stderr for the block: output from C code goes there, not into what a
    command prints as its result (e.g. --json)."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def _arrivals_per_hour(scenario: Scenario, steady: Operations, demand: float) -> float:
    """Internal jobs submitted per hour at the site at `demand` (the steady simulation's, scaled)."""
    return steady.jobs * scenario.site_gpus / steady.slice_gpus / (scenario.demand.window / 3600) * demand


def _kept_value(
    table: dict[float, Operations], grid: Sequence[float], d: float, hours: Decimal, prices: Prices, resale: bool
) -> Decimal:
    use = rates_at(table, grid, d).use(hours)
    spot = use.spot_gpu_hours * prices.spot_usd_per_gpu_hour if resale else Decimal(0)
    return (
        use.gpu_hours_served * prices.shadow_usd_per_gpu_hour
        + spot
        - use.queueing_job_hours * prices.delay_usd_per_job_hour
    )


def _share_in_force(
    scenario: Scenario, u: Uncertainty, strategy: Strategy, path: Path, prices: Sequence[Prices]
) -> list[Decimal]:
    at, _ = notice(scenario, u, strategy, path, prices, True, True)
    lease = scenario.lease
    if at is not None:
        start = month(scenario.months[at]).start
        lease = replace(lease, notice_at=start if lease.notice_at is None else min(start, lease.notice_at))
    return [lease.share_of(k) for k in scenario.months]
