"""Browser sessions for the dashboard: sign in once with an API key, then a cookie stands for it.

The cookie is `<key id>.<expiry>.<MAC>`, the MAC an HMAC-SHA256 keyed by the API key's stored digest: only
the store knows it (the secret itself is kept nowhere), every worker can check a cookie without shared
state, and revoking or expiring the key ends its sessions at once. A form carries a CSRF token derived the
same way from the session, so a page of another site cannot post on the user's behalf."""

from __future__ import annotations

import hashlib
import hmac
import re
import threading
import time
from collections.abc import Callable

from neocloud.app.auth import Principal, Unauthenticated, authenticate
from neocloud.app.ports import UnitOfWork

LIFETIME = 12 * 3600  # a session lasts a working day at most
_COOKIE = re.compile(r"^(key-[0-9a-f]{1,32})\.(\d{1,12})\.([0-9a-f]{64})$")


def open_session(uow: UnitOfWork, secret: str, now: int) -> str:
    """A session's cookie for this API key (refused as the API refuses the key), ending when the key expires
    if that comes first."""
    who, expires_at = authenticate(uow, secret, now)
    end = now + LIFETIME if expires_at is None else min(now + LIFETIME, expires_at)
    key = uow.keys.get(who.key_id)
    assert key is not None
    return f"{key.id}.{end}.{_mac(key.digest, f'{key.id}.{end}')}"


def session_principal(uow: UnitOfWork, cookie: str | None, now: int) -> Principal:
    """Who a session's cookie stands for; Unauthenticated if it is none, forged, ended, or its key revoked."""
    found = _COOKIE.fullmatch(cookie or "")
    if found is None:
        raise Unauthenticated("not signed in")
    key_id, end, mac = found.group(1), int(found.group(2)), found.group(3)
    key = uow.keys.get(key_id)
    if key is None or not hmac.compare_digest(mac, _mac(key.digest, f"{key_id}.{end}")):
        raise Unauthenticated("not signed in")
    if end <= now:
        raise Unauthenticated("the session ended; sign in again")
    if key.revoked_at is not None or (key.expires_at is not None and key.expires_at <= now):
        raise Unauthenticated(f"API key {key.id} is no longer valid; sign in with another")
    return Principal(key.id, key.role, key.tenant_id)


class SessionCache:
    """Sessions' principals by cookie for `ttl` seconds, so that a page's requests (the door's rate limit,
    then the page) read the key once. Cookies that are no session are never kept."""

    def __init__(self, ttl: float = 2.0, limit: int = 10_000, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl, self.limit, self.clock = ttl, limit, clock
        self._known: dict[str, tuple[float, Principal]] = {}
        self._lock = threading.Lock()

    def principal(self, uow_of: Callable[[], UnitOfWork], cookie: str | None, now: int) -> Principal | None:
        """Who the cookie stands for, or None if it is no session (now)."""
        if not cookie:
            return None
        entry = self._known.get(cookie)
        if entry is not None and entry[0] > self.clock():
            return entry[1]
        try:
            with uow_of() as uow:
                who = session_principal(uow, cookie, now)
        except Unauthenticated:
            return None
        with self._lock:
            if len(self._known) >= self.limit:
                self._known.clear()
            self._known[cookie] = (self.clock() + self.ttl, who)
        return who


def csrf_token(cookie: str) -> str:
    """The token a session's forms carry: bound to the session, unknowable without its cookie."""
    return _mac(cookie, "csrf")


def csrf_ok(cookie: str | None, token: str | None) -> bool:
    return bool(cookie) and bool(token) and hmac.compare_digest(csrf_token(cookie or ""), token or "")


def _mac(key: str, message: str) -> str:
    return hmac.new(key.encode(), message.encode(), hashlib.sha256).hexdigest()
