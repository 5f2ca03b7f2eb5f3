"""The in-memory store (tests/memory_store.py) answers as the SQL store does: the same writes through every
repository, then every read and every page compared, on SQLite and PostgreSQL. The service tests on the fake
are only as good as this agreement."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal
from typing import Any

from neocloud import bootstrap
from neocloud.app import services
from neocloud.app.ports import ContractFilter
from neocloud.app.records import (
    Analysis,
    ApiKey,
    CurtailmentEvent,
    StoredInvoice,
    StoredResponse,
    StoredWorkload,
)
from neocloud.app.services import ContractRequest
from neocloud.core.assignment import Assignment
from neocloud.core.billing.invoice import BillingTerms
from neocloud.core.billing.metering import UsageRecord, usage_key
from neocloud.core.billing.rating import Outage
from neocloud.core.contracts import ContractKind, PriceAgreement, Terms
from neocloud.core.nodes import NodeEvent, NodeState
from neocloud.core.workload import Job, PriorityClass, WorkloadStatus

from ..builders import DAY, POOL, T0, reserved, seed
from ..memory_store import MemoryStore


def write_everything(ctx: Any) -> None:
    ids = itertools.count()

    def new_id(prefix: str) -> str:
        return f"{prefix}-{next(ids):04d}"

    with ctx.uow() as uow:
        signed = [
            services.sign_contract(uow, reserved(gpus, start=T0 + i * DAY, tenant=who), ctx.catalog, new_id, T0)
            for i, (gpus, who) in enumerate([(10, "lab"), (20, "research"), (5, "lab"), (7, "lab")])
        ]
        spot = ContractRequest("lab", ContractKind.SPOT, POOL, T0, T0 + DAY, preemption_notice_s=30)
        signed.append(services.sign_contract(uow, spot, ctx.catalog, new_id, T0))
        promised = ContractRequest(
            "research", ContractKind.RESERVED, POOL, T0, T0 + 2 * DAY, 3, sla_uptime=Decimal("0.99")
        )
        signed.append(services.sign_contract(uow, promised, ctx.catalog, new_id, T0))
        services.schedule_maintenance(uow, POOL, 3, T0, T0 + 2 * DAY, new_id)
    with ctx.uow() as uow:
        services.cancel_contract(uow, signed[2].id, T0 - DAY)
        services.extend_contract(uow, signed[0].id, T0 + 60 * DAY)
        uow.tenants.save_agreement(PriceAgreement("t-lab", POOL, ContractKind.RESERVED, Terms(Decimal("2.10"))))
        uow.tenants.save_agreement(PriceAgreement("t-lab", POOL, ContractKind.SPOT, Terms(Decimal("1.10"))))
        uow.tenants.save_agreement(PriceAgreement("t-research", POOL, ContractKind.INTERNAL, Terms()))
        uow.tenants.delete_agreement(("t-lab", POOL, ContractKind.SPOT))
        uow.tenants.save_credit_limit("t-lab", Decimal("1000.00"))
        uow.tenants.save_quota("t-lab", POOL, 64)
        uow.tenants.save_quota("t-research", POOL, 8)
        uow.tenants.save_quota("t-research", POOL, None)
        first = signed[0]
        records = [
            UsageRecord(usage_key(first.id, f"j{i}", T0 + i * 600), "t-lab", first.id, POOL, "h100-sxm", 8000,
                        T0 + i * 600, T0 + i * 600 + 300, f"j{i}")
            for i in range(5)
        ]  # fmt: skip
        uow.billing.save_usage(records)
        uow.billing.add_incident("inc-2", Outage(POOL, T0 + DAY, T0 + DAY + 60, 8, None), "fans")
        uow.billing.add_incident("inc-1", Outage(POOL, T0, T0 + 60, None, first.id), "power")
        uow.billing.save_invoice(StoredInvoice("inv-2", "t-research", "2027-01", T0, ()))
        uow.billing.save_invoice(StoredInvoice("inv-1", "t-lab", "2027-01", T0, ()))
        uow.billing.save_terms(first.id, BillingTerms(Decimal("100.00"), Decimal("50.00")))
        for i, tenant in enumerate(["t-lab", None, "t-research"]):
            uow.keys.save(ApiKey(f"key-{i}", f"digest-{i}", "tenant" if tenant else "operator", tenant, T0 - i))
        uow.keys.touch("key-0", T0 + 5)
        uow.keys.store_responses([("t-lab", "idem-1", StoredResponse("f", 201, "{}"))], T0)
        for i, status in enumerate(WorkloadStatus):
            job = Job(f"w{i}", T0 + 10 - i, 3600, 1, 2, "t-lab", PriorityClass.RESERVED)
            uow.workloads.save(StoredWorkload(job, first.id, status, 3600))
        capped = Job("w-capped", T0, 3600, 8, 1, "t-lab", PriorityClass.SPOT)  # held to a site's power budget
        uow.workloads.save(
            StoredWorkload(capped, signed[4].id, WorkloadStatus.RUNNING, 3000, started=T0, first_start=T0,
                           allocation=(("n1", 8),), cap_w=300, pace=2.5, paced_at=T0 + 60, stops_at=T0 + 600)
        )  # fmt: skip
        uow.billing.add_incident("inc-3", Outage(POOL, T0 + 100, T0 + 200, 4, first.id), "curtailment cur-2")
        uow.billing.add_incident("inc-4", Outage(POOL, T0 + 300, T0 + 400, 4, first.id), "curtailment cur-3")
        for event in (
            CurtailmentEvent("cur-2", "s1", Decimal("0.5"), T0 + 100, T0 + 200, T0, "cooling fault", ("inc-3",)),
            CurtailmentEvent("cur-1", "s1", Decimal("0.25"), T0 + 10, T0 + 50, T0, "grid notice"),
            CurtailmentEvent("cur-3", "s1", Decimal("0.1"), T0 + 300, T0 + 400, T0, "withdrawn", ("inc-4",)),
        ):
            uow.fleet.save_curtailment(event)
        uow.fleet.save_curtailment(  # lifted early, with its incident
            CurtailmentEvent("cur-2", "s1", Decimal("0.5"), T0 + 100, T0 + 150, T0, "cooling fault", ("inc-3",))
        )
        uow.billing.end_incident("inc-3", T0 + 150)
        uow.fleet.remove_curtailment("cur-3")  # withdrawn, with its incident
        uow.billing.remove_incident("inc-4")
        for node, state, at in [("n1", NodeState.DRAINING, T0), ("n2", NodeState.DOWN, T0), ("n1", NodeState.DOWN, T0)]:
            uow.nodes.add(NodeEvent(node, state, at, f"{node} {state}"))
        spans = [Assignment(signed[i].id, POOL, f"n{k}", T0 + k) for i, k in [(1, 4), (0, 2), (0, 1), (1, 3)]]
        uow.assignments.add(spans)
        uow.assignments.save(replace(spans[2], until=T0 + DAY, down_since=T0 + 9))
        uow.assignments.save(replace(spans[1], down_since=T0 + 7))
        for i in range(3):
            uow.analyses.add(
                Analysis(f"an-{i}", "comparison", f"run {i}", {"trace": "synthetic:10"}, T0 + i % 2, "key-1")
            )
        uow.analyses.save(
            Analysis("an-1", "comparison", "run 1", {}, T0 + 1, "key-1", result={"jobs": 10}, report="<p>")
        )


def every_read(ctx: Any) -> dict[str, Any]:
    def pages(fetch: Callable[..., list[Any]], key: Callable[[Any], Any], *args: Any) -> list[list[Any]]:
        """The whole list, one item per page: the pages must be the list."""
        out, after = [], None
        while chunk := fetch(*args, after=after, limit=1):
            out.append(chunk)
            after = key(chunk[-1])
        return out

    with ctx.uow() as uow:
        contracts = uow.contracts.page()
        first = contracts[0].id if contracts else "c-none"
        ledger = uow.ledger.load([POOL], lock=True)
        return {
            "sites": uow.fleet.list_sites(),
            "pools": uow.fleet.list_pools(),
            "pool": uow.fleet.get_pool(POOL),
            "no pool": uow.fleet.get_pool("s1/none"),
            "curtailments": uow.fleet.curtailments(None, T0, T0 + DAY),
            "curtailments of s1 at T0 + 150": uow.fleet.curtailments("s1", T0 + 150, T0 + 151),
            "curtailments of nowhere": uow.fleet.curtailments("s9", T0, T0 + DAY),
            "curtailment": uow.fleet.get_curtailment("cur-2"),
            "withdrawn curtailment": uow.fleet.get_curtailment("cur-3"),
            "incidents by id": uow.billing.get_incidents(["inc-4", "inc-3", "inc-1", "inc-x"]),
            "holds": sorted(ledger.holds(POOL), key=lambda h: h.id),
            "tenants": uow.tenants.page(),
            "tenant by name": uow.tenants.get("lab"),
            "tenant by id": uow.tenants.get("t-research"),
            "tenant pages": pages(uow.tenants.page, lambda t: (t.name,)),
            "agreements": uow.tenants.list_agreements(),
            "lab agreements": uow.tenants.list_agreements("t-lab"),
            "agreement pages": pages(uow.tenants.list_agreements, lambda a: (a.tenant_id, a.pool, str(a.kind))),
            "got agreements": uow.tenants.get_agreements(
                [("t-lab", POOL, ContractKind.RESERVED), ("t-lab", POOL, ContractKind.SPOT)]
            ),
            "limits": uow.tenants.get_limits(["t-lab", "t-research", "t-none"]),
            "contracts": contracts,
            "lab contracts": uow.contracts.page("t-lab"),
            "contract pages": pages(uow.contracts.page, lambda c: (c.start, c.id)),
            "latest contracts": [uow.contracts.latest(t, n) for t in (None, "t-lab", "t-none") for n in (1, 100)],
            "filtered contracts": [
                uow.contracts.latest(None, 100, where=f)
                for f in (
                    ContractFilter(kind="reserved", order="gpus"),
                    ContractFilter(pool=POOL, order="end"),
                    ContractFilter(status="active", order="price"),
                    ContractFilter(kind="spot", pool="none"),
                )
            ],
            "in force": [
                uow.contracts.in_force(T0 + s, T0 + e, kind=k, promised=p)
                for s, e in ((0, DAY), (-DAY, 0), (DAY, 400 * DAY))
                for k in (None, ContractKind.RESERVED, ContractKind.SPOT)
                for p in (False, True)
            ],
            "lab's in force": uow.contracts.in_force(T0, T0 + DAY, tenant_id="t-lab"),
            "many": uow.contracts.get_many([c.id for c in contracts[:2]] + ["c-none"]),
            "holding": uow.contracts.holding([POOL], T0 + DAY),
            "usage": uow.billing.usage_between(T0, T0 + DAY),
            "usage pages": pages(uow.billing.usage_between, lambda r: (r.start, r.key), T0, T0 + DAY, "t-lab"),
            "usage by key": sorted(uow.billing.usage_by_keys([usage_key(first, "j1", T0 + 600)])),
            "usage of jobs": sorted(uow.billing.usage_of_jobs([(first, "j2"), (first, "jx")])),
            "invoiced": {t: sorted(p) for t, p in uow.billing.invoiced_periods(["t-lab", "t-research"]).items()},
            "invoiced on pool": uow.billing.invoiced_periods_on_pool(POOL),
            "invoices": uow.billing.list_invoices(),
            "invoice pages": pages(uow.billing.list_invoices, lambda i: (i.period, i.tenant_id)),
            "incidents": uow.billing.list_incidents([POOL], T0, T0 + 2 * DAY),
            "outages": uow.billing.incidents_between([POOL], T0, T0 + 2 * DAY),
            "terms": uow.billing.get_terms([c.id for c in contracts]),
            "keys": uow.keys.page(),
            "key pages": pages(uow.keys.page, lambda k: (k.created_at, k.id)),
            "key by digest": uow.keys.by_digest("digest-2"),
            "responses": uow.keys.stored_responses([("t-lab", "idem-1"), ("t-lab", "idem-2")]),
            "workloads": uow.workloads.page(),
            "workload pages": pages(uow.workloads.page, lambda w: (w.job.submit, w.job.id)),
            "active": uow.workloads.active(lock=False),
            "latest workloads": [
                uow.workloads.latest(t, n, active=a) for t in (None, "t-lab") for n in (1, 9) for a in (False, True)
            ],
            "counted": uow.workloads.count(),
            "invoiced totals": uow.billing.invoiced_totals(),
            "running": [uow.workloads.running(t) for t in ("t-lab", "t-research")],
            "analyses": [uow.analyses.latest(n) for n in (1, 10)],
            "analysis": [uow.analyses.get(i) for i in ("an-1", "an-9")],
            "claimed": [uow.analyses.claim(T0 + 5, T0 - 600) for _ in range(4)],
            "node history": uow.nodes.history("n1"),
            "no history": uow.nodes.history("n3"),
            "node states": uow.nodes.current(),
            "assigned now": uow.assignments.current(),
            "spans of a contract": uow.assignments.of_contract(first),
        }


def test_the_fake_reads_what_the_store_reads(store: bootstrap.Context, memory: MemoryStore) -> None:
    write_everything(store)
    write_everything(memory)
    real, fake = every_read(store), every_read(memory)
    assert all(
        real[what] for what in ("contracts", "usage pages", "holding", "workloads", "node states", "assigned now")
    )  # compares something
    for what in real:
        assert fake[what] == real[what], what


def test_a_refusal_changes_neither(store: bootstrap.Context, catalog: Any) -> None:
    fresh = seed(MemoryStore(catalog))
    for ctx in (store, fresh):
        before = every_read(ctx)
        try:
            with ctx.uow() as uow:
                uow.tenants.save_quota("t-lab", POOL, 1)
                raise RuntimeError("refused")
        except RuntimeError:
            pass
        assert every_read(ctx) == before
