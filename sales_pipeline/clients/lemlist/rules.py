"""Lemlist's rows of the resolution table and its quota headers."""

from __future__ import annotations

from collections.abc import Mapping

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
    """Reads ``X-RateLimit-Remaining``/``-Limit``; the Reset date string is ignored."""

    def read(headers: Mapping[str, str]) -> QuotaReading | None:
        remaining = headers.get("X-RateLimit-Remaining", "")
        limit = headers.get("X-RateLimit-Limit", "")
        if not (remaining.isdigit() and limit.isdigit()):
            return None
        return QuotaReading("default", int(remaining), int(limit), window_s)

    return read
