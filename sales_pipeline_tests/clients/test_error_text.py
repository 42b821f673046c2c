"""Typed errors keep the vendor's own words, masked, for every error body shape it sends."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sales_pipeline.clients import (
    ApiError,
    AuthError,
    HubSpotClient,
    HubSpotOAuthConfig,
    InMemoryTokenStore,
    InvalidRequest,
    NotFound,
    Secret,
)
from sales_pipeline_tests.clients.conftest import Scripted, fast_config

SINCE = datetime(2025, 7, 7, tzinfo=UTC)
PROSPECT = "a" * 40


def raised_by(call) -> ApiError:
    with pytest.raises(ApiError) as raised:
        call()
    return raised.value


def test_hubspot_message_and_each_errors_entry_are_kept(server, hubspot):
    server.queue(
        Scripted(
            400,
            json={
                "status": "error",
                "message": "Invalid input JSON on line 1",
                "correlationId": "c-41",
                "category": "VALIDATION_ERROR",
                "errors": [
                    {"message": "Unknown property nickname", "code": "INVALID", "in": "nickname"},
                    {"message": "ann@acme.com is not a valid value", "code": "INVALID"},
                ],
            },
        )
    )

    error = raised_by(lambda: hubspot.count_contacts_modified_since(SINCE))

    assert isinstance(error, InvalidRequest)
    assert error.vendor_message == (
        "Invalid input JSON on line 1; Unknown property nickname; <email> is not a valid value"
    )
    assert error.vendor_message in str(error)
    assert error.correlation_id == "c-41"
    assert "ann@acme.com" not in str(error)


def test_hubspot_oauth_error_description_is_kept(server, limiter):
    oauth = HubSpotOAuthConfig(
        client_id="app-1",
        client_secret=Secret("client-secret-xyz"),
        redirect_uri="https://example.test/callback",
        token_store=InMemoryTokenStore(),
    )
    client = HubSpotClient(
        f"{server.url}/hubspot", oauth=oauth, transport_config=fast_config(), limiter=limiter
    )
    server.queue(
        Scripted(
            400,
            json={
                "status": "BAD_AUTH_CODE",
                "error": "invalid_grant",
                "error_description": "missing or unknown auth code",
            },
        )
    )

    error = raised_by(lambda: client.exchange_code("code-1"))

    assert isinstance(error, AuthError)
    assert error.vendor_message == "missing or unknown auth code"
    client.close()


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            {
                "detail": [
                    {
                        "loc": ["body", "prospects_to_match", 0, "email"],
                        "msg": "value is not a valid email address",
                        "type": "value_error.email",
                    }
                ]
            },
            "body.prospects_to_match.0.email: value is not a valid email address",
        ),
        (
            [
                {
                    "loc": ["body", "prospects_to_match"],
                    "msg": "ensure this value has at most 50 items",
                    "type": "value_error.list.max_items",
                },
                {"loc": ["query"], "msg": "extra fields not permitted", "type": "extra"},
            ],
            "body.prospects_to_match: ensure this value has at most 50 items; "
            "query: extra fields not permitted",
        ),
    ],
    ids=["documented-detail-object", "top-level-array"],
)
def test_explorium_422_keeps_the_validation_messages_of_either_shape(
    server, explorium, body, expected
):
    server.queue(Scripted(422, json=body))

    error = raised_by(lambda: explorium.match_prospects([{"email": "ann@acme.com"}]))

    assert isinstance(error, InvalidRequest)
    assert error.vendor_message == expected
    assert str(error).startswith("explorium.match_prospects: request failed validation: ")


def test_explorium_details_text_and_its_correlation_id_are_kept(server, explorium):
    server.queue(
        Scripted(400, json={"details": "prospect_ids must not be empty", "correlation_id": "e-7"})
    )

    error = raised_by(lambda: explorium.enrich_profiles([PROSPECT]))

    assert error.vendor_message == "prospect_ids must not be empty"
    assert error.correlation_id == "e-7"


@pytest.mark.parametrize(
    ("status", "text", "kind"),
    [(400, "No valid fields to add", InvalidRequest), (404, "Campaign not found", NotFound)],
)
def test_lemlist_plain_text_errors_are_kept(server, lemlist, status, text, kind):
    server.queue(Scripted(status, text=text))

    error = raised_by(lambda: lemlist.add_lead_to_campaign("cam_abc", {"email": "ann@acme.com"}))

    assert isinstance(error, kind)
    assert error.vendor_message == text


def test_an_answer_without_text_says_only_its_status(server, lemlist):
    server.queue(Scripted(418, text=""))

    error = raised_by(lambda: lemlist.list_campaigns())

    assert error.vendor_message is None
    assert str(error).startswith("lemlist.list_campaigns: request rejected: HTTP 418")
