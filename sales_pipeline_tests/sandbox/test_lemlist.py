"""The emulated Lemlist API over real HTTP: its contract with the vendor's document and its rules.

Facts: shared/api-facts/lemlist.md. Contract checks use the vendor's OpenAPI document; where that
document is known to be wrong, the test says so and asserts the facts' shape.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import pytest
import requests

from sales_pipeline.sandbox import SandboxHandle
from sales_pipeline.sandbox.core.world import INVALID_EMAILS, World
from sales_pipeline.sandbox.lemlist.model import DAY, HOUR, iso_date, plan_timeline

from .openapi import lemlist_spec

JS_DATE = "%a %b %d %Y %H:%M:%S GMT+0000 (Coordinated Universal Time)"
GRAVEYARD = "Email address is in the graveyard"


class Lemlist:
    """A small authenticated client of the emulated Lemlist, plus the control plane."""

    def __init__(self, handle: SandboxHandle) -> None:
        self.handle = handle
        self.session = requests.Session()
        self.session.auth = ("", handle.credentials.lemlist_key)

    def get(self, path: str, **params: Any) -> requests.Response:
        """``GET`` an API path (relative to ``/lemlist/api``), authenticated."""
        return self.session.get(self.handle.lemlist_url + path, params=params, timeout=10)

    def post(self, path: str, body: Any = None, **params: Any) -> requests.Response:
        """``POST`` ``body`` as JSON (no body when ``None``), authenticated."""
        url = self.handle.lemlist_url + path
        return self.session.post(url, json=body, params=params, timeout=10)

    def delete(self, path: str, **params: Any) -> requests.Response:
        """``DELETE`` an API path, authenticated."""
        return self.session.delete(self.handle.lemlist_url + path, params=params, timeout=10)

    def control(self, method: str, action: str, payload: Any = None) -> Any:
        """Call ``/_sandbox/<action>`` and return its JSON answer."""
        url = f"{self.handle.control_url}/{action}"
        response = requests.request(method, url, json=payload, timeout=10)
        response.raise_for_status()
        return response.json()

    def advance(self, seconds: float) -> float:
        """Move the sandbox clock; the new ``now``."""
        return float(self.control("POST", "clock", {"advance_seconds": seconds})["now"])

    def now(self) -> float:
        """The sandbox clock."""
        return self.advance(0)

    def limits_off(self) -> None:
        """Switch rate limits off for a test that sends more than 20 requests."""
        self.control("PUT", "limits", {"enabled": False})

    def campaign_id(self, name: str) -> str:
        """The id of the campaign called ``name``."""
        campaigns: list[dict[str, str]] = self.get("/campaigns").json()
        return next(c["_id"] for c in campaigns if c["name"] == name)

    def add(self, campaign_id: str, body: Any, **params: Any) -> requests.Response:
        """Add a lead with the current (JSON body) form."""
        return self.post(f"/campaigns/{campaign_id}/leads/", body, **params)

    def activities(self, **params: Any) -> list[dict[str, Any]]:
        """``GET /activities?version=v2`` with ``params``, asserting a 200."""
        response = self.get("/activities", version="v2", **params)
        assert response.status_code == 200, response.text
        result: list[dict[str, Any]] = response.json()
        return result

    def state(self) -> dict[str, Any]:
        """Lemlist's part of ``/_sandbox/state``."""
        result: dict[str, Any] = self.control("GET", "state?vendor=lemlist")["lemlist"]
        return result

    def stats(self) -> dict[str, Any]:
        """Lemlist's part of ``/_sandbox/stats``."""
        result: dict[str, Any] = self.control("GET", "stats")["lemlist"]
        return result

    @property
    def world(self) -> World:
        """The world the sandbox was built from."""
        return self.handle.sandbox.vendors["lemlist"].context.world

    @property
    def seed(self) -> int:
        """The sandbox's seed (timelines derive from it)."""
        return self.handle.sandbox.config.seed


@pytest.fixture
def lemlist(sandbox: SandboxHandle) -> Lemlist:
    """A client of the freshly reset sandbox (limits on, faults off)."""
    return Lemlist(sandbox)


@pytest.fixture
def eu(lemlist: Lemlist) -> str:
    """The id of the running campaign "Outbound EU - Directors"."""
    return lemlist.campaign_id("Outbound EU - Directors")


@pytest.fixture
def us(lemlist: Lemlist) -> str:
    """The id of the running campaign "Outbound US - VPs"."""
    return lemlist.campaign_id("Outbound US - VPs")


def planned_emails(seed: int, wanted: str) -> Iterator[str]:
    """Fresh addresses (outside the world) whose planned timeline contains ``wanted``."""
    for index in itertools.count():
        email = f"prospect{index}@sandbox-leads.example.org"
        if any(step.type == wanted for step in plan_timeline(seed, email)):
            yield email


def planned_email(seed: int, wanted: str) -> str:
    """The first fresh address whose planned timeline contains ``wanted``."""
    return next(planned_emails(seed, wanted))


