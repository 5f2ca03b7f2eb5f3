"""Tables. Money is NUMERIC, time is integer seconds (BIGINT), and sites keep their compact spec as JSON."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class SiteRow(Base):
    __tablename__ = "sites"
    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    spec: Mapped[dict[str, object]] = mapped_column(JSON)


class CurtailmentRow(Base):
    """A site's power budget cut over a window (app/records.CurtailmentEvent)."""

    __tablename__ = "curtailments"
    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    site: Mapped[str] = mapped_column(ForeignKey("sites.name"), index=True)
    depth: Mapped[Decimal] = mapped_column(Numeric(7, 6, asdecimal=True))
    start: Mapped[int] = mapped_column(BigInteger)
    end: Mapped[int] = mapped_column(BigInteger)
    recorded_at: Mapped[int] = mapped_column(BigInteger)
    description: Mapped[str] = mapped_column(String(500))
    incident_ids: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)  # the incidents it recorded


class PoolRow(Base):
    __tablename__ = "pools"
    name: Mapped[str] = mapped_column(String(400), primary_key=True)
    site: Mapped[str] = mapped_column(ForeignKey("sites.name"))
    gpu_model: Mapped[str] = mapped_column(String(100))
    block: Mapped[str | None] = mapped_column(String(200))
    gpus: Mapped[int] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")  # bumped as holds change


class HoldRow(Base):
    __tablename__ = "holds"
    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    pool: Mapped[str] = mapped_column(ForeignKey("pools.name"))
    gpus: Mapped[int] = mapped_column(Integer)
    start: Mapped[int] = mapped_column(BigInteger)
    end: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(20))
    contract_id: Mapped[str | None] = mapped_column(ForeignKey("contracts.id"))
    cap_w: Mapped[int | None] = mapped_column(Integer)  # its GPUs' power cap; NULL: their TDP
    version: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")  # the pool version that wrote it
    deleted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())  # gone, kept as a mark

    __table_args__ = (Index("ix_holds_pool", "pool"), Index("ix_holds_pool_version", "pool", "version"))


class TenantRow(Base):
    __tablename__ = "tenants"
    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(20))


class ContractRow(Base):
    __tablename__ = "contracts"
    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    kind: Mapped[str] = mapped_column(String(20))
    pool: Mapped[str] = mapped_column(ForeignKey("pools.name"))
    start: Mapped[int] = mapped_column(BigInteger)
    end: Mapped[int] = mapped_column(BigInteger)
    price_per_gpu_hour: Mapped[Decimal] = mapped_column(Numeric(18, 6, asdecimal=True))
    gpus: Mapped[int] = mapped_column(Integer)
    take_or_pay: Mapped[bool] = mapped_column(Boolean)
    termination_notice_days: Mapped[int] = mapped_column(Integer)
    sla_uptime: Mapped[Decimal | None] = mapped_column(Numeric(8, 6, asdecimal=True))
    overage_per_gpu_hour: Mapped[Decimal | None] = mapped_column(Numeric(18, 6, asdecimal=True))
    preemption_notice_s: Mapped[int] = mapped_column(Integer)
    cap_w: Mapped[int | None] = mapped_column(Integer)  # its GPUs' power cap; NULL: their TDP
    energy: Mapped[str] = mapped_column(String(20), default="bundled", server_default="bundled")
    status: Mapped[str] = mapped_column(String(20))
    cancelled_at: Mapped[int | None] = mapped_column(BigInteger)

    __table_args__ = (
        Index("ix_contracts_tenant", "tenant_id", "start", "id"),  # a tenant's contracts, a page at a time
        Index("ix_contracts_pool_end", "pool", "end"),
    )


