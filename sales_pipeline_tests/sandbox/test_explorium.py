"""The emulated Explorium API: its contract with the vendor's OpenAPI document and its rules.

Where the document and ``shared/api-facts/explorium.md`` disagree, the facts win and the test
says which field and why.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest
import requests

from sales_pipeline.sandbox import SandboxConfig, SandboxHandle, run_sandbox
from sales_pipeline.sandbox.core.world import COUNTRIES, ROLES, Company, Person, World
from sales_pipeline_tests.sandbox.openapi import explorium_spec

PROSPECTS_MATCH = "/v1/prospects/match"
BUSINESSES_MATCH = "/v1/businesses/match"
CONTACTS_BULK = "/v1/prospects/contacts_information/bulk_enrich"
PROFILES_BULK = "/v1/prospects/profiles/bulk_enrich"
FIRMOGRAPHICS_BULK = "/v1/businesses/firmographics/bulk_enrich"
CONTACTS_ONE = "/v1/prospects/contacts_information/enrich"
PROFILES_ONE = "/v1/prospects/profiles/enrich"
FIRMOGRAPHICS_ONE = "/v1/businesses/firmographics/enrich"
CREDITS = "/v1/credits"

T = TypeVar("T")


@dataclass
class Explorium:
    """Speaks to the sandbox's Explorium (paths as the spec writes them) and knows its world."""

    handle: SandboxHandle
    session: requests.Session

    @property
    def world(self) -> World:
        """The generated world behind the sandbox (the truth the answers must reflect)."""
        return self.handle.sandbox.vendors["explorium"].context.world

    def url(self, path: str) -> str:
        """``/v1/...`` or ``/healthcheck/...`` as a sandbox URL."""
        return f"{self.handle.base_url}/explorium{path}"

    def post(
        self, path: str, body: Any, key: str | None = None, **headers: str
    ) -> requests.Response:
        """POST ``body`` as JSON with the accepted key (or ``key``)."""
        auth = {"api_key": key if key is not None else self.handle.credentials.explorium_key}
        return self.session.post(self.url(path), json=body, headers={**auth, **headers}, timeout=10)

    def get(self, path: str) -> requests.Response:
        """GET with the accepted key."""
        headers = {"api_key": self.handle.credentials.explorium_key}
        return self.session.get(self.url(path), headers=headers, timeout=10)

    def control(self, method: str, action: str, body: Any = None) -> Any:
        """Call the ``/_sandbox`` control plane and return its JSON."""
        answer = self.session.request(
            method, f"{self.handle.control_url}/{action}", json=body, timeout=10
        )
        answer.raise_for_status()
        return answer.json()

    def known(self, count: int, **where: Any) -> list[Person]:
        """``count`` people Explorium knows (optionally with attribute values, e.g. phone=None)."""
        return self._people(True, count, where)

    def unknown(self, count: int) -> list[Person]:
        """``count`` people Explorium does not know."""
        return self._people(False, count, {})

    def _people(self, known: bool, count: int, where: dict[str, Any]) -> list[Person]:
        found = [
            person
            for person in self.world.people
            if person.known is known and all(getattr(person, k) == v for k, v in where.items())
        ]
        assert len(found) >= count, "the test world is too small for this test"
        return found[:count]

    def companies(self, count: int, known: bool = True) -> list[Company]:
        """``count`` companies Explorium knows (or does not)."""
        return [c for c in self.world.companies if c.known is known][:count]

    def stats(self) -> dict[str, Any]:
        """This vendor's ``/_sandbox/stats``."""
        stats: dict[str, Any] = self.control("GET", "stats")["explorium"]
        return stats


@pytest.fixture
def explorium(sandbox: SandboxHandle) -> Iterator[Explorium]:
    """The shared sandbox (reset) seen through an Explorium session."""
    with requests.Session() as session:
        yield Explorium(sandbox, session)


def _ids(people: list[Person]) -> list[str]:
    return [person.prospect_id for person in people]


def _faults(explorium: Explorium, section: dict[str, Any]) -> None:
    explorium.control("PUT", "faults", {"profile": {"explorium": section}})


# -- contract: answers against the vendor's OpenAPI document -----------------------------------


