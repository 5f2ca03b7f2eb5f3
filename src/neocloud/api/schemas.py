"""Request and response bodies, with examples for the OpenAPI document. Money and rates are decimal strings.

Every input is bounded (core/bounds.py) and strict: integers are JSON numbers without a fraction (8 or 8.0,
never "8" or true), booleans are JSON booleans, times are Unix seconds within 1970-01-01 and 9999-12-31,
decimals are written plainly with at most six places (two for amounts of money), names and ids are short and
printable.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema

from neocloud.core import bounds
from neocloud.core.contracts import ContractKind, EnergyTerm, TenantKind
from neocloud.core.errors import InvalidInput

T = TypeVar("T")


def _decimal(field: str, high: Decimal, places: int, example: str) -> Any:
    def parse(value: object) -> Decimal:
        try:
            return bounds.parse_decimal(value, field, high=high, places=places)
        except InvalidInput as exc:
            raise ValueError(exc.message) from None

    schema = {"type": "string", "pattern": bounds.DECIMAL, "maxLength": 42, "examples": [example]}
    return [BeforeValidator(parse), WithJsonSchema(schema)]


def _text(value: object) -> str:
    try:
        return bounds.check_text(value, "text")
    except InvalidInput as exc:
        raise ValueError(exc.message) from None


def _whole(value: object) -> object:
    """A JSON number with no fraction (8 or 8.0: JSON has one kind of number) as an int; never "8" or true."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


