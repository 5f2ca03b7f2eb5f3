"""Quotes, running bills and SLA availability through the API, on both stores: what they answer, that a
tenant sees only its own, and that hostile input is refused precisely and writes nothing."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from neocloud.app import billing, services
from neocloud.app.records import StoredWorkload
from neocloud.core.billing.periods import month_of
from neocloud.core.contracts import ContractKind
from neocloud.core.workload import Job, PriorityClass, WorkloadStatus

from ..builders import DAY, POOL, SOON, reserved, sign, snapshot

HOUR = 3600


def test_a_quote_prices_at_the_rate_card_or_the_agreement_and_says_what_fits(api: Any) -> None:
    ctx = api.ctx
    sign(ctx, reserved(100, start=SOON.start, days=30, tenant="research"))  # 28 of 128 GPUs left then
    window = {"pool": POOL, "start": SOON.start, "end": SOON.start + 10 * DAY}
    quote = api("GET", "/quote", "lab", params={**window, "gpus": 40})
    assert quote["price_per_gpu_hour"] == "2.400000"  # the H100 rate card
    assert quote["commitment"] == f"{Decimal(40 * 240) * Decimal('2.4'):.2f}"  # 40 GPUs x 240 h, take or pay
    assert quote["free"] == 28
    assert quote["earliest_start"] == SOON.start + 30 * DAY  # when the research reservation ends
    api(
        "PUT",
        "/agreements",
        "operator",
        json={"tenant": "lab", "pool": POOL, "kind": "reserved", "price_per_gpu_hour": "2.10"},
    )
    assert api("GET", "/quote", "lab", params={**window, "gpus": 8})["price_per_gpu_hour"] == "2.100000"
    on_demand = api("GET", "/quote", "lab", params={**window, "kind": "on-demand"})
    assert (on_demand["commitment"], on_demand["earliest_start"]) == (None, None)  # billed by use; books nothing
    never = api("GET", "/quote", "lab", params={**window, "gpus": 129})
    assert (never["free"], never["earliest_start"]) == (28, None)  # more than the pool has
    operators = api("GET", "/quote", "operator", params={**window, "gpus": 8, "tenant": "research"})
    assert operators["price_per_gpu_hour"] != "2.100000"  # research has no agreement


@pytest.mark.parametrize(
    ("params", "status", "code"),
    [
        ({"gpus": "NaN"}, 422, "invalid_request"),
        ({"gpus": "1e400"}, 422, "invalid_request"),
        ({"gpus": -1}, 422, "invalid_request"),
        ({"start": 10**20}, 422, "invalid_request"),
        ({"kind": "free-lunch"}, 422, "invalid_request"),
        ({"pool": "s1/\u0000"}, 422, "invalid_request"),
        ({"pool": "s1/none"}, 404, "unknown_pool"),
        ({"end": SOON.start}, 422, "invalid_interval"),
        ({"tenant": "research"}, 403, "forbidden"),
    ],
)
def test_hostile_quotes_are_refused_precisely_and_write_nothing(
    api: Any, params: dict[str, Any], status: int, code: str
) -> None:
    before = snapshot(api.ctx)
    query = {"pool": POOL, "start": SOON.start, "end": SOON.start + DAY, "gpus": 8, **params}
    answer = api("GET", "/quote", "lab", status=status, params=query)
    assert answer["error"]["code"] == code
    assert snapshot(api.ctx) == before


def test_operators_name_the_tenant_of_a_quote_and_a_bill(api: Any) -> None:
    window = {"pool": POOL, "start": SOON.start, "end": SOON.start + DAY}
    assert api("GET", "/quote", "operator", 422, params=window)["error"]["details"]["field"] == "tenant"
    assert api("GET", "/bill", "operator", 422)["error"]["details"]["field"] == "tenant"


def test_the_running_bill_counts_this_month_to_now_and_runs_still_going(api: Any) -> None:
    ctx = api.ctx
    now = ctx.now()
    this = month_of(now)
    contract = sign(ctx, reserved(8, start=this.start, days=40, take_or_pay=True))
    on_demand = services.ContractRequest("lab", ContractKind.ON_DEMAND, POOL, this.start, this.end)
    with ctx.uow() as uow:
        flexible = services.sign_contract(uow, on_demand, ctx.catalog, ctx.new_id, now)
        started = max(this.start, now - 2 * HOUR)
        job = Job("w-going", started, 10 * HOUR, 4, 1, "t-lab", PriorityClass.ON_DEMAND)
        uow.workloads.save(StoredWorkload(job, flexible.id, WorkloadStatus.RUNNING, 10 * HOUR, started=started))
    bill = api("GET", "/bill", "lab")
    assert (bill["period"], bill["start"]) == (this.key, this.start)
    assert bill["end"] >= now
    by_contract = {line["contract_id"]: line for line in bill["lines"]}
    elapsed = Decimal(bill["end"] - this.start)
    assert Decimal(by_contract[contract.id]["quantity"]) == (8 * elapsed / HOUR).quantize(Decimal("0.000001"))
    going = Decimal(bill["end"] - started)
    assert Decimal(by_contract[flexible.id]["quantity"]) == (4 * going / HOUR).quantize(Decimal("0.000001"))
    assert Decimal(bill["total"]) == sum(Decimal(line["amount"]) for line in bill["lines"])
    assert api("GET", "/bill", "research")["lines"] == []  # research sees its own bill, not lab's
    assert api("GET", "/bill", "research", 403, params={"tenant": "lab"})["error"]["code"] == "forbidden"
    assert api("GET", "/bill", "operator", params={"tenant": "lab"})["total"] >= bill["total"]


def test_sla_availability_is_measured_against_each_promise(api: Any) -> None:
    ctx = api.ctx
    now = ctx.now()
    this = month_of(now)
    promised = sign(ctx, reserved(16, start=this.start, days=60, sla_uptime=Decimal("0.999")))
    sign(ctx, reserved(8, start=this.start, days=60))  # no promise: not listed
    api(
        "POST",
        "/incidents",
        "operator",
        201,
        json={"pool": POOL, "start": this.start, "end": this.start + HOUR, "gpus": 16, "contract_id": promised.id},
    )
    (row,) = api("GET", "/availability", "operator", params={"period": this.key})["items"]
    measured = 1 - Decimal(16 * HOUR) / Decimal(16 * (max(now, this.start + HOUR) - this.start))
    assert row["contract_id"] == promised.id
    assert abs(Decimal(row["measured"]) - measured) < Decimal("0.0001")  # the clock moves between the two reads
    assert row["met"] == (Decimal(row["measured"]) >= Decimal("0.999"))
    with ctx.reader() as uow:
        assert billing.sla_availability(uow, "2030-01", now) == []  # a month to come has measured nothing
    assert api("GET", "/availability", "lab", 403, params={"period": this.key})["error"]["code"] == "forbidden"
    assert api("GET", "/availability", "operator", 422, params={"period": "2027-13"})["error"]["code"] == (
        "invalid_request"
    )