def test_prospect_match_answer_fits_the_spec_for_matched_and_unmatched_items(
    explorium: Explorium,
) -> None:
    (known,), (stranger,) = explorium.known(1), explorium.unknown(1)
    body = {"prospects_to_match": [{"email": known.email}, {"email": stranger.email}]}
    explorium_spec().validate_request(PROSPECTS_MATCH, "post", body)
    answer = explorium.post(PROSPECTS_MATCH, body)
    assert answer.status_code == 200
    payload = answer.json()
    assert [row["prospect_id"] for row in payload["matched_prospects"]] == [
        known.prospect_id,
        None,
    ]
    # The spec types ProspectMatchOutput.prospect_id as a 40-hex string, yet describes the list
    # as "May contain None for unmatched items"; api-facts/explorium.md: "unmatched ->
    # prospect_id: null". The null is asserted above; the rest of the row must fit the spec.
    for row in payload["matched_prospects"]:
        if row["prospect_id"] is None:
            del row["prospect_id"]
    explorium_spec().validate_response(PROSPECTS_MATCH, "post", 200, payload)


def test_business_match_answer_fits_the_spec_for_matched_and_unmatched_items(
    explorium: Explorium,
) -> None:
    (known,), (stranger,) = explorium.companies(1), explorium.companies(1, known=False)
    body = {"businesses_to_match": [{"domain": known.domain}, {"domain": stranger.domain}]}
    explorium_spec().validate_request(BUSINESSES_MATCH, "post", body)
    payload = explorium.post(BUSINESSES_MATCH, body).json()
    assert [row["business_id"] for row in payload["matched_businesses"]] == [
        known.business_id,
        None,
    ]
    # Same null as for prospects: the spec types business_id as a 32-hex string but says "If
    # they not matched `business_id` will None"; api-facts: "business_id: <32 hex>|null".
    for row in payload["matched_businesses"]:
        if row["business_id"] is None:
            del row["business_id"]
    explorium_spec().validate_response(BUSINESSES_MATCH, "post", 200, payload)


def _covering(items: list[T], keys: list[Callable[[T], object]]) -> list[T]:
    """At most 50 ``items`` in which every value any of ``keys`` takes on ``items`` appears."""
    chosen: list[T] = []
    for key in keys:
        seen = {key(item) for item in chosen}
        for item in items:
            if key(item) not in seen:
                chosen.append(item)
                seen.add(key(item))
    assert len(chosen) <= 50
    return chosen


@pytest.mark.parametrize(
    ("path", "parameters"),
    [(CONTACTS_BULK, {"contact_types": ["email", "phone"]}), (PROFILES_BULK, None)],
)
def test_prospect_bulk_enrichments_fit_the_spec_for_every_region_and_role(
    explorium: Explorium, path: str, parameters: dict[str, Any] | None
) -> None:
    known = [person for person in explorium.world.people if person.known]
    people = _covering(
        known, [lambda p: p.region, lambda p: p.job_title, lambda p: p.phone is None]
    )
    assert {person.region for person in people} == {region for _, region, _ in COUNTRIES}
    assert {person.job_title for person in people} == {role[0] for role in ROLES}
    body: dict[str, Any] = {"prospect_ids": _ids(people)}
    if parameters:
        body["parameters"] = parameters
    explorium_spec().validate_request(path, "post", body)
    answer = explorium.post(path, body)
    assert answer.status_code == 200
    assert answer.json()["total_results"] == len(people)
    explorium_spec().validate_response(path, "post", 200, answer.json())


def test_firmographics_bulk_enrichment_fits_the_spec_for_every_kind_of_company(
    explorium: Explorium,
) -> None:
    known = [company for company in explorium.world.companies if company.known]
    companies = _covering(
        known,
        [lambda c: c.country, lambda c: c.size_range, lambda c: c.revenue_range, lambda c: c.naics],
    )
    assert {company.country for company in companies} == {country for country, _, _ in COUNTRIES}
    body = {"business_ids": [company.business_id for company in companies]}
    explorium_spec().validate_request(FIRMOGRAPHICS_BULK, "post", body)
    answer = explorium.post(FIRMOGRAPHICS_BULK, body)
    assert answer.json()["total_results"] == len(companies)
    explorium_spec().validate_response(FIRMOGRAPHICS_BULK, "post", 200, answer.json())


def test_single_record_enrichments_fit_the_spec(explorium: Explorium) -> None:
    (person,) = explorium.known(1)
    for path, body in (
        (CONTACTS_ONE, {"prospect_id": person.prospect_id}),
        (PROFILES_ONE, {"prospect_id": person.prospect_id}),
        (FIRMOGRAPHICS_ONE, {"business_id": person.company.business_id}),
    ):
        explorium_spec().validate_request(path, "post", body)
        answer = explorium.post(path, body)
        assert answer.json()["data"], path
        explorium_spec().validate_response(path, "post", 200, answer.json())


def test_credits_summary_fits_the_spec(explorium: Explorium) -> None:
    answer = explorium.get(CREDITS)
    explorium_spec().validate_response(CREDITS, "get", 200, answer.json())


