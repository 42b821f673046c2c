"""The receiver's pure checks: constant-time secrets and HubSpot's v3 signature."""

from datetime import timedelta

import pytest

from sales_pipeline.sandbox.hubspot.webhooks import sign_v3
from sales_pipeline.webhooks.checks import (
    RefusedError,
    check_hubspot_signature,
    hubspot_v3_signature,
    same_secret,
)
from sales_pipeline_tests.webhooks.conftest import NOW, NOW_MS


@pytest.mark.parametrize(
    ("given", "matches"),
    [("s3cret-value", True), ("s3cret-valuE", False), ("s3cret", False), ("", False)],
)
def test_a_secret_matches_only_itself_whatever_its_length(given: str, matches: bool) -> None:
    assert same_secret(given, "s3cret-value") is matches


def test_the_receiver_and_the_sandbox_compute_the_same_v3_signature() -> None:
    body = '[{"eventId":1,"propertyValue":"Zoë"}]'.encode()
    url = "https://hooks.example.com/webhooks/hubspot?portal=1"
    assert hubspot_v3_signature("secret", "POST", url, body, "1700000000000") == sign_v3(
        "secret", url, body, "1700000000000"
    )


def test_the_five_minute_window_follows_the_injected_clock() -> None:
    body, url = b"[]", "https://hooks.example.com/webhooks/hubspot"
    stamp = str(NOW_MS)
    headers = {
        "x-hubspot-request-timestamp": stamp,
        "x-hubspot-signature-v3": sign_v3("secret", url, body, stamp),
    }
    check_hubspot_signature("secret", "POST", url, body, headers, NOW + timedelta(minutes=5))
    with pytest.raises(RefusedError) as late:
        check_hubspot_signature(
            "secret", "POST", url, body, headers, NOW + timedelta(minutes=5, milliseconds=1)
        )
    assert (late.value.status, late.value.reason) == (401, "HubSpot timestamp older than 5 minutes")
