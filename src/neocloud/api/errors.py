"""Every error the API answers, in one shape: `{"error": {"code", "message", "details", "request_id"}}`.

The status says what kind of refusal it is: 400 a request that is not well-formed, 401 no or a bad key,
402 beyond the tenant's credit limit, 403 not this key's to do, 404 unknown (or another tenant's), 405 a
method the path has not, 409 in conflict with the current state, 413 a body over the limit, 422 well-formed
but invalid, 429 too many requests, 500 a fault of ours (`internal`, with the request id to quote), 503 the
store is away (`store_unavailable`; retry after the seconds in Retry-After).

The shape is neocloud's own rather than RFC 9457 problem details: it was the API's shape from its first
version, every client (the CLI among them) reads `error.code`, and nothing in it is lost by keeping it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from neocloud.app import auth
from neocloud.app.views import plain
from neocloud.core.errors import (
    Conflict,
    CreditLimitExceeded,
    InvalidInput,
    NeocloudError,
    NotFound,
    StoreUnavailable,
)

STATUS: list[tuple[type[NeocloudError], int]] = [
    (auth.Unauthenticated, 401),
    (CreditLimitExceeded, 402),
    (auth.Forbidden, 403),
    (NotFound, 404),
    (Conflict, 409),
    (InvalidInput, 422),
    (StoreUnavailable, 503),
]
HTTP_CODES = {  # errors Starlette raises before a route runs
    400: "malformed_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "body_too_large",
    415: "unsupported_media_type",
}
RETRY_AFTER_S = 1  # when the store is away
MAX_ERRORS = 10  # validation errors listed in one answer


def status_of(exc: NeocloudError) -> int:
    return next((code for kind, code in STATUS if isinstance(exc, kind)), 400)


def error_body(code: str, message: str, request_id: str | None = None, **details: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": plain(details), "request_id": request_id}}


def error_response(
    status: int,
    code: str,
    message: str,
    request_id: str | None = None,
    headers: Mapping[str, str] | None = None,
    **details: Any,
) -> JSONResponse:
    return JSONResponse(error_body(code, message, request_id, **details), status_code=status, headers=headers)


def request_id(request: Request) -> str | None:
    rid: str | None = request.scope.get("state", {}).get("request_id")
    return rid


def for_error(exc: NeocloudError, rid: str | None) -> JSONResponse:
    status = status_of(exc)
    headers = {"Retry-After": str(RETRY_AFTER_S)} if status == 503 else None
    return error_response(status, exc.code, exc.message, rid, headers, **exc.details)


async def domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, NeocloudError)
    return for_error(exc, request_id(request))


async def invalid_request(request: Request, exc: Exception) -> JSONResponse:
    """Pydantic's refusals, naming each path and what was expected, never repeating the value given."""
    assert isinstance(exc, RequestValidationError)
    found = list(exc.errors())
    errors = [{"path": ".".join(str(p) for p in e["loc"]), "expected": e["msg"]} for e in found[:MAX_ERRORS]]
    rid = request_id(request)
    if any(e.get("type") == "json_invalid" for e in found):
        return error_response(400, "malformed_request", "the request body is not valid JSON", rid, errors=errors)
    first = errors[0] if errors else {"path": "", "expected": "valid input"}
    more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
    return error_response(422, "invalid_request", f"{first['path']}: {first['expected']}{more}", rid, errors=errors)


async def http_error(request: Request, exc: Exception) -> JSONResponse:
    """Routing and body-parsing refusals from the framework, in the same shape as ours."""
    assert isinstance(exc, HTTPException)
    code = HTTP_CODES.get(exc.status_code, "malformed_request" if exc.status_code < 500 else "internal")
    message = {
        400: "the request body could not be read as JSON",
        404: "no such endpoint",
        405: f"{request.method} is not allowed here",
        413: "the request body is over the limit",
    }.get(exc.status_code, str(exc.detail))
    return error_response(exc.status_code, code, message, request_id(request), headers=exc.headers)
