"""HubSpot contacts and contact properties: list, read, create, update, archive, validation of
written values, and the properties API the pipeline uses to create its own properties."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from sales_pipeline.sandbox import SandboxHandle
from sales_pipeline_tests.sandbox.test_hubspot_support import CONTACTS, PROPERTIES, HubSpot

LEAD_STATUSES = [
    "NEW",
    "OPEN",
    "IN_PROGRESS",
    "OPEN_DEAL",
    "UNQUALIFIED",
    "ATTEMPTED_TO_CONTACT",
    "CONNECTED",
    "BAD_TIMING",
]


def _sandbox_now(api: HubSpot) -> float:
    return float(api.control("POST", "clock", {"advance_seconds": 0})["now"])


def _epoch(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


# ---------------------------------------------------------------------------- list and read
def test_list_limit_above_100_is_a_validation_error(sandbox: SandboxHandle) -> None:
    api = HubSpot(sandbox)
    assert len(api.get(CONTACTS, params={"limit": 100}).json()["results"]) == 100
    answer = api.get(CONTACTS, params={"limit": 101})
    assert answer.status_code == 400
    assert answer.json()["category"] == "VALIDATION_ERROR"


def test_list_properties_may_be_comma_separated_or_repeated_and_unknown_ones_are_omitted(
    sandbox: SandboxHandle,
) -> None:
    api = HubSpot(sandbox)
    comma = api.get(CONTACTS, params={"limit": 1, "properties": "city,country,no_such_thing"})
    repeated = api.get(
        CONTACTS, params=[("limit", "1"), ("properties", "city"), ("properties", "country")]
    )
    expected = {"city", "country", "createdate", "hs_object_id", "lastmodifieddate"}
    assert set(comma.json()["results"][0]["properties"]) == expected
    assert set(repeated.json()["results"][0]["properties"]) == expected


def test_a_forged_list_cursor_is_a_validation_error(sandbox: SandboxHandle) -> None:
    answer = HubSpot(sandbox).get(CONTACTS, params={"after": "!!not-a-cursor!!"})
    assert answer.status_code == 400


def test_a_url_longer_than_8_kb_answers_414(sandbox: SandboxHandle) -> None:
    names = ",".join(f"custom_property_{index}" for index in range(500))
    answer = HubSpot(sandbox).get(CONTACTS, params={"properties": names})
    assert answer.status_code == 414
    shorter = ",".join(f"custom_property_{index}" for index in range(300))
    assert HubSpot(sandbox).get(CONTACTS, params={"properties": shorter}).status_code == 200


def test_a_contact_can_be_read_by_email_case_insensitively(sandbox: SandboxHandle) -> None:
    api = HubSpot(sandbox)
    email = api.get(f"{CONTACTS}/1001").json()["properties"]["email"]
    answer = api.get(f"{CONTACTS}/{email.upper()}", params={"idProperty": "email"})
    assert answer.json()["id"] == "1001"
    assert api.get(f"{CONTACTS}/nobody@x.org", params={"idProperty": "email"}).status_code == 404


def test_every_property_value_is_a_string_or_null(sandbox: SandboxHandle) -> None:
    properties = ",".join(sorted(HubSpot(sandbox).world.contacts[0].properties))
    body = HubSpot(sandbox).get(CONTACTS, params={"limit": 100, "properties": properties}).json()
    values = [v for contact in body["results"] for v in contact["properties"].values()]
    assert all(value is None or isinstance(value, str) for value in values)
    assert any(value is None for value in values)


# ---------------------------------------------------------------------------- create
def test_a_created_contact_gets_a_new_id_and_the_clock_s_timestamps(sandbox: SandboxHandle) -> None:
    api = HubSpot(sandbox)
    api.advance_clock(86_400)
    now = _sandbox_now(api)
    body = api.post(
        CONTACTS, {"properties": {"email": "ada@example.org", "hs_email_optout": True}}
    ).json()
    assert int(body["id"]) > max(contact.id for contact in api.world.contacts)
    assert body["properties"]["hs_email_optout"] == "true"
    assert body["properties"]["hs_object_id"] == body["id"]
    assert body["properties"]["createdate"] == body["properties"]["lastmodifieddate"]
    assert abs(_epoch(body["createdAt"]) - now) < 5
    assert api.get(f"{CONTACTS}/{body['id']}").json()["properties"]["email"] == "ada@example.org"


def test_writing_an_unknown_property_fails_like_hubspot(sandbox: SandboxHandle) -> None:
    answer = HubSpot(sandbox).post(CONTACTS, {"properties": {"email": "a@example.org", "foo": "1"}})
    assert answer.status_code == 400
    body = answer.json()
    assert body["category"] == "VALIDATION_ERROR"
    prefix = "Property values were not valid: "
    assert body["message"].startswith(prefix)
    issues = json.loads(body["message"].removeprefix(prefix))
    assert issues[0]["isValid"] is False
    assert issues[0]["message"] == 'Property "foo" does not exist'
    assert (issues[0]["error"], issues[0]["name"]) == ("PROPERTY_DOESNT_EXIST", "foo")
    assert '[{"isValid":false,"message":"Property \\"foo\\" does not exist"' in body["message"]


def test_every_lead_status_is_accepted_and_anything_else_is_an_invalid_option(
    sandbox: SandboxHandle,
) -> None:
    api = HubSpot(sandbox)
    for index, status in enumerate(LEAD_STATUSES):
        answer = api.post(
            CONTACTS, {"properties": {"email": f"s{index}@example.org", "hs_lead_status": status}}
        )
        assert answer.status_code == 201, answer.text
    refused = api.post(
        CONTACTS, {"properties": {"email": "z@example.org", "hs_lead_status": "HOT"}}
    )
    assert refused.status_code == 400
    assert '"error":"INVALID_OPTION"' in refused.json()["message"]


@pytest.mark.parametrize(
    ("values", "code"),
    [
        ({"hs_object_id": "5"}, "READ_ONLY_VALUE"),
        ({"email": "not an email"}, "INVALID_EMAIL"),
        ({"email": "b@example.org", "createdate": "yesterday"}, "INVALID_DATE"),
        ({"email": "b@example.org", "createdate": "9" * 30}, "INVALID_DATE"),
    ],
    ids=["read-only", "bad-email", "not-a-date", "date-out-of-range"],
)
def test_refused_values_name_hubspot_s_error_code(
    sandbox: SandboxHandle, values: dict[str, str], code: str
) -> None:
    answer = HubSpot(sandbox).post(CONTACTS, {"properties": values})
    assert answer.status_code == 400
    assert f'"error":"{code}"' in answer.json()["message"]


def test_dates_written_as_epoch_milliseconds_are_stored_as_iso_text(sandbox: SandboxHandle) -> None:
    api = HubSpot(sandbox)
    api.post(
        PROPERTIES,
        {"name": "sp_enriched_on", "label": "Enriched on", "type": "date", "fieldType": "date",
         "groupName": "contactinformation"},
    )  # fmt: skip
    body = api.post(
        CONTACTS,
        {
            "properties": {
                "email": "d@example.org",
                "createdate": 1_700_000_000_000,
                "sp_enriched_on": "1699920000000",
            }
        },
    ).json()
    assert body["properties"]["createdate"] == "2023-11-14T22:13:20.000Z"
    assert body["properties"]["sp_enriched_on"] == "2023-11-14"
    not_midnight = api.post(
        CONTACTS, {"properties": {"email": "e@example.org", "sp_enriched_on": "1699920000001"}}
    )
    assert not_midnight.status_code == 400


def test_a_create_body_without_a_properties_object_is_a_validation_error(
    sandbox: SandboxHandle,
) -> None:
    api = HubSpot(sandbox)
    assert api.post(CONTACTS, {"email": "x@example.org"}).status_code == 400
    broken = api.request(
        "POST", CONTACTS, data=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert broken.status_code == 400
    assert broken.json()["message"].startswith("Invalid input JSON on line 1, column 2")


# ---------------------------------------------------------------------------- update and archive
def test_an_update_sets_lastmodifieddate_and_updated_at_to_the_clock_s_now(
    sandbox: SandboxHandle,
) -> None:
    api = HubSpot(sandbox)
    api.advance_clock(7200)
    now = _sandbox_now(api)
    body = api.request(
        "PATCH", f"{CONTACTS}/1001", json={"properties": {"hs_lead_status": "OPEN"}}
    ).json()
    assert body["properties"]["hs_lead_status"] == "OPEN"
    assert body["updatedAt"] == body["properties"]["lastmodifieddate"]
    assert abs(_epoch(body["updatedAt"]) - now) < 5
    assert (
        api.get(f"{CONTACTS}/1001", params={"properties": "hs_lead_status"}).json()["properties"][
            "hs_lead_status"
        ]
        == "OPEN"
    )


def test_an_update_that_changes_nothing_keeps_lastmodifieddate(sandbox: SandboxHandle) -> None:
    api = HubSpot(sandbox)
    before = api.get(f"{CONTACTS}/1001").json()
    api.advance_clock(60)
    same = {"lastname": before["properties"]["lastname"]}
    after = api.request("PATCH", f"{CONTACTS}/1001", json={"properties": same}).json()
    assert after["updatedAt"] == before["updatedAt"]


def test_an_update_to_another_contact_s_email_is_a_conflict(sandbox: SandboxHandle) -> None:
    api = HubSpot(sandbox)
    taken = api.get(f"{CONTACTS}/1002").json()["properties"]["email"]
    answer = api.request("PATCH", f"{CONTACTS}/1001", json={"properties": {"email": taken}})
    assert answer.status_code == 409
    assert answer.json()["message"] == "Contact already exists. Existing ID: 1002"


def test_updating_an_unknown_contact_is_404(sandbox: SandboxHandle) -> None:
    answer = HubSpot(sandbox).request(
        "PATCH", f"{CONTACTS}/424242", json={"properties": {"city": "Oslo"}}
    )
    assert answer.status_code == 404


def test_an_archived_contact_leaves_the_list_and_frees_its_email(sandbox: SandboxHandle) -> None:
    api = HubSpot(sandbox)
    email = api.get(f"{CONTACTS}/1001").json()["properties"]["email"]
    assert api.request("DELETE", f"{CONTACTS}/1001").status_code == 204
    assert api.get(f"{CONTACTS}/1001").status_code == 404
    archived = api.get(f"{CONTACTS}/1001", params={"archived": "true"}).json()
    assert archived["archived"] is True
    assert "archivedAt" in archived
    archived_list = api.get(CONTACTS, params={"archived": "true"}).json()["results"]
    assert [contact["id"] for contact in archived_list] == ["1001"]
    assert api.get(CONTACTS, params={"limit": 1}).json()["results"][0]["id"] == "1002"
    assert api.post(CONTACTS, {"properties": {"email": email}}).status_code == 201
    state = api.control("GET", "state?vendor=hubspot")["hubspot"]
    assert state["archived"] == ["1001"]
    assert state["count"] == len(api.world.contacts)


# ---------------------------------------------------------------------------- properties API
def test_hs_lead_status_is_an_enumeration_with_hubspot_s_values(sandbox: SandboxHandle) -> None:
    definition = HubSpot(sandbox).get(f"{PROPERTIES}/hs_lead_status").json()
    assert definition["type"] == "enumeration"
    assert [option["value"] for option in definition["options"]] == LEAD_STATUSES


def test_an_unknown_property_definition_is_404(sandbox: SandboxHandle) -> None:
    assert HubSpot(sandbox).get(f"{PROPERTIES}/sp_nothing").status_code == 404


def test_a_created_property_can_then_be_written_and_read(sandbox: SandboxHandle) -> None:
    api = HubSpot(sandbox)
    definition = {
        "name": "sp_icp_score",
        "label": "ICP score",
        "type": "number",
        "fieldType": "number",
        "groupName": "contactinformation",
    }
    assert (
        api.post(
            CONTACTS, {"properties": {"email": "q@example.org", "sp_icp_score": "87"}}
        ).status_code
        == 400
    )
    created = api.post(PROPERTIES, definition)
    assert created.status_code == 201
    assert created.json()["name"] == "sp_icp_score"
    assert api.post(PROPERTIES, definition).status_code == 409
    contact = api.post(CONTACTS, {"properties": {"email": "q@example.org", "sp_icp_score": 87}})
    assert contact.json()["properties"]["sp_icp_score"] == "87"
    assert "sp_icp_score" in api.control("GET", "state?vendor=hubspot")["hubspot"]["properties"]


@pytest.mark.parametrize(
    "definition",
    [
        {
            "name": "Bad Name",
            "label": "x",
            "type": "string",
            "fieldType": "text",
            "groupName": "contactinformation",
        },
        {
            "name": "sp_x",
            "label": "x",
            "type": "string",
            "fieldType": "select",
            "groupName": "contactinformation",
        },
        {
            "name": "sp_x",
            "label": "x",
            "type": "enumeration",
            "fieldType": "select",
            "groupName": "contactinformation",
        },
        {
            "name": "sp_x",
            "label": "x",
            "type": "string",
            "fieldType": "text",
            "groupName": "no_such_group",
        },
        {"name": "sp_x", "type": "string", "fieldType": "text", "groupName": "contactinformation"},
    ],
    ids=[
        "bad-name",
        "type-fieldtype-mismatch",
        "enum-without-options",
        "unknown-group",
        "no-label",
    ],
)
def test_a_malformed_property_definition_is_a_validation_error(
    sandbox: SandboxHandle, definition: dict[str, str]
) -> None:
    answer = HubSpot(sandbox).post(PROPERTIES, definition)
    assert answer.status_code == 400
    assert answer.json()["category"] == "VALIDATION_ERROR"


def test_batch_property_creation_reports_existing_names_as_errors(sandbox: SandboxHandle) -> None:
    api = HubSpot(sandbox)
    base = {"type": "string", "fieldType": "text", "groupName": "contactinformation"}
    answer = api.post(
        f"{PROPERTIES}/batch/create",
        {
            "inputs": [
                {**base, "name": "sp_segment", "label": "Segment"},
                {**base, "name": "email", "label": "E"},
            ]
        },
    )
    assert answer.status_code == 207
    body = answer.json()
    assert [result["name"] for result in body["results"]] == ["sp_segment"]
    assert body["errors"][0]["context"] == {"name": ["email"]}
    assert api.get(f"{PROPERTIES}/sp_segment").status_code == 200


def test_a_custom_group_can_hold_new_properties(sandbox: SandboxHandle) -> None:
    api = HubSpot(sandbox)
    assert (
        api.post(
            f"{PROPERTIES}/groups", {"name": "sales_pipeline", "label": "Sales pipeline"}
        ).status_code
        == 201
    )
    assert "sales_pipeline" in {
        g["name"] for g in api.get(f"{PROPERTIES}/groups").json()["results"]
    }
    created = api.post(
        PROPERTIES,
        {
            "name": "sp_route",
            "label": "Route",
            "type": "enumeration",
            "fieldType": "select",
            "groupName": "sales_pipeline",
            "options": [
                {"label": "A", "value": "a", "hidden": False},
                {"label": "B", "value": "b", "hidden": False},
            ],
        },
    )
    assert created.status_code == 201
    assert (
        api.post(CONTACTS, {"properties": {"email": "r@example.org", "sp_route": "c"}}).status_code
        == 400
    )
    assert (
        api.post(CONTACTS, {"properties": {"email": "r@example.org", "sp_route": "b"}}).status_code
        == 201
    )


def test_reset_forgets_created_contacts_and_properties(sandbox: SandboxHandle) -> None:
    api = HubSpot(sandbox)
    api.post(CONTACTS, {"properties": {"email": "gone@example.org"}})
    base = {"type": "string", "fieldType": "text", "groupName": "contactinformation"}
    api.post(PROPERTIES, {**base, "name": "sp_gone", "label": "Gone"})
    api.control("POST", "reset")
    state = api.control("GET", "state?vendor=hubspot")["hubspot"]
    assert state["count"] == len(api.world.contacts)
    assert "sp_gone" not in state["properties"]
