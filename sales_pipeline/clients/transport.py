"""The resilient HTTP core shared by the three vendor clients.

`Transport.call` runs one `Operation` to completion:

1. the request is built and checked against the vendor's documented sizes
   (`wire.build_request`); nothing is sent when it is too large;
2. the vendor's `CircuitBreaker` lets the call through or raises `CircuitOpen`;
3. before every attempt, the `RateLimiter` grants a permit for each limit the
   operation counts against (published limits and live headers);
4. the request goes out with the credential added at send time, a
   ``(connect, read)`` timeout, and a total deadline enforced while the body
   is streamed, which is also refused past the operation's size cap
   (`wire.send_once`);
5. the vendor's `ResolutionTable` turns the answer into one action; retries
   wait as ``backoff``'s generators say (exponential with full jitter for
   transient failures) or as the vendor says (rate limits), bounded by
   separate try budgets and one total time budget;
6. every attempt is logged (redacted, structured), counted in `VendorMetrics`,
   traced (`tracing`), and checked for deprecation notices (`deprecation`).

The retry loop is ours rather than ``backoff.on_exception`` because that
decorator sleeps with ``time.sleep``, which no other thread can interrupt:
here every wait (backoff, rate limits, the limiter's pauses) is a
`Cancellation.sleep`, and `Transport.cancel` also shuts the open connections,
so a cancelled client stops within about a second with `Cancelled`.

Writes: an operation whose ``idempotency`` is ``None`` is resent only when
the answer proves it was not processed (429, connection never opened); any
other failure surfaces at once with ``retryable=False``.
"""

from __future__ import annotations

import copy
import logging
import os
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

import backoff
import urllib3
from opentelemetry.trace import Span, Status, StatusCode

from sales_pipeline.clients.answers import correlation_id, vendor_error_text
from sales_pipeline.clients.auth import Auth
from sales_pipeline.clients.breaker import CircuitBreaker
from sales_pipeline.clients.cancellation import Cancellation
from sales_pipeline.clients.deprecation import DeprecationNotice, log_once, notice_in
from sales_pipeline.clients.errors import (
    ApiError,
    ApiTimeout,
    Cancelled,
    CircuitOpen,
    RateLimited,
    ServerError,
)
from sales_pipeline.clients.observability import (
    ExchangeLog,
    VendorMetrics,
    client_logger,
    log_exchange,
)
from sales_pipeline.clients.operation import (
    Operation,
    QueryValue,
    QuotaReader,
    Reply,
    RetryPolicy,
    Timeouts,
    TransportConfig,
)
from sales_pipeline.clients.ratelimit import RateLimit, RateLimiter
from sales_pipeline.clients.resolution import Action, Exchange, Failure, Resolution, ResolutionTable
from sales_pipeline.clients.tracing import attempt_span, call_span
from sales_pipeline.clients.wire import Request, build_request, send_once

__all__ = [
    "Operation",
    "QueryValue",
    "QuotaReader",
    "Reply",
    "RetryPolicy",
    "Timeouts",
    "Transport",
    "TransportConfig",
]


@dataclass
class _CallState:
    auth: Auth
    attempts: int = 0
    rate_limited: int = 0
    refreshed: bool = False
    wait_before_s: float = 0.0
    may_have_landed: bool = False
    """An attempt that is being retried may have been processed by the vendor (it was sent
    and no answer said it was refused: a drop, a time-out, a 5xx, an unreadable answer)."""


client_logger("urllib3.connectionpool")
"""urllib3 logs each request line, path included, at DEBUG; Lemlist puts emails
in paths, so its records are redacted like ours."""


