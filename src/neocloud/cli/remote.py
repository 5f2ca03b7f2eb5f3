"""The CLI as an API client: with --server (or NEOCLOUD_SERVER) and --api-key (or NEOCLOUD_API_KEY), the
commands that have an endpoint call the server instead of opening the store."""

from __future__ import annotations

import os
from decimal import Decimal
from typing import Any

import httpx2 as httpx

from neocloud.cli.context import settings
from neocloud.core.contracts import Contract, ContractKind, ContractStatus
from neocloud.core.errors import InvalidInput, NeocloudError
from neocloud.core.ledger import Hold, HoldKind


class RemoteError(NeocloudError):
    """An error the server answered with: its code and message, passed through unchanged."""

    def __init__(self, code: str, message: str, details: dict[str, Any]) -> None:
        super().__init__(message, **details)
        self.code = code


class Remote:
    def __init__(self, server: str, api_key: str) -> None:
        self.client = httpx.Client(
            base_url=server.rstrip("/") + "/v1", timeout=60, headers={"Authorization": f"Bearer {api_key}"}
        )

    def call(self, method: str, path: str, **kw: Any) -> Any:
        """A JSON call: the decoded body, or the server's error raised with its code."""
        return self._send(method, path, **kw).json()

    def text(self, method: str, path: str, **kw: Any) -> str:
        """A call answered with a document (an exported invoice): its text."""
        return self._send(method, path, **kw).text

    def _send(self, method: str, path: str, **kw: Any) -> httpx.Response:
        try:
            response = self.client.request(method, path, **kw)
        except httpx.TransportError as exc:
            raise RemoteError("server_unreachable", f"cannot reach {self.client.base_url}: {exc}", {}) from None
        if response.status_code >= 400:
            try:
                body = response.json()
            except ValueError:
                body = {}
            error = body.get("error", {}) if isinstance(body, dict) else {}
            raise RemoteError(
                error.get("code", f"http_{response.status_code}"),
                error.get("message", response.text),
                error.get("details", {}),
            )
        return response


def remote() -> Remote | None:
    """The server to talk to, if one is configured."""
    server = settings.get("server") or os.environ.get("NEOCLOUD_SERVER")
    if not server:
        return None
    key = settings.get("api_key") or os.environ.get("NEOCLOUD_API_KEY")
    if not key:
        raise InvalidInput("--server needs --api-key (or NEOCLOUD_API_KEY)")
    return Remote(str(server), str(key))


def contract_of(d: dict[str, Any]) -> Contract:
    decimals = ("price_per_gpu_hour", "sla_uptime", "overage_per_gpu_hour")
    fields: dict[str, Any] = {k: (Decimal(v) if k in decimals and v is not None else v) for k, v in d.items()}
    fields["kind"] = ContractKind(fields["kind"])
    fields["status"] = ContractStatus(fields["status"])
    return Contract(**fields)


def hold_of(d: dict[str, Any]) -> Hold:
    return Hold(d["id"], d["pool"], d["gpus"], d["start"], d["end"], HoldKind(d["kind"]), d["contract_id"])
