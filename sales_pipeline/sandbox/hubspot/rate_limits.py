"""HubSpot's rate limits: a rolling 10-second burst per app, search's 5 per second, a daily budget.

Non-search answers carry ``X-HubSpot-RateLimit-Max``/``-Remaining``/``-Interval-Milliseconds``
and the daily pair; search answers carry none; OAuth answers omit the daily pair. A 429 names its
``policyName`` and never comes with ``Retry-After``.
"""

from __future__ import annotations

import threading
import uuid

from sales_pipeline.sandbox.core.http import Response, json_response
from sales_pipeline.sandbox.core.limits import Budget, LimitSettings, SlidingWindow

from .errors import new_correlation_id

STANDARD, SEARCH, OAUTH = "standard", "search", "oauth"
"""How a route is rate limited: the burst window and daily budget, search's own window and the
daily budget, or the burst window alone."""

BURST_WINDOW_SECONDS = 10.0
SEARCH_PER_SECOND = 5

RATE_LIMIT_MESSAGES = {
    "TEN_SECONDLY_ROLLING": "You have reached your ten_secondly_rolling limit.",
    "SECONDLY": "You have reached your secondly limit.",
    "DAILY": "You have reached your daily limit.",
}


def rate_limited(
    policy: str, headers: dict[str, str], tag: str | None = "rate_limited"
) -> Response:
    """HubSpot's 429 for ``policy`` (never with ``Retry-After``); ``tag`` marks limit 429s."""
    correlation_id = new_correlation_id()
    body = {
        "status": "error",
        "message": RATE_LIMIT_MESSAGES[policy],
        "errorType": "RATE_LIMIT",
        "correlationId": correlation_id,
        "policyName": policy,
        "requestId": str(uuid.uuid4()),
    }
    headers = {**headers, "X-HubSpot-Correlation-Id": correlation_id}
    return json_response(429, body, headers, tag=tag)


class RateLimits:
    """The windows and the daily budget of one HubSpot account."""

    def __init__(self, burst_limit: int, daily_limit: int, settings: LimitSettings) -> None:
        self._settings = settings
        self._lock = threading.Lock()
        self.burst_limit = burst_limit
        self.search_per_second = SEARCH_PER_SECOND
        self._burst = SlidingWindow(burst_limit, BURST_WINDOW_SECONDS, settings)
        self._search = SlidingWindow(self.search_per_second, 1.0, settings)
        self._daily = Budget(daily_limit, settings)
        self._daily_used = 0

    @property
    def daily_limit(self) -> int:
        """The daily budget in force."""
        return self._daily.limit

    @property
    def daily_used(self) -> int:
        """Requests spent from the daily budget so far."""
        with self._lock:
            return self._daily_used

    def set_burst_limit(self, limit: int) -> None:
        """A new burst limit; its window starts empty."""
        self.burst_limit = limit
        self._burst = SlidingWindow(limit, BURST_WINDOW_SECONDS, self._settings)

    def set_search_per_second(self, limit: int) -> None:
        """A new search limit; its window starts empty."""
        self.search_per_second = limit
        self._search = SlidingWindow(limit, 1.0, self._settings)

    def set_daily_limit(self, limit: int) -> None:
        """A new daily budget; what was spent stays spent."""
        self._daily.limit = limit

    def admit(self, kind: str) -> tuple[dict[str, str], Response | None]:
        """Count one request of ``kind`` against its windows: the headers to send, or the 429."""
        if kind == SEARCH:
            if not self._search.acquire().allowed:
                return {}, rate_limited("SECONDLY", {})
            if not self._take_daily():
                return {}, rate_limited("DAILY", {})
            return {}, None
        burst = self._burst.acquire()
        headers = {
            "X-HubSpot-RateLimit-Max": str(burst.limit),
            "X-HubSpot-RateLimit-Remaining": str(burst.remaining),
            "X-HubSpot-RateLimit-Interval-Milliseconds": str(int(BURST_WINDOW_SECONDS * 1000)),
        }
        if kind == OAUTH:
            return headers, None if burst.allowed else rate_limited("TEN_SECONDLY_ROLLING", headers)
        if not burst.allowed:
            return headers, rate_limited(
                "TEN_SECONDLY_ROLLING", {**headers, **self._daily_headers()}
            )
        allowed = self._take_daily()
        headers.update(self._daily_headers())
        return headers, None if allowed else rate_limited("DAILY", headers)

    def _take_daily(self) -> bool:
        """Spend one request of the daily budget, if any is left."""
        decision = self._daily.acquire()
        if decision.allowed:
            with self._lock:
                self._daily_used += 1
        return decision.allowed

    def _daily_headers(self) -> dict[str, str]:
        """The daily pair of rate headers, as things stand."""
        limit = self._daily.limit
        with self._lock:
            remaining = max(limit - self._daily_used, 0)
        return {
            "X-HubSpot-RateLimit-Daily": str(limit),
            "X-HubSpot-RateLimit-Daily-Remaining": str(remaining),
        }