class Transport:
    """Sends a vendor's operations with retries, limits, breaker, logs, metrics and traces.

    Args:
        vendor: Vendor name for errors, logs, metrics and limiter keys.
        base_url: Base URL all operation paths are appended to.
        auth: Puts the credential on each request at send time.
        table: The vendor's resolution table.
        limits: The vendor's published limits by name (see `Operation.limits`).
        limiter: Shared rate limiter.
        breaker: The vendor's circuit breaker.
        metrics: The vendor's metrics.
        logger: Logger for request lines.
        config: Timeouts, retries, size bounds.
        quota_reader: Parses live rate-limit headers, if the vendor sends them.
        http: urllib3 pool manager to send through; one is created (and cleared by
            `close`) if omitted. The transport has its pools build connections
            its `Cancellation` can shut down, so a pool manager serves one client
            (and its twins).
        cancellation: The handle that stops this transport (default: its own).
    """

    def __init__(
        self,
        vendor: str,
        base_url: str,
        *,
        auth: Auth,
        table: ResolutionTable,
        limits: Mapping[str, RateLimit],
        limiter: RateLimiter,
        breaker: CircuitBreaker,
        metrics: VendorMetrics,
        logger: logging.Logger,
        config: TransportConfig,
        quota_reader: QuotaReader | None = None,
        http: urllib3.PoolManager | None = None,
        cancellation: Cancellation | None = None,
    ) -> None:
        self.vendor = vendor
        self.base_url = base_url.rstrip("/")
        self.auth = auth
        self.config = config
        self.metrics = metrics
        self.cancellation = cancellation or Cancellation()
        self._table = table
        self._limits = dict(limits)
        self._limiter = limiter
        self._breaker = breaker
        self._logger = logger
        self._quota_reader = quota_reader
        self._owns_http = http is None
        self._http = http or _pool_manager_for(self.base_url)
        self._http.connection_pool_kw["maxsize"] = max(config.concurrency, 10)
        self.cancellation.track(self._http)
        self._notices: dict[str, DeprecationNotice] = {}
        self._notices_lock = threading.Lock()

    def close(self) -> None:
        """Close the connections if this transport created their pool manager."""
        if self._owns_http:
            self._http.clear()

    def cancel(self) -> None:
        """Stop every call of this transport (and its twins), now and from now on."""
        self.cancellation.cancel()

    def deprecation_notices(self) -> list[DeprecationNotice]:
        """The latest deprecation notice of each endpoint that answered with one."""
        with self._notices_lock:
            return list(self._notices.values())

    def with_breaker(self, breaker: CircuitBreaker) -> Transport:
        """This transport guarded by another breaker, for a separate service on the
        same host (e.g. an OAuth token endpoint). Shares connections, limiter, metrics,
        cancellation and deprecation notices."""
        twin = copy.copy(self)
        twin._breaker = breaker
        twin._owns_http = False
        return twin

    def call(
        self,
        operation: Operation,
        *,
        path_params: Mapping[str, str] | None = None,
        params: Mapping[str, QueryValue] | None = None,
        json_body: Any = None,
        form: Mapping[str, str] | None = None,
        auth: Auth | None = None,
    ) -> Reply:
        """Run ``operation`` to completion and return its answer.

        Args:
            operation: What to call.
            path_params: Values for the path template's placeholders.
            params: Query parameters (never credentials).
            json_body: JSON-serialisable request body.
            form: Form fields, sent ``application/x-www-form-urlencoded``.
            auth: Credential for this call instead of the transport's own
                (e.g. `NoAuth` for an OAuth token endpoint).

        Returns:
            The `Reply` of the first attempt resolved as ``OK``.

        Raises:
            RequestTooLarge: The request exceeds a documented size; nothing was sent.
            Cancelled: The transport was cancelled before or during the call.
            CircuitOpen: The vendor's breaker is open; nothing was sent.
            ApiError: The subclass named by the resolution table, once retries
                (if allowed) are exhausted.
        """
        request = build_request(
            self.vendor,
            self.base_url,
            operation,
            path_params=path_params,
            params=params,
            json_body=json_body,
            form=form,
            max_request_bytes=self.config.max_request_bytes,
        )
        if self.cancellation.cancelled:
            self.metrics.increment("cancelled_calls")
            self._check_cancelled(operation)
        try:
            self._breaker.before_call(operation.name)
        except CircuitOpen:
            self.metrics.increment("circuit_open_rejections")
            raise
        with call_span(self.vendor, operation.name) as span:
            try:
                reply = self._call_with_retries(operation, request, auth or self.auth)
            except Cancelled as error:
                self.metrics.increment("cancelled_calls")
                self._breaker.record_abandoned()
                _mark_failed(span, error)
                raise
            except ApiError as error:
                self.metrics.increment("failed_calls")
                if isinstance(error, ServerError | ApiTimeout):
                    self._breaker.record_failure()
                else:
                    self._breaker.record_success()
                _mark_failed(span, error)
                raise
            self._breaker.record_success()
            span.set_attribute("http.response.status_code", reply.status)
            return reply

    def _call_with_retries(self, operation: Operation, request: Request, auth: Auth) -> Reply:
        policy = self.config.retry
        started = time.monotonic()
        failures = {"transient": 0, "rate_limited": 0}
        transient_waits = backoff.expo(
            base=policy.backoff_factor,
            factor=policy.backoff_initial_s,
            max_value=policy.backoff_max_s,
        )
        next(transient_waits)
        state = _CallState(auth=auth)
        while True:
            try:
                return self._attempt(operation, request, state)
            except ApiError as error:
                time_left = policy.max_elapsed_s - (time.monotonic() - started)
                if _gives_up(error, failures, policy, time_left):
                    raise
                wait = min(_wait_for(error, policy, transient_waits), max(time_left, 0.0))
            self.metrics.increment("retries")
            state.wait_before_s = wait
            self._sleep(wait, operation)

    def _attempt(self, operation: Operation, request: Request, state: _CallState) -> Reply:
        exchange, resolution = self._send_and_resolve(operation, request, state)
        if (
            resolution.action is Action.REFRESH_TOKEN
            and not state.refreshed
            and state.auth.refresh()
        ):
            state.refreshed = True
            state.wait_before_s = 0.0
            exchange, resolution = self._send_and_resolve(operation, request, state)
        return self._conclude(operation, exchange, resolution, state)

    def _send_and_resolve(
        self, operation: Operation, request: Request, state: _CallState
    ) -> tuple[Exchange, Resolution]:
        self._throttle(operation, state.auth)
        state.attempts += 1
        with attempt_span(
            self.vendor,
            operation.name,
            operation.method,
            operation.path,
            state.attempts,
            state.wait_before_s,
        ) as span:
            started = time.monotonic()
            exchange = self._send(operation, request, state)
            duration_ms = (time.monotonic() - started) * 1000
            self._check_cancelled(operation)
            resolution = self._table.resolve(exchange)
            answer_id = correlation_id(exchange)
            self._record(operation, exchange, resolution, state, duration_ms, answer_id)
            _describe_attempt(span, exchange, resolution, answer_id)
        refused = exchange.status is not None and 400 <= exchange.status < 500
        if resolution.action is not Action.OK and exchange.failure is not Failure.CONNECT:
            state.may_have_landed = state.may_have_landed or not refused
        if exchange.failure is None:
            self._observe_answer(operation, exchange, state.auth)
        return exchange, resolution

    def _send(self, operation: Operation, request: Request, state: _CallState) -> Exchange:
        headers = {
            "Accept": "application/json",
            "Accept-Encoding": "gzip, deflate",
            "User-Agent": self.config.user_agent,
        }
        if request.content_type:
            headers["Content-Type"] = request.content_type
        state.auth.apply(headers)
        exchange = send_once(
            self._http,
            operation,
            request,
            headers,
            self.config.timeouts_for(operation.name),
            self.config.response_cap(operation),
        )
        if exchange.status == 429:
            state.rate_limited += 1
        return replace(exchange, rate_limited_count=state.rate_limited)

    def _record(
        self,
        operation: Operation,
        exchange: Exchange,
        resolution: Resolution,
        state: _CallState,
        duration_ms: float,
        answer_id: str | None,
    ) -> None:
        self.metrics.record_attempt(exchange.status, duration_ms)
        if exchange.failure is Failure.TIMEOUT:
            self.metrics.increment("timeouts")
        elif exchange.failure in (Failure.CONNECT, Failure.DROPPED):
            self.metrics.increment("connection_errors")
        log_exchange(
            self._logger,
            ExchangeLog(
                vendor=self.vendor,
                operation=operation.name,
                method=operation.method,
                path=operation.path,
                status=exchange.status,
                duration_ms=duration_ms,
                attempt=state.attempts,
                correlation_id=answer_id,
                outcome=_outcome_label(exchange, resolution),
                succeeded=resolution.action is Action.OK,
            ),
        )

    def _conclude(
        self, operation: Operation, exchange: Exchange, resolution: Resolution, state: _CallState
    ) -> Reply:
        auth = state.auth
        rule = resolution.rule
        answer_id = correlation_id(exchange)
        if rule.action is Action.OK:
            assert exchange.status is not None
            return Reply(
                status=exchange.status,
                data=exchange.data,
                text=exchange.text,
                headers=exchange.headers,
                outcome=rule.outcome,
                correlation_id=answer_id,
                after_uncertain_attempt=state.may_have_landed,
            )
        wait = resolution.wait_s
        if rule.action is Action.RATE_LIMITED:
            wait = max(wait or 0.0, self.config.retry.min_rate_limit_wait_s)
            for limit_name in operation.limits:
                self._limiter.pause(self._limit_key(limit_name, auth), wait)
        may_resend = operation.idempotency is not None or rule.write_safe
        vendor_text = vendor_error_text(exchange) if exchange.failure is None else None
        raise rule.error(
            f"{rule.reason}: {vendor_text or _failure_text(exchange, self.config, operation)}",
            vendor=self.vendor,
            operation=operation.name,
            status=exchange.status,
            correlation_id=answer_id,
            vendor_message=vendor_text,
            retryable=rule.action in (Action.RETRY, Action.RATE_LIMITED) and may_resend,
            retry_after=wait,
        )

    def _throttle(self, operation: Operation, auth: Auth) -> None:
        for limit_name in operation.limits:
            try:
                waited = self._limiter.acquire(
                    self._limit_key(limit_name, auth),
                    self._limits[limit_name],
                    sleep=lambda seconds: self._sleep(seconds, operation),
                )
            except TimeoutError as exc:
                raise RateLimited(
                    f"no permit from the local rate limiter ({limit_name}) in time",
                    vendor=self.vendor,
                    operation=operation.name,
                ) from exc
            self.metrics.add_throttle_wait(waited)

    def _sleep(self, seconds: float, operation: Operation) -> None:
        """Wait ``seconds``, or raise `Cancelled` as soon as the transport is cancelled."""
        if self.cancellation.sleep(seconds):
            self._check_cancelled(operation)

    def _check_cancelled(self, operation: Operation) -> None:
        if self.cancellation.cancelled:
            raise Cancelled(
                "the client was cancelled", vendor=self.vendor, operation=operation.name
            )

    def _limit_key(self, limit_name: str, auth: Auth) -> str:
        return f"{self.vendor}:{auth.identity()}:{limit_name}"

    def _observe_answer(self, operation: Operation, exchange: Exchange, auth: Auth) -> None:
        """Feed the answer's quota headers to the limiter and note any deprecation."""
        if self._quota_reader is not None:
            reading = self._quota_reader(exchange.headers)
            if reading is not None and reading.limit_name in self._limits:
                self._limiter.observe(self._limit_key(reading.limit_name, auth), reading)
        notice = notice_in(exchange, self.vendor, operation.method, operation.path)
        if notice is not None:
            with self._notices_lock:
                self._notices[notice.endpoint] = notice
            self.metrics.record_deprecation(notice.endpoint)
            log_once(self._logger, notice)


