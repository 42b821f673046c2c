"""One table decides what each vendor response means.

Every HTTP attempt ends as an `Exchange`: a status and body, or a transport
`Failure` (timeout, dropped connection, unreadable body...). A
`ResolutionTable` maps it to exactly one `Action` by the first `Rule` that
matches:

* ``OK``: hand the body to the caller, with an optional *outcome* label when a
  non-2xx answer is a normal result (Lemlist's 400 "Lead already in the
  campaign" is ``OK``/``already_in_campaign``);
* ``RETRY``: transient; back off exponentially with full jitter (a rule may
  impose a minimum wait, e.g. HubSpot 423 waits at least 2 s);
* ``RATE_LIMITED``: wait as the vendor says (the rule's wait function), then retry;
* ``REFRESH_TOKEN``: refresh the OAuth access token once and resend;
* ``FAIL``: raise the rule's error class, not retried.

Each vendor module declares its quirks as rows placed before `COMMON_RULES`,
so a quirk is a line in a table, not an ``if`` in a method. The last common
rule matches anything, so every exchange resolves.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from urllib3 import HTTPHeaderDict

from sales_pipeline.clients.errors import (
    ApiError,
    ApiTimeout,
    AuthError,
    Conflict,
    InvalidRequest,
    NotFound,
    RateLimited,
    ResponseTooLarge,
    ServerError,
)


class Action(Enum):
    """What the transport does with a resolved exchange."""

    OK = "ok"
    RETRY = "retry"
    RATE_LIMITED = "rate_limited"
    REFRESH_TOKEN = "refresh_token"  # noqa: S105 - an action name, not a credential
    FAIL = "fail"


class Failure(Enum):
    """Ways an attempt can end without a usable HTTP answer."""

    CONNECT = "connect"
    """The connection could not be opened: the request never left."""
    TIMEOUT = "timeout"
    """Connect, read or total deadline passed."""
    DROPPED = "dropped"
    """The connection broke mid-exchange (reset, truncated chunked body)."""
    MALFORMED_BODY = "malformed_body"
    """A 2xx answer whose JSON body did not parse."""
    TOO_LARGE = "too_large"
    """The answer exceeded the configured size bound."""


@dataclass(frozen=True)
class Exchange:
    """One HTTP attempt as the resolution table sees it.

    Attributes:
        operation: The client operation name (rules can be scoped to some).
        status: HTTP status, or ``None`` when `failure` is set.
        failure: Why no usable answer came back, or ``None``.
        headers: Response headers (case-insensitive mapping), empty on failure.
        text: Response body as text (bounded in size).
        data: Parsed JSON body, or ``None`` when absent or not JSON.
        rate_limited_count: 429 answers so far in this call, this one included.
    """

    operation: str
    status: int | None
    failure: Failure | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    text: str = ""
    data: Any = None
    rate_limited_count: int = 0

    def header(self, name: str) -> str | None:
        """The value of header ``name`` (case-insensitive), if sent."""
        value = self.headers.get(name)
        if value is not None or isinstance(self.headers, HTTPHeaderDict):
            return value
        lowered = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == lowered), None)

    def json_value(self, key: str) -> Any:
        """Top-level ``key`` of a JSON object body, or ``None``."""
        return self.data.get(key) if isinstance(self.data, dict) else None


WaitFunction = Callable[[Exchange], float]


@dataclass(frozen=True)
class Rule:
    """One row of a resolution table.

    A rule matches an exchange when its status set contains the status, or
    its failure equals the failure (a rule with neither matches anything),
    and every further condition holds: the operation is in `operations`
    (empty means all), the body contains one of `text_contains`
    (case-insensitive), the JSON body's top-level key equals the value in
    `json_equals` (case-insensitive).

    Attributes:
        action: What to do on a match.
        error: Exception class raised for RETRY/RATE_LIMITED (once retries are
            exhausted), REFRESH_TOKEN (when no refresh is possible) and FAIL.
        outcome: Label returned with an ``OK`` answer that is a normal result.
        wait: Seconds to wait before retrying; for RETRY a minimum under the
            jittered backoff, for RATE_LIMITED the wait itself.
        write_safe: The answer proves the request was not processed, so even
            a non-idempotent write may be resent (429, connect failures).
        reason: Human text used in error messages and docs.
    """

    action: Action
    statuses: Collection[int] = ()
    failure: Failure | None = None
    operations: frozenset[str] = frozenset()
    text_contains: tuple[str, ...] = ()
    json_equals: tuple[str, str] | None = None
    error: type[ApiError] = ApiError
    outcome: str | None = None
    wait: WaitFunction | None = None
    write_safe: bool = False
    reason: str = ""

    def matches(self, exchange: Exchange) -> bool:
        """Whether this rule applies to ``exchange``."""
        if self.statuses or self.failure is not None:
            by_status = exchange.status is not None and exchange.status in self.statuses
            by_failure = self.failure is not None and exchange.failure is self.failure
            if not (by_status or by_failure):
                return False
        if self.operations and exchange.operation not in self.operations:
            return False
        if self.text_contains:
            lowered = exchange.text.lower()
            if not any(fragment.lower() in lowered for fragment in self.text_contains):
                return False
        if self.json_equals is not None:
            key, expected = self.json_equals
            actual = exchange.json_value(key)
            if not isinstance(actual, str) or actual.upper() != expected.upper():
                return False
        return True


@dataclass(frozen=True)
class Resolution:
    """The rule an exchange matched and the wait it computed (if any)."""

    rule: Rule
    wait_s: float | None

    @property
    def action(self) -> Action:
        """Shortcut for ``rule.action``."""
        return self.rule.action


class ResolutionTable:
    """Vendor rows first, then `COMMON_RULES`; the first match wins.

    Args:
        vendor_rules: The vendor's quirks, most specific first.
        common_rules: The defaults shared by every vendor.
    """

    def __init__(
        self, vendor_rules: Sequence[Rule], common_rules: Sequence[Rule] | None = None
    ) -> None:
        self.rules: tuple[Rule, ...] = (*vendor_rules, *(common_rules or COMMON_RULES))

    def resolve(self, exchange: Exchange) -> Resolution:
        """Return the resolution of the first rule matching ``exchange``."""
        for rule in self.rules:
            if rule.matches(exchange):
                wait = rule.wait(exchange) if rule.wait is not None else None
                return Resolution(rule=rule, wait_s=wait)
        raise LookupError(f"no rule matches status={exchange.status} failure={exchange.failure}")


def retry_after_seconds(exchange: Exchange) -> float | None:
    """``Retry-After`` in seconds (delta-seconds or HTTP-date), if sent and valid."""
    raw = exchange.header("Retry-After")
    if raw is None:
        return None
    raw = raw.strip()
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def retry_after_or(default_s: float) -> WaitFunction:
    """Wait ``Retry-After`` when sent, else ``default_s``."""

    def wait(exchange: Exchange) -> float:
        told = retry_after_seconds(exchange)
        return default_s if told is None else told

    return wait


def fixed_wait(seconds: float) -> WaitFunction:
    """Always wait ``seconds``."""

    def wait(_: Exchange) -> float:
        return seconds

    return wait


SUCCESS = range(200, 300)
CLIENT_ERRORS = range(400, 500)
SERVER_ERRORS = range(500, 600)

COMMON_RULES: tuple[Rule, ...] = (
    Rule(
        Action.FAIL,
        failure=Failure.TOO_LARGE,
        error=ResponseTooLarge,
        reason="answer larger than the operation's cap",
    ),
    Rule(Action.RETRY, failure=Failure.TIMEOUT, error=ApiTimeout, reason="timed out"),
    Rule(
        Action.RETRY,
        failure=Failure.CONNECT,
        error=ServerError,
        write_safe=True,
        reason="could not connect",
    ),
    Rule(Action.RETRY, failure=Failure.DROPPED, error=ServerError, reason="connection dropped"),
    Rule(
        Action.RETRY,
        failure=Failure.MALFORMED_BODY,
        error=ServerError,
        reason="malformed JSON in a success answer",
    ),
    Rule(Action.OK, statuses=SUCCESS),
    Rule(
        Action.RETRY,
        statuses={408},
        error=ApiTimeout,
        wait=retry_after_or(0.0),
        reason="request timeout",
    ),
    Rule(
        Action.RATE_LIMITED,
        statuses={429},
        error=RateLimited,
        wait=retry_after_or(1.0),
        write_safe=True,
        reason="rate limited",
    ),
    Rule(Action.FAIL, statuses={401, 403}, error=AuthError, reason="not authorized"),
    Rule(Action.FAIL, statuses={404}, error=NotFound, reason="not found"),
    Rule(Action.FAIL, statuses={409}, error=Conflict, reason="conflict"),
    Rule(Action.FAIL, statuses=CLIENT_ERRORS, error=InvalidRequest, reason="request rejected"),
    Rule(
        Action.RETRY,
        statuses=SERVER_ERRORS,
        error=ServerError,
        wait=retry_after_or(0.0),
        reason="server error",
    ),
    Rule(Action.FAIL, error=ApiError, reason="unexpected answer"),
)
"""Defaults for every vendor: 2xx ok; 408, 5xx, timeouts and dropped
connections retried (no sooner than a Retry-After, if sent); 429 waits for
Retry-After (else 1 s); other 4xx fail."""
