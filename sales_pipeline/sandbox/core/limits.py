"""Rate-limit windows and daily budgets.

Each vendor enforces its published limits with :class:`SlidingWindow` instances. Limits are
scaled by ``rate_scale`` (benchmarks compress time with it) and can be switched off at run time.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True)
class Decision:
    """The outcome of asking a window for one request."""

    allowed: bool
    limit: int
    remaining: int
    retry_after: float
    """Seconds until the oldest request leaves the window (0 when allowed)."""


class LimitSettings:
    """Run-time switches shared by every window: on/off and the rate scale."""

    def __init__(self, enabled: bool = True, rate_scale: float = 1.0) -> None:
        self.enabled = enabled
        self.rate_scale = rate_scale


class SlidingWindow:
    """At most ``limit`` requests in any ``window`` seconds (times ``rate_scale``).

    Thread-safe; a refused request is not counted, as the vendors do not count 429s.
    """

    def __init__(self, limit: int, window: float, settings: LimitSettings) -> None:
        self._base_limit = limit
        self.window = window
        self._settings = settings
        self._hits: deque[float] = deque()
        self._lock = threading.Lock()

    @property
    def limit(self) -> int:
        """The effective limit after scaling (at least 1)."""
        return max(1, math.floor(self._base_limit * self._settings.rate_scale))

    def acquire(self) -> Decision:
        """Count one request if the window has room."""
        limit = self.limit
        with self._lock:
            now = time.monotonic()
            while self._hits and self._hits[0] <= now - self.window:
                self._hits.popleft()
            if not self._settings.enabled:
                return Decision(True, limit, limit, 0.0)
            if len(self._hits) >= limit:
                retry_after = self._hits[0] + self.window - now
                return Decision(False, limit, 0, max(retry_after, 0.0))
            self._hits.append(now)
            return Decision(True, limit, limit - len(self._hits), 0.0)

    def reset(self) -> None:
        """Forget every counted request."""
        with self._lock:
            self._hits.clear()


class Budget:
    """A daily allowance (HubSpot's daily limit, say) that simply counts down."""

    def __init__(self, limit: int, settings: LimitSettings) -> None:
        self.limit = limit
        """The allowance; ``/_sandbox/limits`` may change it at run time."""
        self._settings = settings
        self._used = 0
        self._lock = threading.Lock()

    def acquire(self) -> Decision:
        """Count one request unless the allowance is spent."""
        with self._lock:
            if self._settings.enabled and self._used >= self.limit:
                return Decision(False, self.limit, 0, 0.0)
            self._used += 1
            return Decision(True, self.limit, max(self.limit - self._used, 0), 0.0)

    def reset(self) -> None:
        """A new day."""
        with self._lock:
            self._used = 0