WHOLE = BeforeValidator(_whole)
Time = Annotated[int, WHOLE, Field(strict=True, ge=bounds.MIN_TIME, le=bounds.MAX_TIME, description="Unix seconds")]
Gpus = Annotated[int, WHOLE, Field(strict=True, ge=1, le=bounds.MAX_GPUS, examples=[1000])]
Count = Annotated[int, WHOLE, Field(strict=True, ge=0, le=bounds.MAX_GPUS)]
NoticeDays = Annotated[int, WHOLE, Field(strict=True, ge=0, le=bounds.MAX_NOTICE_DAYS)]
NoticeSeconds = Annotated[int, WHOLE, Field(strict=True, ge=0, le=bounds.MAX_PREEMPTION_NOTICE)]
GpusPerTask = Annotated[int, WHOLE, Field(strict=True, ge=1, le=bounds.MAX_GPUS_PER_TASK, examples=[8])]
Tasks = Annotated[int, WHOLE, Field(strict=True, ge=1, le=bounds.MAX_TASKS, examples=[4])]
Seconds = Annotated[int, WHOLE, Field(strict=True, ge=1, le=bounds.MAX_DURATION, examples=[3600])]
MilliGpus = Annotated[int, WHOLE, Field(strict=True, ge=1, le=bounds.MAX_MILLI_GPUS, examples=[8000])]
Flag = Annotated[bool, Field(strict=True)]
StageSeconds = Annotated[float, Field(strict=True, ge=0, le=bounds.MAX_DURATION, allow_inf_nan=False)]
Rate = Annotated[Decimal, *_decimal("rate", bounds.MAX_RATE, bounds.PLACES, "2.40")]
Money = Annotated[Decimal, *_decimal("amount", bounds.MAX_MONEY, 2, "100000.00")]
Megawatts = Annotated[Decimal, *_decimal("mw", bounds.MAX_MW, 3, "10")]
CapWatts = Annotated[
    int, WHOLE, Field(strict=True, ge=1, le=bounds.MAX_CAP_W, description="Power cap per GPU, in watts", examples=[500])
]
Uptime = Annotated[Decimal, *_decimal("sla_uptime", Decimal(1), bounds.PLACES, "0.99")]
Depth = Annotated[Decimal, *_decimal("depth", Decimal(1), bounds.PLACES, "0.25")]
MwPerSecond = Annotated[Decimal, *_decimal("mw_per_s", bounds.MAX_RAMP_MW_PER_S, bounds.PLACES, "0.5")]
Name = Annotated[str, Field(min_length=1, max_length=bounds.MAX_NAME, pattern=bounds.NAME, examples=["frontier-lab"])]
Id = Annotated[str, Field(min_length=1, max_length=bounds.MAX_ID, pattern=bounds.ID)]
PoolName = Annotated[str, Field(min_length=1, max_length=200, pattern=bounds.ID, examples=["colossus-1/h100-sxm"])]
Period = Annotated[str, Field(pattern=bounds.PERIOD, examples=["2027-04"])]
Text = Annotated[str, Field(max_length=bounds.MAX_TEXT), BeforeValidator(_text)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Page(BaseModel, Generic[T]):
    """One page of a list; `next_cursor` (when more follow) asks for the next: `?cursor=...`."""

    items: list[T]
    next_cursor: str | None = None


class ErrorBody(BaseModel):
    code: str = Field(examples=["overbooked"])
    message: str = Field(examples=["pool colossus-1/h100-sxm: 60,000 GPUs over [...) exceed its free capacity"])
    details: dict[str, Any] = Field(default_factory=dict)
    request_id: str | None = Field(None, description="Quote it when reporting a problem; it is in the server's log.")


class ErrorOut(BaseModel):
    error: ErrorBody


class Health(BaseModel):
    status: str = Field(examples=["ok"])


class TenantIn(_In):
    name: Name
    kind: TenantKind = TenantKind.EXTERNAL


class TenantOut(_Out):
    id: str = Field(examples=["t-3100b0c7b490"])
    name: str
    kind: TenantKind


class KeyIn(_In):
    expires_at: Time | None = Field(None, description="Unix seconds; none: valid until revoked.")


class KeyOut(BaseModel):
    id: str = Field(examples=["key-5b1e0c9a7f21"])
    role: str = Field(examples=["tenant"])
    tenant_id: str | None
    secret: str | None = Field(None, description="Shown once, when the key is created.", examples=["nck_..."])
    created_at: int | None = None
    revoked_at: int | None = None
    expires_at: int | None = None
    last_used_at: int | None = Field(None, description="To within a minute.")


class PoolOut(_Out):
    name: str = Field(examples=["colossus-1/h100-sxm"])
    site: str
    gpu_model: str
    block: str | None
    gpus: int


class BlockGroupOut(BaseModel):
    name: str
    count: int
    racks: int
    nodes_per_rack: int
    gpu_model: str
    gpus_per_node: int
    gpus: int


class SiteOut(BaseModel):
    name: str = Field(examples=["colossus-1"])
    location: str
    gpus: int
    nodes: int
    blocks: int
    power_budget_mw: str | None = Field(description="The facility's budget, MW; none: not set.")
    it_power_mw: str
    pue: str
    facility_power_mw: str = Field(description="IT power x PUE, MW.")
    power_headroom_mw: str | None
    oversubscription: str = Field(description="How far contracts may draw beyond the power tree's limits (1: not).")
    ramp_mw_per_s: str | None = Field(description="The fastest the site's draw may rise, MW a second; none: any.")
    fall_mw_per_s: str | None = Field(
        description="The fastest the site's draw may fall (the GPUs' power floors hold it), MW a second; none: any."
    )
    gpus_by_model: dict[str, int]
    block_groups: list[BlockGroupOut]
    pools: list[PoolOut]


class ModelPowerOut(BaseModel):
    gpu_model: str
    gpus: int
    cap_w: int = Field(description="The power cap each GPU runs under, W.")
    cap_range_w: list[int] = Field(description="The lowest and highest cap the GPU accepts, W.")
    it_kw_per_gpu: str = Field(description="IT power provisioned per GPU at the cap: the cap, the host, the network.")
    facility_kw_per_gpu: str = Field(description="IT power x PUE.")
    facility_power_mw: str = Field(description="What this model's GPUs may draw at the cap, MW.")
    throughput: str = Field(description="Throughput at the cap, of that at TDP, for the kind of work asked.")
    gpus_in_budget: int | None = Field(description="GPUs of this model the whole site budget holds at the cap.")
    gpus_for_contract: int | None = Field(description="GPUs a contract of `mw` megawatts books at the cap.")
    gpus_per_step: int = Field(description="GPUs are counted in whole nodes (or NVLink racks) of this many.")


class PowerNodeOut(BaseModel):
    kind: str = Field(description="site (its feed, facility power), hall (IT power) or rack (each rack's IT power)")
    name: str
    limit_kw: str = Field(description="The feed, the hall's MW, or a rack's PDU derated to 80 %, kW.")
    draw_kw: str = Field(description="What the GPUs under it may draw at the caps, kW.")
    headroom_kw: str
    over: bool
    note: str


class SitePowerOut(BaseModel):
    site: str
    power_budget_mw: str | None
    pue: str
    kind: str = Field(examples=["training"])
    contract_mw: str | None
    facility_power_mw: str = Field(description="What the site's GPUs may draw at their caps, MW.")
    power_headroom_mw: str | None = Field(description="Budget less that; negative: oversubscribed at the caps.")
    models: list[ModelPowerOut]
    tree: list[PowerNodeOut] = Field(description="Every limit of the site's power tree against the draw at caps.")


class CurtailActionOut(BaseModel):
    contract_id: str
    tenant_id: str
    kind: str
    gpus: int
    draw_kw: str = Field(description="What its GPUs draw before the event (at TDP), facility kW.")
    after_kw: str
    cap_w: int | None = Field(description="The cap its GPUs run under during the event; none: stopped.")
    action: str = Field(examples=["capped to 450 W", "stopped", "untouched"])
    credit_usd: str = Field(description="SLA credit owed for reserved power cut below its contract.")
    notice_s: int = Field(0, description="The preemption notice its contract is owed before it is capped or stopped.")
    notice_short_s: int = Field(0, description="How much of that notice the event's lead time cannot give.")


class DrillOut(BaseModel):
    site: str
    start: int
    end: int
    depth: str
    limit_kw: str = Field(description="The budget during the event, facility kW.")
    draw_kw: str
    after_kw: str
    shortfall_kw: str = Field(description="What still exceeds the budget with every load stopped.")
    credits_usd: str
    actions: list[CurtailActionOut]


class CurtailmentIn(_In):
    depth: Depth = Field(description="The share of the site's budget cut, in (0, 1].")
    start: Time
    end: Time
    description: Text = ""


class CurtailmentOut(BaseModel):
    id: str
    site: str
    depth: str
    start: int
    end: int
    recorded_at: int
    description: str
    incidents: list[str] = Field([], description="Incidents it recorded for reserved power cut below contract.")


class LiftIn(_In):
    end: Time | None = Field(None, description="When the cut ends instead (Unix seconds, before its end); none: now.")


class LiftedOut(BaseModel):
    curtailment: CurtailmentOut = Field(description="As it now stands (as it stood, when withdrawn).")
    withdrawn: bool = Field(description="It had not begun: removed, with its incidents.")


class AppliedOut(BaseModel):
    curtailment: CurtailmentOut
    drill: DrillOut = Field(description="What the cut does to the contracts in force when it begins.")
    incidents: list[str] = Field(description="Incidents recorded for reserved power cut below contract.")


TERMS = frozenset(
    {
        "price_per_gpu_hour",
        "take_or_pay",
        "termination_notice_days",
        "sla_uptime",
        "overage_per_gpu_hour",
        "preemption_notice_s",
        "energy",
    }
)


class ContractIn(_In):
    tenant: Name | None = Field(
        None, description="Tenant id or name; operators name it, tenants may only name their own."
    )
    kind: ContractKind = ContractKind.RESERVED
    pool: PoolName
    start: Time = Field(examples=[1798761600])
    end: Time = Field(description="Unix seconds, after start", examples=[1893456000])
    gpus: Count = Field(0, examples=[1000])
    cap_w: CapWatts | None = Field(None, description="The GPUs' power cap; the ledger books their power at it")
    mw: Megawatts | None = Field(
        None, description="Instead of gpus: book the GPUs (whole nodes) that fit in these facility megawatts"
    )
    # Commercial terms: operators only. A tenant signs at its price agreement for the pool and kind, or at
    # the rate card.
    price_per_gpu_hour: Rate | None = None
    take_or_pay: Flag | None = None
    termination_notice_days: NoticeDays | None = None
    sla_uptime: Uptime | None = None
    overage_per_gpu_hour: Rate | None = None
    preemption_notice_s: NoticeSeconds | None = None
    energy: EnergyTerm | None = Field(
        None, description="bundled (default: the price includes energy) or pass-through (kWh at the site's $/MWh)"
    )


class QuoteOut(BaseModel):
    pool: str
    kind: ContractKind
    gpus: int
    start: int
    end: int
    price_per_gpu_hour: str = Field(description="The tenant's agreement for the pool and kind, else the rate card")
    commitment: str | None = Field(description="A take-or-pay reservation's whole price; null: billed by use")
    free: int = Field(description="GPUs free over all of [start, end)")
    earliest_start: int | None = Field(
        description="Booking contracts: the earliest start of the same length that fits; null: it never can"
    )
    cap_w: int | None = Field(description="The GPUs' power cap; null: their TDP")


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
    cap_w: int | None = Field(description="The GPUs' power cap; null: their TDP")
    energy: str = Field(description="bundled in the price, or pass-through: billed in kWh at the site's $/MWh")


class AgreementIn(_In):
    tenant: Name
    pool: PoolName
    kind: ContractKind = ContractKind.RESERVED
    price_per_gpu_hour: Rate | None = Field(None, description="None: the rate card's.")
    take_or_pay: Flag = True
    termination_notice_days: NoticeDays = 0
    sla_uptime: Uptime | None = None
    overage_per_gpu_hour: Rate | None = None
    preemption_notice_s: NoticeSeconds = 0


class AgreementOut(BaseModel):
    tenant_id: str
    pool: str
    kind: ContractKind
    price_per_gpu_hour: str | None
    take_or_pay: bool
    termination_notice_days: int
    sla_uptime: str | None
    overage_per_gpu_hour: str | None
    preemption_notice_s: int


class CreditLimitIn(_In):
    usd: Money | None = Field(description="Exposure allowed, USD; null: no limit.")


class QuotaIn(_In):
    pool: PoolName
    gpus: Count | None = Field(description="GPUs beyond reservations; null: the operator's default.")


class LimitsOut(BaseModel):
    tenant_id: str
    credit_limit: str | None
    exposure: str = Field(description="Owed or committed and not yet invoiced, USD.")
    quotas: dict[str, int] = Field(description="Pool -> GPUs beyond reservations (pools not listed: the default).")
    default_quota: int | None


class PowerStepOut(BaseModel):
    start: int
    end: int
    drawn_kw: str = Field(description="IT kW that contracts draw on the node over the step, at their caps")


class NodePowerOut(BaseModel):
    node: str = Field(description="The site's feed (its name) or a hall (site/hall)", examples=["colossus-1"])
    limit_kw: str = Field(description="IT kW the node carries, the site's oversubscription policy included")
    free_kw: str = Field(description="Its least free power over the window")
    steps: list[PowerStepOut] = []
    more: bool = Field(False, description="Steps were left off at the limit asked")


class FreePowerOut(BaseModel):
    cap_w: int | None = Field(description="The cap asked; null: the TDP")
    gpus: int = Field(description="Of the free GPUs, those every power node above the pool has power for")
    nodes: list[NodePowerOut]


class FreeOut(BaseModel):
    pool: str
    start: int
    end: int
    free: int = Field(examples=[50016])
    power: FreePowerOut | None = Field(None, description="With power=true or a cap: the power above the pool")


class PowerProfileOut(BaseModel):
    site: str
    start: int
    end: int
    nodes: list[NodePowerOut] = Field(description="Every node of the site's power tree the ledger keeps")


class StepOut(BaseModel):
    start: int
    end: int
    installed: int
    maintenance: int
    capacity: int = Field(description="Installed less maintenance: what can be sold.")
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


class BillOut(BaseModel):
    """The running bill: this month rated up to `end` (now), before its invoice."""

    tenant_id: str
    period: str = Field(examples=["2027-04"])
    start: int
    end: int
    total: str
    lines: list[LineOut]


class InvoiceIn(_In):
    tenant: Name
    period: Period


EnvName = Annotated[str, Field(pattern=bounds.ENV_NAME)]
EnvValue = Annotated[str, Field(max_length=bounds.MAX_COMMAND)]
Path = Annotated[str, Field(max_length=bounds.MAX_PATH)]


class CommandIn(_In):
    run: Annotated[str, Field(min_length=1, max_length=bounds.MAX_COMMAND)] = Field(
        description="A shell line, run on the first of the work's nodes (use srun inside for every task).",
        examples=["python train.py --steps 1000"],
    )
    env: Annotated[
        dict[EnvName, Annotated[str, Field(max_length=bounds.MAX_COMMAND)]], Field(max_length=bounds.MAX_ENV)
    ] = {}
    workdir: Annotated[str, Field(max_length=bounds.MAX_PATH)] = ""
    output: Annotated[str, Field(max_length=bounds.MAX_PATH)] = Field(
        "", description="File for its output; empty: none kept."
    )


class WorkloadIn(_In):
    contract_id: Id = Field(description="The contract the work runs (and is billed) under.")
    gpus_per_task: GpusPerTask = 1
    tasks: Tasks = 1
    duration: Seconds = Field(description="Seconds the work takes (the stand-in executor runs it that long).")
    command: CommandIn | None = Field(None, description="What it runs on a real executor (Slurm); none: a stand-in.")
    stages: list[StageSeconds] | None = Field(
        None,
        min_length=1,
        max_length=8,
        description="Seconds each stage of one training iteration takes alone (storage, CPU, GPU): an interleaving"
        " ordering (muri-s, muri-l) may share its GPUs with work whose bottleneck differs.",
        examples=[[0.2, 0.6, 1.4]],
    )
    iteration: StageSeconds | None = Field(
        None, gt=0, description="Seconds one iteration takes alone, with stages (by default their sum)."
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
    command: dict[str, Any] | None = None
    cap_w: int | None = Field(None, description="Capped for its site's power budget now: its GPUs' cap, W.")
    stops_at: int | None = Field(None, description="Given notice: a curtailment caps or stops it then.")
    stages: list[float] | None = Field(None, description="Seconds of each stage of one iteration alone.")
    iteration: float | None = Field(None, description="Seconds of one iteration alone.")
    group: list[str] = Field([], description="Running interleaved: the workloads on its GPUs, itself included.")
    pace: float = Field(1.0, description="Wall seconds per second of its work now (above 1: shared or capped).")


class ExtendIn(_In):
    end: Time = Field(description="The new end, Unix seconds (after the current one).", examples=[1806537600])


class TermsIn(_In):
    minimum_per_period: Money = Field(Decimal(0), description="Minimum spend per month, USD.")
    prepaid_balance: Money = Field(Decimal(0), description="Prepaid balance the invoices draw down, USD.")


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


class MaintenanceIn(_In):
    pool: PoolName
    gpus: Gpus
    start: Time
    end: Time


class IncidentIn(_In):
    pool: PoolName
    start: Time
    end: Time
    gpus: Gpus | None = Field(None, description="GPUs down; none: every GPU of the contracts hit.")
    contract_id: Id | None = Field(None, description="Only this contract's GPUs; none: the whole pool.")
    description: Text = ""


class OutageOut(BaseModel):
    pool: str
    start: int
    end: int
    gpus: int | None
    contract_id: str | None


class IncidentOut(OutageOut):
    id: str
    description: str


class RunIn(_In):
    contract_id: Id
    job: Id = Field(description="Job id: with the start, the record's idempotency key.")
    milli_gpus: MilliGpus
    start: Time
    end: Time
    preempted: Flag = False


class UsageIn(_In):
    records: list[RunIn] = Field(
        max_length=10_000, description="Runs to record (at most 10,000): all of them, or none if any is refused."
    )


class UsageAdded(BaseModel):
    rows: int
    added: int


class RevenueRowOut(BaseModel):
    period: str
    tenant_id: str
    contract_id: str
    pool: str
    amount: str


class AvailabilityOut(BaseModel):
    contract_id: str
    tenant_id: str
    pool: str
    gpus: int
    promised: str = Field(examples=["0.995"])
    measured: str = Field(examples=["0.998611"])
    met: bool


class CapacityUseOut(BaseModel):
    contract_id: str
    tenant_id: str
    pool: str
    committed_gpu_hours: str
    used_gpu_hours: str
    idle_gpu_hours: str
    idle_spot_value: str


# Nodes -----------------------------------------------------------------------------------------------------

NodeStateName = Literal["up", "draining", "down", "maintenance"]


class NodeOut(BaseModel):
    name: str
    site: str
    pool: str
    block: str
    rack: str
    nvlink_domain: str = Field(description="The node itself, or its rack where NVLink spans nodes (NVL72).")
    gpu_model: str
    gpus: int
    state: NodeStateName
    since: int | None = Field(description="When it entered its state; none: up since the fleet was loaded.")
    reason: str
    contract: str | None = Field(description="The reservation whose node it is now; none: a shared node.")
    tenant: str | None = Field(description="That reservation's tenant.")


class NodeEventOut(BaseModel):
    node: str
    state: NodeStateName
    at: int
    reason: str


class NodeDetailOut(NodeOut):
    history: list[NodeEventOut] = Field(description="Its changes of state, oldest first.")


class AssignmentOut(BaseModel):
    node: str
    since: int = Field(description="The contract's from then (a replacement: once spot work's notice ran).")
    until: int | None = Field(description="Until then; none: for as long as the contract holds it.")
    down_since: int | None = Field(description="Out of service since then, not replaced yet.")


class SparesIn(_In):
    pool: PoolName
    units: Count = Field(description="Assignment units (nodes; racks for NVL72) kept unsold; 0: none.")


class SparesOut(BaseModel):
    pool: str
    units: int = Field(description="Assignment units kept unsold, to replace reservations' failed nodes.")
    gpus: int
    since: int | None = Field(description="Kept since then; none: no spares.")


class NodeStateIn(_In):
    reason: Text = ""


class StateCountOut(BaseModel):
    pool: str
    state: NodeStateName
    nodes: int
    gpus: int


class ScenarioRunIn(_In):
    scenario: str | None = Field(
        None, max_length=64 * 1024, description="A scenario YAML over the default (colossus-1); none: the default"
    )
    title: Annotated[str, Field(max_length=200)] = ""


PolicyName = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[a-z0-9_-]+$")]


class ReplayCutIn(_In):
    depth: Depth = Field(description="The share of the site's budget cut, in (0, 1].")
    start: Annotated[int, WHOLE, Field(strict=True, ge=0, le=bounds.MAX_DURATION)] = Field(
        description="Seconds after the trace's first submission."
    )
    seconds: Seconds = Field(description="How long it lasts.")


class ReplayPowerIn(_In):
    """The fleet's site power kept in the replay (a packaged fleet with a power budget, e.g. colossus-1)."""

    curtailments: list[ReplayCutIn] = Field([], max_length=20)
    ramp_mw_per_s: MwPerSecond | None = Field(None, description="The fastest the draw may rise; none: the site's.")
    fall_mw_per_s: MwPerSecond | None = Field(None, description="The fastest the draw may fall; none: the site's.")
    capping: Flag = Field(True, description="Cap running GPUs before stopping work when the budget shrinks.")


class ComparisonIn(_In):
    trace: str = Field(
        max_length=300,
        examples=["synthetic:2000,seed=1,gpus=64,load=0.9"],
        description="synthetic:N[,...], or FORMAT:PATH relative to the server's traces folder",
    )
    fleet: str = Field(
        "uniform:8x8", max_length=100, description="uniform:NODESxGPUS, pooled:GPUS[,cpus=N] or a packaged fleet"
    )
    policies: list[PolicyName] = Field(["fifo", "sjf", "srtf"], min_length=1, max_length=12)
    placements: list[PolicyName] = Field(["bestfit"], min_length=1, max_length=12)
    seed: Annotated[int, WHOLE, Field(strict=True, ge=0, le=2**31 - 1)] = 0
    title: Annotated[str, Field(max_length=200)] = ""
    tiresias_queues: list[Annotated[int, WHOLE, Field(strict=True, ge=1, le=bounds.MAX_TIME)]] = Field(
        [3250, 7200], min_length=1, max_length=8, description="Tiresias's thresholds, GPU-seconds, rising"
    )
    tiresias_starvation: float = Field(
        0.0, ge=0, le=1e6, allow_inf_nan=False, description="Tiresias: promote after waiting K x the run; 0 never"
    )
    power: ReplayPowerIn | None = Field(None, description="Keep the fleet's site power budget in every run.")
    caps: dict[Annotated[str, Field(max_length=40, pattern=bounds.ID)], CapWatts] = Field(
        {},
        max_length=16,
        description="Static power caps by GPU model (W): the work runs that much slower, and a power budget counts"
        " each GPU at its cap; needs a fleet with GPU models (e.g. colossus-1).",
        examples=[{"h100-sxm": 500}],
    )
    work_kind: Literal["training", "inference"] = Field(
        "training", description="The work the caps slow: how its speed follows the cap."
    )


class AnalysisOut(BaseModel):
    id: str
    kind: str = Field(examples=["scenario"])
    title: str
    request: dict[str, Any]
    created: int
    status: str = Field(examples=["running"])
    step: str
    done: int
    steps: int
    started: int | None
    heartbeat: int | None
    finished: int | None
    error: str | None
    result: dict[str, Any] | None = Field(None, description="The findings, once done (on GET of one analysis)")
    has_report: bool = False


class AnalysesOut(BaseModel):
    items: list[AnalysisOut]
    total: int
