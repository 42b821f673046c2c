"""Contract: every HubSpot answer has the shape ``shared/api-facts/hubspot.md`` gives.

There is no HubSpot OpenAPI document in ``shared/specs`` (HubSpot's are not licensed for
copying), so the schemas in :mod:`test_hubspot_support` restate the fact file field for field.
"""

from __future__ import annotations

import re

from sales_pipeline.sandbox import SandboxHandle
from sales_pipeline_tests.sandbox.test_hubspot_support import (
    BATCH,
    CONTACT,
    CONTACTS,
    ERROR,
    LIST_PAGE,
    OAUTH_ERROR,
    OAUTH_TOKENS,
    PROPERTIES,
    PROPERTY,
    RATE_LIMIT,
    SEARCH_PAGE,
    UPSERTED,
    HubSpot,
    assert_shape,
)

DEFAULT_PROPERTIES = {
    "firstname",
    "lastname",
    "email",
    "createdate",
    "hs_object_id",
    "lastmodifieddate",
}


def test_a_list_page_has_results_and_an_opaque_next_cursor_with_a_link(
    sandbox: SandboxHandle,
) -> None:
    answer = HubSpot(sandbox).get(CONTACTS, params={"limit": 3})
    assert answer.status_code == 200
    body = answer.json()
    assert_shape(LIST_PAGE, body)
    assert len(body["results"]) == 3
    assert all(set(contact["properties"]) == DEFAULT_PROPERTIES for contact in body["results"])
    assert not body["paging"]["next"]["after"].isdigit(), "the list cursor is opaque, not an id"
    assert "after=" in body["paging"]["next"]["link"]


def test_walking_the_list_visits_every_contact_once_and_the_last_page_has_no_paging(
    sandbox: SandboxHandle,
) -> None:
    api = HubSpot(sandbox)
    seen: list[str] = []
    params: dict[str, str | int] = {"limit": 100}
    while True:
        body = api.get(CONTACTS, params=params).json()
        assert_shape(LIST_PAGE, body)
        seen += [contact["id"] for contact in body["results"]]
        if "paging" not in body:
            break
        params["after"] = body["paging"]["next"]["after"]
    assert len(seen) == len(set(seen)) == len(api.world.contacts)


def test_following_the_paging_link_gives_the_next_page(sandbox: SandboxHandle) -> None:
    api = HubSpot(sandbox)
    first = api.get(CONTACTS, params={"limit": 2}).json()
    link = first["paging"]["next"]["link"]
    second = api.session.get(
        link, headers={"Authorization": f"Bearer {sandbox.credentials.hubspot_token}"}
    )
    assert [c["id"] for c in second.json()["results"]] == ["1003", "1004"]


def test_one_contact_carries_requested_properties_with_unset_ones_as_null(
    sandbox: SandboxHandle,
) -> None:
    answer = HubSpot(sandbox).get(f"{CONTACTS}/1001", params={"properties": "email,hs_lead_status"})
    body = answer.json()
    assert_shape(CONTACT, body)
    assert body["id"] == "1001"
    assert body["archived"] is False
    assert body["properties"]["hs_lead_status"] is None
    assert set(body["properties"]) == {
        "email",
        "hs_lead_status",
        "createdate",
        "hs_object_id",
        "lastmodifieddate",
    }
    assert body["updatedAt"] == body["properties"]["lastmodifieddate"]


def test_a_search_page_has_total_results_and_a_numeric_next_offset(sandbox: SandboxHandle) -> None:
    body = HubSpot(sandbox).search({"limit": 5}).json()
    assert_shape(SEARCH_PAGE, body)
    assert body["total"] == 2000
    assert body["paging"]["next"]["after"] == "5"


def test_a_single_create_answers_201_with_the_object(sandbox: SandboxHandle) -> None:
    answer = HubSpot(sandbox).post(CONTACTS, {"properties": {"email": "new.person@example.org"}})
    assert answer.status_code == 201
    assert_shape(CONTACT, answer.json())


