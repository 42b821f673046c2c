"""What the HTTP core is asked to do: operations, their limits, and the knobs a deployment tunes.

An `Operation` is one vendor endpoint as a client uses it (each vendor's
endpoint table lists them); `TransportConfig` holds timeouts, retry budgets,
size caps and breaker thresholds; a `Reply` is a successful answer.

Size caps: every answer is read streamed and refused past its operation's cap
(`TransportConfig.response_cap`), and a request is refused before sending when
its body exceeds ``max_request_bytes`` or its operation's ``max_inputs``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sales_pipeline.clients.ratelimit import QuotaReading

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
        max_response_bytes: Cap of an answer for operations that name none.
        response_caps: Per-operation answer caps, by operation name; they win
            over the operation's own ``max_response_bytes``.
        max_request_bytes: Request bodies larger than this are not sent.
        breaker_failure_threshold: Consecutive failed calls that open the breaker.
        breaker_reset_timeout_s: Seconds before an open breaker lets a probe through.
        user_agent: ``User-Agent`` header.
        concurrency: Calls one step may have in flight at once (see
            ``VendorClient.concurrently``); the HTTP pool keeps as many connections.
    """

    timeouts: Timeouts = Timeouts()
    operation_timeouts: Mapping[str, Timeouts] = field(default_factory=dict)
    retry: RetryPolicy = RetryPolicy()
    max_response_bytes: int = 20 * 1024 * 1024
    response_caps: Mapping[str, int] = field(default_factory=dict)
    max_request_bytes: int = 5 * 1024 * 1024
    breaker_failure_threshold: int = 5
    breaker_reset_timeout_s: float = 30.0
    user_agent: str = "sales-pipeline/0.1 (+python-requests)"
    concurrency: int = 8

    def timeouts_for(self, operation: str) -> Timeouts:
        """The timeouts of ``operation``."""
        return self.operation_timeouts.get(operation, self.timeouts)

    def response_cap(self, operation: Operation) -> int:
        """The largest answer ``operation`` may receive, in bytes."""
        return self.response_caps.get(
            operation.name, operation.max_response_bytes or self.max_response_bytes
        )


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
        max_response_bytes: The largest answer this operation expects, or ``None``
            for `TransportConfig.max_response_bytes`.
        max_inputs: The vendor's documented most items per request, counted in
            the JSON body's ``inputs_key`` list (e.g. HubSpot's 100 batch inputs).
        inputs_key: Key of the counted list in the JSON body.
    """

    name: str
    method: str
    path: str
    idempotency: str | None = "read"
    limits: tuple[str, ...] = ("default",)
    expects_json: bool = True
    fixed_params: tuple[tuple[str, str], ...] = ()
    max_response_bytes: int | None = None
    max_inputs: int | None = None
    inputs_key: str = "inputs"


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
        after_uncertain_attempt: An earlier attempt of the same call may have been
            processed (sent, then dropped, timed out or answered 5xx): a "duplicate"
            answer then most likely describes what that attempt did.
    """

    status: int
    data: Any
    text: str
    headers: Mapping[str, str]
    outcome: str | None
    correlation_id: str | None
    after_uncertain_attempt: bool = False