def _gives_up(
    error: ApiError, failures: dict[str, int], policy: RetryPolicy, time_left: float
) -> bool:
    """Whether ``error`` ends the call: not retryable, budget spent, or no time left."""
    if not error.retryable:
        return True
    kind = "rate_limited" if isinstance(error, RateLimited) else "transient"
    failures[kind] += 1
    budget = policy.max_rate_limited_tries if kind == "rate_limited" else policy.max_tries
    return failures[kind] >= budget or time_left <= 0 or (error.retry_after or 0.0) > time_left


def _wait_for(error: ApiError, policy: RetryPolicy, transient_waits: Iterator[float]) -> float:
    """The vendor's wait for a rate limit; jittered exponential backoff otherwise."""
    if isinstance(error, RateLimited):
        return error.retry_after or policy.min_rate_limit_wait_s
    jittered = backoff.full_jitter(next(transient_waits))
    return max(error.retry_after or 0.0, jittered)


def _describe_attempt(
    span: Span, exchange: Exchange, resolution: Resolution, answer_id: str | None
) -> None:
    if exchange.status is not None:
        span.set_attribute("http.response.status_code", exchange.status)
    if answer_id:
        span.set_attribute("correlation_id", answer_id)
    if resolution.action is not Action.OK:
        detail = exchange.failure.value if exchange.failure else resolution.rule.error.__name__
        span.set_attribute("error.type", detail)
        span.set_status(Status(StatusCode.ERROR))