def expect_text(response: requests.Response, status: int, text: str) -> None:
    """Lemlist refuses with a text/plain sentence."""
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("text/plain")
    assert response.text == text


# -- contract: answers fit Lemlist's OpenAPI document ---------------------------------------


def test_campaign_list_is_a_bare_array_of_campaigns(lemlist: Lemlist) -> None:
    body = lemlist.get("/campaigns").json()
    lemlist_spec().validate_response("/campaigns", "get", 200, body)
    assert [c["status"] for c in body].count("running") == 2
    assert all(re.fullmatch(r"cam_[A-Za-z0-9]{17}", c["_id"]) for c in body)


def test_campaign_list_v2_wraps_campaigns_with_pagination(lemlist: Lemlist) -> None:
    body = lemlist.get("/campaigns", version="v2").json()
    # The spec documents a bare array for version=v2 too; api-facts/lemlist.md ("Campaigns"):
    # clients calling version=v2 read {"campaigns": [...], "pagination": ...} (n8n pages until
    # totalPage). So the items are checked against the spec, the wrapper against the facts.
    lemlist_spec().validate_response("/campaigns", "get", 200, body["campaigns"])
    assert body["pagination"] == {
        "totalRecords": 4,
        "currentPage": 1,
        "nextPage": None,
        "totalPage": 1,
    }


def test_one_campaign_fits_the_spec(lemlist: Lemlist, eu: str) -> None:
    body = lemlist.get(f"/campaigns/{eu}").json()
    lemlist_spec().validate_response("/campaigns/{campaignId}", "get", 200, body)
    assert (body["_id"], body["status"]) == (eu, "running")


def test_added_lead_fits_the_spec(lemlist: Lemlist, eu: str) -> None:
    lead = {"email": "ada@analytical.example.org", "firstName": "Ada", "companyName": "AE"}
    lemlist_spec().validate_request("/campaigns/{campaignId}/leads/", "post", lead)
    body = lemlist.add(eu, lead).json()
    lemlist_spec().validate_response("/campaigns/{campaignId}/leads/", "post", 200, body)
    assert re.fullmatch(r"lea_[A-Za-z0-9]{17}", body["_id"])
    assert re.fullmatch(r"ctc_[A-Za-z0-9]{17}", body["contactId"])
    assert body["campaignName"] == "Outbound EU - Directors"
    assert body["isPaused"] is False


def test_lead_memberships_fit_the_spec(lemlist: Lemlist, eu: str, us: str) -> None:
    lemlist.add(eu, {"email": "ada@analytical.example.org", "jobTitle": "CTO"})
    lemlist.add(us, {"email": "ada@analytical.example.org"})
    body = lemlist.get("/leads/ada%40analytical.example.org", version="v2").json()
    lemlist_spec().validate_response("/leads/{email}", "get", 200, body)
    assert [m["campaign"]["id"] for m in body] == [eu, us]
    assert body[0]["variables"] == {"jobTitle": "CTO", "email": "ada@analytical.example.org"}


def test_campaign_leads_fit_the_spec(lemlist: Lemlist, eu: str) -> None:
    added = lemlist.add(eu, {"email": "ada@analytical.example.org"}).json()
    body = lemlist.get(f"/campaigns/{eu}/leads/").json()
    lemlist_spec().validate_response("/campaigns/{campaignId}/leads/", "get", 200, body)
    assert body == [{"_id": added["_id"], "contactId": added["contactId"], "state": "scanned"}]


def test_lead_unsubscribe_and_removal_fit_the_spec(lemlist: Lemlist, eu: str) -> None:
    first = lemlist.add(eu, {"email": "ada@analytical.example.org"}).json()
    lemlist.add(eu, {"email": "bob@analytical.example.org"})
    by_id = lemlist.delete(f"/campaigns/{eu}/leads/{first['_id']}").json()
    lemlist_spec().validate_response("/campaigns/{campaignId}/leads/{leadId}", "delete", 200, by_id)
    by_email = lemlist.delete(f"/campaigns/{eu}/leads/bob%40analytical.example.org").json()
    lemlist_spec().validate_response(
        "/campaigns/{campaignId}/leads/{email}", "delete", 200, by_email
    )
    assert (by_id["_id"], by_email["email"]) == (first["_id"], "bob@analytical.example.org")


def test_unsubscribes_fit_the_spec(lemlist: Lemlist) -> None:
    listed = lemlist.get("/unsubscribes").json()
    lemlist_spec().validate_response("/unsubscribes", "get", 200, listed)
    added = lemlist.post("/unsubscribes/gone%40nowhere.example.org").json()
    lemlist_spec().validate_response("/unsubscribes/{email}", "post", 200, added)
    found = lemlist.get("/unsubscribes/gone%40nowhere.example.org").json()
    lemlist_spec().validate_response("/unsubscribes/{email}", "get", 200, found)
    assert re.fullmatch(r"uns_[A-Za-z0-9]{17}", added["_id"])
    assert found == {**found, "_id": added["_id"], "value": "gone@nowhere.example.org"}