def test_validation_errors_fit_the_spec(explorium: Explorium) -> None:
    answer = explorium.post(PROSPECTS_MATCH, {"prospects_to_match": []})
    assert answer.status_code == 422
    explorium_spec().validate_response(PROSPECTS_MATCH, "post", 422, answer.json())


def test_health_check_answers_a_json_string_without_a_key(explorium: Explorium) -> None:
    answer = explorium.session.get(explorium.url("/healthcheck/http"), timeout=5)
    assert answer.status_code == 200
    explorium_spec().validate_response("/healthcheck/http", "get", 200, answer.json())


# 401, 403 and 429 are not in the OpenAPI document; their shapes come from api-facts and the
# vendor's error-handling page: {"details", "correlation_id"} and, for 429, Retry-After.


@pytest.mark.parametrize("headers", [{}, {"api_key": "wrong"}, {"Authorization": "Bearer x"}])
def test_a_missing_or_wrong_key_is_refused_with_401(
    explorium: Explorium, headers: dict[str, str]
) -> None:
    answer = explorium.session.post(
        explorium.url(PROSPECTS_MATCH),
        json={"prospects_to_match": [{"email": "a@b.com"}]},
        headers=headers,
        timeout=5,
    )
    assert answer.status_code == 401
    body = answer.json()
    assert body["details"]
    assert body["correlation_id"] == body["response_context"]["correlation_id"]
    assert body["response_context"]["request_status"] == "failure"


def test_out_of_credits_is_a_403_with_the_vendors_message(explorium: Explorium) -> None:
    explorium.control("PUT", "limits", {"explorium": {"credits": 0}})
    answer = explorium.post(PROFILES_BULK, {"prospect_ids": _ids(explorium.known(1))})
    assert answer.status_code == 403
    body = answer.json()
    assert body["details"].startswith("You have insufficient credits to perform this operation")
    assert len(body["correlation_id"]) == 32
    assert "Retry-After" not in answer.headers


# -- matching ------------------------------------------------------------------------------------


def test_emails_match_whatever_their_casing(explorium: Explorium) -> None:
    person, other = explorium.known(2)
    items = [{"email": person.email.upper()}, {"email": f"  {other.email.title()} "}]
    rows = explorium.post(PROSPECTS_MATCH, {"prospects_to_match": items}).json()
    assert [row["prospect_id"] for row in rows["matched_prospects"]] == _ids([person, other])


def test_a_crm_duplicate_in_another_casing_matches_the_same_prospect(explorium: Explorium) -> None:
    twins = [
        contact
        for contact in explorium.world.contacts
        if contact.person
        and contact.person.known
        and contact.properties["email"]
        and contact.properties["email"] != contact.person.email
        and contact.properties["email"].lower() == contact.person.email
    ]
    assert twins, "the world has people recorded twice with another casing"
    items = [{"email": contact.properties["email"]} for contact in twins[:50]]
    rows = explorium.post(PROSPECTS_MATCH, {"prospects_to_match": items}).json()
    expected = [contact.person.prospect_id for contact in twins[:50] if contact.person]
    assert [row["prospect_id"] for row in rows["matched_prospects"]] == expected


def test_people_explorium_does_not_know_stay_unmatched(explorium: Explorium) -> None:
    items = [{"email": person.email} for person in explorium.unknown(3)]
    payload = explorium.post(PROSPECTS_MATCH, {"prospects_to_match": items}).json()
    assert [row["prospect_id"] for row in payload["matched_prospects"]] == [None] * 3
    assert payload["total_matches"] == 0
    assert payload["response_context"]["request_status"] == "miss"


def test_name_and_company_match_case_and_space_insensitively(explorium: Explorium) -> None:
    (person,) = explorium.known(1)
    item = {
        "full_name": f" {person.full_name.upper()} ",
        "company_name": person.company.name.lower().replace(" ", "  "),
    }
    rows = explorium.post(PROSPECTS_MATCH, {"prospects_to_match": [item]}).json()
    assert rows["matched_prospects"][0]["prospect_id"] == person.prospect_id


def test_linkedin_urls_match_with_or_without_scheme_and_slash(explorium: Explorium) -> None:
    person, other = explorium.known(2)
    bare = other.linkedin.removeprefix("https://www.")
    items = [{"linkedin": person.linkedin + "/"}, {"linkedin": bare}]
    rows = explorium.post(PROSPECTS_MATCH, {"prospects_to_match": items}).json()
    assert [row["prospect_id"] for row in rows["matched_prospects"]] == _ids([person, other])


