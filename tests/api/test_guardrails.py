"""Commercial guardrails on both stores: tenants sign at the rate card or their agreement, never below the
floor; nothing changes inside an invoiced month; quotas and credit limits bite; keys expire; a cancel that
wins a race leaves the extension a conflict, not a missing hold."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from neocloud import bootstrap
from neocloud.app import auth, billing, commercial, credit, live, services
from neocloud.app.credit import Policy
from neocloud.app.services import ContractRequest
from neocloud.core.billing.metering import UsageRecord, usage_key
from neocloud.core.billing.periods import month
from neocloud.core.contracts import ContractKind
from neocloud.core.errors import (
    CreditLimitExceeded,
    InvalidInput,
    InvalidState,
    PeriodClosed,
    QuotaExceeded,
)

from ..builders import POOL, contract_body, items, refused_without_change

MAY, JUNE = month("2030-05"), month("2030-06")
APRIL_15 = month("2030-04").start + 14 * 86_400
H = 3600


def sign(ctx: bootstrap.Context, request: ContractRequest, now: int = APRIL_15) -> Any:
    with ctx.uow() as uow:
        return services.sign_contract(uow, request, ctx.catalog, ctx.new_id, now)


def in_may(
    gpus: int = 8, kind: ContractKind = ContractKind.RESERVED, tenant: str = "lab", **kw: Any
) -> ContractRequest:
    return ContractRequest(tenant, kind, POOL, MAY.start, MAY.end, gpus=gpus, **kw)


def test_tenants_sign_at_the_rate_card_or_their_agreement(api: Any) -> None:
    card = api("POST", "/contracts", "lab", json=contract_body(8), status=201)
    assert (card["price_per_gpu_hour"], card["overage_per_gpu_hour"]) == ("2.400000", "3.000000")
    agreed = {"tenant": "lab", "pool": POOL, "price_per_gpu_hour": "2.10", "termination_notice_days": 90}
    assert api("PUT", "/agreements", "operator", json=agreed)["price_per_gpu_hour"] == "2.100000"
    signed = api("POST", "/contracts", "lab", json=contract_body(8), status=201)
    assert (signed["price_per_gpu_hour"], signed["termination_notice_days"]) == ("2.100000", 90)
    other = api("POST", "/contracts", "research", json=contract_body(8), status=201)  # not research's agreement
    assert other["price_per_gpu_hour"] == "2.400000"
    assert [a["tenant_id"] for a in items(api("GET", "/agreements", "lab"))] == ["t-lab"]
    assert items(api("GET", "/agreements", "research")) == []
    below = {**agreed, "price_per_gpu_hour": "1.34"}  # the H100 floor is its spot price, 1.35
    assert "below the floor" in api("PUT", "/agreements", "operator", json=below, status=422)["error"]["message"]
    api("DELETE", "/agreements", "operator", params={"tenant": "lab", "pool": POOL, "kind": "reserved"}, status=204)
    assert api("POST", "/contracts", "lab", json=contract_body(8), status=201)["price_per_gpu_hour"] == "2.400000"
    refused = api("POST", "/contracts", "lab", json=contract_body(8, price_per_gpu_hour="2.10"), status=403)
    assert (refused["error"]["code"], refused["error"]["details"]["fields"]) == (
        "terms_not_allowed",
        ["price_per_gpu_hour"],
    )


def test_operators_price_at_or_above_the_floor(store: bootstrap.Context) -> None:
    assert sign(store, in_may(price_per_gpu_hour=Decimal("1.35"))).price_per_gpu_hour == Decimal("1.35")
    for price in (Decimal("1.349999"), Decimal(0)):
        refused_without_change(
            store,
            InvalidInput,
            lambda uow, p=price: services.sign_contract(
                uow, in_may(price_per_gpu_hour=p), store.catalog, store.new_id, APRIL_15
            ),
        )
    internal = in_may(kind=ContractKind.INTERNAL, tenant="research", price_per_gpu_hour=Decimal(0))
    assert sign(store, internal).price_per_gpu_hour == 0  # a transfer price: no money changes hands


def _invoice_may(ctx: bootstrap.Context) -> None:
    with ctx.uow() as uow:
        billing.generate_invoice(uow, ctx.catalog, "lab", "2030-05", JUNE.start + 1, ctx.new_id)


def test_nothing_changes_inside_an_invoiced_month(store: bootstrap.Context) -> None:
    may = sign(store, in_may(8))
    june = sign(store, ContractRequest("lab", ContractKind.RESERVED, POOL, MAY.start + 86_400, JUNE.end, gpus=8))
    _invoice_may(store)
    late = JUNE.start + 1

    def attempts(uow: Any) -> list[Any]:
        return [
            lambda: services.sign_contract(uow, in_may(1), store.catalog, store.new_id, late),
            lambda: services.extend_contract(uow, may.id, JUNE.end),  # from May's end: June is open
            lambda: services.schedule_maintenance(uow, POOL, 1, MAY.end - H, MAY.end + H, store.new_id),
            lambda: billing.record_incident(uow, POOL, MAY.start, MAY.start + H, store.new_id),
        ]

    for i in (0, 2, 3):
        refused_without_change(store, PeriodClosed, lambda uow, i=i: attempts(uow)[i]())
    with store.uow() as uow:
        services.extend_contract(uow, may.id, JUNE.end)  # only June changes: allowed
        services.schedule_maintenance(uow, POOL, 1, JUNE.start, JUNE.start + H, store.new_id)
        assert services.cancel_contract(uow, june.id, late).status == "cancelled"  # ends at once, in June


def test_quotas_cap_work_beyond_reservations(store: bootstrap.Context) -> None:
    now = MAY.start + H
    reservation = sign(store, in_may(16))
    on_demand = sign(store, in_may(0, ContractKind.ON_DEMAND))
    policy = Policy(default_quota_gpus=8)
    with store.uow() as uow:
        commercial.set_quota(uow, "research", POOL, 0)

    def submit(contract_id: str, gpus: int) -> Any:
        with store.uow() as uow:
            return live.submit_workload(uow, contract_id, 8, gpus // 8, 3600, now, store.new_id, policy=policy)

    refused = pytest.raises(QuotaExceeded)
    with refused:
        submit(on_demand.id, 32)  # 16 reserved + 8 quota
    jobs = [submit(reservation.id, 8), submit(reservation.id, 8), submit(on_demand.id, 8), submit(on_demand.id, 8)]
    with store.uow() as uow:
        live.LiveEngine(store.catalog, policy=policy).reconcile(uow, now)
        states = [uow.workloads.get(j.job.id).status for j in jobs]  # type: ignore[union-attr]
    assert sorted(states) == ["pending", "running", "running", "running"]  # 24 of 16 + 8: the fourth waits
    with store.uow() as uow:
        limits = commercial.set_quota(uow, "lab", POOL, 64)
    assert limits.quota(POOL, 8) == 64


def test_exposure_is_what_is_owed_or_committed_and_not_yet_invoiced(store: bootstrap.Context) -> None:
    sign(store, in_may(8))  # 8 GPUs x 744 h x $2.40 = $14,284.80, all after April
    od = sign(store, ContractRequest("lab", ContractKind.ON_DEMAND, POOL, MAY.start, JUNE.end))
    with store.uow() as uow:
        assert credit.exposure(uow, "t-lab", APRIL_15) == Decimal("14284.80")
        record = UsageRecord(
            usage_key(od.id, "j", MAY.start), "t-lab", od.id, POOL, "h100-sxm", 2000, MAY.start, MAY.start + H
        )
        billing.ingest_usage(uow, [record])  # 2 GPU-hours on demand at $3.00
    with store.uow() as uow:
        assert credit.exposure(uow, "t-lab", MAY.start + 2 * H) == Decimal("14290.80")
    _invoice_may(store)
    with store.uow() as uow:
        assert credit.exposure(uow, "t-lab", JUNE.start + 1) == 0  # invoiced: the receivable is billing's


def test_credit_limits_refuse_new_contracts_and_work(store: bootstrap.Context) -> None:
    first = sign(store, in_may(8))
    with store.uow() as uow:
        commercial.set_credit_limit(uow, "lab", Decimal("20000"))
    message = refused_without_change(
        store,
        CreditLimitExceeded,
        lambda uow: services.sign_contract(uow, in_may(8), store.catalog, store.new_id, APRIL_15),
    )
    assert "$28,569.60 of a $20,000.00 credit limit" in message
    od = sign(store, in_may(0, ContractKind.ON_DEMAND))  # commits nothing: within the limit
    with store.uow() as uow:
        commercial.set_credit_limit(uow, "lab", Decimal("14284.80"))  # exactly the exposure: at the limit
    with pytest.raises(CreditLimitExceeded):
        sign(store, in_may(0, ContractKind.ON_DEMAND))
    with pytest.raises(CreditLimitExceeded), store.uow() as uow:
        live.submit_workload(uow, od.id, 8, 1, 3600, MAY.start + H, store.new_id)
    with store.uow() as uow:
        commercial.set_credit_limit(uow, "lab", None)
        assert live.submit_workload(uow, first.id, 8, 1, 3600, MAY.start + H, store.new_id).status == "pending"


def test_the_signing_desk_keeps_credit_within_a_batch(api: Any) -> None:
    """Signed together, the batch's earlier contracts count against its later ones."""
    api("PUT", "/tenants/lab/credit-limit", "operator", json={"usd": "15000.00"})
    one_month = contract_body(8)  # 30 days + May: 8 x 61 days x 24 h x $2.40 = $28,108.80
    limits = api("GET", "/tenants/lab/limits", "lab")
    assert (limits["credit_limit"], limits["exposure"]) == ("15000.00", "0.00")
    refused = api("POST", "/contracts", "lab", json=one_month, status=402)
    assert refused["error"]["code"] == "credit_limit_exceeded"
    small = {**contract_body(1), "end": contract_body(1)["start"] + 24 * H}  # $57.60
    api("POST", "/contracts", "lab", json=small, status=201)
    assert api("GET", "/tenants/lab/limits", "lab")["exposure"] == "57.60"