def test_activities_fit_the_spec(lemlist: Lemlist, eu: str) -> None:
    lemlist.add(eu, {"email": planned_email(lemlist.seed, "emailsReplied"), "lastName": "Lo"})
    lemlist.advance(2 * DAY)
    body = lemlist.activities()
    lemlist_spec().validate_response("/activities", "get", 200, body)
    assert {"emailsSent", "emailsOpened", "emailsReplied"} <= {a["type"] for a in body}
    assert all(a["leadLastName"] == "Lo" and a["campaignId"] == eu for a in body)


def test_hooks_fit_the_spec(lemlist: Lemlist, eu: str) -> None:
    hook = {"targetUrl": "https://hooks.example.org/lemlist", "type": "emailsReplied"}
    created = lemlist.post("/hooks", {**hook, "campaignId": eu, "secret": "s3cret"}).json()
    lemlist_spec().validate_response("/hooks", "post", 200, created)
    listed = lemlist.get("/hooks").json()
    lemlist_spec().validate_response("/hooks", "get", 200, listed)
    deleted = lemlist.delete(f"/hooks/{created['_id']}").json()
    lemlist_spec().validate_response("/hooks/{hookId}", "delete", 200, deleted)
    assert listed == [created] == [deleted]
    assert "secret" not in created


# -- auth --------------------------------------------------------------------------------------


def test_request_without_a_key_is_refused_as_no_api_key(lemlist: Lemlist) -> None:
    expect_text(
        requests.get(lemlist.handle.lemlist_url + "/campaigns", timeout=10),
        400,
        ("No API key provided"),
    )


def test_legacy_access_token_query_is_not_accepted(lemlist: Lemlist) -> None:
    key = lemlist.handle.credentials.lemlist_key
    url = f"{lemlist.handle.lemlist_url}/campaigns"
    response = requests.get(url, params={"access_token": key}, timeout=10)
    expect_text(response, 400, "No API key provided")


@pytest.mark.parametrize(
    "auth",
    [("", "wrong-key"), ("sandbox-lemlist-key", ""), ("someone", "sandbox-lemlist-key")],
    ids=["wrong-key", "key-as-user-name", "non-empty-user-name"],
)
def test_wrong_basic_credentials_are_refused(lemlist: Lemlist, auth: tuple[str, str]) -> None:
    response = requests.get(lemlist.handle.lemlist_url + "/campaigns", auth=auth, timeout=10)
    expect_text(response, 401, "The authentication you supplied is incorrect")


def test_bearer_token_is_not_lemlist_auth(lemlist: Lemlist) -> None:
    key = lemlist.handle.credentials.lemlist_key
    headers = {"Authorization": f"Bearer {key}"}
    response = requests.get(lemlist.handle.lemlist_url + "/campaigns", headers=headers, timeout=10)
    expect_text(response, 401, "The authentication you supplied is incorrect")


# -- rate limit and faults ---------------------------------------------------------------------


def test_every_answer_carries_rate_limit_headers_with_a_date_string(lemlist: Lemlist) -> None:
    first = lemlist.get("/campaigns")
    second = lemlist.get("/campaigns/cam_doesnotexist00000")
    now = lemlist.now()
    assert second.status_code == 404
    assert [r.headers["X-RateLimit-Remaining"] for r in (first, second)] == ["19", "18"]
    assert first.headers["X-RateLimit-Limit"] == "20"
    assert first.headers["Retry-After"] == "2"
    reset = datetime.strptime(second.headers["X-RateLimit-Reset"], JS_DATE).replace(tzinfo=UTC)
    assert abs(reset.timestamp() - (now + 2)) < 2


def test_twenty_first_request_within_two_seconds_is_a_429_with_retry_after(
    lemlist: Lemlist,
) -> None:
    answers = [lemlist.get("/campaigns") for _ in range(21)]
    assert [r.status_code for r in answers] == [200] * 20 + [429]
    refused = answers[-1]
    expect_text(refused, 429, "Too Many Requests")
    assert refused.headers["X-RateLimit-Remaining"] == "0"
    assert 1 <= int(refused.headers["Retry-After"]) <= 2
    datetime.strptime(refused.headers["X-RateLimit-Reset"], JS_DATE)
    assert lemlist.stats()["rate_limited"] == 1


def test_rate_scale_shrinks_the_window_limit(lemlist: Lemlist) -> None:
    lemlist.control("PUT", "limits", {"rate_scale": 0.25})
    answers = [lemlist.get("/campaigns") for _ in range(6)]
    assert answers[0].headers["X-RateLimit-Limit"] == "5"
    assert [r.status_code for r in answers] == [200] * 5 + [429]


def test_limits_switched_off_let_bursts_through(lemlist: Lemlist) -> None:
    lemlist.limits_off()
    assert {lemlist.get("/campaigns").status_code for _ in range(30)} == {200}