class UsageRow(Base):
    __tablename__ = "usage_records"
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    contract_id: Mapped[str] = mapped_column(ForeignKey("contracts.id"))
    pool: Mapped[str] = mapped_column(String(400))
    gpu_model: Mapped[str] = mapped_column(String(100))
    milli_gpus: Mapped[int] = mapped_column(BigInteger)
    start: Mapped[int] = mapped_column(BigInteger)
    end: Mapped[int] = mapped_column(BigInteger)
    job_id: Mapped[str] = mapped_column(String(200))
    preempted: Mapped[bool] = mapped_column(Boolean)

    __table_args__ = (
        Index("ix_usage_contract_start", "contract_id", "start"),
        Index("ix_usage_tenant_start", "tenant_id", "start"),
        Index("ix_usage_end", "end"),
    )


class InvoiceRow(Base):
    __tablename__ = "invoices"
    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    period: Mapped[str] = mapped_column(String(7))  # YYYY-MM; an invoiced period is closed to new usage
    issued_at: Mapped[int] = mapped_column(BigInteger)
    total: Mapped[Decimal] = mapped_column(Numeric(20, 2, asdecimal=True))
    lines: Mapped[list[dict[str, str]]] = mapped_column(JSON)

    __table_args__ = (UniqueConstraint("tenant_id", "period", name="uq_invoices_tenant_period"),)


class IncidentRow(Base):
    """GPUs out of service by failure (maintenance is a ledger hold): they count against SLA availability."""

    __tablename__ = "incidents"
    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    pool: Mapped[str] = mapped_column(ForeignKey("pools.name"))
    start: Mapped[int] = mapped_column(BigInteger)
    end: Mapped[int] = mapped_column(BigInteger)
    gpus: Mapped[int | None] = mapped_column(Integer)  # None: every GPU of the contracts hit
    contract_id: Mapped[str | None] = mapped_column(ForeignKey("contracts.id"))  # None: the whole pool
    description: Mapped[str] = mapped_column(String(500))


class BillingTermsRow(Base):
    __tablename__ = "billing_terms"
    contract_id: Mapped[str] = mapped_column(ForeignKey("contracts.id"), primary_key=True)
    minimum_per_period: Mapped[Decimal] = mapped_column(Numeric(20, 2, asdecimal=True))
    prepaid_balance: Mapped[Decimal] = mapped_column(Numeric(20, 2, asdecimal=True))


class ApiKeyRow(Base):
    """API keys are stored as SHA-256 digests of 256-bit random secrets; the secret is shown once."""

    __tablename__ = "api_keys"
    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(20))  # operator | tenant
    tenant_id: Mapped[str | None] = mapped_column(ForeignKey("tenants.id"))
    created_at: Mapped[int] = mapped_column(BigInteger)
    revoked_at: Mapped[int | None] = mapped_column(BigInteger)
    expires_at: Mapped[int | None] = mapped_column(BigInteger)
    last_used_at: Mapped[int | None] = mapped_column(BigInteger)  # to within a minute (auth.TOUCH_EVERY)

    __table_args__ = (Index("ix_api_keys_created", "created_at", "id"),)


class IdempotencyRow(Base):
    """The response to a creating POST, replayed when the same key comes again from the same caller."""

    __tablename__ = "idempotency"
    scope: Mapped[str] = mapped_column(String(100), primary_key=True)  # the API key id
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))  # digest of method, path and body
    status: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[int] = mapped_column(BigInteger)


