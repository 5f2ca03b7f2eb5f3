"""Per-key limits of one worker: a token bucket (a steady rate with bursts) and a cap on requests in flight.

A key that floods gets 429 answers, and keeps no more than `max_in_flight` of its requests on the worker's
threads and store connections: another key's requests find them free. The door paces the refusals
(api/door.py): a 429 is sent when a retry could be admitted (at most a second later), so that a client that
retries at once retries at the rate it is allowed, instead of spending the server's time on refusals.

Each worker keeps its own buckets with its share of the rate (the rate divided by the workers); the load
balancer of a worker-per-core server spreads a key's requests over the workers, so the sum is the rate as
configured, to within the imbalance of that spreading.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

IN_FLIGHT_WAIT = 0.05  # seconds: a request in flight ends within about this, as a rule


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float
    in_flight: int = 0


@dataclass(slots=True)
class Verdict:
    admitted: bool
    retry_after: int  # whole seconds, for a refusal's Retry-After
    remaining: int
    reason: str = ""
    wait: float = 0.0  # seconds until a retry could be admitted, as far as the bucket knows


@dataclass
class RateLimiter:
    rate: float  # tokens per second per key (this worker's share); 0: no rate limit
    burst: float
    max_in_flight: int
    clock: Callable[[], float] = time.monotonic
    limit_keys: int = 100_000  # buckets kept; beyond it, full buckets are forgotten
    _buckets: dict[str, _Bucket] = field(default_factory=dict)

    def admit(self, key: str) -> Verdict:
        """Take a token and a place in flight for one request of `key`, or say how long to wait."""
        now = self.clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self.limit_keys:
                self._forget_idle(now)
            bucket = self._buckets[key] = _Bucket(self.burst, now)
        if self.rate > 0:
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.at) * self.rate)
            bucket.at = now
            if bucket.tokens < 1:
                wait = (1 - bucket.tokens) / self.rate
                reason = f"more than {self.rate:g} requests per second"
                return Verdict(False, max(1, math.ceil(wait)), 0, reason, wait)
        if bucket.in_flight >= self.max_in_flight:
            reason = f"more than {self.max_in_flight} requests at once"
            return Verdict(False, 1, int(bucket.tokens), reason, IN_FLIGHT_WAIT)
        if self.rate > 0:
            bucket.tokens -= 1
        bucket.in_flight += 1
        return Verdict(True, 0, int(bucket.tokens))

    def done(self, key: str) -> None:
        bucket = self._buckets.get(key)
        if bucket is not None:
            bucket.in_flight -= 1

    def _forget_idle(self, now: float) -> None:
        idle = [
            k
            for k, b in self._buckets.items()
            if b.in_flight == 0 and (self.rate <= 0 or b.tokens + (now - b.at) * self.rate >= self.burst)
        ]
        for k in idle:
            del self._buckets[k]