def test_injected_rate_limit_looks_like_lemlists_own(lemlist: Lemlist) -> None:
    lemlist.control("PUT", "faults", {"profile": {"lemlist": {"rate_limit_burst": 1.0}}})
    response = lemlist.get("/campaigns")
    expect_text(response, 429, "Too Many Requests")
    assert response.headers["Retry-After"] == "2"
    assert response.headers["X-RateLimit-Remaining"] == "0"
    datetime.strptime(response.headers["X-RateLimit-Reset"], JS_DATE)
    assert lemlist.stats()["faults_injected"] == {"rate_limit": 1}


@pytest.mark.parametrize(
    ("status", "text"),
    [
        (500, "Internal Server Error"),
        (502, "Bad Gateway"),
        (503, "Service Unavailable"),
        (504, "Gateway Timeout"),
    ],
)
def test_injected_server_errors_are_plain_text(lemlist: Lemlist, status: int, text: str) -> None:
    lemlist.control("PUT", "faults", {"profile": {"lemlist": {"error_rates": {status: 1.0}}}})
    expect_text(lemlist.get("/campaigns"), status, text)


# -- campaigns ---------------------------------------------------------------------------------


def test_campaign_pages_by_page_or_offset(lemlist: Lemlist) -> None:
    second = lemlist.get("/campaigns", version="v2", limit=3, page=2).json()
    by_offset = lemlist.get("/campaigns", limit=3, offset=3).json()
    everything = lemlist.get("/campaigns").json()
    assert second["campaigns"] == by_offset == everything[3:]
    assert second["pagination"] == {
        "totalRecords": 4,
        "currentPage": 2,
        "nextPage": None,
        "totalPage": 2,
    }


def test_campaigns_filter_by_status(lemlist: Lemlist) -> None:
    running = lemlist.get("/campaigns", version="v2", status="running").json()
    errors = lemlist.get("/campaigns", status="errors").json()
    assert {c["name"] for c in running["campaigns"]} == {
        "Outbound EU - Directors",
        "Outbound US - VPs",
    }
    assert [(c["name"], c["hasError"]) for c in errors] == [("Nurture", True)]


def test_campaigns_sort_newest_first_unless_asked(lemlist: Lemlist) -> None:
    default = [c["createdAt"] for c in lemlist.get("/campaigns").json()]
    ascending = [c["createdAt"] for c in lemlist.get("/campaigns", sortBy="createdAt").json()]
    assert default == sorted(default, reverse=True)
    assert ascending == sorted(default)


def test_unknown_campaign_is_a_plain_404(lemlist: Lemlist) -> None:
    expect_text(lemlist.get("/campaigns/cam_unknown0000000000"), 404, "Campaign not found")
    expect_text(
        lemlist.add("cam_unknown0000000000", {"email": "a@b.example.org"}),
        404,
        "Campaign not found",
    )


# -- adding leads ------------------------------------------------------------------------------


def test_lead_can_be_added_with_or_without_the_trailing_slash(lemlist: Lemlist, eu: str) -> None:
    with_slash = lemlist.post(f"/campaigns/{eu}/leads/", {"email": "a@one.example.org"})
    without = lemlist.post(f"/campaigns/{eu}/leads", {"email": "b@one.example.org"})
    assert (with_slash.status_code, without.status_code) == (200, 200)
    listed = lemlist.get(f"/campaigns/{eu}/leads").json()
    assert [lead["_id"] for lead in listed] == [with_slash.json()["_id"], without.json()["_id"]]


def test_legacy_form_takes_the_email_from_the_path_and_merges_the_body(
    lemlist: Lemlist, eu: str
) -> None:
    email = "grace.hopper@navy.example.org"
    body = {"email": "ignored@navy.example.org", "firstName": "Grace", "rank": "Admiral"}
    legacy = lemlist.post(f"/campaigns/{eu}/leads/{quote(email, safe='')}", body)
    bare = lemlist.post(f"/campaigns/{eu}/leads/other%40navy.example.org")
    assert (legacy.status_code, bare.status_code) == (200, 200)
    assert legacy.json()["email"] == email
    assert (legacy.json()["firstName"], legacy.json()["rank"]) == ("Grace", "Admiral")
    assert lemlist.get("/leads/ignored%40navy.example.org", version="v2").status_code == 404


def test_same_email_in_the_same_campaign_is_refused_whatever_its_case(
    lemlist: Lemlist, eu: str
) -> None:
    assert lemlist.add(eu, {"email": "Linus@Kernel.example.org"}).status_code == 200
    again = lemlist.add(eu, {"email": "linus@kernel.EXAMPLE.org"})
    legacy = lemlist.post(f"/campaigns/{eu}/leads/LINUS%40kernel.example.org")
    expect_text(again, 400, "Lead already in the campaign")
    expect_text(legacy, 400, "Lead already in the campaign")


