"""Errors with a stable code, a human message and machine-readable details.

Every refusal in neocloud is one of these; the CLI prints them and the API will serve them as JSON.
Codes are part of the public interface: never rename one.
"""

from __future__ import annotations

from typing import Any

QUOTE_LIMIT = 40  # characters of a bad value an error repeats
MESSAGE_LIMIT = 1_000


def quoted(value: object, limit: int = QUOTE_LIMIT) -> str:
    """A value as an error repeats it: its repr, cut to a short prefix (an input may be megabytes long)."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def _clipped(value: Any) -> Any:
    if isinstance(value, str) and len(value) > QUOTE_LIMIT * 2:
        return value[: QUOTE_LIMIT * 2] + "..."
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 2**63:
        return quoted(value)  # beyond what any store or JSON client keeps exactly
    return value


class NeocloudError(Exception):
    """Base error: `code` is stable, `message` is for people, `details` for programs. Neither repeats more than
    a short prefix of any value it was given."""

    code = "error"

    def __init__(self, message: str, **details: Any) -> None:
        if len(message) > MESSAGE_LIMIT:
            message = message[:MESSAGE_LIMIT] + "..."
        super().__init__(message)
        self.message = message
        self.details = {k: _clipped(v) for k, v in details.items()}

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "details": self.details}


class InvalidInput(NeocloudError):
    code = "invalid_input"


class InvalidInterval(InvalidInput):
    code = "invalid_interval"


class InvalidSpec(InvalidInput):
    """A YAML or CSV document that does not match its schema."""

    code = "invalid_spec"


class NotFound(NeocloudError):
    code = "not_found"


class UnknownGpuModel(NotFound):
    code = "unknown_gpu_model"


class UnknownPool(NotFound):
    code = "unknown_pool"


class UnknownTenant(NotFound):
    code = "unknown_tenant"


class UnknownContract(NotFound):
    code = "unknown_contract"


class UnknownHold(NotFound):
    code = "unknown_hold"


class UnknownNode(NotFound):
    code = "unknown_node"


class Conflict(NeocloudError):
    code = "conflict"


class Overbooked(Conflict):
    """A change that would put more GPUs on hold than a pool has at some instant."""

    code = "overbooked"


class PowerOverbooked(Overbooked):
    """A change that would draw more power than a node of a site's power tree carries at some instant."""

    code = "power_overbooked"


class PowerBudgetExceeded(Conflict):
    code = "power_budget_exceeded"


class CurtailmentOverlaps(Conflict):
    """A site's curtailments do not overlap: one event, one depth, at any instant."""

    code = "curtailment_overlaps"


class AlreadyExists(Conflict):
    code = "already_exists"


class InvalidState(Conflict):
    code = "invalid_state"


class PeriodClosed(InvalidState):
    """A change inside a month that is already invoiced: its invoice could never show it."""


class QuotaExceeded(Conflict):
    """Work beyond what the tenant's reservations and its quota allow."""

    code = "quota_exceeded"


class CreditLimitExceeded(NeocloudError):
    """New contracts or work while the tenant's exposure is at (or would pass) its credit limit."""

    code = "credit_limit_exceeded"


class StoreUnavailable(NeocloudError):
    """The store cannot be reached (or did not answer in time); nothing was written. Retry later."""

    code = "store_unavailable"


class WorkloadManagerUnavailable(NeocloudError):
    """The workload manager (Slurm) did not answer, or answered with an error; the sync tries again."""

    code = "workload_manager_unavailable"


class MissingExtra(NeocloudError):
    """A command that needs an optional part of neocloud (an extra) that is not installed."""

    code = "missing_extra"
