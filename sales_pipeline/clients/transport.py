"""The resilient HTTP core shared by the three vendor clients.

`Transport.call` runs one `Operation` to completion:

1. the vendor's `CircuitBreaker` lets the call through or raises `CircuitOpen`;
2. before every attempt, the `RateLimiter` grants a permit for each limit the
   operation counts against (published limits and live headers);
3. the request goes out with the credential added at send time, a
   ``(connect, read)`` timeout, and a total deadline enforced while the body
   is streamed, which is also refused past ``max_response_bytes``;
4. the vendor's `ResolutionTable` turns the answer into one action; retries
   use the ``backoff`` library (exponential with full jitter for transient
   failures, the vendor's wait for rate limits), bounded by separate try
   budgets and one total time budget;
5. every attempt is logged (redacted, structured) and counted in `VendorMetrics`.

Writes: an operation whose ``idempotency`` is ``None`` is resent only when
the answer proves it was not processed (429, connection never opened); any
other failure surfaces at once with ``retryable=False``.
"""

from __future__ import annotations

import copy
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

import backoff
import requests
import urllib3.exceptions

from sales_pipeline.clients.answers import correlation_id, vendor_error_text
from sales_pipeline.clients.auth import Auth
from sales_pipeline.clients.breaker import CircuitBreaker
from sales_pipeline.clients.errors import (
    ApiError,
    ApiTimeout,
    CircuitOpen,
    InputValidationError,
    RateLimited,
    ServerError,
)
from sales_pipeline.clients.observability import (
    ExchangeLog,
    VendorMetrics,
    client_logger,
    log_exchange,
)
from sales_pipeline.clients.ratelimit import QuotaReading, RateLimit, RateLimiter
from sales_pipeline.clients.resolution import (
    Action,
    Exchange,
    Failure,
    Resolution,
    ResolutionTable,
)

QueryValue = str | int | float | bool | list[str]
QuotaReader = Callable[[Mapping[str, str]], QuotaReading | None]


@dataclass(frozen=True)
class Timeouts:
    """Time limits of one HTTP attempt, in seconds.

    ``connect_s`` bounds opening the connection, ``read_s`` each wait for
    bytes, and ``total_s`` the whole attempt including a slowly trickling body.
    """

    connect_s: float = 5.0
    read_s: float = 30.0
    total_s: float = 60.0


@dataclass(frozen=True)
class RetryPolicy:
    """How long and how often a call is retried.

    Attributes:
        max_tries: Attempts allowed for transient failures (5xx, timeouts, drops).
        max_rate_limited_tries: Attempts allowed for 429s, counted separately so
            a rate-limit storm does not eat the transient budget.
        max_elapsed_s: Total time budget of one call, waits included. A vendor
            wait longer than what is left fails the call at once.
        backoff_initial_s: First transient backoff (before jitter).
        backoff_factor: Growth per transient retry.
        backoff_max_s: Cap of one transient backoff (before jitter).
        min_rate_limit_wait_s: Floor under every rate-limit wait, so
            ``Retry-After: 0`` never hot-loops.
    """

    max_tries: int = 5
    max_rate_limited_tries: int = 10
    max_elapsed_s: float = 300.0
    backoff_initial_s: float = 0.5
    backoff_factor: float = 2.0
    backoff_max_s: float = 30.0
    min_rate_limit_wait_s: float = 0.5


@dataclass(frozen=True)
class TransportConfig:
    """Everything about the HTTP core a deployment may want to tune.

    Attributes:
        timeouts: Default timeouts.
        operation_timeouts: Per-operation overrides, by operation name.
        retry: Retry budgets and waits.
        max_response_bytes: Answers larger than this are refused.
        max_request_bytes: Request bodies larger than this are not sent.
        breaker_failure_threshold: Consecutive failed calls that open the breaker.
        breaker_reset_timeout_s: Seconds before an open breaker lets a probe through.
        user_agent: ``User-Agent`` header.
    """

    timeouts: Timeouts = Timeouts()
    operation_timeouts: Mapping[str, Timeouts] = field(default_factory=dict)
    retry: RetryPolicy = RetryPolicy()
    max_response_bytes: int = 20 * 1024 * 1024
    max_request_bytes: int = 5 * 1024 * 1024
    breaker_failure_threshold: int = 5
    breaker_reset_timeout_s: float = 30.0
    user_agent: str = "sales-pipeline/0.1 (+python-requests)"

    def timeouts_for(self, operation: str) -> Timeouts:
        """The timeouts of ``operation``."""
        return self.operation_timeouts.get(operation, self.timeouts)