def test_deduplicate_refuses_a_lead_already_in_another_campaign(
    lemlist: Lemlist, eu: str, us: str
) -> None:
    lemlist.add(eu, {"email": "ken@unix.example.org"})
    deduplicated = lemlist.add(us, {"email": "KEN@unix.example.org"}, deduplicate="true")
    expect_text(deduplicated, 409, "Lead already in other campaign")
    assert (
        lemlist.add(us, {"email": "ken@unix.example.org"}, deduplicate="false").status_code == 200
    )


def test_enrichment_flags_are_accepted_without_changing_the_answer(
    lemlist: Lemlist, eu: str
) -> None:
    flags = {"findEmail": "true", "verifyEmail": "true", "linkedinEnrichment": "true"}
    response = lemlist.add(eu, {"email": "dennis@c.example.org"}, findPhone="true", **flags)
    assert response.status_code == 200
    assert set(response.json()) == {
        "campaignId", "campaignName", "email", "_id", "isPaused", "contactId",
    }  # fmt: skip


def test_custom_variables_are_kept_as_strings(lemlist: Lemlist, eu: str) -> None:
    body = {"email": "ada@analytical.example.org", "icpScore": "87", "Company size": "51-200"}
    added = lemlist.add(eu, body).json()
    assert (added["icpScore"], added["Company size"]) == ("87", "51-200")
    lead = lemlist.state()["campaigns"][0]["leads"][0]
    assert lead["customVariables"] == {"icpScore": "87", "Company size": "51-200"}


@pytest.mark.parametrize("value", [87, 8.7, True, None, ["a"], {"a": "b"}])
def test_a_custom_variable_that_is_not_a_string_is_refused(
    lemlist: Lemlist, eu: str, value: Any
) -> None:
    response = lemlist.add(eu, {"email": "ada@analytical.example.org", "icpScore": value})
    expect_text(response, 400, '"icpScore" must be a string')


@pytest.mark.parametrize(
    "raw",
    [b'["a@b.example.org"]', b'"a@b.example.org"', b"{not json", b"42"],
    ids=["array", "string", "broken", "number"],
)
def test_a_body_that_is_not_an_object_is_refused(lemlist: Lemlist, eu: str, raw: bytes) -> None:
    url = f"{lemlist.handle.lemlist_url}/campaigns/{eu}/leads/"
    headers = {"Content-Type": "application/json"}
    response = lemlist.session.post(url, data=raw, headers=headers, timeout=10)
    expect_text(response, 400, "Body of your request must be an object")


def test_an_empty_lead_is_refused(lemlist: Lemlist, eu: str) -> None:
    expect_text(lemlist.add(eu, {}), 400, "No valid fields to add")


@pytest.mark.parametrize("email", [*INVALID_EMAILS, ""])
def test_an_invalid_email_is_refused(lemlist: Lemlist, eu: str, email: str) -> None:
    expect_text(lemlist.add(eu, {"email": email}), 400, "Invalid email address")


def test_a_lead_without_email_is_refused(lemlist: Lemlist, eu: str) -> None:
    expect_text(lemlist.add(eu, {"firstName": "Nobody"}), 400, "Invalid email address")


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("https://www.linkedin.com/in/ada-lovelace", 200),
        ("http://fr.linkedin.com/in/ada-lovelace/", 200),
        ("linkedin.com/in/ada", 200),
        ("https://twitter.com/ada", 400),
        ("https://www.linkedin.com/company/acme", 400),
        ("ada lovelace", 400),
    ],
)
def test_linkedin_url_must_be_a_profile(lemlist: Lemlist, eu: str, url: str, status: int) -> None:
    response = lemlist.add(eu, {"email": "ada@analytical.example.org", "linkedinUrl": url})
    assert response.status_code == status
    if status == 400:
        expect_text(response, 400, "Invalid LinkedIn URL")


def test_unsubscribed_people_and_domains_are_in_the_graveyard(lemlist: Lemlist, eu: str) -> None:
    entries = lemlist.state()["unsubscribes"]
    person = next(e["value"] for e in entries if e["source"] in ("user", "lead"))
    bounced = next(e["value"] for e in entries if e["source"] == "bounce")
    domain = next(e["value"] for e in entries if e["value"].startswith("@"))
    for email in (person.upper(), bounced, f"new.hire{domain}"):
        expect_text(lemlist.add(eu, {"email": email}), 400, GRAVEYARD)


def test_an_address_unsubscribed_through_the_api_cannot_be_added(lemlist: Lemlist, eu: str) -> None:
    assert lemlist.post("/unsubscribes/%40rival.example.org").status_code == 200
    assert lemlist.post("/unsubscribes/Ceo%40partner.example.org").status_code == 200
    expect_text(lemlist.add(eu, {"email": "anyone@rival.example.org"}), 400, GRAVEYARD)
    expect_text(lemlist.add(eu, {"email": "ceo@partner.example.org"}), 400, GRAVEYARD)
    assert lemlist.add(eu, {"email": "cto@partner.example.org"}).status_code == 200