def test_a_business_id_restricts_the_match_to_that_company(explorium: Explorium) -> None:
    person, elsewhere = explorium.known(2)
    assert person.company != elsewhere.company
    items = [
        {"email": person.email, "business_id": person.company.business_id},
        {"email": person.email, "business_id": elsewhere.company.business_id},
    ]
    rows = explorium.post(PROSPECTS_MATCH, {"prospects_to_match": items}).json()
    assert [row["prospect_id"] for row in rows["matched_prospects"]] == [person.prospect_id, None]


def test_results_keep_input_order_and_echo_inputs_without_nulls(explorium: Explorium) -> None:
    people = explorium.known(3)
    stranger = explorium.unknown(1)[0]
    items = [
        {"email": people[2].email, "phone_number": None},
        {"email": stranger.email},
        {"email": people[0].email},
        {"email": people[1].email},
    ]
    payload = explorium.post(PROSPECTS_MATCH, {"prospects_to_match": items}).json()
    rows = payload["matched_prospects"]
    assert [row["prospect_id"] for row in rows] == [
        people[2].prospect_id,
        None,
        people[0].prospect_id,
        people[1].prospect_id,
    ]
    assert rows[0]["input"] == {"email": people[2].email}
    assert (payload["total_results"], payload["total_matches"]) == (4, 3)


@pytest.mark.parametrize(
    "item",
    [
        {"full_name": "Anna Smith"},
        {"company_name": "Acme"},
        {"full_name": "Anna Smith", "email": "a@b.co"},
        {},
    ],
)
def test_an_item_without_a_usable_identifier_is_a_per_item_error(
    explorium: Explorium, item: dict[str, str]
) -> None:
    (person,) = explorium.known(1)
    items = [item, {"email": person.email}]
    answer = explorium.post(PROSPECTS_MATCH, {"prospects_to_match": items})
    assert answer.status_code == 200
    first, second = answer.json()["matched_prospects"]
    assert first["prospect_id"] is None
    assert first["error"]
    assert first["error_type"] == "validation_error"
    assert second["prospect_id"] == person.prospect_id


@pytest.mark.parametrize("count", [0, 51])
def test_match_batches_hold_one_to_fifty_items(explorium: Explorium, count: int) -> None:
    items = [{"email": f"person{i}@example.com"} for i in range(count)]
    answer = explorium.post(PROSPECTS_MATCH, {"prospects_to_match": items})
    assert answer.status_code == 422
    (error,) = answer.json()["detail"]
    assert error["loc"] == ["body", "prospects_to_match"]
    assert error["type"] == (
        "value_error.list.min_items" if count == 0 else "value_error.list.max_items"
    )


def test_fifty_items_are_accepted(explorium: Explorium) -> None:
    items = [{"email": person.email} for person in explorium.known(50)]
    payload = explorium.post(PROSPECTS_MATCH, {"prospects_to_match": items}).json()
    assert payload["total_matches"] == 50


def test_a_prospect_item_with_an_unknown_key_is_refused(explorium: Explorium) -> None:
    items = [{"email": "a@b.com"}, {"email": "c@d.com", "first_name": "Carl"}]
    answer = explorium.post(PROSPECTS_MATCH, {"prospects_to_match": items})
    assert answer.status_code == 422
    assert answer.json()["detail"] == [
        {
            "loc": ["body", "prospects_to_match", 1, "first_name"],
            "msg": "extra fields not permitted",
            "type": "value_error.extra",
        }
    ]


def test_every_problem_of_a_body_is_listed(explorium: Explorium) -> None:
    answer = explorium.post(PROSPECTS_MATCH, {"prospects_to_match": [], "limit": 5})
    locs = [error["loc"] for error in answer.json()["detail"]]
    assert locs == [["body", "limit"], ["body", "prospects_to_match"]]


@pytest.mark.parametrize(
    ("raw", "loc", "kind"),
    [
        (b"", ["body"], "value_error.missing"),
        (b"{not json", ["body", 1], "value_error.jsondecode"),
        (b"[1, 2]", ["body"], "type_error.dict"),
        (b"{}", ["body", "prospects_to_match"], "value_error.missing"),
        (b'{"prospects_to_match": "a@b.com"}', ["body", "prospects_to_match"], "type_error.list"),
        (
            b'{"prospects_to_match": [{"email": 5}]}',
            ["body", "prospects_to_match", 0, "email"],
            "type_error.str",
        ),
    ],
)
def test_malformed_bodies_are_refused_with_422(
    explorium: Explorium, raw: bytes, loc: list[Any], kind: str
) -> None:
    answer = explorium.session.post(
        explorium.url(PROSPECTS_MATCH),
        data=raw,
        headers={"api_key": explorium.handle.credentials.explorium_key},
        timeout=5,
    )
    assert answer.status_code == 422
    assert [(error["loc"], error["type"]) for error in answer.json()["detail"]] == [(loc, kind)]