@dataclass(frozen=True)
class Operation:
    """One vendor endpoint as the client uses it.

    Attributes:
        name: verb_noun name used in logs, metrics, errors and rule scoping.
        method: HTTP method.
        path: Path template below the base URL, ``{placeholders}`` filled
            from ``path_params`` (URL-quoted). Logs show the template only.
        idempotency: Why resending cannot duplicate an effect (reads: ``"read"``),
            or ``None`` for a non-idempotent write.
        limits: Names of the vendor's `RateLimit`s the request counts against.
        expects_json: A 2xx body must be JSON (else it is retried as malformed).
        fixed_params: Query parameters every call sends, before the call's own
            (e.g. Lemlist's ``version=v2``).
    """

    name: str
    method: str
    path: str
    idempotency: str | None = "read"
    limits: tuple[str, ...] = ("default",)
    expects_json: bool = True
    fixed_params: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Reply:
    """A successful (``OK``-resolved) answer.

    Attributes:
        status: HTTP status.
        data: Parsed JSON body, or ``None``.
        text: Body text.
        headers: Response headers.
        outcome: Label of the rule when a non-2xx answer is a normal result.
        correlation_id: Vendor correlation id, if any.
    """

    status: int
    data: Any
    text: str
    headers: Mapping[str, str]
    outcome: str | None
    correlation_id: str | None


@dataclass(frozen=True)
class _Request:
    url: str
    params: Mapping[str, QueryValue] | None
    body: bytes | None
    content_type: str | None


@dataclass
class _CallState:
    auth: Auth
    attempts: int = 0
    rate_limited: int = 0
    refreshed: bool = False


class _BodyTooLargeError(Exception):
    """The answer passed max_response_bytes."""


class _DeadlinePassedError(Exception):
    """The total deadline passed while the body was streaming."""


client_logger("urllib3.connectionpool")
"""urllib3 logs each request line, path included, at DEBUG; Lemlist puts emails
in paths, so its records are redacted like ours."""

_DEPRECATION_HEADERS = ("Deprecation", "Sunset")