def test_lead_ids_are_deterministic_across_resets(lemlist: Lemlist, eu: str) -> None:
    first = lemlist.add(eu, {"email": "ada@analytical.example.org"}).json()
    lemlist.control("POST", "reset")
    again = lemlist.add(eu, {"email": "ada@analytical.example.org"}).json()
    assert (first["_id"], first["contactId"]) == (again["_id"], again["contactId"])


def test_refusals_and_additions_are_counted(lemlist: Lemlist, eu: str) -> None:
    lemlist.add(eu, {"email": "ada@analytical.example.org"})
    lemlist.add(eu, {"email": "ada@analytical.example.org"})
    lemlist.add(eu, {"email": "x@y"})
    stats = lemlist.stats()
    assert stats["leads_added"] == 1
    assert stats["leads_refused"] == {
        "Lead already in the campaign": 1,
        "Invalid email address": 1,
    }
    assert stats["by_endpoint"]["add_lead"] == {"200": 1, "400": 2}


# -- reading and deleting leads ----------------------------------------------------------------


def test_unknown_lead_is_a_plain_404(lemlist: Lemlist) -> None:
    expect_text(lemlist.get("/leads/nobody%40x.example.org", version="v2"), 404, "Lead not found")


def test_lead_without_version_is_the_latest_membership(lemlist: Lemlist, eu: str, us: str) -> None:
    lemlist.add(eu, {"email": "ada@analytical.example.org"})
    latest = lemlist.add(us, {"email": "ada@analytical.example.org"}).json()
    body = lemlist.get("/leads/ADA%40analytical.example.org").json()
    assert body == {**latest, "state": "scanned"}


def test_campaign_leads_honour_limit_and_state(lemlist: Lemlist, eu: str) -> None:
    lemlist.limits_off()
    for index in range(3):
        lemlist.add(eu, {"email": f"lead{index}@batch.example.org"})
    assert len(lemlist.get(f"/campaigns/{eu}/leads/", limit=2).json()) == 2
    lemlist.advance(HOUR + 1)
    sent = lemlist.get(f"/campaigns/{eu}/leads/", state="emailsSent", limit=500).json()
    scanned = lemlist.get(f"/campaigns/{eu}/leads/", state="scanned").json()
    assert (len(sent), scanned) == (3, [])


def test_unsubscribed_lead_stays_in_the_campaign_but_its_sequence_stops(
    lemlist: Lemlist, eu: str
) -> None:
    email = planned_email(lemlist.seed, "emailsSent")
    lead = lemlist.add(eu, {"email": email}).json()
    lemlist.advance(HOUR + 1)
    assert lemlist.delete(f"/campaigns/{eu}/leads/{lead['_id']}").status_code == 200
    lemlist.advance(5 * DAY)
    assert [a["type"] for a in lemlist.activities(leadId=lead["_id"])] == ["emailsSent"]
    listed = lemlist.get(f"/campaigns/{eu}/leads/").json()
    assert [entry["state"] for entry in listed] == ["unsubscribed"]
    expect_text(lemlist.add(eu, {"email": email}), 400, "Lead already in the campaign")


def test_removed_lead_disappears_with_its_activities(lemlist: Lemlist, eu: str) -> None:
    email = "ada@analytical.example.org"
    lead = lemlist.add(eu, {"email": email}).json()
    lemlist.advance(HOUR + 1)
    removed = lemlist.delete(f"/campaigns/{eu}/leads/{lead['_id']}", action="remove")
    assert removed.json()["_id"] == lead["_id"]
    expect_text(lemlist.get(f"/leads/{email}", version="v2"), 404, "Lead not found")
    assert lemlist.activities() == []
    assert lemlist.add(eu, {"email": email}).json()["_id"] != lead["_id"]


def test_deleting_an_unknown_lead_is_a_plain_404(lemlist: Lemlist, eu: str, us: str) -> None:
    elsewhere = lemlist.add(us, {"email": "ada@analytical.example.org"}).json()
    expect_text(lemlist.delete(f"/campaigns/{eu}/leads/{elsewhere['_id']}"), 404, "Lead not found")
    expect_text(
        lemlist.delete(f"/campaigns/{eu}/leads/ghost%40x.example.org"), 404, ("Lead not found")
    )


# -- activities --------------------------------------------------------------------------------


def test_activities_require_version_v2(lemlist: Lemlist) -> None:
    expect_text(
        lemlist.get("/activities"),
        400,
        "This route only exists in version v2: add version=v2 to the query",
    )


