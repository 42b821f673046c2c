"""Explorium's rows of the resolution table, its 429 wait and its quota headers."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from sales_pipeline.clients.errors import InvalidRequest, QuotaExhausted, RateLimited
from sales_pipeline.clients.explorium.models import ExploriumSettings
from sales_pipeline.clients.ratelimit import QuotaReading
from sales_pipeline.clients.resolution import (
    Action,
    Exchange,
    Rule,
    retry_after_seconds,
)


def explorium_rules(settings: ExploriumSettings) -> tuple[Rule, ...]:
    """Explorium's rows of the resolution table (placed before the common rows)."""
    return (
        Rule(
            Action.FAIL,
            statuses={403},
            error=QuotaExhausted,
            reason="out of Explorium credits; stop enriching until credits are added",
        ),
        Rule(Action.FAIL, statuses={422}, error=InvalidRequest, reason="request failed validation"),
        Rule(
            Action.RATE_LIMITED,
            statuses={429},
            error=RateLimited,
            wait=_rate_limited_wait(settings.rate_limited_wait_s),
            write_safe=True,
            reason="rate limited (requests per minute)",
        ),
    )


def _rate_limited_wait(default_s: float) -> Callable[[Exchange], float]:
    """Retry-After, else the body's ``retry_after``, else until X-RateLimit-Reset."""

    def wait(exchange: Exchange) -> float:
        told = retry_after_seconds(exchange)
        if told is not None:
            return told
        in_body = exchange.json_value("retry_after")
        if isinstance(in_body, int | float) and in_body >= 0:
            return float(in_body)
        reset = exchange.header("X-RateLimit-Reset") or ""
        if reset.isdigit() and 0 < int(reset) - time.time() <= default_s:
            return int(reset) - time.time()
        return default_s

    return wait


def read_explorium_quota(headers: Mapping[str, str]) -> QuotaReading | None:
    """The minute budget from ``X-RateLimit-*`` headers (Reset is a Unix timestamp)."""
    remaining = headers.get("X-RateLimit-Remaining", "")
    limit = headers.get("X-RateLimit-Limit", "")
    if not (remaining.isdigit() and limit.isdigit()):
        return None
    reset = headers.get("X-RateLimit-Reset", "")
    return QuotaReading(
        "default", int(remaining), int(limit), 60.0, float(reset) if reset.isdigit() else None
    )