class Transport:
    """Sends a vendor's operations with retries, limits, breaker, logs and metrics.

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
        session: HTTP session to use; one is created (and closed by `close`) if omitted.
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
        session: requests.Session | None = None,
    ) -> None:
        self.vendor = vendor
        self.base_url = base_url.rstrip("/")
        self.auth = auth
        self.config = config
        self.metrics = metrics
        self._table = table
        self._limits = dict(limits)
        self._limiter = limiter
        self._breaker = breaker
        self._logger = logger
        self._quota_reader = quota_reader
        self._owns_session = session is None
        self._session = session or requests.Session()
        self._deprecations_seen: set[tuple[str, str, str]] = set()
        self._deprecations_lock = threading.Lock()

    def close(self) -> None:
        """Close the HTTP session if this transport created it."""
        if self._owns_session:
            self._session.close()

    def with_breaker(self, breaker: CircuitBreaker) -> Transport:
        """This transport guarded by another breaker, for a separate service on the
        same host (e.g. an OAuth token endpoint). Shares session, limiter and metrics."""
        twin = copy.copy(self)
        twin._breaker = breaker
        twin._owns_session = False
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
            CircuitOpen: The vendor's breaker is open; nothing was sent.
            InputValidationError: The request body exceeds ``max_request_bytes``.
            ApiError: The subclass named by the resolution table, once retries
                (if allowed) are exhausted.
        """
        request = self._build_request(operation, path_params, params, json_body, form)
        try:
            self._breaker.before_call(operation.name)
        except CircuitOpen:
            self.metrics.increment("circuit_open_rejections")
            raise
        vendor_failed = False
        try:
            return self._call_with_retries(operation, request, auth or self.auth)
        except ApiError as error:
            self.metrics.increment("failed_calls")
            vendor_failed = isinstance(error, ServerError | ApiTimeout)
            raise
        finally:
            if vendor_failed:
                self._breaker.record_failure()
            else:
                self._breaker.record_success()

    def _call_with_retries(self, operation: Operation, request: _Request, auth: Auth) -> Reply:
        policy = self.config.retry
        started = time.monotonic()
        failures = {"transient": 0, "rate_limited": 0}
        transient_waits = backoff.expo(
            base=policy.backoff_factor,
            factor=policy.backoff_initial_s,
            max_value=policy.backoff_max_s,
        )
        next(transient_waits)

        def give_up(error: Exception) -> bool:
            if not isinstance(error, ApiError) or not error.retryable:
                return True
            kind = "rate_limited" if isinstance(error, RateLimited) else "transient"
            failures[kind] += 1
            budget = policy.max_rate_limited_tries if kind == "rate_limited" else policy.max_tries
            if failures[kind] >= budget:
                return True
            time_left = policy.max_elapsed_s - (time.monotonic() - started)
            return (error.retry_after or 0.0) > time_left

        def wait_for(error: ApiError) -> float:
            if isinstance(error, RateLimited):
                return error.retry_after or policy.min_rate_limit_wait_s
            jittered = backoff.full_jitter(next(transient_waits))
            return max(error.retry_after or 0.0, jittered)

        def count_retry(_: Any) -> None:
            self.metrics.increment("retries")

        state = _CallState(auth=auth)
        attempt = backoff.on_exception(
            backoff.runtime,
            ApiError,
            max_time=policy.max_elapsed_s,
            jitter=None,
            giveup=give_up,
            on_backoff=count_retry,
            logger=None,
            value=wait_for,
        )(self._attempt)
        reply: Reply = attempt(operation, request, state)
        return reply

    def _attempt(self, operation: Operation, request: _Request, state: _CallState) -> Reply:
        exchange, resolution = self._send_and_resolve(operation, request, state)
        if (
            resolution.action is Action.REFRESH_TOKEN
            and not state.refreshed
            and state.auth.refresh()
        ):
            state.refreshed = True
            exchange, resolution = self._send_and_resolve(operation, request, state)
        return self._conclude(operation, exchange, resolution, state.auth)

    def _send_and_resolve(
        self, operation: Operation, request: _Request, state: _CallState
    ) -> tuple[Exchange, Resolution]:
        self._throttle(operation, state.auth)
        state.attempts += 1
        started = time.monotonic()
        exchange = self._send(operation, request, state)
        duration_ms = (time.monotonic() - started) * 1000
        resolution = self._table.resolve(exchange)
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
                correlation_id=correlation_id(exchange),
                outcome=_outcome_label(exchange, resolution),
                succeeded=resolution.action is Action.OK,
            ),
        )
        if exchange.failure is None:
            self._observe_quota(exchange, state.auth)
            self._warn_deprecations(operation, exchange)
        return exchange, resolution

    def _conclude(
        self, operation: Operation, exchange: Exchange, resolution: Resolution, auth: Auth
    ) -> Reply:
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
            )
        wait = resolution.wait_s
        if rule.action is Action.RATE_LIMITED:
            wait = max(wait or 0.0, self.config.retry.min_rate_limit_wait_s)
            for limit_name in operation.limits:
                self._limiter.pause(self._limit_key(limit_name, auth), wait)
        may_resend = operation.idempotency is not None or rule.write_safe
        vendor_text = vendor_error_text(exchange) if exchange.failure is None else None
        raise rule.error(
            f"{rule.reason}: {vendor_text or _failure_text(exchange)}",
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
                    self._limit_key(limit_name, auth), self._limits[limit_name]
                )
            except TimeoutError as exc:
                raise RateLimited(
                    f"no permit from the local rate limiter ({limit_name}) in time",
                    vendor=self.vendor,
                    operation=operation.name,
                ) from exc
            self.metrics.add_throttle_wait(waited)

    def _limit_key(self, limit_name: str, auth: Auth) -> str:
        return f"{self.vendor}:{auth.identity()}:{limit_name}"

    def _send(self, operation: Operation, request: _Request, state: _CallState) -> Exchange:
        timeouts = self.config.timeouts_for(operation.name)
        deadline = time.monotonic() + timeouts.total_s
        headers = {"Accept": "application/json", "User-Agent": self.config.user_agent}
        if request.content_type:
            headers["Content-Type"] = request.content_type
        state.auth.apply(headers)
        try:
            response = self._session.request(
                operation.method,
                request.url,
                params=request.params,
                data=request.body,
                headers=headers,
                timeout=(timeouts.connect_s, timeouts.read_s),
                stream=True,
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            return Exchange(operation=operation.name, status=None, failure=_classify(exc))
        with response:
            if response.status_code == 429:
                state.rate_limited += 1
            failed = Exchange(
                operation=operation.name,
                status=response.status_code,
                headers=response.headers,
                rate_limited_count=state.rate_limited,
            )
            try:
                body = self._read_body(response, deadline)
            except _BodyTooLargeError:
                return _with_failure(failed, Failure.TOO_LARGE)
            except _DeadlinePassedError:
                return _with_failure(failed, Failure.TIMEOUT)
            except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
                return _with_failure(failed, _classify(exc))
        text = body.decode(response.encoding or "utf-8", errors="replace")
        data, parsed = _parse_json(text)
        malformed = (
            not parsed and operation.expects_json and 200 <= response.status_code < 300 and text
        )
        return Exchange(
            operation=operation.name,
            status=response.status_code,
            failure=Failure.MALFORMED_BODY if malformed else None,
            headers=response.headers,
            text=text,
            data=data,
            rate_limited_count=state.rate_limited,
        )

    def _read_body(self, response: requests.Response, deadline: float) -> bytes:
        """The body, read as it arrives (``read1``) so the deadline is checked
        between socket reads even when a server trickles bytes."""
        limit = self.config.max_response_bytes
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > limit:
            raise _BodyTooLargeError
        chunks: list[bytes] = []
        size = 0
        while chunk := response.raw.read1(64 * 1024, decode_content=True):
            size += len(chunk)
            if size > limit:
                raise _BodyTooLargeError
            if time.monotonic() > deadline:
                raise _DeadlinePassedError
            chunks.append(chunk)
        return b"".join(chunks)

    def _build_request(
        self,
        operation: Operation,
        path_params: Mapping[str, str] | None,
        params: Mapping[str, QueryValue] | None,
        json_body: Any,
        form: Mapping[str, str] | None,
    ) -> _Request:
        quoted = {key: quote(str(value), safe="") for key, value in (path_params or {}).items()}
        url = self.base_url + operation.path.format(**quoted)
        body: bytes | None = None
        content_type: str | None = None
        if json_body is not None:
            body = json.dumps(json_body, ensure_ascii=False, separators=(",", ":")).encode()
            content_type = "application/json"
        elif form is not None:
            body = urlencode(form).encode()
            content_type = "application/x-www-form-urlencoded"
        if body is not None and len(body) > self.config.max_request_bytes:
            raise InputValidationError(
                f"request body of {len(body)} bytes exceeds {self.config.max_request_bytes}",
                vendor=self.vendor,
                operation=operation.name,
                field="body",
            )
        query: dict[str, QueryValue] = {**dict(operation.fixed_params), **(params or {})}
        return _Request(url=url, params=query or None, body=body, content_type=content_type)

    def _observe_quota(self, exchange: Exchange, auth: Auth) -> None:
        if self._quota_reader is None:
            return
        reading = self._quota_reader(exchange.headers)
        if reading is not None and reading.limit_name in self._limits:
            self._limiter.observe(self._limit_key(reading.limit_name, auth), reading)

    def _warn_deprecations(self, operation: Operation, exchange: Exchange) -> None:
        for header in _DEPRECATION_HEADERS:
            value = exchange.header(header)
            if value is None:
                continue
            key = (operation.name, header, value)
            with self._deprecations_lock:
                if key in self._deprecations_seen:
                    continue
                self._deprecations_seen.add(key)
            self._logger.warning(
                "%s %s %s answered %s: %s",
                self.vendor,
                operation.method,
                operation.path,
                header,
                value,
            )


def _outcome_label(exchange: Exchange, resolution: Resolution) -> str:
    """``ok``, ``retry``, ``fail``... plus the outcome label or failure kind."""
    detail = resolution.rule.outcome or (exchange.failure.value if exchange.failure else None)
    return f"{resolution.action.value}:{detail}" if detail else resolution.action.value


def _with_failure(exchange: Exchange, failure: Failure) -> Exchange:
    return Exchange(
        operation=exchange.operation,
        status=exchange.status,
        failure=failure,
        headers=exchange.headers,
        rate_limited_count=exchange.rate_limited_count,
    )


def _classify(exc: BaseException) -> Failure:
    """Map a requests/urllib3 exception to a `Failure`."""
    if isinstance(exc, requests.ConnectTimeout) or _caused_by(
        exc, urllib3.exceptions.NewConnectionError
    ):
        return Failure.CONNECT
    if isinstance(exc, requests.Timeout) or _caused_by(exc, urllib3.exceptions.ReadTimeoutError):
        return Failure.TIMEOUT
    return Failure.DROPPED


def _caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    """Whether ``kind`` appears in the chain of ``exc`` (args, reason, cause, context)."""
    pending: list[object] = [exc]
    seen: set[int] = set()
    while pending:
        current = pending.pop()
        if id(current) in seen or not isinstance(current, BaseException):
            continue
        seen.add(id(current))
        if isinstance(current, kind):
            return True
        pending.extend(current.args)
        pending.extend((getattr(current, "reason", None), current.__cause__, current.__context__))
    return False


def _parse_json(text: str) -> tuple[Any, bool]:
    """``(data, parsed)``: the JSON value of ``text``; an empty body parses as None."""
    if not text.strip():
        return None, True
    try:
        return json.loads(text), True
    except ValueError:
        return None, False


def _failure_text(exchange: Exchange) -> str:
    """What went wrong when the vendor said nothing: the failure kind, or the status."""
    if exchange.failure is not None:
        return exchange.failure.value.replace("_", " ")
    return f"HTTP {exchange.status}"