def test_activities_appear_as_the_clock_reaches_them(lemlist: Lemlist, eu: str) -> None:
    email = planned_email(lemlist.seed, "emailsReplied")
    plan = plan_timeline(lemlist.seed, email)
    lead = lemlist.add(eu, {"email": email}).json()
    assert lemlist.activities() == []
    lemlist.advance(HOUR + 1)
    assert [a["type"] for a in lemlist.activities()] == ["emailsSent"]
    lemlist.advance(90_000)
    seen = lemlist.activities()
    assert [a["type"] for a in seen] == [s.type for s in plan if s.offset <= HOUR + 90_001]
    assert [a["createdAt"] for a in seen] == sorted(a["createdAt"] for a in seen)
    assert {a["leadId"] for a in seen} == {lead["_id"]}
    membership = lemlist.get(f"/leads/{email}", version="v2").json()[0]
    assert membership["state"] == seen[-1]["type"]


def test_bounced_lead_gets_no_further_email(lemlist: Lemlist, eu: str) -> None:
    lemlist.add(eu, {"email": planned_email(lemlist.seed, "emailsBounced")})
    lemlist.advance(10 * DAY)
    assert [a["type"] for a in lemlist.activities()] == ["emailsSent", "emailsBounced"]


@pytest.mark.parametrize("campaign", ["Founders", "Nurture"])
def test_leads_of_paused_or_draft_campaigns_are_not_contacted(
    lemlist: Lemlist, campaign: str
) -> None:
    campaign_id = lemlist.campaign_id(campaign)
    assert lemlist.add(campaign_id, {"email": "ada@analytical.example.org"}).status_code == 200
    lemlist.advance(10 * DAY)
    assert lemlist.activities() == []


def test_activities_page_and_filter(lemlist: Lemlist, eu: str, us: str) -> None:
    lemlist.limits_off()
    emails = list(itertools.islice(planned_emails(lemlist.seed, "emailsOpened"), 4))
    for email in emails[:3]:
        lemlist.add(eu, {"email": email})
    lemlist.add(us, {"email": emails[3]})
    lemlist.advance(4 * HOUR)
    everything = lemlist.activities()
    pages = lemlist.activities(limit=3) + lemlist.activities(limit=3, offset=3)
    assert pages == everything[:6]
    opened = lemlist.activities(type="emailsOpened")
    assert [a["leadEmail"] for a in opened] == emails
    assert {a["leadEmail"] for a in lemlist.activities(campaignId=us)} == {emails[3]}
    later = lemlist.activities(minDate=opened[0]["createdAt"])
    assert later == [a for a in everything if a["createdAt"] >= opened[0]["createdAt"]]
    assert (
        len(lemlist.activities(limit=500))
        == len(everything)
        == 4 * 2
        + sum(
            any(s.type == "emailsClicked" for s in plan_timeline(lemlist.seed, e)) for e in emails
        )
    )


def test_activity_dates_accept_unix_seconds_and_refuse_garbage(lemlist: Lemlist, eu: str) -> None:
    lemlist.add(eu, {"email": "ada@analytical.example.org"})
    now = lemlist.advance(2 * HOUR)
    assert len(lemlist.activities(minDate=str(math.floor(now - 2 * HOUR)))) == 1
    assert lemlist.activities(minDate=str(math.ceil(now - HOUR / 2))) == []
    assert lemlist.activities(maxDate=iso_date(now - 1.5 * HOUR)) == []
    assert len(lemlist.activities(endDate=iso_date(now))) == 1
    expect_text(
        lemlist.get("/activities", version="v2", minDate="yesterday"), 400, ("Invalid minDate")
    )


def test_unsubscribe_activity_feeds_the_unsubscribe_list(
    lemlist: Lemlist, eu: str, us: str
) -> None:
    email = planned_email(lemlist.seed, "emailsUnsubscribed")
    lemlist.add(eu, {"email": email})
    expect_text(lemlist.get(f"/unsubscribes/{email}"), 404, "Unsubscriber not found")
    lemlist.advance(DAY + HOUR + 1)
    [activity] = lemlist.activities(type="emailsUnsubscribed")
    entry = lemlist.get(f"/unsubscribes/{email}").json()
    assert (entry["source"], entry["createdAt"]) == ("lead", activity["createdAt"])
    assert entry in lemlist.get("/unsubscribes", limit=100).json()
    expect_text(lemlist.add(us, {"email": email}), 400, GRAVEYARD)


def test_removing_a_lead_cancels_its_planned_unsubscribe(lemlist: Lemlist, eu: str) -> None:
    email = planned_email(lemlist.seed, "emailsUnsubscribed")
    lead = lemlist.add(eu, {"email": email}).json()
    lemlist.delete(f"/campaigns/{eu}/leads/{lead['_id']}", action="remove")
    lemlist.advance(3 * DAY)
    expect_text(lemlist.get(f"/unsubscribes/{email}"), 404, "Unsubscriber not found")


def test_no_email_reaches_an_address_after_it_is_unsubscribed(lemlist: Lemlist, eu: str) -> None:
    email = planned_email(lemlist.seed, "emailsReplied")
    lemlist.add(eu, {"email": email})
    lemlist.advance(HOUR + 1)
    lemlist.post(f"/unsubscribes/{email}")
    lemlist.advance(5 * DAY)
    assert [a["type"] for a in lemlist.activities()] == ["emailsSent"]