def test_a_cancel_that_wins_the_race_leaves_the_extension_a_conflict(postgres_url: str) -> None:
    """On PostgreSQL (SQLite's single writer lets no two transactions race): an extension that read the
    contract before a cancellation committed sees the cancellation once it holds the pool's lock."""
    from neocloud.adapters.specs import parse_fleet
    from neocloud.core.contracts import TenantKind

    from ..builders import FLEET

    ctx = bootstrap.build(postgres_url)
    try:
        with ctx.uow() as uow:
            services.add_sites(uow, parse_fleet(FLEET, "fleet.yaml", ctx.catalog), ctx.catalog)
            services.add_tenant(uow, "lab", TenantKind.EXTERNAL, lambda p: "t-lab")
        contract = sign(ctx, in_may(8))
        with ctx.uow() as extending:
            lock = extending.ledger.load

            def cancelled_first(pools: Any, *, lock_: bool = True, **kw: Any) -> Any:
                extending.ledger.load = lock  # type: ignore[method-assign]
                with ctx.uow() as cancelling:  # another request, committed before ours takes the lock
                    services.cancel_contract(cancelling, contract.id, APRIL_15)
                return lock(pools, **kw)

            extending.ledger.load = cancelled_first  # type: ignore[method-assign]
            with pytest.raises(InvalidState, match="cancelled"):
                services.extend_contract(extending, contract.id, JUNE.end)
    finally:
        ctx.engine.dispose()


