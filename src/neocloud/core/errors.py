"""Errors with a stable code, a human message and machine-readable details.

Every refusal in neocloud is one of these; the CLI prints them and the API will serve them as JSON.
Codes are part of the public interface: never rename one.
"""

from __future__ import annotations

from typing import Any


class NeocloudError(Exception):
    """Base error: `code` is stable, `message` is for people, `details` for programs."""

    code = "error"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

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


class Conflict(NeocloudError):
    code = "conflict"


class Overbooked(Conflict):
    """A change that would put more GPUs on hold than a pool has at some instant."""

    code = "overbooked"


class PowerBudgetExceeded(Conflict):
    code = "power_budget_exceeded"


class AlreadyExists(Conflict):
    code = "already_exists"


class InvalidState(Conflict):
    code = "invalid_state"
