"""The rate-limit layer's token buckets (SharedLogic/TokenBucket.swift and the
policy of MiddlewarePolicy.swift)."""

import math
import threading
import time
from typing import NamedTuple


def rate_policy(key: str) -> tuple[float, float]:
    """(capacity, refill per second) of a key: `tight-` keys get 2 then one every 2 s."""
    return (2.0, 0.5) if key.startswith("tight-") else (10_000_000.0, 10_000_000.0)


def client_key(header: str | None, subject: str | None) -> str:
    """The rate-limit key: the X-Client-Key header, else the token's subject."""
    return header or subject or "anonymous"


class Decision(NamedTuple):
    """A rate-limit verdict; `retry_after` is whole seconds until a token is back."""
    allowed: bool
    retry_after: int


_ALLOWED = Decision(True, 0)


class RateLimiter:
    """A token bucket per client key, refilled continuously. Thread-safe."""

    def __init__(self, policy=rate_policy):
        self._policy = policy
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, int]] = {}

    def take(self, key: str, now: int | None = None) -> Decision:
        """Takes one token of `key`'s bucket (`now` in monotonic nanoseconds)."""
        capacity, rate = self._policy(key)
        now = time.monotonic_ns() if now is None else now
        with self._lock:
            tokens, updated = self._buckets.get(key, (capacity, now))
            tokens = min(capacity, tokens + (now - updated) / 1e9 * rate)
            if tokens >= 1:
                self._buckets[key] = (tokens - 1, now)
                return _ALLOWED
            self._buckets[key] = (tokens, now)
        return Decision(False, max(1, math.ceil((1 - tokens) / rate)))
