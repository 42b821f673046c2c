"""HubSpot batch endpoints: read, create, update and upsert by email; 100 inputs at most;
partial failures answer 207 with one error entry per refused input."""

from __future__ import annotations

from typing import Any

import pytest

from sales_pipeline.sandbox import SandboxHandle
from sales_pipeline_tests.sandbox.test_hubspot_support import CONTACTS, HubSpot

BATCH = f"{CONTACTS}/batch"


def _upsert(email: str, **properties: Any) -> dict[str, Any]:
    return {"id": email, "idProperty": "email", "properties": properties}


@pytest.mark.parametrize("operation", ["read", "create", "update", "upsert"])
def test_more_than_100_inputs_is_a_validation_error(sandbox: SandboxHandle, operation: str) -> None:
    inputs = [{"id": str(1001 + i), "properties": {}} for i in range(101)]
    answer = HubSpot(sandbox).post(f"{BATCH}/{operation}", {"inputs": inputs})
    assert answer.status_code == 400
    assert answer.json()["category"] == "VALIDATION_ERROR"


def test_batch_read_by_id_returns_the_requested_properties(sandbox: SandboxHandle) -> None:
    body = (
        HubSpot(sandbox)
        .post(
            f"{BATCH}/read",
            {
                "inputs": [{"id": "1001"}, {"id": "1002"}],
                "properties": ["city"],
                "propertiesWithHistory": [],
            },
        )
        .json()
    )
    assert body["status"] == "COMPLETE"
    assert sorted(result["id"] for result in body["results"]) == ["1001", "1002"]
    assert set(body["results"][0]["properties"]) == {
        "city",
        "createdate",
        "hs_object_id",
        "lastmodifieddate",
    }


def test_batch_read_by_email_and_missing_ids_in_one_not_found_error(sandbox: SandboxHandle) -> None:
    api = HubSpot(sandbox)
    email = api.get(f"{CONTACTS}/1003").json()["properties"]["email"]
    answer = api.post(
        f"{BATCH}/read",
        {
            "idProperty": "email",
            "inputs": [{"id": email}, {"id": "ghost@example.org"}, {"id": "x@example.org"}],
            "properties": [],
            "propertiesWithHistory": [],
        },
    )
    assert answer.status_code == 207
    body = answer.json()
    assert [result["id"] for result in body["results"]] == ["1003"]
    assert body["numErrors"] == 1
    assert body["errors"][0]["category"] == "OBJECT_NOT_FOUND"
    assert body["errors"][0]["context"] == {"ids": ["ghost@example.org", "x@example.org"]}


def test_batch_create_answers_201_and_reports_an_existing_email_as_a_conflict(
    sandbox: SandboxHandle,
) -> None:
    api = HubSpot(sandbox)
    taken = api.get(f"{CONTACTS}/1001").json()["properties"]["email"]
    fresh = api.post(f"{BATCH}/create", {"inputs": [{"properties": {"email": "one@example.org"}}]})
    assert fresh.status_code == 201
    mixed = api.post(
        f"{BATCH}/create",
        {
            "inputs": [
                {"properties": {"email": "two@example.org"}},
                {"properties": {"email": taken.title()}},
            ]
        },
    )
    assert mixed.status_code == 207
    body = mixed.json()
    assert [r["properties"]["email"] for r in body["results"]] == ["two@example.org"]
    error = body["errors"][0]
    assert error["category"] == "CONFLICT"
    assert error["message"] == "Contact already exists. Existing ID: 1001"
    assert error["context"] == {"emails": [taken.title()]}