def _mark_failed(span: Span, error: ApiError) -> None:
    span.set_attribute("error.type", type(error).__name__)
    if error.status is not None:
        span.set_attribute("http.response.status_code", error.status)
    span.set_status(Status(StatusCode.ERROR))


def _outcome_label(exchange: Exchange, resolution: Resolution) -> str:
    """``ok``, ``retry``, ``fail``... plus the outcome label or failure kind."""
    detail = resolution.rule.outcome or (exchange.failure.value if exchange.failure else None)
    return f"{resolution.action.value}:{detail}" if detail else resolution.action.value


def _failure_text(exchange: Exchange, config: TransportConfig, operation: Operation) -> str:
    """What went wrong when the vendor said nothing: the failure kind, or the status."""
    if exchange.failure is Failure.TOO_LARGE:
        return f"read stopped at {config.response_cap(operation)} bytes"
    if exchange.failure is not None:
        return str(exchange.failure.value).replace("_", " ")
    return f"HTTP {exchange.status}"


def _pool_manager_for(base_url: str) -> urllib3.PoolManager:
    """A pool manager for ``base_url`` that took the environment's proxy and CA settings once.

    ``HTTP(S)_PROXY``/``ALL_PROXY`` and ``NO_PROXY`` are read as the standard library reads
    them; ``REQUESTS_CA_BUNDLE`` or ``CURL_CA_BUNDLE`` name a CA bundle to trust instead of the
    system's (``SSL_CERT_FILE`` also works, through Python's ``ssl``).
    """
    parts = urllib.parse.urlsplit(base_url)
    proxies = urllib.request.getproxies()
    bypass = parts.hostname is None or urllib.request.proxy_bypass(parts.hostname)
    proxy = None if bypass else proxies.get(parts.scheme) or proxies.get("all")
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if proxy:
        return urllib3.ProxyManager(proxy, ca_certs=bundle)
    return urllib3.PoolManager(ca_certs=bundle)
