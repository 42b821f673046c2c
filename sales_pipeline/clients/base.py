"""What the three vendor clients share: construction, health, metrics, closing."""

from __future__ import annotations

import contextvars
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self, TypeVar

import urllib3

from sales_pipeline.clients.auth import Auth
from sales_pipeline.clients.breaker import CircuitBreaker
from sales_pipeline.clients.deprecation import DeprecationNotice
from sales_pipeline.clients.errors import ApiError, ServerError
from sales_pipeline.clients.observability import VendorMetrics, client_logger
from sales_pipeline.clients.ratelimit import RateLimit, RateLimiter, shared_limiter
from sales_pipeline.clients.resolution import ResolutionTable
from sales_pipeline.clients.tracing import configure_tracing_from_env
from sales_pipeline.clients.transport import (
    Operation,
    QueryValue,
    QuotaReader,
    Transport,
    TransportConfig,
)

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class HealthReport:
    """Result of a vendor's ``check_health``.

    Attributes:
        vendor: Vendor name.
        ok: The vendor answered the probe successfully with our credential.
        latency_ms: Time the probe took, retries included.
        detail: ``"ok"`` or the error (redacted), for a doctor command or asset check.
        status: HTTP status of the last answer, if any.
        correlation_id: The vendor's id of the failed request, if any.
        extra: Vendor-specific facts (e.g. Explorium's remaining credits).
        error: The typed error the probe ended with (e.g. `AuthError` for a refused
            credential), so callers can say what to fix; ``None`` when ``ok``.
    """

    vendor: str
    ok: bool
    latency_ms: float
    detail: str
    status: int | None = None
    correlation_id: str | None = None
    extra: Mapping[str, Any] | None = None
    error: ApiError | None = None


class VendorClient:
    """Base of the vendor clients: owns one `Transport`.

    Subclasses pass their vendor name, API versions, auth, resolution table,
    limits and quota reader; callers pass deployment choices (base URL,
    transport config, a shared limiter or breaker, a urllib3 pool manager).

    Attributes:
        api_versions: The vendor API versions this client speaks, by API
            (e.g. ``{"crm": "v3", "oauth": "v3"}``), for ``doctor`` and logs.
    """

    vendor: str

    def __init__(
        self,
        *,
        api_versions: Mapping[str, str],
        base_url: str,
        auth: Auth,
        table: ResolutionTable,
        limits: Mapping[str, RateLimit],
        quota_reader: QuotaReader | None,
        transport_config: TransportConfig | None,
        limiter: RateLimiter | None,
        breaker: CircuitBreaker | None,
        http: urllib3.PoolManager | None,
    ) -> None:
        config = transport_config or TransportConfig()
        configure_tracing_from_env()
        self.api_versions = dict(api_versions)
        self.metrics = VendorMetrics(self.vendor)
        self._transport = Transport(
            self.vendor,
            base_url,
            auth=auth,
            table=table,
            limits=limits,
            limiter=limiter or shared_limiter(),
            breaker=breaker
            or CircuitBreaker(
                self.vendor,
                failure_threshold=config.breaker_failure_threshold,
                reset_timeout_s=config.breaker_reset_timeout_s,
            ),
            metrics=self.metrics,
            logger=client_logger(f"sales_pipeline.clients.{self.vendor}"),
            config=config,
            quota_reader=quota_reader,
            http=http,
        )

    @property
    def concurrency(self) -> int:
        """Calls a step may have in flight at once through this client."""
        return self._transport.config.concurrency

    def concurrently(self, work: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        """``work(item)`` for each of ``items``, up to :attr:`concurrency` at once, yielded in
        the order of ``items``.

        Real vendors answer in hundreds of milliseconds, so one call at a time leaves most of a
        rate budget unused; the shared rate limiter still paces every request, so running
        calls side by side only fills the time spent waiting for answers. Items are taken
        from ``items`` as results are consumed (at most twice the concurrency ahead), so a
        long iterator is never held whole. Each item runs in the caller's context (run id,
        trace). An exception ``work`` raises surfaces when its result is reached; items not
        yet started are then dropped. With a concurrency of 1 everything runs in the caller's
        thread.
        """
        if self.concurrency <= 1:
            yield from map(work, items)
            return
        with ThreadPoolExecutor(self.concurrency, f"{self.vendor}-call") as pool:
            ahead: deque[Future[R]] = deque()
            try:
                for item in items:
                    if len(ahead) >= 2 * self.concurrency:
                        yield ahead.popleft().result()
                    ahead.append(pool.submit(contextvars.copy_context().run, work, item))
                while ahead:
                    yield ahead.popleft().result()
            finally:
                for future in ahead:
                    future.cancel()

    def cancel(self) -> None:
        """Stop this client's HTTP work from any thread, within about a second.

        In-flight requests are aborted (their connections shut down) and every
        retry, backoff or rate-limit wait ends; the calls raise `Cancelled`, and
        so does every later call. Wire it to run termination.
        """
        self._transport.cancel()

    def deprecation_notices(self) -> list[DeprecationNotice]:
        """The latest deprecation notice of each endpoint that answered with one
        (``Deprecation``, ``Sunset`` or ``Warning`` headers), for ``doctor``."""
        return self._transport.deprecation_notices()

    def version_warnings(self) -> list[str]:
        """What an operator must hear about the configured API versions (none by default)."""
        return []

    def metrics_snapshot(self) -> dict[str, int | float | str]:
        """Counters and latency percentiles of this client, for Dagster metadata."""
        return self.metrics.snapshot()

    def close(self) -> None:
        """Close the connections (if the client created their pool manager)."""
        self._transport.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _call_object(
        self, operation: Operation, *, transport: Transport | None = None, **kwargs: Any
    ) -> Mapping[str, Any]:
        """`Transport.call` (on ``transport``, default the client's) whose answer
        must be a JSON object.

        Raises:
            ServerError: The answer was not a JSON object (not retryable).
        """
        reply = (transport or self._transport).call(operation, **kwargs)
        if not isinstance(reply.data, dict):
            raise ServerError(
                f"expected a JSON object, got {type(reply.data).__name__}",
                vendor=self.vendor,
                operation=operation.name,
                status=reply.status,
                correlation_id=reply.correlation_id,
                retryable=False,
            )
        return reply.data

    def _probe(
        self,
        operation: Operation,
        params: Mapping[str, QueryValue] | None = None,
    ) -> tuple[HealthReport, Any]:
        """Call ``operation`` and report; returns the answer's data when it succeeded."""
        started = time.monotonic()
        try:
            reply = self._transport.call(operation, params=params)
        except ApiError as error:
            report = HealthReport(
                vendor=self.vendor,
                ok=False,
                latency_ms=(time.monotonic() - started) * 1000,
                detail=str(error),
                status=error.status,
                correlation_id=error.correlation_id,
                error=error,
            )
            return report, None
        report = HealthReport(
            vendor=self.vendor,
            ok=True,
            latency_ms=(time.monotonic() - started) * 1000,
            detail="ok",
            status=reply.status,
        )
        return report, reply.data


def run_batches(items: Sequence[T], size: int, run_batch: Callable[[list[T]], list[R]]) -> list[R]:
    """Run ``run_batch`` on consecutive batches of ``items``; concatenate the results.

    If a batch raises `ApiError`, the results of the batches before it are
    attached to the error as ``partial`` before it propagates.
    """
    done: list[R] = []
    for offset in range(0, len(items), size):
        try:
            done.extend(run_batch(list(items[offset : offset + size])))
        except ApiError as error:
            error.partial = list(done)
            raise
    return done