def test_a_duplicate_email_answers_409_with_the_existing_id_in_the_message(
    sandbox: SandboxHandle,
) -> None:
    api = HubSpot(sandbox)
    existing = api.get(f"{CONTACTS}/1001", params={"properties": "email"}).json()
    email = existing["properties"]["email"].upper()
    answer = api.post(CONTACTS, {"properties": {"email": email}})
    assert answer.status_code == 409
    body = answer.json()
    assert_shape(ERROR, body)
    assert set(body) == {"status", "message", "correlationId", "category"}
    assert body["category"] == "CONFLICT"
    found = re.search(r"Existing ID:\s*(\d+)", body["message"])
    assert found is not None
    assert found.group(1) == "1001"
    assert body["message"] == "Contact already exists. Existing ID: 1001"


def test_an_unknown_contact_answers_404_object_not_found(sandbox: SandboxHandle) -> None:
    answer = HubSpot(sandbox).get(f"{CONTACTS}/999999")
    assert answer.status_code == 404
    body = answer.json()
    assert_shape(ERROR, body)
    assert (body["category"], body["message"]) == ("OBJECT_NOT_FOUND", "resource not found")


def test_batch_answers_are_complete_or_207_with_numbered_errors(sandbox: SandboxHandle) -> None:
    api = HubSpot(sandbox)
    complete = api.post(
        f"{CONTACTS}/batch/read",
        {"inputs": [{"id": "1001"}, {"id": "1002"}], "properties": [], "propertiesWithHistory": []},
    )
    assert complete.status_code == 200
    assert_shape(BATCH, complete.json())
    partial = api.post(
        f"{CONTACTS}/batch/upsert",
        {
            "inputs": [
                {
                    "id": "fresh@example.org",
                    "idProperty": "email",
                    "properties": {"firstname": "Fay"},
                },
                {"id": "not-an-email", "idProperty": "email", "properties": {}},
            ]
        },
    )
    assert partial.status_code == 207
    body = partial.json()
    assert_shape(BATCH, body)
    assert body["numErrors"] == 1
    assert_shape(UPSERTED, body["results"][0])


def test_auth_failures_answer_401_in_the_error_shape(sandbox: SandboxHandle) -> None:
    answer = HubSpot(sandbox, token="pat-na1-wrong").get(CONTACTS)
    body = answer.json()
    assert answer.status_code == 401
    assert_shape(ERROR, body)
    assert body["category"] == "INVALID_AUTHENTICATION"
    assert body["message"].startswith("Authentication credentials not found.")


def test_a_429_body_is_exactly_the_documented_one_without_retry_after(
    sandbox: SandboxHandle,
) -> None:
    api = HubSpot(sandbox)
    api.configure(burst_limit=1)
    api.get(CONTACTS)
    answer = api.get(CONTACTS)
    assert answer.status_code == 429
    body = answer.json()
    assert_shape(RATE_LIMIT, body)
    assert body["policyName"] == "TEN_SECONDLY_ROLLING"
    assert body["message"] == "You have reached your ten_secondly_rolling limit."
    assert "Retry-After" not in answer.headers


def test_oauth_answers_have_the_token_and_error_shapes(sandbox: SandboxHandle) -> None:
    api = HubSpot(sandbox)
    tokens = api.oauth_tokens()
    assert_shape(OAUTH_TOKENS, tokens)
    refused = api.refresh("na1-not-a-token")
    assert refused.status_code == 400
    body = refused.json()
    assert_shape(OAUTH_ERROR, body)
    assert (body["status"], body["error"]) == ("BAD_REFRESH_TOKEN", "invalid_grant")
    assert body["message"] == body["error_description"] == "missing or invalid refresh token"


def test_property_definitions_have_the_properties_api_shape(sandbox: SandboxHandle) -> None:
    answer = HubSpot(sandbox).get(PROPERTIES)
    definitions = answer.json()["results"]
    for definition in definitions:
        assert_shape(PROPERTY, definition)
    assert {"email", "hs_lead_status", "lifecyclestage", "lastmodifieddate"} <= {
        d["name"] for d in definitions
    }


def test_every_answer_names_a_correlation_id_header(sandbox: SandboxHandle) -> None:
    api = HubSpot(sandbox)
    for answer in (api.get(CONTACTS), api.get(f"{CONTACTS}/0"), api.search({})):
        assert re.fullmatch(r"[0-9a-f-]{36}", answer.headers["X-HubSpot-Correlation-Id"])
    error = api.get(f"{CONTACTS}/0")
    assert error.headers["X-HubSpot-Correlation-Id"] == error.json()["correlationId"]
