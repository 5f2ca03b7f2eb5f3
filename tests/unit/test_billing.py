"""Metering, rating and invoices: worked examples computed by hand, and properties over random contracts."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neocloud.core.billing.invoice import BillingTerms, build_invoice
from neocloud.core.billing.metering import Meter, UsageRecord, usage_key
from neocloud.core.billing.periods import month, month_of
from neocloud.core.billing.rating import Outage, availability, rate_contract
from neocloud.core.contracts import Contract, ContractKind
from neocloud.core.errors import AlreadyExists, InvalidInterval, InvalidState, UnknownContract

H = 3600
APRIL = month("2027-04")  # 30 days = 720 hours
T0 = APRIL.start


def contract(cid: str, kind: ContractKind, price: str, gpus: int = 0, tenant: str = "lab", **kw: object) -> Contract:
    return Contract(
        cid, tenant, kind, "s1/h100-sxm", T0 - 30 * 86_400, T0 + 3 * 365 * 86_400, Decimal(price), gpus=gpus, **kw
    )  # type: ignore[arg-type]


def run(c: Contract, job: str, gpus: int, start_h: float, end_h: float, preempted: bool = False) -> UsageRecord:
    start, end = T0 + int(start_h * H), T0 + int(end_h * H)
    return UsageRecord(
        usage_key(c.id, job, start), c.tenant_id, c.id, c.pool, "h100-sxm", gpus * 1000, start, end, job, preempted
    )


RESERVED = contract(
    "block", ContractKind.RESERVED, "2.40", gpus=1000, sla_uptime=Decimal("0.99"), overage_per_gpu_hour=Decimal("3.00")
)
SPOT = contract("spot", ContractKind.SPOT, "1.35", tenant="bargain", preemption_notice_s=30)


def test_worked_example_reserved_block_with_overage_and_an_outage() -> None:
    # 1,000 H100 for 3 years at $2.40: April (720 h) commits 1,000 x 720 x 2.40 = $1,728,000.00.
    # 1,200 GPUs ran for 10 h: 200 above the commitment x 10 h = 2,000 GPU-h x $3.00 = $6,000.00.
    # One 4-hour outage of the whole block: availability 1 - 4/720 = 99.44 %, above 99 %: no credit.
    usage = [run(RESERVED, "big", 1200, 100, 110)]
    outage = [Outage("s1/h100-sxm", T0 + 200 * H, T0 + 204 * H)]
    lines = rate_contract(RESERVED, usage, APRIL, outage)
    assert [(line.kind, line.quantity, line.amount) for line in lines] == [
        ("commitment", Decimal("720000.000000"), Decimal("1728000.00")),
        ("overage", Decimal("2000.000000"), Decimal("6000.00")),
    ]
    assert availability(RESERVED, APRIL, APRIL.seconds, outage) == 1 - Decimal(4) / 720


def test_an_eight_hour_outage_earns_the_first_credit_tier() -> None:
    # 1 - 8/720 = 98.89 % < 99 %: 10 % of (1,728,000 + 6,000) = $173,400.00 back.
    usage = [run(RESERVED, "big", 1200, 100, 110)]
    lines = rate_contract(RESERVED, usage, APRIL, [Outage("s1/h100-sxm", T0, T0 + 8 * H)])
    assert lines[-1].kind == "sla-credit"
    assert lines[-1].amount == Decimal("-173400.00")
    assert sum(line.amount for line in lines) == Decimal("1560600.00")


def test_spot_preempted_twice_is_billed_up_to_each_notice() -> None:
    # 100 GPUs: 0-5 h (preempted), 6-9 h (preempted), 10-12 h (finished); 30 s notice each time.
    # (18,000 - 30 + 10,800 - 30 + 7,200) s x 100 GPUs = 3,594,000 GPU-s = 998.333333 GPU-h x $1.35 = $1,347.75.
    usage = [run(SPOT, "s", 100, 0, 5, True), run(SPOT, "s", 100, 6, 9, True), run(SPOT, "s", 100, 10, 12)]
    [line] = rate_contract(SPOT, usage, APRIL)
    assert (line.quantity, line.amount) == (Decimal("998.333333"), Decimal("1347.75"))


def test_on_demand_internal_and_non_take_or_pay() -> None:
    od = contract("od", ContractKind.ON_DEMAND, "3.00")
    internal = contract("int", ContractKind.INTERNAL, "2.40")
    flexible = contract(
        "flex", ContractKind.RESERVED, "2.40", gpus=8, take_or_pay=False, overage_per_gpu_hour=Decimal("3.00")
    )
    assert rate_contract(od, [run(od, "a", 8, 0, 1.5)], APRIL)[0].amount == Decimal("36.00")  # 12 GPU-h x 3
    assert rate_contract(internal, [run(internal, "b", 4, 0, 2)], APRIL)[0].amount == Decimal("19.20")
    # 16 GPUs for 1 h on an 8-GPU commitment without take-or-pay: 8 GPU-h at 2.40 + 8 GPU-h at 3.00.
    lines = rate_contract(flexible, [run(flexible, "c", 16, 0, 1)], APRIL)
    assert [(line.kind, line.amount) for line in lines] == [("usage", Decimal("19.20")), ("overage", Decimal("24.00"))]


def test_usage_is_split_across_periods() -> None:
    od = contract("od", ContractKind.ON_DEMAND, "3.00")
    late = run(od, "x", 1, -2, 1)  # starts two hours before April
    assert rate_contract(od, [late], APRIL)[0].quantity == Decimal("1.000000")
    assert rate_contract(od, [late], month_of(T0 - 1))[0].quantity == Decimal("2.000000")


def test_minimum_commitment_and_prepayment() -> None:
    od = contract("od", ContractKind.ON_DEMAND, "3.00")
    terms = {"od": BillingTerms(minimum_per_period=Decimal("100.00"), prepaid_balance=Decimal("80.00"))}
    invoice = build_invoice("lab", APRIL, [od], [run(od, "a", 1, 0, 10)], terms=terms)
    # $30.00 of usage, trued up to the $100.00 minimum, $80.00 drawn from the prepayment: $20.00 due.
    assert [(line.kind, line.amount) for line in invoice.lines] == [
        ("usage", Decimal("30.00")),
        ("minimum", Decimal("70.00")),
        ("prepayment", Decimal("-80.00")),
    ]
    assert invoice.total == Decimal("20.00")
    assert invoice.prepaid_left == {"od": Decimal("0.00")}


def test_meter_counts_each_run_once_and_refuses_bad_records() -> None:
    od = contract("od", ContractKind.ON_DEMAND, "3.00")
    meter = Meter({"od": od}, closed={"lab": [month("2027-03")]})
    record = run(od, "a", 1, 0, 1)
    assert meter.add(record) is True
    assert meter.add(record) is False  # the same event again: counted once
    with pytest.raises(AlreadyExists, match="overlaps"):
        meter.add(run(od, "a", 1, 0.5, 2))
    with pytest.raises(AlreadyExists, match="different values"):
        meter.add(UsageRecord(record.key, "lab", "od", od.pool, "h100-sxm", 2000, record.start, record.end, "a"))
    with pytest.raises(UnknownContract):
        meter.add(UsageRecord("k", "lab", "nope", od.pool, "h100-sxm", 1000, T0, T0 + 1))
    with pytest.raises(InvalidInterval):
        meter.add(UsageRecord("k2", "lab", "od", od.pool, "h100-sxm", 1000, T0 + 10, T0 + 5))
    with pytest.raises(InvalidState, match="closed period 2027-03"):
        meter.add(run(od, "b", 1, -5, -4))
    # All or nothing: a batch with one bad record adds none.
    with pytest.raises(InvalidInterval):
        meter.add_all([run(od, "c", 1, 3, 4), UsageRecord("bad", "lab", "od", od.pool, "h100-sxm", 1000, T0, T0)])
    assert [r.key for r in meter.records()] == [record.key]


kinds = st.sampled_from([ContractKind.RESERVED, ContractKind.ON_DEMAND, ContractKind.SPOT, ContractKind.INTERNAL])
prices = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("9.99"), places=2)


@settings(max_examples=80, deadline=None)
@given(st.data(), st.lists(st.tuples(kinds, prices, st.integers(1, 64), st.booleans()), min_size=1, max_size=4))
def test_invoice_lines_reconcile_to_the_cent_and_rating_is_repeatable(data: st.DataObject, specs: list) -> None:  # type: ignore[type-arg]
    contracts = [
        contract(
            f"c{i}",
            kind,
            str(price),
            gpus=gpus if kind is ContractKind.RESERVED else 0,
            sla_uptime=Decimal("0.99") if sla else None,
            overage_per_gpu_hour=price * 2,
            preemption_notice_s=30,
        )
        for i, (kind, price, gpus, sla) in enumerate(specs)
    ]
    usage = [
        run(
            c,
            f"j{i}-{n}",
            data.draw(st.integers(1, 80)),
            start,
            start + data.draw(st.integers(1, 200)) / 7,
            data.draw(st.booleans()),
        )
        for i, c in enumerate(contracts)
        for n, start in enumerate(data.draw(st.lists(st.integers(-50, 800), max_size=5)))
    ]
    outages = [
        Outage("s1/h100-sxm", T0 + h * H, T0 + (h + data.draw(st.integers(1, 40))) * H)
        for h in data.draw(st.lists(st.integers(0, 700), max_size=2))
    ]
    invoice = build_invoice("lab", APRIL, contracts, usage, outages)
    charges = sum(line.amount for line in invoice.lines if line.kind in ("commitment", "overage", "usage"))
    credits = -sum(line.amount for line in invoice.lines if line.kind == "sla-credit")
    assert invoice.total == charges - credits
    assert all(line.amount == line.amount.quantize(Decimal("0.01")) for line in invoice.lines)
    assert credits >= 0
    assert invoice == build_invoice("lab", APRIL, contracts, list(reversed(usage)), outages)


def test_simulated_runs_are_metered_and_rated() -> None:
    from neocloud.core.engine.cluster import Cluster
    from neocloud.core.engine.config import EngineConfig
    from neocloud.core.workload import Job, PriorityClass
    from neocloud.sim.simulator import simulate
    from neocloud.sim.usage import UsageRecorder

    reserved_job = Job("r", T0 + 2 * H, H, 4, tenant="lab", priority=PriorityClass.RESERVED)
    spot_job = Job("s", T0, 3 * H, 4, tenant="bargain", priority=PriorityClass.SPOT)
    on_demand = contract("od", ContractKind.ON_DEMAND, "3.00")
    recorder = UsageRecorder(lambda job: SPOT if job.tenant == "bargain" else on_demand)
    simulate([reserved_job, spot_job], Cluster.uniform(1, 4), EngineConfig("fifo"), on_run=recorder)
    # The spot job runs 0-2 h, is preempted for 2-3 h, and resumes 3-4 h: two spot runs, one on-demand run.
    assert [(r.job_id, (r.start - T0) / H, (r.end - T0) / H, r.preempted) for r in recorder.records] == [
        ("s", 0, 2, True),
        ("r", 2, 3, False),
        ("s", 3, 4, False),
    ]
    meter = Meter({"spot": SPOT, "od": on_demand})
    assert len(meter.add_all(recorder.records)) == 3
    [spot_line] = rate_contract(SPOT, meter.records("spot"), APRIL)
    # 4 GPUs x (2 h - 30 s notice + 1 h) = 11.966667 GPU-h x $1.35 = $16.155 -> $16.16 (half to even: 16.155 -> 16.16)
    assert spot_line.amount == Decimal("16.16")
