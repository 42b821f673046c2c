"""Lemlist's rows of the resolution table and its quota headers."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone

from sales_pipeline.clients.errors import AuthError, RateLimited
from sales_pipeline.clients.lemlist.endpoints import ADD_LEAD, GET_LEAD
from sales_pipeline.clients.lemlist.models import AddLeadOutcome, LemlistSettings
from sales_pipeline.clients.ratelimit import QuotaReading
from sales_pipeline.clients.resolution import Action, Rule, retry_after_or
from sales_pipeline.clients.transport import QuotaReader


def lemlist_rules(settings: LemlistSettings) -> tuple[Rule, ...]:
    """Lemlist's rows of the resolution table (placed before the common rows)."""
    return (
        Rule(
            Action.FAIL,
            statuses={400, 401, 403, 404},
            text_contains=(
                "no api key provided",
                "authentication you supplied is incorrect",
                "user linked to this api key is blocked",
                "no user found for this api key",
            ),
            error=AuthError,
            reason="API key rejected",
        ),
        Rule(
            Action.OK,
            statuses={400},
            operations=frozenset({ADD_LEAD}),
            text_contains=("already in the campaign",),
            outcome=AddLeadOutcome.ALREADY_IN_CAMPAIGN.value,
        ),
        Rule(
            Action.OK,
            statuses={409},
            operations=frozenset({ADD_LEAD}),
            outcome=AddLeadOutcome.IN_OTHER_CAMPAIGN.value,
        ),
        Rule(
            Action.OK,
            statuses={400},
            operations=frozenset({ADD_LEAD}),
            text_contains=("invalid email", "graveyard", "invalid linkedin"),
            outcome=AddLeadOutcome.REJECTED.value,
        ),
        Rule(
            Action.OK,
            statuses={404},
            operations=frozenset({GET_LEAD}),
            outcome="not_found",
        ),
        Rule(
            Action.RATE_LIMITED,
            statuses={429},
            error=RateLimited,
            wait=retry_after_or(settings.rate_limited_wait_s),
            write_safe=True,
            reason="rate limited (requests per 2 s)",
        ),
    )


def lemlist_quota_reader(window_s: float) -> QuotaReader:
    """Reads ``X-RateLimit-Remaining``/``-Limit`` and the ``-Reset`` date string."""

    def read(headers: Mapping[str, str]) -> QuotaReading | None:
        remaining = headers.get("X-RateLimit-Remaining", "")
        limit = headers.get("X-RateLimit-Limit", "")
        if not (remaining.isdigit() and limit.isdigit()):
            return None
        resets_at = parse_reset_date(headers.get("X-RateLimit-Reset", ""))
        return QuotaReading("default", int(remaining), int(limit), window_s, resets_at)

    return read


_JS_DATE = re.compile(
    r"^[A-Za-z]{3} ([A-Za-z]{3}) (\d{1,2}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) GMT([+-])(\d{2})(\d{2})"
)
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def parse_reset_date(text: str) -> float | None:
    """Epoch seconds of Lemlist's ``X-RateLimit-Reset``, a JavaScript ``Date.toString()``
    such as ``Tue Feb 16 2021 09:02:42 GMT+0100 (Central European Standard Time)``
    (never a number); ``None`` when it does not read as one."""
    match = _JS_DATE.match(text.strip())
    if match is None or match.group(1) not in _MONTHS:
        return None
    month, day, year, hour, minute, second, sign, off_h, off_m = match.groups()
    offset = timedelta(hours=int(off_h), minutes=int(off_m)) * (-1 if sign == "-" else 1)
    try:
        moment = datetime(
            int(year),
            _MONTHS.index(month) + 1,
            int(day),
            int(hour),
            int(minute),
            int(second),
            tzinfo=timezone(offset),
        )
    except ValueError:
        return None
    return moment.timestamp()
