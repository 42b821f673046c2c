"""Requests that lack a field HubSpot's published CRM v3 contract requires answer 400.

The strictest reading of the contract, as HubSpot's official Python SDK (12.x) generates it from
HubSpot's OpenAPI documents: the sandbox refuses what HubSpot may refuse, so the suite can never
pass on a request the vendor may turn down (batch read without ``propertiesWithHistory`` was one).
"""

from __future__ import annotations

import pytest

from sales_pipeline.sandbox import SandboxHandle
from sales_pipeline_tests.sandbox.test_hubspot_support import (
    CONTACTS,
    ERROR,
    PROPERTIES,
    SEARCH,
    HubSpot,
    assert_shape,
)

BATCH = f"{CONTACTS}/batch"


READ_FIELDS = {"inputs": [{"id": "1001"}], "properties": ["email"], "propertiesWithHistory": []}


@pytest.mark.parametrize("missing", ["propertiesWithHistory", "properties", "inputs"])
def test_batch_read_without_a_required_field_is_refused_like_hubspot(
    sandbox: SandboxHandle, missing: str
) -> None:
    body = {key: value for key, value in READ_FIELDS.items() if key != missing}
    answer = HubSpot(sandbox).post(f"{BATCH}/read", body)
    assert answer.status_code == 400
    error = answer.json()
    assert_shape(ERROR, error)
    assert error["category"] == "VALIDATION_ERROR"
    assert f"[{missing}]" in error["message"]
    assert "BatchReadInputSimplePublicObjectId" in error["message"]


def test_batch_read_with_every_required_field_reads(sandbox: SandboxHandle) -> None:
    answer = HubSpot(sandbox).post(f"{BATCH}/read", READ_FIELDS)
    assert answer.status_code == 200
    assert [result["id"] for result in answer.json()["results"]] == ["1001"]


@pytest.mark.parametrize(
    ("operation", "item", "missing"),
    [
        ("read", {}, "id"),
        ("upsert", {"idProperty": "email", "properties": {}}, "id"),
        ("upsert", {"id": "a@example.org", "idProperty": "email"}, "properties"),
        ("update", {"properties": {"firstname": "A"}}, "id"),
    ],
)
def test_a_batch_input_without_a_required_field_refuses_the_whole_batch(
    sandbox: SandboxHandle, operation: str, item: dict[str, object], missing: str
) -> None:
    extra: dict[str, list[str]] = (
        {"properties": [], "propertiesWithHistory": []} if operation == "read" else {}
    )
    answer = HubSpot(sandbox).post(f"{BATCH}/{operation}", {"inputs": [item], **extra})
    assert answer.status_code == 400
    assert f"some of required attributes are not set [{missing}]" in answer.json()["message"]


@pytest.mark.parametrize(
    ("filter_", "missing"),
    [
        ({"operator": "HAS_PROPERTY"}, "propertyName"),
        ({"propertyName": "email"}, "operator"),
    ],
)
def test_a_search_filter_without_a_required_field_is_refused(
    sandbox: SandboxHandle, filter_: dict[str, str], missing: str
) -> None:
    answer = HubSpot(sandbox).post(SEARCH, {"filterGroups": [{"filters": [filter_]}]})
    assert answer.status_code == 400
    assert (
        f"Cannot build Filter, some of required attributes are not set [{missing}]"
        in (answer.json()["message"])
    )


def test_a_filter_group_without_filters_is_refused(sandbox: SandboxHandle) -> None:
    answer = HubSpot(sandbox).post(SEARCH, {"filterGroups": [{}]})
    assert answer.status_code == 400
    assert "Cannot build FilterGroup" in answer.json()["message"]


def test_an_enumeration_option_without_hidden_is_refused(sandbox: SandboxHandle) -> None:
    definition = {
        "name": "sp_tier",
        "label": "Tier",
        "type": "enumeration",
        "fieldType": "select",
        "groupName": "contactinformation",
        "options": [{"label": "A", "value": "a"}],
    }
    api = HubSpot(sandbox)
    refused = api.post(PROPERTIES, definition)
    assert refused.status_code == 400
    assert (
        "Cannot build OptionInput, some of required attributes are not set [hidden]"
        in (refused.json()["message"])
    )
    definition["options"] = [{"label": "A", "value": "a", "hidden": False}]
    assert api.post(PROPERTIES, definition).status_code == 201


def test_a_property_without_a_group_is_refused(sandbox: SandboxHandle) -> None:
    body = {"name": "sp_x", "label": "X", "type": "string", "fieldType": "text"}
    answer = HubSpot(sandbox).post(PROPERTIES, body)
    assert answer.status_code == 400
    assert "Cannot build PropertyCreate" in answer.json()["message"]
    assert "[groupName]" in answer.json()["message"]


def test_a_create_without_properties_is_refused(sandbox: SandboxHandle) -> None:
    answer = HubSpot(sandbox).post(CONTACTS, {"associations": []})
    assert answer.status_code == 400
    assert "Cannot build SimplePublicObjectInputForCreate" in answer.json()["message"]