def test_businesses_match_by_domain_url_linkedin_and_name(explorium: Explorium) -> None:
    by_domain, by_url, by_linkedin, by_name = explorium.companies(4)
    slug = by_linkedin.domain.split(".")[0]
    items = [
        {"domain": f"WWW.{by_domain.domain.upper()}"},
        {"url": f"https://{by_url.domain}/about?x=1"},
        {"linkedin_url": f"linkedin.com/company/{slug}/"},
        {"name": f"  {by_name.name.upper()}"},
    ]
    payload = explorium.post(BUSINESSES_MATCH, {"businesses_to_match": items}).json()
    ids = [row["business_id"] for row in payload["matched_businesses"]]
    first_of_name = next(c for c in explorium.world.companies if c.known and c.name == by_name.name)
    assert ids == [
        by_domain.business_id,
        by_url.business_id,
        by_linkedin.business_id,
        first_of_name.business_id,
    ]
    assert payload["total_matches"] == 4


def test_business_match_ignores_unknown_keys_and_limits_batches(explorium: Explorium) -> None:
    (company,) = explorium.companies(1)
    item = {"domain": company.domain, "country": "us"}
    payload = explorium.post(BUSINESSES_MATCH, {"businesses_to_match": [item]}).json()
    assert payload["matched_businesses"] == [
        {"input": {"domain": company.domain}, "business_id": company.business_id}
    ]
    too_many = [{"domain": company.domain}] * 51
    answer = explorium.post(BUSINESSES_MATCH, {"businesses_to_match": too_many})
    assert answer.status_code == 422


def test_about_seventy_percent_of_crm_contacts_match(explorium: Explorium) -> None:
    emails = [
        contact.properties["email"]
        for contact in explorium.world.contacts
        if contact.properties["email"] and "@" in contact.properties["email"]
    ][:500]
    matched = 0
    for start in range(0, len(emails), 50):
        items = [{"email": email} for email in emails[start : start + 50]]
        matched += explorium.post(PROSPECTS_MATCH, {"prospects_to_match": items}).json()[
            "total_matches"
        ]
    assert 0.6 <= matched / len(emails) <= 0.8


def test_the_match_rate_follows_the_sandbox_config() -> None:
    with (
        run_sandbox(SandboxConfig(contacts=200, match_rate=0.0)) as handle,
        requests.Session() as s,
    ):
        client = Explorium(handle, s)
        items = [{"email": person.email} for person in client.world.people[:50]]
        payload = client.post(PROSPECTS_MATCH, {"prospects_to_match": items}).json()
        assert payload["total_matches"] == 0


# -- enrichment ----------------------------------------------------------------------------------


def test_bulk_rows_follow_input_order_once_per_id_and_skip_unknown_ids(
    explorium: Explorium,
) -> None:
    first, second = explorium.known(2)
    (stranger,) = explorium.unknown(1)
    ids = [second.prospect_id, stranger.prospect_id, first.prospect_id, second.prospect_id]
    payload = explorium.post(PROFILES_BULK, {"prospect_ids": ids}).json()
    assert [row["prospect_id"] for row in payload["data"]] == _ids([second, first])
    assert payload["total_results"] == 2
    assert explorium.control("GET", "state?vendor=explorium")["explorium"]["credits_used"] == 2


def test_bulk_enrichment_of_only_unknown_ids_is_a_free_miss(explorium: Explorium) -> None:
    payload = explorium.post(CONTACTS_BULK, {"prospect_ids": _ids(explorium.unknown(3))}).json()
    assert payload["data"] == []
    assert payload["response_context"]["request_status"] == "miss"
    assert explorium.stats()["credits_used"] == 0


@pytest.mark.parametrize("ids", [[], ["ab" * 20] * 51, ["not-a-prospect-id"]])
def test_bulk_enrichment_ids_are_validated(explorium: Explorium, ids: list[str]) -> None:
    answer = explorium.post(PROFILES_BULK, {"prospect_ids": ids})
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"][:2] == ["body", "prospect_ids"]