class WorkloadRow(Base):
    """A submitted job and its progress, so the live engine survives a restart."""

    __tablename__ = "workloads"
    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    contract_id: Mapped[str] = mapped_column(ForeignKey("contracts.id"))
    gpu_model: Mapped[str] = mapped_column(String(100))
    gpus_per_task: Mapped[int] = mapped_column(Integer)
    tasks: Mapped[int] = mapped_column(Integer)
    duration: Mapped[int] = mapped_column(BigInteger)
    priority: Mapped[str] = mapped_column(String(20))
    submit: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(20))  # pending | running | finished | cancelled
    remaining: Mapped[int] = mapped_column(BigInteger)
    attained: Mapped[int] = mapped_column(BigInteger)
    started: Mapped[int | None] = mapped_column(BigInteger)
    first_start: Mapped[int | None] = mapped_column(BigInteger)
    finished: Mapped[int | None] = mapped_column(BigInteger)
    preemptions: Mapped[int] = mapped_column(Integer)
    allocation: Mapped[list[list[object]] | None] = mapped_column(JSON)  # [[node name, GPUs], ...]
    command: Mapped[dict[str, object] | None] = mapped_column(JSON, nullable=True)  # run, env, workdir, output
    cap_w: Mapped[int | None] = mapped_column(Integer, nullable=True)  # capped for a site's power budget
    pace: Mapped[float] = mapped_column(Float, server_default="1")
    paced_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    stops_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)  # notice of a curtailment
    iteration: Mapped[float] = mapped_column(Float, server_default="0")  # seconds per iteration alone (interleaving)
    stages: Mapped[list[float] | None] = mapped_column(JSON, nullable=True)  # seconds of each stage of one
    group_ids: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)  # the workloads sharing its GPUs

    __table_args__ = (
        Index("ix_workloads_status", "status"),
        Index("ix_workloads_tenant", "tenant_id", "submit", "id"),  # a tenant's workloads, a page at a time
    )


class PriceAgreementRow(Base):
    """Terms an operator agreed with a tenant for one pool and kind: its signings there get them."""

    __tablename__ = "price_agreements"
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    pool: Mapped[str] = mapped_column(ForeignKey("pools.name"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    price_per_gpu_hour: Mapped[Decimal | None] = mapped_column(Numeric(18, 6, asdecimal=True))
    overage_per_gpu_hour: Mapped[Decimal | None] = mapped_column(Numeric(18, 6, asdecimal=True))
    take_or_pay: Mapped[bool] = mapped_column(Boolean)
    termination_notice_days: Mapped[int] = mapped_column(Integer)
    sla_uptime: Mapped[Decimal | None] = mapped_column(Numeric(8, 6, asdecimal=True))
    preemption_notice_s: Mapped[int] = mapped_column(Integer)


class TenantLimitRow(Base):
    __tablename__ = "tenant_limits"
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    credit_limit: Mapped[Decimal | None] = mapped_column(Numeric(20, 2, asdecimal=True))  # USD; None: none


class QuotaRow(Base):
    """GPUs a tenant may use in a pool beyond what its reservations hold (on-demand, overage, spot)."""

    __tablename__ = "quotas"
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    pool: Mapped[str] = mapped_column(ForeignKey("pools.name"), primary_key=True)
    gpus: Mapped[int] = mapped_column(Integer)


class NodeEventRow(Base):
    """A node's change of state (up, draining, down, maintenance); a node with none is up."""

    __tablename__ = "node_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    node: Mapped[str] = mapped_column(String(200), index=True)
    state: Mapped[str] = mapped_column(String(20))
    at: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(200))


class AssignmentRow(Base):
    """A node of a reservation's for a span of its term (until NULL: for as long as the contract holds it)."""

    __tablename__ = "assignments"
    contract_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    node: Mapped[str] = mapped_column(String(200), primary_key=True)
    since: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    pool: Mapped[str] = mapped_column(String(200), index=True)
    until: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    down_since: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class AnalysisRow(Base):
    """An analyst's run: a scenario or a policy comparison, its progress and, once done, its findings."""

    __tablename__ = "analyses"
    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(200))
    request: Mapped[dict[str, object]] = mapped_column(JSON)
    created: Mapped[int] = mapped_column(BigInteger, index=True)
    key_id: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20), index=True)
    step: Mapped[str] = mapped_column(String(200))
    done: Mapped[int] = mapped_column(Integer)
    steps: Mapped[int] = mapped_column(Integer)
    started: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    heartbeat: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    finished: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    result: Mapped[dict[str, object] | None] = mapped_column(JSON, nullable=True)
    report: Mapped[str | None] = mapped_column(Text, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
