"""Deprecation signalling: the control plane makes a vendor's answers under a path prefix carry
``Deprecation``, ``Sunset`` and ``Warning`` headers, so clients can be tested for noticing them."""

from __future__ import annotations

from typing import Any

import requests

from sales_pipeline.sandbox import SandboxHandle

NOTICE = {
    "vendor": "lemlist",
    "path_prefix": "/api/campaigns",
    "deprecation": "2026-06-01T00:00:00Z",
    "sunset": "2027-01-31T00:00:00+00:00",
    "warning": 'campaigns v1 is "legacy": use version=v2',
    "link": "https://developer.lemlist.com/changelog",
}


def _control(sandbox: SandboxHandle, method: str, body: Any = None) -> requests.Response:
    return requests.request(method, f"{sandbox.control_url}/deprecations", json=body, timeout=5)


def _lemlist(sandbox: SandboxHandle, path: str) -> requests.Response:
    auth = ("", sandbox.credentials.lemlist_key)
    return requests.get(f"{sandbox.lemlist_url}{path}", auth=auth, timeout=5)


def test_a_notice_puts_the_three_headers_on_answers_under_its_prefix(
    sandbox: SandboxHandle,
) -> None:
    assert _control(sandbox, "POST", NOTICE).status_code == 200
    answer = _lemlist(sandbox, "/campaigns")
    assert answer.status_code == 200
    assert answer.headers["Deprecation"] == "@1780272000"
    assert answer.headers["Sunset"] == "Sun, 31 Jan 2027 00:00:00 GMT"
    assert answer.headers["Warning"] == '299 - "campaigns v1 is \\"legacy\\": use version=v2"'
    assert answer.headers["Link"] == '<https://developer.lemlist.com/changelog>; rel="deprecation"'


def test_answers_outside_the_prefix_or_vendor_carry_no_notice(sandbox: SandboxHandle) -> None:
    _control(sandbox, "POST", NOTICE).raise_for_status()
    assert "Deprecation" not in _lemlist(sandbox, "/unsubscribes").headers
    credits = requests.get(
        f"{sandbox.explorium_url}/credits",
        headers={"api_key": sandbox.credentials.explorium_key},
        timeout=5,
    )
    assert "Deprecation" not in credits.headers


def test_a_notice_without_dates_is_deprecated_from_now_and_has_no_sunset(
    sandbox: SandboxHandle,
) -> None:
    _control(sandbox, "POST", {"vendor": "lemlist"}).raise_for_status()
    answer = _lemlist(sandbox, "/unsubscribes")
    assert answer.headers["Deprecation"].startswith("@")
    assert "Sunset" not in answer.headers
    assert "Warning" not in answer.headers


def test_the_control_plane_lists_and_clears_notices(sandbox: SandboxHandle) -> None:
    listed = _control(sandbox, "POST", NOTICE).json()
    assert [(n["vendor"], n["path_prefix"]) for n in listed["deprecations"]] == [
        ("lemlist", "/api/campaigns")
    ]
    assert [n["path_prefix"] for n in listed["standing"]] == ["/oauth/v1/"]
    assert _control(sandbox, "DELETE").json()["deprecations"] == []
    assert "Deprecation" not in _lemlist(sandbox, "/campaigns").headers


def test_a_reset_drops_the_notices_added_at_run_time(sandbox: SandboxHandle) -> None:
    _control(sandbox, "POST", NOTICE).raise_for_status()
    requests.post(f"{sandbox.control_url}/reset", timeout=5).raise_for_status()
    assert _control(sandbox, "GET").json()["deprecations"] == []


def test_malformed_notices_are_refused(sandbox: SandboxHandle) -> None:
    assert _control(sandbox, "POST", {"vendor": "nobody"}).status_code == 404
    assert _control(sandbox, "POST", {"vendor": "lemlist", "when": "x"}).status_code == 400
    naive = {"vendor": "lemlist", "sunset": "2027-01-31T00:00:00"}
    assert _control(sandbox, "POST", naive).status_code == 400
