"""HubSpot auth: private-app bearer tokens, the sunset ``hapikey``, OAuth 2.0 codes on the v3
token path and the deprecated v1 one, token expiry by the sandbox clock, rotating refresh tokens
and missing scopes."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from sales_pipeline.sandbox import SandboxHandle
from sales_pipeline_tests.sandbox.test_hubspot_support import (
    CONTACTS,
    REDIRECT_URI,
    HubSpot,
    rate_headers,
)


def test_a_request_without_a_token_is_refused_with_invalid_authentication(
    sandbox: SandboxHandle,
) -> None:
    answer = requests.get(f"{sandbox.hubspot_url}{CONTACTS}", timeout=5)
    assert answer.status_code == 401
    assert answer.json()["category"] == "INVALID_AUTHENTICATION"
    assert rate_headers(answer) == {}, "an unattributed request carries no rate headers"


def test_a_hapikey_never_authenticates(sandbox: SandboxHandle) -> None:
    key = sandbox.credentials.hubspot_token
    alone = requests.get(f"{sandbox.hubspot_url}{CONTACTS}", params={"hapikey": key}, timeout=5)
    assert alone.status_code == 401
    with_bearer = HubSpot(sandbox).get(CONTACTS, params={"hapikey": key})
    assert with_bearer.status_code == 401
    assert with_bearer.json()["category"] == "INVALID_AUTHENTICATION"


def test_a_non_bearer_scheme_is_refused(sandbox: SandboxHandle) -> None:
    answer = requests.get(
        f"{sandbox.hubspot_url}{CONTACTS}",
        headers={"Authorization": f"Basic {sandbox.credentials.hubspot_token}"},
        timeout=5,
    )
    assert answer.status_code == 401


def test_the_code_flow_redirects_with_code_and_state_and_the_tokens_work(
    sandbox: SandboxHandle,
) -> None:
    api = HubSpot(sandbox)
    consent = api.session.get(
        f"{sandbox.hubspot_url}/oauth/authorize",
        params={
            "client_id": sandbox.credentials.hubspot_client_id,
            "redirect_uri": REDIRECT_URI,
            "scope": "crm.objects.contacts.read",
            "state": "xyz",
        },
        allow_redirects=False,
        timeout=5,
    )
    assert consent.status_code == 302
    location = urlsplit(consent.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT_URI
    query = parse_qs(location.query)
    assert query["state"] == ["xyz"]
    tokens = api.exchange(query["code"][0]).json()
    assert api.get(CONTACTS, token=tokens["access_token"]).status_code == 200


@pytest.mark.parametrize("path", ["/oauth/v1/token", "/oauth/v3/token"])
def test_both_token_versions_issue_expiring_tokens_and_rotate_refresh_tokens(
    sandbox: SandboxHandle, path: str
) -> None:
    api = HubSpot(sandbox)
    first = api.exchange(api.authorize(), path=path).json()
    assert (first["token_type"], first["expires_in"]) == ("bearer", 1800)
    api.advance_clock(1801)
    assert api.get(CONTACTS, token=first["access_token"]).status_code == 401
    renewed = api.refresh(first["refresh_token"], path=path)
    assert renewed.status_code == 200
    assert renewed.json()["refresh_token"] != first["refresh_token"]
    assert api.get(CONTACTS, token=renewed.json()["access_token"]).status_code == 200
    replayed = api.refresh(first["refresh_token"], path=path)
    assert (replayed.status_code, replayed.json()["status"]) == (400, "BAD_REFRESH_TOKEN")


def test_a_refresh_token_from_v1_refreshes_on_v3(sandbox: SandboxHandle) -> None:
    api = HubSpot(sandbox)
    tokens = api.exchange(api.authorize(), path="/oauth/v1/token").json()
    assert api.refresh(tokens["refresh_token"], path="/oauth/v3/token").status_code == 200


def test_v1_token_answers_announce_the_deprecation_of_2027_02_16(sandbox: SandboxHandle) -> None:
    api = HubSpot(sandbox)
    granted = api.exchange(api.authorize(), path="/oauth/v1/token")
    refused = api.refresh("no-such-token", path="/oauth/v1/token")
    end = int(datetime(2027, 2, 16, tzinfo=UTC).timestamp())
    for answer in (granted, refused):
        assert answer.headers["Deprecation"] == f"@{end}"
        assert answer.headers["Sunset"] == "Tue, 16 Feb 2027 00:00:00 GMT"
        assert answer.headers["Warning"].startswith('299 - "')
        assert "/oauth/v3/token" in answer.headers["Warning"]
    assert (granted.status_code, refused.status_code) == (200, 400)


def test_v3_token_answers_carry_no_deprecation_headers(sandbox: SandboxHandle) -> None:
    api = HubSpot(sandbox)
    answer = api.exchange(api.authorize(), path="/oauth/v3/token")
    assert answer.status_code == 200
    assert not {"Deprecation", "Sunset", "Warning"} & set(answer.headers)


def test_a_code_is_single_use(sandbox: SandboxHandle) -> None:
    api = HubSpot(sandbox)
    code = api.authorize()
    assert api.exchange(code).status_code == 200
    again = api.exchange(code)
    assert again.status_code == 400
    assert (again.json()["status"], again.json()["error"]) == ("BAD_AUTH_CODE", "invalid_grant")


def test_a_code_expires_after_ten_minutes(sandbox: SandboxHandle) -> None:
    api = HubSpot(sandbox)
    code = api.authorize()
    api.advance_clock(601)
    assert api.exchange(code).json()["status"] == "BAD_AUTH_CODE"


def test_a_code_needs_the_redirect_uri_it_was_issued_for(sandbox: SandboxHandle) -> None:
    api = HubSpot(sandbox)
    creds = sandbox.credentials
    answer = api.token_request(
        {
            "grant_type": "authorization_code",
            "client_id": creds.hubspot_client_id,
            "client_secret": creds.hubspot_client_secret,
            "redirect_uri": "https://elsewhere.example.com/cb",
            "code": api.authorize(),
        }
    )
    assert answer.status_code == 400
    assert answer.json()["status"] == "MISMATCH_REDIRECT_URI_AUTH_CODE"


def test_the_consent_stand_in_refuses_an_unknown_app_or_no_scopes(sandbox: SandboxHandle) -> None:
    authorize = f"{sandbox.hubspot_url}/oauth/authorize"
    unknown = requests.get(
        authorize,
        params={"client_id": "nope", "redirect_uri": REDIRECT_URI, "scope": "oauth"},
        allow_redirects=False,
        timeout=5,
    )
    no_scope = requests.get(
        authorize,
        params={"client_id": sandbox.credentials.hubspot_client_id, "redirect_uri": REDIRECT_URI},
        allow_redirects=False,
        timeout=5,
    )
    assert (unknown.status_code, no_scope.status_code) == (400, 400)


def test_the_token_endpoint_takes_form_encoding_only(sandbox: SandboxHandle) -> None:
    api = HubSpot(sandbox)
    creds = sandbox.credentials
    answer = api.session.post(
        f"{sandbox.hubspot_url}/oauth/v1/token",
        json={
            "grant_type": "authorization_code",
            "client_id": creds.hubspot_client_id,
            "client_secret": creds.hubspot_client_secret,
            "redirect_uri": REDIRECT_URI,
            "code": api.authorize(),
        },
        timeout=5,
    )
    assert answer.status_code == 400
    assert answer.json()["error"] == "unsupported_grant_type"


def test_a_wrong_client_secret_or_id_is_an_invalid_client(sandbox: SandboxHandle) -> None:
    api = HubSpot(sandbox)
    creds = sandbox.credentials
    base = {"grant_type": "refresh_token", "refresh_token": api.oauth_tokens()["refresh_token"]}
    bad_secret = api.token_request(
        {**base, "client_id": creds.hubspot_client_id, "client_secret": "x"}
    )
    bad_id = api.token_request(
        {**base, "client_id": "x", "client_secret": creds.hubspot_client_secret}
    )
    assert (bad_secret.status_code, bad_secret.json()["error"]) == (400, "invalid_client")
    assert (bad_id.json()["status"], bad_id.json()["error"]) == ("BAD_CLIENT_ID", "invalid_client")


def test_an_access_token_expires_by_the_sandbox_clock(sandbox: SandboxHandle) -> None:
    api = HubSpot(sandbox)
    token = api.oauth_tokens()["access_token"]
    api.advance_clock(1799)
    assert api.get(CONTACTS, token=token).status_code == 200
    api.advance_clock(2)
    expired = api.get(CONTACTS, token=token)
    assert expired.status_code == 401
    body = expired.json()
    assert body["category"] == "EXPIRED_AUTHENTICATION"
    assert body["message"] == "The OAuth token used to make this call expired 0 minute(s) ago."


def test_refresh_tokens_rotate_and_the_old_one_stops_working(sandbox: SandboxHandle) -> None:
    api = HubSpot(sandbox)
    first = api.oauth_tokens()
    api.advance_clock(1801)
    renewed = api.refresh(first["refresh_token"])
    assert renewed.status_code == 200
    second = renewed.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert api.get(CONTACTS, token=second["access_token"]).status_code == 200
    replayed = api.refresh(first["refresh_token"])
    assert replayed.status_code == 400
    assert replayed.json()["status"] == "BAD_REFRESH_TOKEN"
    assert api.refresh(second["refresh_token"]).status_code == 200


def test_oauth_answers_carry_the_burst_headers_but_not_the_daily_pair(
    sandbox: SandboxHandle,
) -> None:
    api = HubSpot(sandbox)
    answer = api.exchange(api.authorize())
    headers = rate_headers(answer)
    assert headers["X-HubSpot-RateLimit-Interval-Milliseconds"] == "10000"
    assert "X-HubSpot-RateLimit-Daily" not in headers
    assert "X-HubSpot-RateLimit-Daily-Remaining" not in headers


def test_a_token_without_the_needed_scope_gets_403_missing_scopes(sandbox: SandboxHandle) -> None:
    api = HubSpot(sandbox)
    token = api.oauth_tokens(scope="crm.objects.contacts.read")["access_token"]
    assert api.get(CONTACTS, token=token).status_code == 200
    answer = api.post(CONTACTS, {"properties": {"email": "scoped@example.org"}}, token=token)
    assert answer.status_code == 403
    body = answer.json()
    assert body["category"] == "MISSING_SCOPES"
    assert body["context"]["missingScopes"] == ["crm.objects.contacts.write"]


def test_state_counts_live_access_tokens(sandbox: SandboxHandle) -> None:
    api = HubSpot(sandbox)
    api.oauth_tokens()
    api.oauth_tokens()
    assert (
        api.control("GET", "state?vendor=hubspot")["hubspot"]["oauth"]["active_access_tokens"] == 2
    )
    api.advance_clock(1801)
    assert (
        api.control("GET", "state?vendor=hubspot")["hubspot"]["oauth"]["active_access_tokens"] == 0
    )
