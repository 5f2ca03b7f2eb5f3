"""The neocloud API from Python: the client the CLI uses, and the SDK to script neocloud with.

    from neocloud.client import Client

    with Client("http://127.0.0.1:8000", api_key="nck_...") as nc:
        quote = nc.capacity.free("colossus-1/h100-sxm", start=1798761600, end=1801353600)
        signed = nc.contracts.sign(pool="colossus-1/h100-sxm", start=1798761600, end=1801353600, gpus=8)
        for contract in nc.pages(nc.contracts.list):
            print(contract.id, contract.gpus)

    with Client.local() as nc:  # the same API in this process, on the local store, as the operator
        ...

Every answer is the API's own model (neocloud.api.schemas); every refusal raises ApiError with the API's
stable code, message and details. Lists return one Page; `pages` walks them all.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterator, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote as url_quote

import httpx2 as httpx
from pydantic import BaseModel

from neocloud.api import schemas as s
from neocloud.core.errors import NeocloudError

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")
__all__ = ["ApiError", "Client"]


class ApiError(NeocloudError):
    """A refusal from the API (or no answer): its stable code, message and details, and the HTTP status."""

    def __init__(self, code: str, message: str, details: dict[str, Any] | None = None, status: int = 0) -> None:
        super().__init__(message, **(details or {}))
        self.code = code
        self.status = status


def _clean(values: dict[str, Any]) -> dict[str, Any]:
    """Parameters as sent: without those not given, decimals as exact strings."""
    return {k: str(v) if isinstance(v, Decimal) else v for k, v in values.items() if v is not None}


class Client:
    def __init__(self, base_url: str, api_key: str | None = None, *, timeout: float = 60, transport: Any = None):
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.http = httpx.Client(
            base_url=base_url.rstrip("/") + "/v1", headers=headers, timeout=timeout, transport=transport
        )
        self.closing: list[Callable[[], None]] = [self.http.close]
        self.fleet = Fleet(self)
        self.capacity = Capacity(self)
        self.contracts = Contracts(self)
        self.tenants = Tenants(self)
        self.keys = Keys(self)
        self.agreements = Agreements(self)
        self.limits = Limits(self)
        self.maintenance = Maintenance(self)
        self.workloads = Workloads(self)
        self.usage = Usage(self)
        self.invoices = Invoices(self)
        self.incidents = Incidents(self)
        self.revenue = Revenue(self)
        self.nodes = Nodes(self)
        self.analyses = Analyses(self)

    @classmethod
    def local(cls, db_url: str | None = None, catalog: Path | None = None) -> Client:
        """The API in this process on the local store (created and migrated if need be), as the operator."""
        from neocloud.client.local import local_client

        return local_client(cls, db_url, catalog)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for close in reversed(self.closing):
            close()

    def pages(self, list_page: Callable[..., s.Page[T]], *args: Any, **kw: Any) -> Iterator[T]:
        """Every item of a list, page after page (`list_page`: one of the clients' `list` calls)."""
        cursor = kw.pop("cursor", None)
        while True:
            page = list_page(*args, cursor=cursor, **kw)
            yield from page.items
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    # The wire -------------------------------------------------------------------------------------------

    def send(self, method: str, path: str, **kw: Any) -> httpx.Response:
        try:
            response = self.http.request(method, path, **kw)
        except httpx.TransportError as exc:
            raise ApiError("server_unreachable", f"cannot reach {self.http.base_url}: {exc}") from None
        if response.status_code >= 400:
            try:
                error = response.json().get("error", {})
            except (ValueError, AttributeError):
                error = {}
            raise ApiError(
                error.get("code", f"http_{response.status_code}"),
                error.get("message", response.text[:200]),
                error.get("details", {}),
                response.status_code,
            )
        return response

    def get(self, model: type[M], path: str, **params: Any) -> M:
        return model.model_validate(self.send("GET", path, params=_clean(params)).json())

    def post(
        self,
        model: type[M],
        path: str,
        body: dict[str, Any] | None = None,
        method: str = "POST",
        headers: dict[str, str] | None = None,
    ) -> M:
        body = None if body is None else _clean(body)
        return model.model_validate(self.send(method, path, json=body, headers=headers).json())


class _Resource:
    def __init__(self, client: Client) -> None:
        self.c = client


class Fleet(_Resource):
    def sites(self, cursor: str | None = None, limit: int | None = None) -> s.Page[s.SiteOut]:
        return self.c.get(s.Page[s.SiteOut], "/sites", cursor=cursor, limit=limit)

    def pools(self, cursor: str | None = None, limit: int | None = None) -> s.Page[s.PoolOut]:
        return self.c.get(s.Page[s.PoolOut], "/pools", cursor=cursor, limit=limit)

    def power(
        self, site: str, caps: dict[str, int] | None = None, mw: str | None = None, kind: str = "training"
    ) -> s.SitePowerOut:
        """A site's power under caps (watts by GPU model): draw, throughput, GPUs in its budget and in `mw` MW."""
        cap = [f"{m}={w}" for m, w in (caps or {}).items()] or None
        return self.c.get(s.SitePowerOut, f"/sites/{url_quote(site, safe='')}/power", cap=cap, mw=mw, kind=kind)

    def curtailment(self, site: str, depth: str, start: int, end: int) -> s.DrillOut:
        """A curtailment drill (operator; writes nothing): whose work a cut of `depth` of the site's budget over
        [start, end) would cap or stop, and the SLA credits it would cost."""
        path = f"/sites/{url_quote(site, safe='')}/curtailment"
        return self.c.get(s.DrillOut, path, depth=depth, start=start, end=end)

    def curtail(self, site: str, depth: str, start: int, end: int, description: str = "") -> s.AppliedOut:
        """Apply a curtailment (operator): the live engine keeps the site's work within the budget left, and
        reserved power cut below contract is recorded as incidents (SLA credits follow on the invoice)."""
        body = {"depth": depth, "start": start, "end": end, "description": description}
        return self.c.post(s.AppliedOut, f"/sites/{url_quote(site, safe='')}/curtailments", body)

    def lift(self, site: str, curtailment_id: str, end: int | None = None) -> s.LiftedOut:
        """Lift a curtailment early (operator), at `end` (default now): the site's work may draw its whole feed
        again, and its incidents end then too; one that has not begun is withdrawn, with its incidents."""
        path = f"/sites/{url_quote(site, safe='')}/curtailments/{url_quote(curtailment_id, safe='')}/lift"
        return self.c.post(s.LiftedOut, path, {"end": end})

    def curtailments(self, site: str, start: int, end: int) -> builtins.list[s.CurtailmentOut]:
        """The site's curtailments overlapping [start, end)."""
        path = f"/sites/{url_quote(site, safe='')}/curtailments"
        found = self.c.send("GET", path, params={"start": start, "end": end}).json()
        return [s.CurtailmentOut.model_validate(e) for e in found]


class Capacity(_Resource):
    def free(self, pool: str, start: int, end: int, power: bool = False, cap_w: int | None = None) -> s.FreeOut:
        """GPUs free over [start, end); with `power` (or a cap), how many of them the site's power holds."""
        return self.c.get(
            s.FreeOut, "/capacity/free", pool=pool, start=start, end=end, power=power or None, cap_w=cap_w
        )

    def power(self, site: str, start: int, end: int, limit: int | None = None) -> s.PowerProfileOut:
        """What contracts draw on each node of a site's power tree over [start, end), step by step."""
        return self.c.get(s.PowerProfileOut, f"/sites/{site}/power/profile", start=start, end=end, limit=limit)

    def profile(
        self, pool: str, start: int, end: int, cursor: str | None = None, limit: int | None = None
    ) -> s.Page[s.StepOut]:
        return self.c.get(
            s.Page[s.StepOut], "/capacity/profile", pool=pool, start=start, end=end, cursor=cursor, limit=limit
        )

    def earliest(self, pool: str, gpus: int, duration: int, not_before: int) -> s.EarliestOut:
        return self.c.get(
            s.EarliestOut, "/capacity/earliest", pool=pool, gpus=gpus, duration=duration, not_before=not_before
        )


class Contracts(_Resource):
    def sign(self, idempotency_key: str | None = None, **fields: Any) -> s.ContractOut:
        """Fields of ContractIn: pool, start, end, gpus (or mw), cap_w, kind; tenant and terms from operators
        only. With an idempotency key, a retry (after a timeout, say) gets the first signing's answer, never a
        second one."""
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        return self.c.post(s.ContractOut, "/contracts", fields, headers=headers)

    def quote(
        self,
        pool: str,
        start: int,
        end: int,
        kind: str = "reserved",
        gpus: int = 0,
        tenant: str | None = None,
        cap_w: int | None = None,
        mw: str | None = None,
    ) -> s.QuoteOut:
        """What signing would cost and whether it fits now (writes nothing; operators name the tenant). `mw`
        instead of `gpus`: the GPUs that fit in those megawatts at the cap."""
        return self.c.get(
            s.QuoteOut,
            "/quote",
            pool=pool,
            start=start,
            end=end,
            kind=kind,
            gpus=gpus,
            tenant=tenant,
            cap_w=cap_w,
            mw=mw,
        )

    def list(
        self, tenant: str | None = None, cursor: str | None = None, limit: int | None = None
    ) -> s.Page[s.ContractOut]:
        return self.c.get(s.Page[s.ContractOut], "/contracts", tenant=tenant, cursor=cursor, limit=limit)

    def get(self, contract_id: str) -> s.ContractOut:
        return self.c.get(s.ContractOut, f"/contracts/{contract_id}")

    def nodes(self, contract_id: str) -> builtins.list[s.AssignmentOut]:
        """The contract's nodes, span by span, oldest first."""
        spans = self.c.send("GET", f"/contracts/{contract_id}/nodes").json()
        return [s.AssignmentOut.model_validate(span) for span in spans]

    def cancel(self, contract_id: str) -> s.ContractOut:
        return self.c.post(s.ContractOut, f"/contracts/{contract_id}/cancel")

    def extend(self, contract_id: str, end: int) -> s.ContractOut:
        return self.c.post(s.ContractOut, f"/contracts/{contract_id}/extend", {"end": end})

    def set_terms(self, contract_id: str, minimum: Decimal, prepaid: Decimal) -> s.TermsOut:
        body = {"minimum_per_period": minimum, "prepaid_balance": prepaid}
        return self.c.post(s.TermsOut, f"/contracts/{contract_id}/terms", body, method="PUT")


class Tenants(_Resource):
    def add(self, name: str, kind: str = "external") -> s.TenantOut:
        return self.c.post(s.TenantOut, "/tenants", {"name": name, "kind": kind})

    def list(self, cursor: str | None = None, limit: int | None = None) -> s.Page[s.TenantOut]:
        return self.c.get(s.Page[s.TenantOut], "/tenants", cursor=cursor, limit=limit)


class Keys(_Resource):
    def create(self, tenant: str, expires_at: int | None = None) -> s.KeyOut:
        return self.c.post(s.KeyOut, f"/tenants/{tenant}/keys", {"expires_at": expires_at})

    def list(self, tenant: str | None = None, cursor: str | None = None, limit: int | None = None) -> s.Page[s.KeyOut]:
        return self.c.get(s.Page[s.KeyOut], "/keys", tenant=tenant, cursor=cursor, limit=limit)

    def revoke(self, key_id: str) -> s.KeyOut:
        return self.c.post(s.KeyOut, f"/keys/{key_id}/revoke")


class Agreements(_Resource):
    def set(self, **fields: Any) -> s.AgreementOut:
        """Fields of AgreementIn: tenant, pool, kind and the terms."""
        return self.c.post(s.AgreementOut, "/agreements", fields, method="PUT")

    def list(
        self, tenant: str | None = None, cursor: str | None = None, limit: int | None = None
    ) -> s.Page[s.AgreementOut]:
        return self.c.get(s.Page[s.AgreementOut], "/agreements", tenant=tenant, cursor=cursor, limit=limit)

    def end(self, tenant: str, pool: str, kind: str = "reserved") -> None:
        self.c.send("DELETE", "/agreements", params={"tenant": tenant, "pool": pool, "kind": kind})


class Limits(_Resource):
    def get(self, tenant: str) -> s.LimitsOut:
        return self.c.get(s.LimitsOut, f"/tenants/{tenant}/limits")

    def set_credit(self, tenant: str, usd: Decimal | None) -> s.LimitsOut:
        body = {"usd": None if usd is None else str(usd)}
        return s.LimitsOut.model_validate(self.c.send("PUT", f"/tenants/{tenant}/credit-limit", json=body).json())

    def set_quota(self, tenant: str, pool: str, gpus: int | None) -> s.LimitsOut:
        body = {"pool": pool, "gpus": gpus}
        return s.LimitsOut.model_validate(self.c.send("PUT", f"/tenants/{tenant}/quotas", json=body).json())


class Maintenance(_Resource):
    def add(self, pool: str, gpus: int, start: int, end: int) -> s.HoldOut:
        return self.c.post(s.HoldOut, "/maintenance", {"pool": pool, "gpus": gpus, "start": start, "end": end})

    def holds(self, pool: str, cursor: str | None = None, limit: int | None = None) -> s.Page[s.HoldOut]:
        return self.c.get(s.Page[s.HoldOut], "/holds", pool=pool, cursor=cursor, limit=limit)

    def cancel(self, pool: str, hold_id: str) -> s.HoldOut:
        return s.HoldOut.model_validate(
            self.c.send("POST", f"/maintenance/{hold_id}/cancel", params={"pool": pool}).json()
        )


class Workloads(_Resource):
    def submit(
        self,
        contract_id: str,
        duration: int,
        gpus_per_task: int = 1,
        tasks: int = 1,
        command: dict[str, Any] | None = None,
        stages: Sequence[float] | None = None,
        iteration: float | None = None,
    ) -> s.WorkloadOut:
        """`command`: CommandIn's fields (run, env, workdir, output), for a real executor. `stages`: seconds of
        each stage of one training iteration alone, and `iteration` the whole (default: their sum), for
        interleaving orderings (Muri)."""
        body: dict[str, Any] = {
            "contract_id": contract_id, "gpus_per_task": gpus_per_task, "tasks": tasks, "duration": duration
        }  # fmt: skip
        if command:
            body["command"] = command
        if stages is not None:
            body["stages"] = list(stages)
        if iteration is not None:
            body["iteration"] = iteration
        return self.c.post(s.WorkloadOut, "/workloads", body)

    def list(
        self, tenant: str | None = None, cursor: str | None = None, limit: int | None = None
    ) -> s.Page[s.WorkloadOut]:
        return self.c.get(s.Page[s.WorkloadOut], "/workloads", tenant=tenant, cursor=cursor, limit=limit)

    def get(self, workload_id: str) -> s.WorkloadOut:
        return self.c.get(s.WorkloadOut, f"/workloads/{workload_id}")

    def cancel(self, workload_id: str) -> s.WorkloadOut:
        return self.c.post(s.WorkloadOut, f"/workloads/{workload_id}/cancel")


class Usage(_Resource):
    def add(self, records: list[dict[str, Any]]) -> s.UsageAdded:
        """Runs (contract_id, job, milli_gpus, start, end, preempted): all recorded, or none."""
        return self.c.post(s.UsageAdded, "/usage", {"records": records})

    def list(
        self, period: str, tenant: str | None = None, cursor: str | None = None, limit: int | None = None
    ) -> s.Page[s.UsageOut]:
        return self.c.get(s.Page[s.UsageOut], "/usage", period=period, tenant=tenant, cursor=cursor, limit=limit)


class Invoices(_Resource):
    def generate(self, tenant: str, period: str) -> s.InvoiceOut:
        return self.c.post(s.InvoiceOut, "/invoices", {"tenant": tenant, "period": period})

    def list(
        self, tenant: str | None = None, cursor: str | None = None, limit: int | None = None
    ) -> s.Page[s.InvoiceOut]:
        return self.c.get(s.Page[s.InvoiceOut], "/invoices", tenant=tenant, cursor=cursor, limit=limit)

    def get(self, invoice_id: str) -> s.InvoiceOut:
        return self.c.get(s.InvoiceOut, f"/invoices/{invoice_id}")

    def export(self, invoice_id: str, format: str = "html") -> str:
        return self.c.send("GET", f"/invoices/{invoice_id}/export", params={"format": format}).text

    def to_date(self, tenant: str | None = None) -> s.BillOut:
        """The running bill: this month rated up to now, before its invoice (operators name the tenant)."""
        return self.c.get(s.BillOut, "/bill", tenant=tenant)


class Incidents(_Resource):
    def add(self, **fields: Any) -> s.IncidentOut:
        """Fields of IncidentIn: pool, start, end, and gpus, contract_id, description."""
        return self.c.post(s.IncidentOut, "/incidents", fields)

    def list(
        self, period: str, pools: list[str] | None = None, cursor: str | None = None, limit: int | None = None
    ) -> s.Page[s.IncidentOut]:
        return self.c.get(s.Page[s.IncidentOut], "/incidents", period=period, pool=pools, cursor=cursor, limit=limit)


class Revenue(_Resource):
    def list(
        self, period: str | None = None, cursor: str | None = None, limit: int | None = None
    ) -> s.Page[s.RevenueRowOut]:
        return self.c.get(s.Page[s.RevenueRowOut], "/revenue", period=period, cursor=cursor, limit=limit)

    def availability(
        self, period: str, cursor: str | None = None, limit: int | None = None
    ) -> s.Page[s.AvailabilityOut]:
        return self.c.get(s.Page[s.AvailabilityOut], "/availability", period=period, cursor=cursor, limit=limit)

    def capacity(self, period: str, cursor: str | None = None, limit: int | None = None) -> s.Page[s.CapacityUseOut]:
        return self.c.get(s.Page[s.CapacityUseOut], "/revenue/capacity", period=period, cursor=cursor, limit=limit)


class Analyses(_Resource):
    """Scenarios and policy comparisons the server runs in a worker (operator keys)."""

    def scenario(self, scenario: str | None = None, title: str = "") -> s.AnalysisOut:
        """Queue the default scenario, or `scenario` (YAML over the default)."""
        return self.c.post(s.AnalysisOut, "/analyses/scenario", {"scenario": scenario, "title": title})

    def compare(
        self,
        trace: str,
        fleet: str = "uniform:8x8",
        policies: Sequence[str] = ("fifo", "sjf", "srtf"),
        placements: Sequence[str] = ("bestfit",),
        seed: int = 0,
        title: str = "",
        tiresias_queues: Sequence[int] = (3250, 7200),
        tiresias_starvation: float = 0.0,
        power: s.ReplayPowerIn | Mapping[str, Any] | None = None,
        caps: Mapping[str, int] | None = None,
        work_kind: str = "training",
    ) -> s.AnalysisOut:
        """Queue policies side by side; `tiresias_*` set Tiresias's queues (GPU-seconds) and promotion factor;
        `power` keeps the fleet's site power in every run (curtailments, ramp limits, capping); `caps` (watts
        by GPU model) run the fleet's GPUs capped, slowing `work_kind` work."""
        body: dict[str, Any] = {
            "trace": trace,
            "fleet": fleet,
            "policies": list(policies),
            "placements": list(placements),
        }
        tiresias = {"tiresias_queues": list(tiresias_queues), "tiresias_starvation": tiresias_starvation}
        if power is not None:
            body["power"] = power.model_dump(mode="json") if isinstance(power, s.ReplayPowerIn) else dict(power)
        if caps:
            body |= {"caps": dict(caps), "work_kind": work_kind}
        return self.c.post(s.AnalysisOut, "/analyses/comparison", {**body, "seed": seed, "title": title, **tiresias})

    def list(self, limit: int | None = None) -> s.AnalysesOut:
        return self.c.get(s.AnalysesOut, "/analyses", limit=limit)

    def get(self, analysis_id: str) -> s.AnalysisOut:
        return self.c.get(s.AnalysisOut, f"/analyses/{analysis_id}")

    def report(self, analysis_id: str) -> str:
        return self.c.send("GET", f"/analyses/{analysis_id}/report").text


class Nodes(_Resource):
    def list(
        self,
        pool: str | None = None,
        state: str | None = None,
        tenant: str | None = None,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> s.Page[s.NodeOut]:
        query = {"pool": pool, "state": state, "tenant": tenant, "cursor": cursor, "limit": limit}
        return self.c.get(s.Page[s.NodeOut], "/nodes", **query)

    def states(
        self, pool: str | None = None, cursor: str | None = None, limit: int | None = None
    ) -> s.Page[s.StateCountOut]:
        return self.c.get(s.Page[s.StateCountOut], "/nodes/states", pool=pool, cursor=cursor, limit=limit)

    def get(self, name: str) -> s.NodeDetailOut:
        return self.c.get(s.NodeDetailOut, f"/nodes/{name}")

    def spares(self, pool: str, units: int | None = None) -> s.SparesOut:
        """The pool's spares; with `units`, keep that many unsold from now on."""
        if units is None:
            return self.c.get(s.SparesOut, "/spares", pool=pool)
        return self.c.post(s.SparesOut, "/spares", {"pool": pool, "units": units}, method="PUT")

    def change(self, name: str, action: str, reason: str = "") -> s.NodeOut:
        """`action`: drain, resume, down or maintenance."""
        return self.c.post(s.NodeOut, f"/nodes/{name}/{action}", {"reason": reason})
