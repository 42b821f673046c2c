"""HubSpot client against a scripted server: search paging, policy waits, OAuth, batches."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from sales_pipeline.clients import (
    AuthError,
    ContactUpsert,
    HubSpotClient,
    HubSpotOAuthConfig,
    HubSpotSettings,
    InMemoryTokenStore,
    InputValidationError,
    OAuthTokens,
    QuotaExhausted,
    Secret,
)
from sales_pipeline_tests.clients.conftest import (
    HUBSPOT_TOKEN,
    Recorded,
    Scripted,
    ScriptedServer,
    fast_config,
)

START = datetime(2025, 7, 7, tzinfo=UTC)
END = START + timedelta(days=1)
SEARCH_PATH = "/hubspot/crm/v3/objects/contacts/search"
TOKEN_PATH = "/hubspot/oauth/v3/token"


def rate_limited(policy: str, **headers: str) -> Scripted:
    return Scripted(
        429,
        json={
            "status": "error",
            "message": f"You have reached your {policy.lower()} limit.",
            "errorType": "RATE_LIMIT",
            "correlationId": "corr-429",
            "policyName": policy,
        },
        headers=headers,
    )


def search_page(total: int = 0) -> Scripted:
    return Scripted(json={"total": total, "results": []})


def test_ten_secondly_429_waits_for_the_window_the_headers_announce(server, hubspot):
    server.queue(
        rate_limited(
            "TEN_SECONDLY_ROLLING", **{"X-HubSpot-RateLimit-Interval-Milliseconds": "700"}
        ),
        search_page(3),
    )

    assert hubspot.count_contacts_modified_since(START) == 3

    assert server.requests[1].at - server.requests[0].at >= 0.7


def test_secondly_429_waits_one_unit_per_429_met(server, limiter):
    server.queue(rate_limited("SECONDLY"), rate_limited("SECONDLY"), search_page())
    client = HubSpotClient(
        f"{server.url}/hubspot",
        access_token=Secret(HUBSPOT_TOKEN),
        settings=HubSpotSettings(secondly_wait_s=0.3, search_limit=1000),
        transport_config=fast_config(),
        limiter=limiter,
    )

    client.count_contacts_modified_since(START)

    first, second, third = (r.at for r in server.requests)
    assert second - first >= 0.3
    assert third - second >= 0.6


def test_daily_limit_raises_quota_exhausted_without_retrying(server, hubspot):
    server.queue(rate_limited("DAILY"), search_page())

    with pytest.raises(QuotaExhausted) as raised:
        hubspot.count_contacts_modified_since(START)

    assert len(server.requests) == 1
    assert raised.value.retryable is False
    assert "midnight" in str(raised.value)
    assert raised.value.correlation_id == "corr-429"


class SearchEmulation:
    """Just enough of HubSpot search: window + id filters, id sort, 10,000 cap."""

    def __init__(self, contacts: list[dict[str, Any]]) -> None:
        self.contacts = sorted(contacts, key=lambda c: int(c["id"]))

    def __call__(self, request: Recorded) -> Scripted:
        body = request.json
        assert len(body["sorts"]) == 1
        assert body["sorts"][0] == {"propertyName": "hs_object_id", "direction": "ASCENDING"}
        assert body["limit"] == 200
        bounds: dict[tuple[str, str], int] = {}
        for item in body["filterGroups"][0]["filters"]:
            assert isinstance(item["value"], str)
            bounds[(item["propertyName"], item["operator"])] = int(item["value"])
        low = bounds[("lastmodifieddate", "GTE")]
        high = bounds[("lastmodifieddate", "LT")]
        after_id = bounds.get(("hs_object_id", "GT"), -1)
        matching = [c for c in self.contacts if low <= c["ts"] < high and int(c["id"]) > after_id]
        offset = int(body.get("after", "0"))
        if offset >= 10_000:
            return Scripted(400, json={"status": "error", "category": "VALIDATION_ERROR"})
        page = matching[offset : offset + body["limit"]]
        answer: dict[str, object] = {
            "total": len(matching),
            "results": [
                {"id": c["id"], "properties": {"hs_object_id": c["id"], "lastmodifieddate": "x"}}
                for c in page
            ],
        }
        if offset + len(page) < len(matching):
            answer["paging"] = {"next": {"after": str(offset + len(page))}}
        return Scripted(json=answer)


def test_keyset_paging_returns_every_contact_once_past_10000_sharing_one_timestamp(server, hubspot):
    same_moment = int(START.timestamp() * 1000) + 5_000
    inside = [{"id": str(100 + 3 * i), "ts": same_moment} for i in range(10_450)]
    outside = [
        {"id": "7", "ts": int(START.timestamp() * 1000) - 1},
        {"id": "99999999", "ts": int(END.timestamp() * 1000)},
    ]
    server.handler = SearchEmulation(inside + outside)

    ids = [c["id"] for c in hubspot.iter_contacts_modified(START, END, ["email"])]

    assert len(ids) == len(set(ids)) == 10_450
    assert set(ids) == {c["id"] for c in inside}
    restarts = [r for r in server.requests if "after" not in r.json]
    assert len(restarts) == 2
    assert all(r.path == SEARCH_PATH for r in server.requests)


def test_search_window_is_validated_before_anything_is_sent(server, hubspot):
    naive = datetime(2025, 7, 7)

    with pytest.raises(InputValidationError) as raised:
        hubspot.iter_contacts_modified(naive, END, ["email"])

    assert raised.value.field == "start"
    assert server.requests == []


def test_count_contacts_modified_since_sends_one_epoch_ms_filter(server, hubspot):
    server.queue(search_page(1234))

    assert hubspot.count_contacts_modified_since(START) == 1234

    body = server.requests[0].json
    assert body["limit"] == 1
    assert body["filterGroups"][0]["filters"] == [
        {
            "propertyName": "lastmodifieddate",
            "operator": "GTE",
            "value": str(int(START.timestamp() * 1000)),
        }
    ]


def test_private_app_token_travels_only_in_the_authorization_header(server, hubspot):
    server.queue(search_page())

    hubspot.count_contacts_modified_since(START)

    request = server.requests[0]
    assert request.headers["Authorization"] == f"Bearer {HUBSPOT_TOKEN}"
    assert request.query == {}


def oauth_client(
    server: ScriptedServer,
    limiter,
    store: InMemoryTokenStore,
    expires_in_s: float | None,
    bootstrap: str | None = None,
    oauth_version: str = "v3",
) -> HubSpotClient:
    """An OAuth client on app ``app-1``; ``expires_in_s=None`` leaves the store empty."""
    if expires_in_s is not None:
        store.save(
            "hubspot:app-1",
            OAuthTokens(Secret("old-access"), Secret("old-refresh"), time.time() + expires_in_s),
        )
    return HubSpotClient(
        f"{server.url}/hubspot",
        oauth=HubSpotOAuthConfig(
            client_id="app-1",
            client_secret=Secret("client-secret-xyz"),
            redirect_uri="https://example.test/callback",
            token_store=store,
            authorize_url=f"{server.url}/oauth/authorize",
            bootstrap_refresh_token=Secret(bootstrap) if bootstrap else None,
            handover_wait_s=0.3,
        ),
        settings=HubSpotSettings(search_limit=1000, oauth_version=oauth_version),
        transport_config=fast_config(),
        limiter=limiter,
    )


def token_answer(access: str, refresh: str) -> Scripted:
    return Scripted(
        json={
            "access_token": access,
            "refresh_token": refresh,
            "expires_in": 1800,
            "token_type": "bearer",
        }
    )


def test_oauth_refreshes_ahead_of_expiry_and_persists_the_rotated_refresh_token(server, limiter):
    store = InMemoryTokenStore()
    client = oauth_client(server, limiter, store, expires_in_s=120)
    server.queue(token_answer("new-access", "new-refresh"), search_page(), search_page())

    client.count_contacts_modified_since(START)
    client.count_contacts_modified_since(START)

    token_call, first_search, second_search = server.requests
    assert token_call.path == TOKEN_PATH
    assert token_call.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert "Authorization" not in token_call.headers
    assert parse_qs(token_call.body.decode()) == {
        "grant_type": ["refresh_token"],
        "client_id": ["app-1"],
        "client_secret": ["client-secret-xyz"],
        "refresh_token": ["old-refresh"],
    }
    assert first_search.headers["Authorization"] == "Bearer new-access"
    assert second_search.headers["Authorization"] == "Bearer new-access"
    saved = store.get("hubspot:app-1")
    assert saved is not None
    assert saved.refresh_token.reveal() == "new-refresh"
    assert saved.expires_at == pytest.approx(time.time() + 1800, abs=5)


def expired() -> Scripted:
    return Scripted(
        401,
        json={"status": "error", "message": "expired", "category": "EXPIRED_AUTHENTICATION"},
    )


def test_expired_token_401_refreshes_once_and_resends(server, limiter):
    store = InMemoryTokenStore()
    client = oauth_client(server, limiter, store, expires_in_s=3600)
    server.queue(expired(), token_answer("fresh", "rotated"), search_page(9))

    assert client.count_contacts_modified_since(START) == 9

    assert [r.path for r in server.requests] == [SEARCH_PATH, TOKEN_PATH, SEARCH_PATH]
    assert server.requests[2].headers["Authorization"] == "Bearer fresh"


def test_expired_token_refreshes_only_once_per_call(server, limiter):
    client = oauth_client(server, limiter, InMemoryTokenStore(), expires_in_s=3600)
    server.queue(expired(), token_answer("fresh", "rotated"), expired())

    with pytest.raises(AuthError):
        client.count_contacts_modified_since(START)

    assert len(server.requests) == 3


def test_authorization_url_and_code_exchange(server, limiter):
    store = InMemoryTokenStore()
    client = oauth_client(server, limiter, store, expires_in_s=3600)
    server.queue(token_answer("first-access", "first-refresh"))

    url = client.authorization_url("csrf-123", ["crm.objects.contacts.read", "oauth"])
    tokens = client.exchange_code("code-abc")

    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{server.url}/oauth/authorize"
    assert "scope=crm.objects.contacts.read%20oauth" in parts.query
    assert parse_qs(parts.query)["state"] == ["csrf-123"]
    sent = parse_qs(server.requests[0].body.decode())
    assert sent["grant_type"] == ["authorization_code"]
    assert sent["code"] == ["code-abc"]
    assert sent["redirect_uri"] == ["https://example.test/callback"]
    assert tokens.access_token.reveal() == "first-access"
    assert store.get("hubspot:app-1") == tokens


def test_a_refused_refresh_token_no_other_process_replaced_is_an_auth_error(server, limiter):
    client = oauth_client(server, limiter, InMemoryTokenStore(), expires_in_s=10)
    server.queue(BAD_REFRESH_TOKEN)

    with pytest.raises(AuthError) as raised:
        client.count_contacts_modified_since(START)

    assert raised.value.status == 400
    assert len(server.requests) == 1


BAD_REFRESH_TOKEN = Scripted(
    400,
    json={
        "status": "BAD_REFRESH_TOKEN",
        "error": "invalid_grant",
        "message": "missing or invalid refresh token",
    },
)


def refused_after_another_process_refreshed(
    store: InMemoryTokenStore, expires_in_s: float
) -> Callable[[Recorded], Scripted]:
    """Token endpoint of a race lost: another process redeemed ``old-refresh`` and stored
    its rotated tokens just before our refresh arrived."""

    def answer(request: Recorded) -> Scripted:
        if request.path == TOKEN_PATH:
            if "old-refresh" in request.body.decode():
                store.save(
                    "hubspot:app-1",
                    OAuthTokens(
                        Secret("winner-access"),
                        Secret("winner-refresh"),
                        time.time() + expires_in_s,
                    ),
                )
                return BAD_REFRESH_TOKEN
            return token_answer("next-access", "next-refresh")
        return search_page(1)

    return answer


def test_a_refresh_lost_to_another_process_uses_the_tokens_it_stored(server, limiter):
    store = InMemoryTokenStore()
    client = oauth_client(server, limiter, store, expires_in_s=10)
    server.handler = refused_after_another_process_refreshed(store, expires_in_s=1800)

    assert client.count_contacts_modified_since(START) == 1

    assert [r.path for r in server.requests] == [TOKEN_PATH, SEARCH_PATH]
    assert server.requests[1].headers["Authorization"] == "Bearer winner-access"


def test_handed_over_tokens_that_are_about_to_expire_are_refreshed_once_more(server, limiter):
    store = InMemoryTokenStore()
    client = oauth_client(server, limiter, store, expires_in_s=10)
    server.handler = refused_after_another_process_refreshed(store, expires_in_s=10)

    assert client.count_contacts_modified_since(START) == 1

    assert [r.path for r in server.requests] == [TOKEN_PATH, TOKEN_PATH, SEARCH_PATH]
    assert parse_qs(server.requests[1].body.decode())["refresh_token"] == ["winner-refresh"]
    assert server.requests[2].headers["Authorization"] == "Bearer next-access"
    saved = store.get("hubspot:app-1")
    assert saved is not None
    assert saved.refresh_token.reveal() == "next-refresh"


def test_a_bootstrap_refresh_token_is_redeemed_while_the_store_is_empty(server, limiter):
    store = InMemoryTokenStore()
    client = oauth_client(server, limiter, store, expires_in_s=None, bootstrap="boot-refresh")
    server.queue(token_answer("first-access", "first-refresh"), search_page(), search_page())

    client.count_contacts_modified_since(START)
    client.count_contacts_modified_since(START)

    token_call, first, second = server.requests
    assert parse_qs(token_call.body.decode())["refresh_token"] == ["boot-refresh"]
    assert first.headers["Authorization"] == second.headers["Authorization"]
    saved = store.get("hubspot:app-1")
    assert saved is not None
    assert saved.refresh_token.reveal() == "first-refresh"


def test_an_empty_store_without_bootstrap_token_asks_for_the_authorization_flow(server, limiter):
    client = oauth_client(server, limiter, InMemoryTokenStore(), expires_in_s=None)

    with pytest.raises(AuthError, match="exchange_code"):
        client.count_contacts_modified_since(START)

    assert server.requests == []


def upsert_echo(request: Recorded) -> Scripted:
    """Answer a batch upsert with one result per input (new contacts)."""
    results = [
        {"id": str(1000 + i), "properties": dict(item["properties"]), "new": True}
        for i, item in enumerate(request.json["inputs"])
    ]
    return Scripted(json={"status": "COMPLETE", "results": results})


def test_batch_upsert_maps_207_errors_back_to_each_input(server, hubspot):
    server.queue(
        Scripted(
            207,
            json={
                "status": "COMPLETE",
                "numErrors": 1,
                "results": [
                    {"id": "1", "properties": {"email": "ann@acme.com"}, "new": True},
                    {"id": "2", "properties": {"email": "bob@acme.com"}, "new": False},
                ],
                "errors": [
                    {
                        "status": "error",
                        "category": "VALIDATION_ERROR",
                        "message": "Property values were not valid",
                        "context": {"ids": ["cy@acme.com"]},
                    }
                ],
            },
        )
    )
    records = [
        ContactUpsert("Ann@Acme.com", {"firstname": "Ann", "score": 42}),
        ContactUpsert("bob@acme.com", {"is_customer": True}),
        ContactUpsert("cy@acme.com", {"phone": None}),
    ]

    results = hubspot.batch_upsert_contacts(records)

    assert [(r.email, r.ok, r.contact_id, r.created) for r in results] == [
        ("ann@acme.com", True, "1", True),
        ("bob@acme.com", True, "2", False),
        ("cy@acme.com", False, None, None),
    ]
    assert results[2].category == "VALIDATION_ERROR"
    inputs = server.requests[0].json["inputs"]
    assert inputs[0] == {
        "id": "ann@acme.com",
        "idProperty": "email",
        "properties": {"firstname": "Ann", "score": "42", "email": "ann@acme.com"},
    }
    assert inputs[1]["properties"]["is_customer"] == "true"
    assert inputs[2]["properties"]["phone"] == ""


def test_batch_upsert_results_that_do_not_echo_email_are_matched_by_reading_their_ids(
    server, hubspot
):
    server.queue(
        Scripted(
            json={
                "status": "COMPLETE",
                "results": [
                    {"id": "502", "properties": {"firstname": "Bob"}, "new": True},
                    {"id": "501", "properties": {"hs_object_id": "501"}, "new": False},
                    {"id": "503", "properties": {"email": "cy@acme.com"}, "new": False},
                ],
            }
        ),
        Scripted(
            json={
                "status": "COMPLETE",
                "results": [
                    {"id": "501", "properties": {"email": "ann@acme.com"}},
                    {"id": "502", "properties": {"email": "BOB@acme.com"}},
                ],
            }
        ),
    )
    records = [
        ContactUpsert("ann@acme.com", {"firstname": "Ann"}),
        ContactUpsert("bob@acme.com", {"firstname": "Bob"}),
        ContactUpsert("cy@acme.com", {"firstname": "Cy"}),
    ]

    results = hubspot.batch_upsert_contacts(records)

    assert [(r.email, r.ok, r.contact_id, r.created) for r in results] == [
        ("ann@acme.com", True, "501", False),
        ("bob@acme.com", True, "502", True),
        ("cy@acme.com", True, "503", False),
    ]
    read_back = server.requests[1]
    assert read_back.path == "/hubspot/crm/v3/objects/contacts/batch/read"
    assert read_back.json == {
        "properties": ["email"],
        "propertiesWithHistory": [],
        "inputs": [{"id": "502"}, {"id": "501"}],
    }


def test_batch_upsert_results_that_echo_email_need_no_second_call(server, hubspot):
    server.handler = upsert_echo

    results = hubspot.batch_upsert_contacts([ContactUpsert("ann@acme.com", {"firstname": "A"})])

    assert [(r.email, r.ok) for r in results] == [("ann@acme.com", True)]
    assert [r.path for r in server.requests] == ["/hubspot/crm/v3/objects/contacts/batch/upsert"]


def test_batch_upsert_sends_at_most_100_inputs_per_call(server, hubspot):
    server.handler = upsert_echo
    records = [ContactUpsert(f"user{i}@acme.com", {"firstname": "x"}) for i in range(250)]

    results = hubspot.batch_upsert_contacts(records)

    assert [len(r.json["inputs"]) for r in server.requests] == [100, 100, 50]
    assert all(r.ok for r in results)
    assert [r.email for r in results] == [f"user{i}@acme.com" for i in range(250)]


def test_batch_upsert_isolates_the_records_a_batch_was_rejected_for(server, hubspot):
    def reject_bad(request: Recorded) -> Scripted:
        if any("bad" in item["id"] for item in request.json["inputs"]):
            return Scripted(400, json={"status": "error", "message": "Property values invalid"})
        return upsert_echo(request)

    server.handler = reject_bad
    records = [ContactUpsert(f"{name}@acme.com", {}) for name in ("a", "b", "bad", "c", "d")]

    results = hubspot.batch_upsert_contacts(records)

    assert [r.ok for r in results] == [True, True, False, True, True]
    assert results[2].error is not None


def test_batch_upsert_validation_names_the_field_and_sends_nothing(server, hubspot):
    records = [ContactUpsert("ok@acme.com", {}), ContactUpsert("not-an-email", {})]

    with pytest.raises(InputValidationError) as raised:
        hubspot.batch_upsert_contacts(records)

    assert raised.value.field == "records[1].email"
    assert "not-an-email" not in str(raised.value)
    assert server.requests == []


def test_batch_read_returns_one_result_per_id_including_missing(server, hubspot):
    server.queue(
        Scripted(
            207,
            json={
                "status": "COMPLETE",
                "results": [{"id": "11", "properties": {"email": "a@acme.com"}}],
                "errors": [
                    {
                        "category": "OBJECT_NOT_FOUND",
                        "message": "missing",
                        "context": {"ids": ["12"]},
                    }
                ],
            },
        )
    )

    results = hubspot.batch_read_contacts(["11", "12", "11"], ["email"])

    assert [(r.contact_id, r.properties is not None, r.error) for r in results] == [
        ("11", True, None),
        ("12", False, "missing"),
        ("11", True, None),
    ]
    assert server.requests[0].json == {
        "properties": ["email"],
        "propertiesWithHistory": [],
        "inputs": [{"id": "11"}, {"id": "12"}],
    }


def test_check_health_reports_a_rejected_token_without_raising(server, hubspot):
    server.queue(Scripted(401, json={"category": "INVALID_AUTHENTICATION", "correlationId": "c-9"}))

    report = hubspot.check_health()

    assert report.ok is False
    assert report.status == 401
    assert report.correlation_id == "c-9"
    assert server.requests[0].path == "/hubspot/crm/v3/objects/contacts"


def test_oauth_v1_stays_selectable_and_is_flagged_as_deprecated(server, limiter):
    client = oauth_client(server, limiter, InMemoryTokenStore(), expires_in_s=0, oauth_version="v1")
    server.queue(token_answer("v1-access", "v1-refresh"), search_page(3))

    assert client.count_contacts_modified_since(START) == 3

    assert server.requests[0].path == "/hubspot/oauth/v1/token"
    (warning,) = client.version_warnings()
    assert "2027-02-16" in warning
    assert "v3" in warning


def test_oauth_defaults_to_v3_without_a_version_warning(server, limiter):
    client = oauth_client(server, limiter, InMemoryTokenStore(), expires_in_s=3600)

    assert client.api_versions == {"crm": "v3", "oauth": "v3"}
    assert client.version_warnings() == []