# -- unsubscribes ------------------------------------------------------------------------------


def test_initial_unsubscribes_come_from_the_world(lemlist: Lemlist) -> None:
    world = lemlist.world
    entries = lemlist.get("/unsubscribes", limit=100).json()
    people = {p.email.lower(): p for p in world.people}
    domains = {"@" + c.domain for c in world.companies}
    by_source: dict[str, set[str]] = {}
    for entry in entries:
        by_source.setdefault(entry["source"], set()).add(entry["value"])
    chosen = by_source.get("user", set()) | by_source.get("lead", set())
    assert len(chosen - domains) == round(len(world.people) * 0.01)
    assert chosen - domains <= set(people)
    assert len(chosen & domains) == 2
    assert len({people[email].company.domain for email in by_source["bounce"]}) == 1
    assert [e["createdAt"] for e in entries] == sorted(e["createdAt"] for e in entries)


def test_unsubscribes_page_by_offset(lemlist: Lemlist) -> None:
    everything = lemlist.get("/unsubscribes").json()
    pages = lemlist.get("/unsubscribes", limit=5).json()
    pages += lemlist.get("/unsubscribes", limit=5, offset=5).json()
    assert pages == everything[:10]


def test_adding_an_unsubscribe_twice_keeps_one_entry(lemlist: Lemlist) -> None:
    first = lemlist.post("/unsubscribes/Gone%40nowhere.example.org").json()
    second = lemlist.post("/unsubscribes/gone%40nowhere.example.org").json()
    assert (
        first
        == second
        == {
            "_id": first["_id"],
            "value": "gone@nowhere.example.org",
            "email": "gone@nowhere.example.org",
        }
    )
    values = [e["value"] for e in lemlist.get("/unsubscribes", limit=100).json()]
    assert values.count("gone@nowhere.example.org") == 1
    assert lemlist.get("/unsubscribes/gone%40nowhere.example.org").json()["source"] == "api"


@pytest.mark.parametrize("value", ["rival.example.org", "not an email", "@nodot"])
def test_an_invalid_unsubscribe_value_is_a_500_as_lemlist_answers(
    lemlist: Lemlist, value: str
) -> None:
    response = lemlist.post(f"/unsubscribes/{quote(value, safe='')}")
    expect_text(response, 500, "Invalid email address or domain. Domains must start with @")


# -- hooks -------------------------------------------------------------------------------------


def test_hook_validation(lemlist: Lemlist) -> None:
    expect_text(lemlist.post("/hooks", {"targetUrl": "ftp://x"}), 400, "Invalid targetUrl")
    expect_text(lemlist.post("/hooks", {}), 400, "Invalid targetUrl")
    bad_type = {"targetUrl": "https://h.example.org", "type": "emailOpened"}
    expect_text(lemlist.post("/hooks", bad_type), 400, "Invalid type")
    unknown = {"targetUrl": "https://h.example.org"}
    expect_text(lemlist.post("/hooks", unknown, campaignId="cam_x"), 404, "Campaign not found")
    assert lemlist.get("/hooks").json() == []


def test_hook_deletion_is_final(lemlist: Lemlist) -> None:
    hook = lemlist.post("/hooks", {"targetUrl": "https://h.example.org"}).json()
    assert lemlist.delete(f"/hooks/{hook['_id']}").status_code == 200
    expect_text(lemlist.delete(f"/hooks/{hook['_id']}"), 404, "Webhook not found")
    assert lemlist.state()["hooks"] == []


# -- control plane -----------------------------------------------------------------------------


def test_state_shows_campaigns_leads_unsubscribes_and_hooks(lemlist: Lemlist, eu: str) -> None:
    lemlist.add(eu, {"email": "ada@analytical.example.org", "firstName": "Ada", "tier": "A"})
    lemlist.post("/hooks", {"targetUrl": "https://h.example.org", "secret": "s"})
    state = lemlist.state()
    campaign = next(c for c in state["campaigns"] if c["_id"] == eu)
    [lead] = campaign["leads"]
    assert (lead["email"], lead["state"], lead["fields"], lead["customVariables"]) == (
        "ada@analytical.example.org",
        "scanned",
        {"firstName": "Ada"},
        {"tier": "A"},
    )
    assert [c["status"] for c in state["campaigns"]] == ["running", "running", "paused", "draft"]
    assert state["unsubscribes"] == lemlist.get("/unsubscribes", limit=100).json()
    assert [h["hasSecret"] for h in state["hooks"]] == [True]


def test_reset_forgets_leads_and_added_unsubscribes(lemlist: Lemlist, eu: str) -> None:
    before = lemlist.state()
    lemlist.add(eu, {"email": "ada@analytical.example.org"})
    lemlist.post("/unsubscribes/%40rival.example.org")
    lemlist.control("POST", "reset")
    assert lemlist.state() == before