def test_profiles_carry_the_documented_fields_and_no_job_level(explorium: Explorium) -> None:
    (person,) = explorium.known(1)
    payload = explorium.post(PROFILES_BULK, {"prospect_ids": [person.prospect_id]}).json()
    profile = payload["data"][0]["data"]
    assert "job_level" not in profile
    assert profile["full_name"] == person.full_name
    assert profile["job_title"] == person.job_title
    assert profile["job_seniority_level"] == person.job_level
    assert profile["job_level_main"] == person.seniority
    assert profile["job_level_array"] == [person.seniority]
    assert profile["company_website"] == f"https://{person.company.domain}"
    assert profile["country_name"] == person.country.lower()
    assert profile["experience"]
    assert profile["skills"]


def test_firmographics_carry_ranges_under_their_documented_names(explorium: Explorium) -> None:
    (company,) = explorium.companies(1)
    payload = explorium.post(FIRMOGRAPHICS_BULK, {"business_ids": [company.business_id]}).json()
    record = payload["data"][0]["data"]
    assert "revenue_range" not in record
    assert record["yearly_revenue_range"] == company.revenue_range
    assert record["number_of_employees_range"] == company.size_range
    assert (record["naics"], record["linkedin_industry_category"]) == (
        company.naics,
        company.industry,
    )


def test_email_contacts_cost_two_credits_and_carry_no_phone(explorium: Explorium) -> None:
    people = explorium.known(3)
    body = {"prospect_ids": _ids(people), "parameters": {"contact_types": ["email"]}}
    payload = explorium.post(CONTACTS_BULK, body).json()
    for row, person in zip(payload["data"], people, strict=True):
        assert row["data"]["professions_email"] == person.email
        assert row["data"]["professional_email_status"] == person.email_status
        assert row["data"]["emails"][0] == {"address": person.email, "type": "professional"}
        assert "phone_numbers" not in row["data"]
        assert "mobile_phone" not in row["data"]
    assert explorium.stats()["credits_used"] == 6


def test_phone_contacts_cost_five_credits_and_only_when_a_phone_comes_back(
    explorium: Explorium,
) -> None:
    with_phone = [p for p in explorium.known(40) if p.phone][:2]
    without_phone = explorium.known(1, phone=None)
    body = {
        "prospect_ids": _ids(with_phone + without_phone),
        "parameters": {"contact_types": ["phone"]},
    }
    payload = explorium.post(CONTACTS_BULK, body).json()
    assert [row["prospect_id"] for row in payload["data"]] == _ids(with_phone)
    assert all(set(row["data"]) <= {"phone_numbers", "mobile_phone"} for row in payload["data"])
    assert payload["data"][0]["data"]["phone_numbers"] == [{"phone_number": with_phone[0].phone}]
    assert explorium.stats()["credits_used"] == 10


def test_contacts_without_parameters_return_email_and_phone(explorium: Explorium) -> None:
    (person,) = [p for p in explorium.known(40) if p.phone][:1]
    payload = explorium.post(CONTACTS_BULK, {"prospect_ids": [person.prospect_id]}).json()
    assert {"emails", "phone_numbers"} <= set(payload["data"][0]["data"])
    assert explorium.stats()["credits_used"] == 5


def test_invalid_work_emails_come_back_flagged_not_hidden(explorium: Explorium) -> None:
    (person,) = explorium.known(1, email_status="invalid")
    body = {"prospect_ids": [person.prospect_id], "parameters": {"contact_types": ["email"]}}
    row = explorium.post(CONTACTS_BULK, body).json()["data"][0]["data"]
    assert row["professional_email_status"] == "invalid"


def test_unknown_contact_types_are_refused(explorium: Explorium) -> None:
    body = {"prospect_ids": _ids(explorium.known(1)), "parameters": {"contact_types": ["fax"]}}
    answer = explorium.post(CONTACTS_BULK, body)
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["body", "parameters", "contact_types", 0]


def test_single_record_enrichment_costs_the_same_but_shows_in_stats(explorium: Explorium) -> None:
    people = explorium.known(2)
    for person in people:
        explorium.post(PROFILES_ONE, {"prospect_id": person.prospect_id})
    explorium.post(PROFILES_BULK, {"prospect_ids": _ids(people)})
    stats = explorium.stats()
    assert stats["enrich_calls"] == {"bulk": 1, "single": 2}
    assert stats["credits_used"] == 4
    assert stats["by_endpoint"]["profiles_enrich"] == {"200": 2}


def test_single_record_enrichment_of_an_unknown_id_is_an_empty_free_miss(
    explorium: Explorium,
) -> None:
    (stranger,) = explorium.unknown(1)
    payload = explorium.post(CONTACTS_ONE, {"prospect_id": stranger.prospect_id}).json()
    assert payload["data"] == {}
    assert payload["entity_id"] == stranger.prospect_id
    assert payload["response_context"]["request_status"] == "miss"
    assert explorium.stats()["credits_used"] == 0


