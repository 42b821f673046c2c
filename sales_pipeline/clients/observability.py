"""Run-scoped ids, structured request logs and per-vendor metrics.

* `run_context` binds a run id (the Dagster run id, or any id a script picks)
  to the current thread/context; every request log line carries it.
* `client_logger` returns a ``sales_pipeline.clients.*`` logger that always
  has a `RedactingFilter`, so client records are masked at the source,
  whatever handlers the host application installs.
* `log_exchange` writes one structured line per HTTP attempt: method, path
  template (never the filled path, never query values), status, duration,
  attempt, correlation id, run id.
* `VendorMetrics` counts requests, retries, 429s, 5xx, timeouts, cancelled
  calls, deprecation notices, latency percentiles and credits for one vendor;
  `snapshot` returns a flat dict for Dagster metadata. All methods are thread-safe.
"""

from __future__ import annotations

import contextvars
import logging
import math
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sales_pipeline.clients.redaction import RedactingFilter

_run_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "sales_pipeline_run_id", default=None
)


@contextmanager
def run_context(run_id: str) -> Iterator[None]:
    """Tag every request logged inside the block with ``run_id``."""
    token = _run_id.set(run_id)
    try:
        yield
    finally:
        _run_id.reset(token)


def current_run_id() -> str | None:
    """The run id bound by the innermost `run_context`, if any."""
    return _run_id.get()


def client_logger(name: str) -> logging.Logger:
    """Return logger ``name`` with a `RedactingFilter` attached (once)."""
    logger = logging.getLogger(name)
    if not any(isinstance(f, RedactingFilter) for f in logger.filters):
        logger.addFilter(RedactingFilter())
    return logger


@dataclass(frozen=True)
class ExchangeLog:
    """What one HTTP attempt did, as logged."""

    vendor: str
    operation: str
    method: str
    path: str
    status: int | None
    duration_ms: float
    attempt: int
    correlation_id: str | None
    outcome: str
    succeeded: bool


def log_exchange(logger: logging.Logger, entry: ExchangeLog) -> None:
    """Write ``entry`` as one line with the fields also set as ``extra``.

    INFO when the attempt succeeded (including a non-2xx answer the table
    treats as a normal outcome), WARNING otherwise.
    """
    run_id = current_run_id()
    level = logging.INFO if entry.succeeded else logging.WARNING
    logger.log(
        level,
        "%s %s %s -> %s in %.0f ms (attempt %d, %s, correlation_id=%s, run_id=%s)",
        entry.vendor,
        entry.method,
        entry.path,
        entry.status if entry.status is not None else "no response",
        entry.duration_ms,
        entry.attempt,
        entry.outcome,
        entry.correlation_id,
        run_id,
        extra={
            "vendor": entry.vendor,
            "operation": entry.operation,
            "http_method": entry.method,
            "http_path": entry.path,
            "http_status": entry.status,
            "duration_ms": round(entry.duration_ms, 1),
            "attempt": entry.attempt,
            "correlation_id": entry.correlation_id,
            "outcome": entry.outcome,
            "run_id": run_id,
        },
    )


class VendorMetrics:
    """Thread-safe counters and latency percentiles for one vendor.

    Args:
        vendor: Name reported in the snapshot.
        latency_window: How many most recent latencies the percentiles use.
    """

    def __init__(self, vendor: str, latency_window: int = 10_000) -> None:
        self.vendor = vendor
        self._lock = threading.Lock()
        self._latencies_ms: deque[float] = deque(maxlen=latency_window)
        self._counts = {
            "requests": 0,
            "retries": 0,
            "rate_limited_429": 0,
            "server_errors_5xx": 0,
            "timeouts": 0,
            "connection_errors": 0,
            "failed_calls": 0,
            "circuit_open_rejections": 0,
            "cancelled_calls": 0,
            "deprecation_notices": 0,
        }
        self._deprecated_endpoints: set[str] = set()
        self._credits = 0.0
        self._throttle_wait_s = 0.0

    def record_attempt(self, status: int | None, latency_ms: float) -> None:
        """Count one HTTP attempt and its latency, classifying 429 and 5xx."""
        with self._lock:
            self._counts["requests"] += 1
            self._latencies_ms.append(latency_ms)
            if status == 429:
                self._counts["rate_limited_429"] += 1
            elif status is not None and status >= 500:
                self._counts["server_errors_5xx"] += 1

    def increment(self, counter: str, amount: int = 1) -> None:
        """Add ``amount`` to ``counter`` (``retries``, ``timeouts``, ...)."""
        with self._lock:
            self._counts[counter] += amount

    def record_deprecation(self, endpoint: str) -> None:
        """Count one answer carrying a deprecation notice for ``endpoint``."""
        with self._lock:
            self._counts["deprecation_notices"] += 1
            self._deprecated_endpoints.add(endpoint)

    def add_credits(self, credits: float) -> None:
        """Add credits spent (Explorium)."""
        with self._lock:
            self._credits += credits

    def add_throttle_wait(self, seconds: float) -> None:
        """Add time spent waiting for the proactive rate limiter."""
        with self._lock:
            self._throttle_wait_s += seconds

    def snapshot(self) -> dict[str, int | float | str]:
        """Return all counters and p50/p95/p99 latency (ms) as a flat dict.

        ``deprecation_notices`` counts answers that carried a deprecation notice;
        ``deprecated_endpoints`` lists their endpoints, ``", "``-separated.
        """
        with self._lock:
            latencies = sorted(self._latencies_ms)
            snapshot: dict[str, int | float | str] = {"vendor": self.vendor, **self._counts}
            snapshot["deprecated_endpoints"] = ", ".join(sorted(self._deprecated_endpoints))
            snapshot["credits_used"] = round(self._credits, 2)
            snapshot["throttle_wait_s"] = round(self._throttle_wait_s, 3)
        for label, fraction in (("p50", 0.50), ("p95", 0.95), ("p99", 0.99)):
            snapshot[f"latency_ms_{label}"] = _nearest_rank(latencies, fraction)
        return snapshot


def _nearest_rank(ordered: list[float], fraction: float) -> float:
    if not ordered:
        return 0.0
    rank = max(1, math.ceil(fraction * len(ordered)))
    return round(ordered[rank - 1], 1)
