"""Request and response bodies, with examples for the OpenAPI document. Money and rates are decimal strings."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from neocloud.core.contracts import ContractKind, TenantKind


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class ErrorBody(BaseModel):
    code: str = Field(examples=["overbooked"])
    message: str = Field(examples=["pool colossus-1/h100-sxm: 60,000 GPUs over [...) exceed its free capacity"])
    details: dict[str, Any] = Field(default_factory=dict)


class ErrorOut(BaseModel):
    error: ErrorBody


class Health(BaseModel):
    status: str = Field(examples=["ok"])


class TenantIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200, examples=["frontier-lab"])
    kind: TenantKind = TenantKind.EXTERNAL


class TenantOut(_Out):
    id: str = Field(examples=["t-3100b0c7b490"])
    name: str
    kind: TenantKind


class KeyOut(BaseModel):
    id: str = Field(examples=["key-5b1e0c9a7f21"])
    role: str = Field(examples=["tenant"])
    tenant_id: str | None
    secret: str | None = Field(None, description="Shown once, when the key is created.", examples=["nck_..."])
    revoked_at: int | None = None


class PoolOut(_Out):
    name: str = Field(examples=["colossus-1/h100-sxm"])
    site: str
    gpu_model: str
    block: str | None
    gpus: int


class ContractIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tenant: str | None = Field(None, description="Tenant id or name; operators only (tenants sign for themselves).")
    kind: ContractKind = ContractKind.RESERVED
    pool: str = Field(examples=["colossus-1/h100-sxm"])
    start: int = Field(description="Unix seconds", examples=[1798761600])
    end: int = Field(description="Unix seconds, after start", examples=[1893456000])
    gpus: int = Field(0, ge=0, examples=[1000])
    price_per_gpu_hour: str | None = Field(None, examples=["2.40"])
    take_or_pay: bool = True
    termination_notice_days: int = Field(0, ge=0)
    sla_uptime: str | None = Field(None, examples=["0.99"])
    overage_per_gpu_hour: str | None = None
    preemption_notice_s: int = Field(0, ge=0)


class ContractOut(BaseModel):
    id: str
    tenant_id: str
    kind: ContractKind
    pool: str
    start: int
    end: int
    price_per_gpu_hour: str
    gpus: int
    take_or_pay: bool
    termination_notice_days: int
    sla_uptime: str | None
    overage_per_gpu_hour: str | None
    preemption_notice_s: int
    status: str
    cancelled_at: int | None


class FreeOut(BaseModel):
    pool: str
    start: int
    end: int
    free: int = Field(examples=[50016])


class StepOut(BaseModel):
    start: int
    end: int
    installed: int
    maintenance: int
    held: int
    free: int


class EarliestOut(BaseModel):
    pool: str
    gpus: int
    duration: int
    start: int
    end: int


class UsageOut(BaseModel):
    key: str
    tenant_id: str
    contract_id: str
    pool: str
    gpu_model: str
    milli_gpus: int
    start: int
    end: int
    job_id: str
    preempted: bool


class LineOut(BaseModel):
    contract_id: str
    kind: str = Field(examples=["commitment"])
    description: str
    quantity: str = Field(examples=["720000.000000"])
    unit: str = Field(examples=["GPU-hour"])
    unit_price: str = Field(examples=["2.40"])
    amount: str = Field(examples=["1728000.00"])


class InvoiceOut(BaseModel):
    id: str
    tenant_id: str
    period: str = Field(examples=["2027-04"])
    issued_at: int
    total: str
    lines: list[LineOut]


class InvoiceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tenant: str
    period: str = Field(pattern=r"^\d{4}-\d{2}$", examples=["2027-04"])


class WorkloadIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    contract_id: str = Field(description="The contract the work runs (and is billed) under.")
    gpus_per_task: int = Field(1, gt=0, examples=[8])
    tasks: int = Field(1, gt=0, examples=[4])
    duration: int = Field(
        gt=0, description="Seconds the work takes (the stand-in executor runs it that long).", examples=[3600]
    )


class WorkloadOut(BaseModel):
    id: str
    tenant_id: str
    contract_id: str
    gpus: int
    duration: int
    submit: int
    status: str = Field(examples=["running"])
    started: int | None
    first_start: int | None
    finished: int | None
    preemptions: int
    allocation: list[tuple[str, int]] | None


class ExtendIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    end: int = Field(description="The new end, Unix seconds (after the current one).", examples=[1806537600])


class TermsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    minimum_per_period: str = Field("0", description="Minimum spend per month, USD.", examples=["100000.00"])
    prepaid_balance: str = Field("0", description="Prepaid balance the invoices draw down, USD.", examples=["0"])


class TermsOut(BaseModel):
    contract_id: str
    minimum_per_period: str
    prepaid_balance: str


class HoldOut(BaseModel):
    id: str
    pool: str
    gpus: int
    start: int
    end: int
    kind: str = Field(examples=["maintenance"])
    contract_id: str | None


class MaintenanceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    pool: str = Field(examples=["colossus-1/h100-sxm"])
    gpus: int = Field(gt=0, examples=[512])
    start: int
    end: int


class IncidentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    pool: str = Field(examples=["colossus-1/h100-sxm"])
    start: int
    end: int
    gpus: int | None = Field(None, gt=0, description="GPUs down; none: every GPU of the contracts hit.")
    contract_id: str | None = Field(None, description="Only this contract's GPUs; none: the whole pool.")
    description: str = ""


class OutageOut(BaseModel):
    pool: str
    start: int
    end: int
    gpus: int | None
    contract_id: str | None


class RunIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    contract_id: str
    job: str = Field(description="Job id: with the start, the record's idempotency key.")
    milli_gpus: int = Field(gt=0, examples=[8000])
    start: int
    end: int
    preempted: bool = False


class UsageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    records: list[RunIn] = Field(description="Runs to record: all of them, or none if any is refused.")


class UsageAdded(BaseModel):
    rows: int
    added: int


class RevenueRowOut(BaseModel):
    period: str
    tenant_id: str
    contract_id: str
    pool: str
    amount: str


class CapacityUseOut(BaseModel):
    contract_id: str
    tenant_id: str
    pool: str
    committed_gpu_hours: str
    used_gpu_hours: str
    idle_gpu_hours: str
    idle_spot_value: str


class RevenueOut(BaseModel):
    revenue: list[RevenueRowOut]
    capacity: list[CapacityUseOut]
