"""The resolution tables, row by row, without a network."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from sales_pipeline.clients import (
    ApiTimeout,
    AuthError,
    Conflict,
    ExploriumSettings,
    HubSpotSettings,
    InvalidRequest,
    LemlistSettings,
    QuotaExhausted,
    RateLimited,
    ResponseTooLarge,
    ServerError,
)
from sales_pipeline.clients.explorium import explorium_rules
from sales_pipeline.clients.hubspot import hubspot_rules
from sales_pipeline.clients.lemlist import lemlist_rules
from sales_pipeline.clients.resolution import (
    Action,
    Exchange,
    Failure,
    ResolutionTable,
    retry_after_seconds,
)

HUBSPOT = ResolutionTable(hubspot_rules(HubSpotSettings()))
EXPLORIUM = ResolutionTable(explorium_rules(ExploriumSettings()))
LEMLIST = ResolutionTable(lemlist_rules(LemlistSettings()))
COMMON = ResolutionTable(())


def answer(status: int, data=None, text: str = "", operation: str = "op", **headers: str):
    return Exchange(operation, status, headers=headers, text=text, data=data)


@pytest.mark.parametrize(
    ("exchange", "action", "error"),
    [
        (answer(200), Action.OK, None),
        (answer(204), Action.OK, None),
        (answer(408), Action.RETRY, ApiTimeout),
        (answer(429), Action.RATE_LIMITED, RateLimited),
        (answer(401), Action.FAIL, AuthError),
        (answer(400), Action.FAIL, InvalidRequest),
        (answer(500), Action.RETRY, ServerError),
        (answer(302), Action.FAIL, None),
        (Exchange("op", None, failure=Failure.TIMEOUT), Action.RETRY, ApiTimeout),
        (Exchange("op", None, failure=Failure.DROPPED), Action.RETRY, ServerError),
        (Exchange("op", 200, failure=Failure.MALFORMED_BODY), Action.RETRY, ServerError),
        (Exchange("op", 200, failure=Failure.TOO_LARGE), Action.FAIL, ResponseTooLarge),
    ],
)
def test_common_rows(exchange, action, error):
    resolution = COMMON.resolve(exchange)

    assert resolution.action is action
    if error is not None:
        assert resolution.rule.error is error


def test_connect_failure_may_resend_even_a_write_but_a_dropped_one_may_not():
    connect = COMMON.resolve(Exchange("op", None, failure=Failure.CONNECT))
    dropped = COMMON.resolve(Exchange("op", None, failure=Failure.DROPPED))

    assert connect.rule.write_safe is True
    assert dropped.rule.write_safe is False


@pytest.mark.parametrize(
    ("policy", "headers", "action", "wait"),
    [
        ("DAILY", {}, Action.FAIL, None),
        ("TEN_SECONDLY_ROLLING", {}, Action.RATE_LIMITED, 10.0),
        (
            "TEN_SECONDLY_ROLLING",
            {"X-HubSpot-RateLimit-Interval-Milliseconds": "2500"},
            Action.RATE_LIMITED,
            2.5,
        ),
        ("TEN_SECONDLY_ROLLING", {"Retry-After": "4"}, Action.RATE_LIMITED, 4.0),
        ("SECONDLY", {}, Action.RATE_LIMITED, 1.0),
    ],
)
def test_hubspot_429_is_resolved_by_its_policy_name(policy, headers, action, wait):
    resolution = HUBSPOT.resolve(answer(429, {"policyName": policy}, **headers))

    assert resolution.action is action
    assert resolution.wait_s == wait


def test_hubspot_daily_limit_is_quota_exhausted():
    assert HUBSPOT.resolve(answer(429, {"policyName": "DAILY"})).rule.error is QuotaExhausted


def test_hubspot_secondly_wait_grows_with_each_429():
    third = Exchange("op", 429, data={"policyName": "SECONDLY"}, rate_limited_count=3)

    assert HUBSPOT.resolve(third).wait_s == 3.0


@pytest.mark.parametrize(
    ("status", "action"),
    [
        (502, Action.RETRY),
        (521, Action.RETRY),
        (524, Action.RETRY),
        (522, Action.FAIL),
        (525, Action.FAIL),
        (526, Action.FAIL),
        (414, Action.FAIL),
    ],
)
def test_hubspot_edge_errors(status, action):
    assert HUBSPOT.resolve(answer(status)).action is action


def test_hubspot_locked_record_waits_at_least_two_seconds():
    resolution = HUBSPOT.resolve(answer(423))

    assert resolution.action is Action.RETRY
    assert resolution.rule.error is Conflict
    assert resolution.wait_s == 2.0


def test_hubspot_expired_token_asks_for_a_refresh_but_a_bad_token_fails():
    expired = HUBSPOT.resolve(answer(401, {"category": "EXPIRED_AUTHENTICATION"}))
    invalid = HUBSPOT.resolve(answer(401, {"category": "INVALID_AUTHENTICATION"}))

    assert expired.action is Action.REFRESH_TOKEN
    assert invalid.action is Action.FAIL


def test_explorium_403_is_out_of_credits_and_429_reads_the_body_wait():
    assert EXPLORIUM.resolve(answer(403)).rule.error is QuotaExhausted
    limited = EXPLORIUM.resolve(answer(429, {"error": "rate_limit_exceeded", "retry_after": 7}))
    assert limited.wait_s == 7.0


def test_lemlist_duplicate_lead_is_an_outcome_only_for_add_lead():
    duplicate = "Lead already in the campaign"

    on_add = LEMLIST.resolve(answer(400, text=duplicate, operation="add_lead_to_campaign"))
    elsewhere = LEMLIST.resolve(answer(400, text=duplicate, operation="list_campaigns"))

    assert (on_add.action, on_add.rule.outcome) == (Action.OK, "already_in_campaign")
    assert elsewhere.action is Action.FAIL


def test_lemlist_auth_texts_beat_the_status_they_come_with():
    resolution = LEMLIST.resolve(answer(404, text="No user found for this API key"))

    assert resolution.rule.error is AuthError


def test_retry_after_accepts_seconds_and_http_dates():
    later = datetime.now(UTC) + timedelta(seconds=30)

    assert retry_after_seconds(answer(429, **{"Retry-After": "12"})) == 12.0
    assert (retry_after_seconds(answer(429, **{"retry-after": format_datetime(later)})) or 0) > 25
    assert retry_after_seconds(answer(429, **{"Retry-After": "soon"})) is None