# -- credits -------------------------------------------------------------------------------------


def test_the_credit_summary_follows_spending(explorium: Explorium) -> None:
    before = explorium.get(CREDITS).json()
    explorium.post(
        FIRMOGRAPHICS_BULK, {"business_ids": [c.business_id for c in explorium.companies(3)]}
    )
    after = explorium.get(CREDITS).json()
    assert after["remaining_credits"] == before["remaining_credits"] - 3
    assert after["allocated_credits"] == before["allocated_credits"]


def test_a_request_costing_more_than_the_balance_is_refused_and_not_charged(
    explorium: Explorium,
) -> None:
    explorium.control("PUT", "limits", {"explorium": {"credits": 3}})
    people = explorium.known(4)
    refused = explorium.post(PROFILES_BULK, {"prospect_ids": _ids(people)})
    assert refused.status_code == 403
    assert explorium.stats()["credits_remaining"] == 3
    allowed = explorium.post(PROFILES_BULK, {"prospect_ids": _ids(people[:3])})
    assert allowed.status_code == 200
    assert explorium.post(PROFILES_ONE, {"prospect_id": people[3].prospect_id}).status_code == 403
    assert explorium.stats()["credits_remaining"] == 0


def test_matching_still_works_once_credits_are_spent(explorium: Explorium) -> None:
    explorium.control("PUT", "limits", {"explorium": {"credits": 0}})
    (person,) = explorium.known(1)
    answer = explorium.post(PROSPECTS_MATCH, {"prospects_to_match": [{"email": person.email}]})
    assert answer.status_code == 200


def test_credit_usage_header_reports_the_cost_of_the_call(explorium: Explorium) -> None:
    ids = _ids(explorium.known(2))
    answer = explorium.post(PROFILES_BULK, {"prospect_ids": ids}, **{"credit-usage": "true"})
    assert answer.json()["credit_usage"] == {"total_results": 2, "total_credits": 2}
    assert "credit_usage" not in explorium.post(PROFILES_BULK, {"prospect_ids": ids}).json()


def test_state_stats_and_reset(explorium: Explorium) -> None:
    explorium.post(PROFILES_BULK, {"prospect_ids": _ids(explorium.known(2))})
    state = explorium.control("GET", "state?vendor=explorium")["explorium"]
    world = explorium.world
    assert state == {
        "credits_remaining": 1_000_000 - 2,
        "credits_used": 2,
        "known_prospects": sum(p.known for p in world.people),
        "known_businesses": sum(c.known for c in world.companies),
    }
    explorium.control("POST", "reset")
    assert explorium.stats()["credits_used"] == 0
    assert explorium.get(CREDITS).json()["remaining_credits"] == 1_000_000


@pytest.mark.parametrize("settings", [{"credit": 5}, {"credits": -1}, {"credits": "many"}])
def test_bad_credit_settings_are_refused(explorium: Explorium, settings: dict[str, Any]) -> None:
    answer = explorium.session.put(
        f"{explorium.handle.control_url}/limits", json={"explorium": settings}, timeout=5
    )
    assert answer.status_code == 400


# -- rate limits ---------------------------------------------------------------------------------


def test_every_answer_carries_rate_limit_headers_and_response_context(explorium: Explorium) -> None:
    answers = [
        explorium.post(PROSPECTS_MATCH, {"prospects_to_match": [{"email": "a@b.com"}]}),
        explorium.post(PROSPECTS_MATCH, {"prospects_to_match": []}),
        explorium.get(CREDITS),
    ]
    now = time.time()
    remaining = [int(answer.headers["X-RateLimit-Remaining"]) for answer in answers]
    assert remaining == [199, 198, 197]
    for answer in answers:
        assert answer.headers["X-RateLimit-Limit"] == "200"
        assert now <= int(answer.headers["X-RateLimit-Reset"]) <= now + 61
        assert set(answer.json()["response_context"]) == {
            "correlation_id",
            "request_status",
            "time_took_in_seconds",
        }


def test_the_201st_request_in_a_minute_is_refused_with_retry_after(explorium: Explorium) -> None:
    for _ in range(200):
        assert explorium.get(CREDITS).status_code == 200
    answer = explorium.get(CREDITS)
    assert answer.status_code == 429
    wait = int(answer.headers["Retry-After"])
    assert 1 <= wait <= 60
    assert answer.headers["X-RateLimit-Remaining"] == "0"
    assert int(answer.headers["X-RateLimit-Reset"]) >= math.floor(time.time()) + wait - 1
    body = answer.json()
    assert (body["error"], body["retry_after"]) == ("rate_limit_exceeded", wait)
    assert explorium.stats()["rate_limited"] == 1


