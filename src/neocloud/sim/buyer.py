"""The buyer's side of the lease over the possible futures: what the lessee pays per GPU-hour against what the
same capacity would cost it at the market's reserved price on each path, what its right to leave saves it,
and how much inference the capacity serves at a sourced serving throughput per GPU.

The lessee takes the whole site and pays the lease's fee while it is in force. When the lease ends early on
a path (its own exit rule, or the owner's), it is taken to buy the same GPUs for the rest of the term at the
market's reserved price of each month; bound to the term, it would pay the fee to the end.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal

from neocloud.core.billing.periods import month
from neocloud.core.errors import InvalidInput
from neocloud.core.scenario.costs import HOURS_PER_MONTH
from neocloud.core.scenario.paths import Path
from neocloud.core.scenario.strategies import SECONDS_PER_HOUR, Strategy
from neocloud.sim.scenario import Scenario
from neocloud.sim.uncertainty import Serving, Uncertainty, month_prices, notice, quantile, to_decimal


@dataclass(frozen=True, slots=True)
class BuyerView:
    lease_usd_per_gpu_hour: Decimal  # the fee over the site's GPU-hours in an average month
    market_usd_per_gpu_hour: Decimal  # the market's reserved price today
    premium_bound: tuple[float, float, float]  # P10, P50, P90 over paths: the fee over the market's cost, bound
    premium_with_exit: tuple[float, float, float]  # the same when leaving as the rules say, at market after
    exit_saves_usd: Decimal  # what leaving saves the lessee, the mean over paths
    left: int  # paths on which the lease ended early
    benchmark: str
    tokens_per_month: float  # the whole site serving at the benchmark's throughput
    tokens_per_usd_lease: float | None  # None: the lease is free
    tokens_per_usd_market: float | None


def buyer_view(scenario: Scenario, u: Uncertainty, drawn: Sequence[Path], serving: Serving) -> BuyerView:
    lease, site = scenario.lease, scenario.site_gpus
    reserved = scenario.prices.reserved_usd_per_gpu_hour
    bound, with_exit, at_market, left = [], [], [], 0
    for path in drawn:
        at, _ = notice(scenario, u, Strategy("lessee", Decimal(1)), path, month_prices(scenario, u, path), True, True)
        ended = lease
        if at is not None:
            left += 1
            start = month(scenario.months[at]).start
            ended = replace(lease, notice_at=start if lease.notice_at is None else min(start, lease.notice_at))
        fee = paid = market = Decimal(0)
        for t, key in enumerate(scenario.months):
            term, kept = lease.share_of(key), ended.share_of(key)
            month_at_market = (
                site * Decimal(month(key).seconds) / SECONDS_PER_HOUR * reserved * to_decimal(path.market[t])
            )
            fee += lease.usd_per_month * term
            paid += lease.usd_per_month * kept + month_at_market * (term - kept)
            market += month_at_market * term
        bound.append(fee)
        with_exit.append(paid)
        at_market.append(market)
    if not any(at_market):
        raise InvalidInput("the lease is not in force within the horizon: the buyer's side has nothing to show")

    def spread(costs: list[Decimal]) -> tuple[float, float, float]:
        ratios = sorted(float(c / m) for c, m in zip(costs, at_market, strict=True) if m)
        return quantile(ratios, 0.1), quantile(ratios, 0.5), quantile(ratios, 0.9)

    per_gpu_hour = serving.tokens_per_gpu_hour
    lease_price = lease.usd_per_month / (site * HOURS_PER_MONTH)
    return BuyerView(
        lease_usd_per_gpu_hour=lease_price,
        market_usd_per_gpu_hour=reserved,
        premium_bound=spread(bound),
        premium_with_exit=spread(with_exit),
        exit_saves_usd=sum((b - w for b, w in zip(bound, with_exit, strict=True)), Decimal(0)) / len(drawn),
        left=left,
        benchmark=serving.benchmark,
        tokens_per_month=per_gpu_hour * site * float(HOURS_PER_MONTH),
        tokens_per_usd_lease=per_gpu_hour / float(lease_price) if lease_price else None,
        tokens_per_usd_market=per_gpu_hour / float(reserved) if reserved else None,
    )
