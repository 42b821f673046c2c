"""HubSpot's rows of the resolution table, its policy-named waits and its quota headers.

429s name their policy: ``TEN_SECONDLY_ROLLING`` waits for the window to free,
``SECONDLY`` waits 1 s x the number of 429s so far, ``DAILY`` raises
`QuotaExhausted` (the daily budget resets at midnight in the account's time zone).
"""

from __future__ import annotations

from collections.abc import Mapping

from sales_pipeline.clients.errors import (
    AuthError,
    Conflict,
    InvalidRequest,
    QuotaExhausted,
    RateLimited,
    ServerError,
)
from sales_pipeline.clients.hubspot.models import HubSpotSettings
from sales_pipeline.clients.ratelimit import QuotaReading
from sales_pipeline.clients.resolution import (
    Action,
    Exchange,
    Rule,
    WaitFunction,
    fixed_wait,
    retry_after_or,
    retry_after_seconds,
)


def hubspot_rules(settings: HubSpotSettings) -> tuple[Rule, ...]:
    """HubSpot's rows of the resolution table (placed before the common rows)."""
    return (
        Rule(
            Action.FAIL,
            statuses={429},
            json_equals=("policyName", "DAILY"),
            error=QuotaExhausted,
            reason="daily API limit reached; it resets at midnight in the account's time zone",
        ),
        Rule(
            Action.RATE_LIMITED,
            statuses={429},
            json_equals=("policyName", "TEN_SECONDLY_ROLLING"),
            error=RateLimited,
            wait=_rolling_window_wait(settings.burst_interval_s),
            write_safe=True,
            reason="ten-secondly rolling limit reached",
        ),
        Rule(
            Action.RATE_LIMITED,
            statuses={429},
            json_equals=("policyName", "SECONDLY"),
            error=RateLimited,
            wait=_secondly_wait(settings.secondly_wait_s),
            write_safe=True,
            reason="secondly limit reached",
        ),
        Rule(
            Action.REFRESH_TOKEN,
            statuses={401},
            json_equals=("category", "EXPIRED_AUTHENTICATION"),
            error=AuthError,
            reason="access token expired",
        ),
        Rule(
            Action.FAIL,
            statuses={400},
            json_equals=("error", "invalid_grant"),
            error=AuthError,
            reason="OAuth grant rejected (bad, used or revoked code or refresh token)",
        ),
        Rule(
            Action.RETRY,
            statuses={423},
            error=Conflict,
            wait=fixed_wait(2.0),
            write_safe=True,
            reason="record locked",
        ),
        Rule(
            Action.RETRY,
            statuses={477},
            error=ServerError,
            wait=retry_after_or(settings.migration_wait_s),
            write_safe=True,
            reason="account migration in progress",
        ),
        Rule(
            Action.FAIL,
            statuses={522, 525, 526},
            error=ServerError,
            reason="edge error that is not transient",
        ),
        Rule(
            Action.RETRY,
            statuses={502, 503, 504, 521, 523, 524},
            error=ServerError,
            reason="transient edge or server error",
        ),
        Rule(
            Action.FAIL,
            statuses={414},
            error=InvalidRequest,
            reason="URI too long: request fewer properties at a time",
        ),
    )


def _rolling_window_wait(default_window_s: float) -> WaitFunction:
    """Until the rolling window frees: Retry-After, else the window the headers
    announce, else ``default_window_s``."""

    def wait(exchange: Exchange) -> float:
        told = retry_after_seconds(exchange)
        if told is not None:
            return told
        interval = exchange.header("X-HubSpot-RateLimit-Interval-Milliseconds")
        return int(interval) / 1000 if interval and interval.isdigit() else default_window_s

    return wait


def _secondly_wait(unit_s: float) -> WaitFunction:
    """``unit_s`` x the number of 429s this call has met (HubSpot SDK behaviour)."""

    def wait(exchange: Exchange) -> float:
        return unit_s * max(1, exchange.rate_limited_count)

    return wait


def read_hubspot_quota(headers: Mapping[str, str]) -> QuotaReading | None:
    """The burst budget from ``X-HubSpot-RateLimit-*`` headers, if present."""
    remaining = headers.get("X-HubSpot-RateLimit-Remaining", "")
    maximum = headers.get("X-HubSpot-RateLimit-Max", "")
    interval = headers.get("X-HubSpot-RateLimit-Interval-Milliseconds", "")
    if not (remaining.isdigit() and maximum.isdigit()):
        return None
    window_s = int(interval) / 1000 if interval.isdigit() else 10.0
    return QuotaReading("burst", int(remaining), int(maximum), window_s)
