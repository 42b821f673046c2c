"""A per-vendor circuit breaker that never serialises concurrent calls.

Why not ``pybreaker``: its ``CircuitBreaker.call`` holds one lock for the
whole guarded call, so threads sharing a vendor breaker run their requests
(including retry sleeps) one at a time; three parallel one-second calls take
three seconds. This breaker takes its lock only to read or change state.

States:

* closed: calls go through; `record_failure` counts consecutive failures and
  opens the breaker at ``failure_threshold``; `record_success` resets the count.
* open: `before_call` raises `CircuitOpen` until ``reset_timeout_s`` has passed.
* half-open: one probe call goes through (others still get `CircuitOpen`);
  its success closes the breaker, its failure opens it again.

What counts as a failure is the caller's choice; the transport records
server errors and timeouts that survived all retries, and records any other
answer (4xx, 429, success) as a success: the vendor is up.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from enum import Enum

from sales_pipeline.clients.errors import CircuitOpen


class BreakerState(Enum):
    """The three breaker states."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half-open"


class CircuitBreaker:
    """Thread-safe circuit breaker for one vendor.

    Args:
        vendor: Vendor name, reported in `CircuitOpen`.
        failure_threshold: Consecutive failures that open the breaker.
        reset_timeout_s: Seconds the breaker stays open before a probe.
        clock: Monotonic clock in seconds (injectable for tests).
    """

    def __init__(
        self,
        vendor: str,
        *,
        failure_threshold: int = 5,
        reset_timeout_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if failure_threshold < 1:
            raise ValueError("failure_threshold must be >= 1")
        self.vendor = vendor
        self.failure_threshold = failure_threshold
        self.reset_timeout_s = reset_timeout_s
        self._clock = clock
        self._lock = threading.Lock()
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._probe_in_flight = False

    @property
    def state(self) -> BreakerState:
        """Current state (an open breaker past its timeout still reads OPEN until probed)."""
        with self._lock:
            return self._state

    def before_call(self, operation: str) -> None:
        """Let a call through, or raise `CircuitOpen` without calling.

        Raises:
            CircuitOpen: The breaker is open and its timeout has not passed,
                or it is half-open and its probe is still running.
        """
        with self._lock:
            if self._state is BreakerState.CLOSED:
                return
            if self._state is BreakerState.OPEN:
                remaining = self._opened_at + self.reset_timeout_s - self._clock()
                if remaining > 0:
                    raise self._open_error(operation, remaining)
                self._state = BreakerState.HALF_OPEN
                self._probe_in_flight = False
            if self._probe_in_flight:
                raise self._open_error(operation, None)
            self._probe_in_flight = True

    def record_success(self) -> None:
        """The vendor answered: close the breaker and reset the failure count."""
        with self._lock:
            self._state = BreakerState.CLOSED
            self._failures = 0
            self._probe_in_flight = False

    def record_abandoned(self) -> None:
        """The call ended without learning anything about the vendor (it was
        cancelled): leave the state alone, but free the half-open probe slot."""
        with self._lock:
            self._probe_in_flight = False

    def record_failure(self) -> None:
        """The vendor failed: count it, opening the breaker at the threshold
        (or at once when the failed call was the half-open probe)."""
        with self._lock:
            self._failures += 1
            probing = self._state is BreakerState.HALF_OPEN
            if probing or self._failures >= self.failure_threshold:
                self._state = BreakerState.OPEN
                self._opened_at = self._clock()
                self._probe_in_flight = False

    def _open_error(self, operation: str, remaining: float | None) -> CircuitOpen:
        detail = (
            f"probe allowed in {remaining:.1f} s" if remaining is not None else "probe in progress"
        )
        return CircuitOpen(
            f"circuit open after {self._failures} consecutive failures; {detail}",
            vendor=self.vendor,
            operation=operation,
            retry_after=remaining,
        )