def test_keys_expire_and_remember_their_last_use(store: bootstrap.Context) -> None:
    wall = [1_000_000]
    with store.uow() as uow:
        key, secret = auth.create_key(uow, wall[0], store.new_id, "lab", expires_at=wall[0] + 10)
        with pytest.raises(InvalidInput):
            auth.create_key(uow, wall[0], store.new_id, "lab", expires_at=wall[0])
    keys = auth.KeyCache(ttl=60, clock=lambda: float(wall[0]), wall=lambda: wall[0])
    assert keys.authenticate(store.uow, secret).key_id == key.id
    with store.uow() as uow:
        assert uow.keys.get(key.id).last_used_at == wall[0]  # type: ignore[union-attr]
    wall[0] += 5
    keys.forget(key.id)
    keys.authenticate(store.uow, secret)
    with store.uow() as uow:
        assert uow.keys.get(key.id).last_used_at == wall[0] - 5  # type: ignore[union-attr]  # within a minute
    wall[0] += 5  # expired now; the cache kept it no longer than its expiry, whatever its ttl
    with pytest.raises(auth.Unauthenticated, match="expired"):
        keys.authenticate(store.uow, secret)


def test_keys_are_listed_without_secrets(api: Any) -> None:
    made = api("POST", "/tenants/lab/keys", "operator", json={"expires_at": MAY.start}, status=201)
    assert made["secret"].startswith("nck_")
    mine = items(api("GET", "/keys", "lab"))
    assert {k["tenant_id"] for k in mine} == {"t-lab"}
    assert made["id"] in {k["id"] for k in mine}
    assert all(k["secret"] is None and "digest" not in k for k in mine)
    assert {k["tenant_id"] for k in items(api("GET", "/keys", "operator"))} == {None, "t-lab", "t-research"}
    assert api("GET", "/keys", "lab", params={"tenant": "research"}, status=403)["error"]["code"] == "forbidden"