def test_batch_update_reports_unknown_ids_and_bad_values_per_input(sandbox: SandboxHandle) -> None:
    api = HubSpot(sandbox)
    answer = api.post(
        f"{BATCH}/update",
        {
            "inputs": [
                {"id": "1001", "properties": {"hs_lead_status": "NEW"}},
                {"id": "999999", "properties": {"hs_lead_status": "NEW"}},
                {"id": "1002", "properties": {"sp_unknown": "1"}},
            ]
        },
    )
    assert answer.status_code == 207
    body = answer.json()
    assert [r["id"] for r in body["results"]] == ["1001"]
    by_id = {error["context"]["ids"][0]: error for error in body["errors"]}
    assert by_id["999999"]["category"] == "OBJECT_NOT_FOUND"
    assert by_id["1002"]["category"] == "VALIDATION_ERROR"
    assert by_id["1002"]["errors"][0]["code"] == "PROPERTY_DOESNT_EXIST"
    assert (
        api.get(f"{CONTACTS}/1001", params={"properties": "hs_lead_status"}).json()["properties"][
            "hs_lead_status"
        ]
        == "NEW"
    )


def test_duplicate_ids_in_one_batch_are_refused(sandbox: SandboxHandle) -> None:
    api = HubSpot(sandbox)
    update = api.post(f"{BATCH}/update", {"inputs": [{"id": "1001", "properties": {}}] * 2})
    upsert = api.post(
        f"{BATCH}/upsert", {"inputs": [_upsert("a@example.org"), _upsert("A@example.org")]}
    )
    assert (update.status_code, upsert.status_code) == (400, 400)
    assert upsert.json()["message"].startswith("Duplicate IDs found in batch input")


def test_upsert_by_email_creates_or_updates_and_says_which(sandbox: SandboxHandle) -> None:
    api = HubSpot(sandbox)
    existing = api.get(f"{CONTACTS}/1001").json()["properties"]["email"]
    body = api.post(
        f"{BATCH}/upsert",
        {
            "inputs": [
                _upsert("brand.new@example.org", firstname="Bo"),
                _upsert(existing.upper(), jobtitle="CTO"),
            ]
        },
    ).json()
    by_id = {result["id"]: result for result in body["results"]}
    assert by_id["1001"]["new"] is False
    assert by_id["1001"]["properties"]["jobtitle"] == "CTO"
    assert by_id["1001"]["properties"]["email"] == existing, "the stored email keeps its casing"
    created = next(result for result in body["results"] if result["id"] != "1001")
    assert created["new"] is True
    assert created["properties"]["email"] == "brand.new@example.org"


def test_the_same_upsert_twice_yields_one_contact(sandbox: SandboxHandle) -> None:
    api = HubSpot(sandbox)
    request = {"inputs": [_upsert("twice@example.org", firstname="Tw")]}
    first = api.post(f"{BATCH}/upsert", request).json()["results"][0]
    second = api.post(f"{BATCH}/upsert", request).json()["results"][0]
    assert (first["new"], second["new"]) == (True, False)
    assert first["id"] == second["id"]
    assert second["updatedAt"] == first["updatedAt"], "an unchanged upsert writes nothing"
    state = api.control("GET", "state?vendor=hubspot")["hubspot"]
    assert state["count"] == len(api.world.contacts) + 1


def test_an_upsert_with_an_invalid_email_or_no_id_property_is_an_error_entry(
    sandbox: SandboxHandle,
) -> None:
    api = HubSpot(sandbox)
    answer = api.post(
        f"{BATCH}/upsert",
        {
            "inputs": [
                _upsert("ok@example.org"),
                _upsert("john@"),
                {"id": "other@example.org", "properties": {}},
            ]
        },
    )
    assert answer.status_code == 207
    body = answer.json()
    assert [r["properties"]["email"] for r in body["results"]] == ["ok@example.org"]
    by_id = {error["context"]["ids"][0]: error for error in body["errors"]}
    assert by_id["john@"]["errors"][0]["code"] == "INVALID_EMAIL"
    assert by_id["other@example.org"]["category"] == "VALIDATION_ERROR"


def test_an_empty_batch_is_complete_with_no_results(sandbox: SandboxHandle) -> None:
    answer = HubSpot(sandbox).post(
        f"{BATCH}/read", {"inputs": [], "properties": [], "propertiesWithHistory": []}
    )
    assert answer.status_code == 200
    assert answer.json()["results"] == []
