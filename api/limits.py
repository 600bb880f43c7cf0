"""Request limits of one worker: per key, per client address on failed keys, audit growth.

- `KeyRate`: a token bucket per key. A key may send `per_second` requests
  a second on average, in bursts of up to `per_second` (at least one); past
  that the answer is 429 with the seconds until a request would be let
  through. It bounds how fast one key (a leaked one, or a case system in a
  loop) can fill the audit log, whose rows stay until retention.
- `FailureWindow`: failed authentications per client address in the last
  minute; an address over `per_minute` gets 429 for everything until its
  oldest failure is a minute old, so keys cannot be tried at speed.
- `AuditGrowth`: counts audit events written in the current minute and logs
  one warning a minute while they pass `per_minute`, a line an operator can
  alert on (``audit log growing fast``).

Each worker process keeps its own counts, in memory: with N workers (or N
instances) a key gets up to N times the limit, and a proxy in front is the
place for a limit across them (docs/deploy.md). The tables are bounded:
the oldest entries are dropped past `MAX_TRACKED`.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import OrderedDict, deque
from dataclasses import dataclass
from typing import Final

logger = logging.getLogger(__name__)

MAX_TRACKED: Final = 10_000
WINDOW_SECONDS: Final = 60.0


def retry_after(seconds: float) -> str:
    """A Retry-After value: whole seconds, at least one."""
    return str(max(1, math.ceil(seconds)))


class KeyRate:
    """Token buckets, one per key (see the module's text); `per_second` 0 lets everything through."""

    def __init__(self, per_second: float) -> None:
        self.per_second = per_second
        self.burst = max(1.0, per_second)
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def wait(self, key_id: str, now: float | None = None) -> float:
        """0 when a request of `key_id` may go ahead now (and counts it); else seconds to wait."""
        if self.per_second <= 0:
            return 0.0
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens, last = self._buckets.pop(key_id, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.per_second)
            if tokens >= 1.0:
                self._buckets[key_id] = (tokens - 1.0, now)
                waited = 0.0
            else:
                self._buckets[key_id] = (tokens, now)
                waited = (1.0 - tokens) / self.per_second
            while len(self._buckets) > MAX_TRACKED:
                self._buckets.popitem(last=False)
            return waited


class FailureWindow:
    """Failed authentications per client address over the last minute."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def wait(self, address: str, now: float | None = None) -> float:
        """0 when `address` may try a key; else seconds until its oldest counted failure expires."""
        if self.per_minute <= 0:
            return 0.0
        now = time.monotonic() if now is None else now
        with self._lock:
            times = self._failures.get(address)
            if times is None:
                return 0.0
            while times and times[0] <= now - WINDOW_SECONDS:
                times.popleft()
            if len(times) < self.per_minute:
                return 0.0
            return times[0] + WINDOW_SECONDS - now

    def failed(self, address: str, now: float | None = None) -> None:
        if self.per_minute <= 0:
            return
        now = time.monotonic() if now is None else now
        with self._lock:
            times = self._failures.pop(address, None) or deque(maxlen=self.per_minute)
            times.append(now)
            self._failures[address] = times
            while len(self._failures) > MAX_TRACKED:
                self._failures.popitem(last=False)


class AuditGrowth:
    """Audit events written by this worker per minute; a warning a minute while over the limit."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._minute = -1
        self._count = 0
        self._warned = -1
        self._lock = threading.Lock()

    def written(self, now: float | None = None) -> None:
        if self.per_minute <= 0:
            return
        minute = int((time.time() if now is None else now) // 60)
        with self._lock:
            if minute != self._minute:
                self._minute, self._count = minute, 0
            self._count += 1
            if self._count <= self.per_minute or self._warned == minute:
                return
            self._warned = minute
        logger.warning(
            "audit log growing fast: more than %d events this minute on this worker "
            "(POLKU_AUDIT_ALERT_PER_MINUTE); check which keys are calling",
            self.per_minute,
        )


@dataclass(frozen=True)
class Limits:
    keys: KeyRate
    failures: FailureWindow
    audit: AuditGrowth
