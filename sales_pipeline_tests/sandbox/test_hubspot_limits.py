"""HubSpot rate limits (10-second burst, search's 5 per second, the daily budget), their headers
and 429 bodies, run-time settings, and the injected faults in HubSpot's own dialect."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from sales_pipeline.sandbox import SandboxConfig, SandboxHandle, SandboxOptions, run_sandbox
from sales_pipeline_tests.sandbox.test_hubspot_support import (
    CONTACTS,
    RATE_HEADERS,
    RATE_LIMIT,
    HubSpot,
    assert_shape,
    rate_headers,
)


def _stats(api: HubSpot) -> dict[str, Any]:
    stats: dict[str, Any] = api.control("GET", "stats")["hubspot"]
    return stats


# ---------------------------------------------------------------------------- headers
def test_every_non_search_answer_carries_the_burst_and_daily_headers(
    sandbox: SandboxHandle,
) -> None:
    api = HubSpot(sandbox)
    first, second = api.get(CONTACTS), api.get(f"{CONTACTS}/0")
    assert second.status_code == 404, "errors carry the headers too"
    for answer in (first, second):
        assert set(RATE_HEADERS) <= set(rate_headers(answer))
        assert answer.headers["X-HubSpot-RateLimit-Max"] == "100"
        assert answer.headers["X-HubSpot-RateLimit-Interval-Milliseconds"] == "10000"
        assert answer.headers["X-HubSpot-RateLimit-Daily"] == "250000"
    assert int(first.headers["X-HubSpot-RateLimit-Remaining"]) - 1 == int(
        second.headers["X-HubSpot-RateLimit-Remaining"]
    )
    assert second.headers["X-HubSpot-RateLimit-Daily-Remaining"] == "249998"


def test_search_answers_carry_no_rate_headers(sandbox: SandboxHandle) -> None:
    assert rate_headers(HubSpot(sandbox).search({})) == {}


# ---------------------------------------------------------------------------- the burst window
def test_the_101st_request_in_ten_seconds_gets_the_ten_secondly_429(sandbox: SandboxHandle) -> None:
    api = HubSpot(sandbox)
    answers = [api.get(f"{CONTACTS}/1001") for _ in range(101)]
    assert [a.status_code for a in answers[:100]] == [200] * 100
    refused = answers[100]
    assert refused.status_code == 429
    assert_shape(RATE_LIMIT, refused.json())
    assert refused.json()["policyName"] == "TEN_SECONDLY_ROLLING"
    assert refused.headers["X-HubSpot-RateLimit-Remaining"] == "0"
    assert "Retry-After" not in refused.headers
    assert _stats(api)["rate_limited"] == 1


def test_search_has_its_own_window_and_does_not_spend_the_burst(sandbox: SandboxHandle) -> None:
    api = HubSpot(sandbox)
    api.configure(burst_limit=2)
    answers = [api.search({"limit": 1}) for _ in range(6)]
    assert [a.status_code for a in answers[:5]] == [200] * 5
    refused = answers[5]
    assert refused.status_code == 429
    assert refused.json()["policyName"] == "SECONDLY"
    assert refused.json()["message"] == "You have reached your secondly limit."
    assert rate_headers(refused) == {}
    assert [api.get(CONTACTS).status_code for _ in range(2)] == [200, 200]


def test_the_rate_scale_scales_the_burst_limit(sandbox: SandboxHandle) -> None:
    api = HubSpot(sandbox)
    api.control("PUT", "limits", {"rate_scale": 0.05})
    answers = [api.get(CONTACTS) for _ in range(6)]
    assert answers[0].headers["X-HubSpot-RateLimit-Max"] == "5"
    assert [a.status_code for a in answers] == [200] * 5 + [429]


def test_with_limits_off_nothing_is_refused_but_headers_remain(sandbox: SandboxHandle) -> None:
    api = HubSpot(sandbox)
    api.control("PUT", "limits", {"enabled": False})
    answers = [api.get(f"{CONTACTS}/1001") for _ in range(110)] + [api.search({}) for _ in range(8)]
    assert {a.status_code for a in answers} == {200}
    assert "X-HubSpot-RateLimit-Max" in answers[0].headers


# ---------------------------------------------------------------------------- the daily budget
def test_a_spent_daily_budget_answers_the_daily_429_everywhere(sandbox: SandboxHandle) -> None:
    api = HubSpot(sandbox)
    api.configure(daily_limit=3)
    assert [api.get(CONTACTS).status_code for _ in range(2)] == [200, 200]
    assert api.search({}).status_code == 200
    refused = api.get(CONTACTS)
    assert refused.status_code == 429
    assert_shape(RATE_LIMIT, refused.json())
    assert refused.json()["policyName"] == "DAILY"
    assert refused.json()["message"] == "You have reached your daily limit."
    assert refused.headers["X-HubSpot-RateLimit-Daily-Remaining"] == "0"
    assert api.search({}).json()["policyName"] == "DAILY"
    assert _stats(api)["daily_used"] == 3


def test_the_daily_limit_can_come_from_the_options() -> None:
    config = SandboxConfig(
        contacts=20, options=SandboxOptions(hubspot_daily_limit=1, hubspot_burst_limit=7)
    )
    with run_sandbox(config) as handle:
        api = HubSpot(handle)
        first = api.get(CONTACTS)
        assert first.headers["X-HubSpot-RateLimit-Max"] == "7"
        assert first.headers["X-HubSpot-RateLimit-Daily-Remaining"] == "0"
        assert api.get(CONTACTS).json()["policyName"] == "DAILY"


# ---------------------------------------------------------------------------- settings
def test_settings_are_reported_validated_and_reset(sandbox: SandboxHandle) -> None:
    api = HubSpot(sandbox)
    shown = api.configure(burst_limit=50, search_per_second=2, search_lag_seconds=1.5)["hubspot"]
    assert shown == {
        "burst_limit": 50,
        "daily_limit": 250_000,
        "search_per_second": 2,
        "search_lag_seconds": 1.5,
    }
    for bad in ({"burst": 1}, {"burst_limit": 0}, {"daily_limit": -1}, {"search_per_second": 1.5}):
        answer = requests.put(f"{sandbox.control_url}/limits", json={"hubspot": bad}, timeout=5)
        assert answer.status_code == 400, bad
    api.control("POST", "reset")
    assert api.control("GET", "limits")["hubspot"]["burst_limit"] == 100


def test_stats_report_the_daily_use_and_the_settings(sandbox: SandboxHandle) -> None:
    api = HubSpot(sandbox)
    api.get(CONTACTS)
    api.search({})
    stats = _stats(api)
    assert stats["daily_used"] == 2
    assert stats["daily_limit"] == 250_000
    assert stats["contacts"] == len(api.world.contacts)
    assert stats["by_endpoint"] == {"contacts_list": {"200": 1}, "search": {"200": 1}}


# ---------------------------------------------------------------------------- injected faults
def test_an_injected_rate_limit_is_the_ten_secondly_body(sandbox: SandboxHandle) -> None:
    api = HubSpot(sandbox)
    api.faults({"rate_limit_burst": 1.0})
    answer = api.get(CONTACTS)
    assert answer.status_code == 429
    assert_shape(RATE_LIMIT, answer.json())
    assert answer.json()["policyName"] == "TEN_SECONDLY_ROLLING"
    assert "Retry-After" not in answer.headers
    stats = _stats(api)
    assert (stats["rate_limited"], stats["faults_injected"]) == (0, {"rate_limit": 1})


@pytest.mark.parametrize(
    ("status", "category"),
    [
        (423, "LOCKED"),
        (500, "INTERNAL_ERROR"),
        (503, "SERVICE_UNAVAILABLE"),
        (504, "GATEWAY_TIMEOUT"),
    ],
)
def test_an_injected_json_error_has_hubspot_s_error_shape(
    sandbox: SandboxHandle, status: int, category: str
) -> None:
    api = HubSpot(sandbox)
    api.faults({"error_rates": {status: 1.0}})
    answer = api.get(CONTACTS)
    assert answer.status_code == status
    body = answer.json()
    assert body["status"] == "error"
    assert body["category"] == category
    assert body["correlationId"]


def test_only_an_injected_477_migration_answer_carries_retry_after(sandbox: SandboxHandle) -> None:
    api = HubSpot(sandbox)
    api.faults({"error_rates": {477: 1.0}})
    answer = api.get(CONTACTS)
    assert answer.status_code == 477
    assert answer.json()["category"] == "MIGRATION_IN_PROGRESS"
    assert answer.headers["Retry-After"] == "3"
    api.faults({"error_rates": {429: 1.0}})
    throttled = api.get(CONTACTS)
    assert throttled.json()["policyName"] == "TEN_SECONDLY_ROLLING"
    assert "Retry-After" not in throttled.headers


def test_an_injected_502_is_an_html_page_from_the_edge(sandbox: SandboxHandle) -> None:
    api = HubSpot(sandbox)
    api.faults({"error_rates": {502: 1.0}})
    answer = api.search({})
    assert answer.status_code == 502
    assert answer.headers["Content-Type"].startswith("text/html")
    assert "502 Bad Gateway" in answer.text


def test_an_injected_cloudflare_error_is_plain_text(sandbox: SandboxHandle) -> None:
    api = HubSpot(sandbox)
    api.faults({"error_rates": {521: 1.0}})
    answer = api.get(CONTACTS)
    assert (answer.status_code, answer.text) == (521, "error code: 521")


def test_an_injected_dropped_connection_gives_no_answer(sandbox: SandboxHandle) -> None:
    api = HubSpot(sandbox)
    api.faults({"drop_connection": 1.0})
    with pytest.raises(requests.ConnectionError):
        api.get(CONTACTS)


def test_an_injected_hang_closes_without_an_answer(sandbox: SandboxHandle) -> None:
    api = HubSpot(sandbox)
    api.faults({"hang": {"probability": 1.0, "seconds": 0.1}})
    with pytest.raises(requests.ConnectionError):
        api.get(CONTACTS)


def test_an_injected_truncated_body_is_not_json(sandbox: SandboxHandle) -> None:
    api = HubSpot(sandbox)
    api.faults({"truncated_json": 1.0})
    with pytest.raises((requests.exceptions.ChunkedEncodingError, requests.ConnectionError)):
        api.get(CONTACTS).json()


def test_an_injected_malformed_body_is_an_html_200(sandbox: SandboxHandle) -> None:
    api = HubSpot(sandbox)
    api.faults({"malformed_json": 1.0})
    answer = api.get(CONTACTS)
    assert answer.status_code == 200
    with pytest.raises(requests.JSONDecodeError):
        answer.json()
