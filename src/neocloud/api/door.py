"""The door every HTTP request passes before the API sees it, in this order:

1. a request id (the client's X-Request-Id if it is a short token, else a new one), echoed in the response;
2. the body's declared length against the limit: 413 before anything is read (a body without a length is
   counted as it arrives and refused the same way once it passes the limit);
3. the API key, from the headers alone (401 before the body is read), except on the public paths;
4. the key's rate and requests in flight (429 with Retry-After and RateLimit-* headers, sent when a retry
   could be admitted: see `_pace`);
5. the request itself; an exception nobody answered becomes a JSON 500 `internal` (or 503
   `store_unavailable`) with the request id, and its traceback goes to the log under that id;
6. one access log line (JSON: request id, key, tenant, method, route, status, milliseconds; never a secret)
   and the request's metrics.

A plain ASGI middleware, not Starlette's BaseHTTPMiddleware: it adds microseconds, not a task per request.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
import uuid
from typing import Any

from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from neocloud import bootstrap
from neocloud.adapters.store.database import is_unavailable
from neocloud.api import dashboard, docs, metrics, quick
from neocloud.api.errors import RETRY_AFTER_S, error_response, for_error
from neocloud.api.ratelimit import RateLimiter
from neocloud.app import auth, sessions
from neocloud.core.errors import NeocloudError, StoreUnavailable

PACE_MAX = 1.0  # seconds a refusal may be held
PACED = 1_000  # refusals held at once, per worker
# Without an API key: health, metrics and the API's description; the dashboard's pages check their session.
PUBLIC = frozenset({"/v1/health", "/v1/ready", "/v1/metrics", "/openapi.json", *docs.PATHS})
_TOKEN = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
access = logging.getLogger("neocloud.access")
errors = logging.getLogger("neocloud.errors")


class BodyTooLarge(HTTPException):
    def __init__(self) -> None:
        super().__init__(413)


class Door:
    def __init__(
        self,
        app: ASGIApp,
        ctx: bootstrap.Context,
        keys: auth.KeyCache,
        limiter: RateLimiter,
        trusted: auth.Principal | None = None,
        pages: sessions.SessionCache | None = None,
    ) -> None:
        """`trusted`: every request acts as this principal, without a key or limits (the API in the CLI's own
        process, on a store it opened itself: it could write the store directly anyway)."""
        self.app, self.ctx, self.keys, self.limiter, self.trusted = app, ctx, keys, limiter, trusted
        self.pages = pages or sessions.SessionCache()
        self.max_body = ctx.settings.max_body_bytes
        self.log_access = ctx.settings.access_log
        self._paced = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        headers = dict(scope["headers"])  # latin-1 bytes; a repeated header keeps its last value
        given = headers.get(b"x-request-id", b"").decode("latin-1")
        rid = given if _TOKEN.fullmatch(given) else uuid.uuid4().hex
        state = scope.setdefault("state", {})
        state["request_id"] = rid
        sent: dict[str, Any] = {"status": 0, "extra": [(b"x-request-id", rid.encode())]}

        async def send_with_ids(message: Message) -> None:
            if message["type"] == "http.response.start":
                sent["status"] = message["status"]
                message["headers"] = [*message.get("headers", []), *sent["extra"]]
            await send(message)

        who: auth.Principal | None = None
        bucket: str | None = None  # whose rate and requests in flight this one counts against
        admitted = False
        try:
            refusal = self._too_large(headers)
            if self.trusted is not None:
                who = state["principal"] = self.trusted
            elif refusal is None and scope["path"] not in PUBLIC and not dashboard.is_page(scope["path"]):
                who = await self.keys.look_up(self.ctx.uow, _secret(headers))
                state["principal"] = who
                bucket = who.key_id
            elif refusal is None and dashboard.is_page(scope["path"]):
                # A page counts against its session's key, as the key's API requests do; without a session,
                # against the client's address.
                cookie = _cookie(headers, dashboard.SESSION)
                if cookie:
                    who = await asyncio.to_thread(self.pages.principal, self.ctx.uow, cookie, self.ctx.now())
                bucket = who.key_id if who is not None else f"address {(scope.get('client') or ('?',))[0]}"
            if bucket is not None:
                verdict = self.limiter.admit(bucket)
                admitted = verdict.admitted
                sent["extra"].append((b"ratelimit-remaining", str(verdict.remaining).encode()))
                if not admitted:
                    metrics.RATE_LIMITED.inc()
                    sent["extra"].append((b"retry-after", str(verdict.retry_after).encode()))
                    sent["extra"].append((b"ratelimit-reset", str(verdict.retry_after).encode()))
                    refusal = (429, "rate_limited", f"too many requests for {_whose(bucket)}: {verdict.reason}")
                    await self._pace(verdict.wait)
            if refusal is not None:
                await error_response(refusal[0], refusal[1], refusal[2], rid)({"type": "http"}, _nothing, send_with_ids)
            elif scope["path"] == quick.PATH and scope["method"] == "GET" and who is not None:
                body = quick.free_capacity(self.ctx, scope["query_string"])
                if body is None:
                    await self.app(scope, self._counted(receive), send_with_ids)
                else:
                    scope["route_path"] = quick.PATH  # for the metrics and the access log, as the route's
                    await _send_json(send_with_ids, body)
            else:
                await self.app(scope, self._counted(receive), send_with_ids)
        except NeocloudError as exc:  # the key's lookup refused it, or the store is away
            if isinstance(exc, StoreUnavailable):
                metrics.STORE_ERRORS.labels("unavailable").inc()
            await self._fail(send_with_ids, sent, for_error(exc, rid))
        except Exception as exc:
            if is_unavailable(exc):
                metrics.STORE_ERRORS.labels("unavailable").inc()
                answer = error_response(503, "store_unavailable", "the store is unavailable; retry shortly", rid)
                answer.headers["Retry-After"] = str(RETRY_AFTER_S)
            else:
                metrics.INTERNAL_ERRORS.inc()
                errors.exception("request %s failed: %s %s", rid, scope["method"], scope["path"])
                message = f"internal error; quote request id {rid} when reporting it"
                answer = error_response(500, "internal", message, rid)
            await self._fail(send_with_ids, sent, answer)
        finally:
            if admitted and bucket is not None:
                self.limiter.done(bucket)
            self._record(scope, sent["status"], started, rid, who)

    async def _pace(self, wait: float) -> None:
        """Hold a refusal until a retry could be admitted (at most PACE_MAX s): a client that retries at once
        then retries at its allowed rate, and a flood costs the server a refusal per pace, not per packet
        it can send. At most PACED refusals wait at once in a worker; beyond them, they are sent at once."""
        if self._paced >= PACED:
            return
        self._paced += 1
        try:
            await asyncio.sleep(min(wait, PACE_MAX))
        finally:
            self._paced -= 1

    def _too_large(self, headers: dict[bytes, bytes]) -> tuple[int, str, str] | None:
        length = headers.get(b"content-length")
        if length is None:
            return None
        if not length.isdigit() or len(length) > 18:
            return 400, "malformed_request", "Content-Length is not a length"
        if int(length) > self.max_body:
            return 413, "body_too_large", f"the request body is over the limit of {self.max_body:,} bytes"
        return None

    def _counted(self, receive: Receive) -> Receive:
        """`receive`, refusing a body once it passes the limit (for bodies sent without a length)."""
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body:
                    raise BodyTooLarge()
            return message

        return counted

    @staticmethod
    async def _fail(send: Send, sent: dict[str, Any], answer: Response) -> None:
        if sent["status"]:  # the answer had begun: nothing better can be sent now
            return
        await answer({"type": "http"}, _nothing, send)

    def _record(self, scope: Scope, status: int, started: float, rid: str, who: auth.Principal | None) -> None:
        seconds = time.perf_counter() - started
        route = _route(scope)
        method = scope["method"]
        metrics.REQUESTS.labels(method, route, str(status)).inc()
        metrics.LATENCY.labels(method, route).observe(seconds)
        if self.log_access:
            line = {
                "request_id": rid,
                "key": who.key_id if who else None,
                "tenant": who.tenant_id if who else None,
                "method": method,
                "route": route,
                "status": status,
                "ms": round(seconds * 1000, 2),
            }
            access.info(json.dumps(line, separators=(",", ":")))


def _route(scope: Scope) -> str:
    """The route's template, e.g. /v1/contracts/{contract_id} (a route of an included router knows its path
    without the router's prefix: every such route here is under /v1)."""
    path: str | None = getattr(scope.get("route"), "path", None) or scope.get("route_path")
    if path is None:
        return "unmatched"
    return f"/v1{path}" if scope["path"].startswith("/v1/") and not path.startswith("/v1/") else path


def _secret(headers: dict[bytes, bytes]) -> str | None:
    """The API key of `Authorization: Bearer <key>` or `X-API-Key: <key>`."""
    authorization = headers.get(b"authorization")
    if authorization is not None:
        scheme, _, token = authorization.decode("latin-1").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise auth.Unauthenticated("Authorization must be 'Bearer <API key>'")
        return token.strip()
    key = headers.get(b"x-api-key")
    return None if key is None else key.decode("latin-1")


def _cookie(headers: dict[bytes, bytes], name: str) -> str | None:
    """One cookie's value from the Cookie header (latin-1; a malformed header has none)."""
    for part in headers.get(b"cookie", b"").decode("latin-1").split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value
    return None


def _whose(bucket: str) -> str:
    return bucket if bucket.startswith("address ") else f"key {bucket}"


async def _nothing() -> Message:
    return {"type": "http.disconnect"}


async def _send_json(send: Send, body: bytes) -> None:
    headers = [(b"content-length", str(len(body)).encode()), (b"content-type", b"application/json")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})