def test_one_window_covers_every_endpoint(explorium: Explorium) -> None:
    explorium.control("PUT", "limits", {"rate_scale": 0.02})
    (person,) = explorium.known(1)
    statuses = [
        explorium.get(CREDITS).status_code,
        explorium.post(
            PROSPECTS_MATCH, {"prospects_to_match": [{"email": person.email}]}
        ).status_code,
        explorium.post(PROFILES_BULK, {"prospect_ids": [person.prospect_id]}).status_code,
        explorium.post(CONTACTS_BULK, {"prospect_ids": [person.prospect_id]}).status_code,
        explorium.post(FIRMOGRAPHICS_ONE, {"business_id": person.company.business_id}).status_code,
    ]
    assert statuses == [200, 200, 200, 200, 429]
    assert explorium.stats()["credits_used"] == 1 + (5 if person.phone else 2)


def test_refused_keys_and_health_checks_do_not_use_up_the_window(explorium: Explorium) -> None:
    explorium.control("PUT", "limits", {"rate_scale": 0.01})
    body = {"prospects_to_match": [{"email": "a@b.com"}]}
    for _ in range(3):
        assert explorium.post(PROSPECTS_MATCH, body, key="wrong").status_code == 401
        assert explorium.session.get(explorium.url(CREDITS), timeout=5).status_code == 401
        assert explorium.session.get(explorium.url("/healthcheck/http"), timeout=5).ok
    assert [explorium.get(CREDITS).status_code for _ in range(3)] == [200, 200, 429]


def test_limits_switched_off_never_refuse(explorium: Explorium) -> None:
    explorium.control("PUT", "limits", {"enabled": False, "rate_scale": 0.01})
    assert all(explorium.get(CREDITS).status_code == 200 for _ in range(5))


# -- injected faults -----------------------------------------------------------------------------


def test_injected_429s_vary_their_body_and_sometimes_say_retry_after_zero(
    explorium: Explorium,
) -> None:
    _faults(explorium, {"rate_limit_burst": 1.0})
    answers = [explorium.get(CREDITS) for _ in range(8)]
    assert {answer.status_code for answer in answers} == {429}
    waits = [int(answer.headers["Retry-After"]) for answer in answers]
    assert 0 in waits
    assert max(waits) >= 1
    shapes = {frozenset(answer.json()) for answer in answers}
    assert shapes == {
        frozenset({"error", "message", "retry_after"}),
        frozenset({"code", "message", "retry_after"}),
    }
    assert explorium.stats()["faults_injected"] == {"rate_limit": 8}


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_injected_server_errors_use_the_vendors_error_body(
    explorium: Explorium, status: int
) -> None:
    _faults(explorium, {"error_rates": {status: 1.0}})
    answer = explorium.post(PROFILES_BULK, {"prospect_ids": _ids(explorium.known(1))})
    assert answer.status_code == status
    body = answer.json()
    assert body["details"]
    assert len(body["correlation_id"]) == 32
    assert body["response_context"]["request_status"] == "failure"
    assert explorium.stats()["credits_used"] == 0


def test_injected_dropped_connections_reach_explorium(explorium: Explorium) -> None:
    _faults(explorium, {"drop_connection": 1.0})
    with pytest.raises(requests.ConnectionError):
        explorium.get(CREDITS)


def test_injected_truncated_json_cannot_be_parsed(explorium: Explorium) -> None:
    _faults(explorium, {"truncated_json": 1.0})
    with pytest.raises((requests.exceptions.ChunkedEncodingError, requests.ConnectionError)):
        explorium.get(CREDITS).json()


def test_injected_malformed_json_is_an_html_page(explorium: Explorium) -> None:
    _faults(explorium, {"malformed_json": 1.0})
    answer = explorium.get(CREDITS)
    with pytest.raises(json.JSONDecodeError):
        json.loads(answer.text)


def test_injected_hangs_outlast_a_client_timeout(explorium: Explorium) -> None:
    _faults(explorium, {"hang": {"probability": 1.0, "seconds": 1.0}})
    with pytest.raises(requests.Timeout):
        explorium.session.get(
            explorium.url(CREDITS),
            headers={"api_key": explorium.handle.credentials.explorium_key},
            timeout=0.3,
        )


def test_injected_latency_slows_answers_down(explorium: Explorium) -> None:
    _faults(explorium, {"latency": {"probability": 1.0, "min_ms": 150, "max_ms": 150}})
    started = time.perf_counter()
    assert explorium.get(CREDITS).status_code == 200
    assert time.perf_counter() - started >= 0.15
