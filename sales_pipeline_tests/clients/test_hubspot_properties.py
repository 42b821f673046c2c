"""HubSpot client: creating the pipeline's custom contact properties idempotently."""

from __future__ import annotations

import pytest

from sales_pipeline.clients import InputValidationError, InvalidRequest, PropertyDefinition
from sales_pipeline_tests.clients.conftest import Recorded, Scripted

PROPERTIES_PATH = "/hubspot/crm/v3/properties/contacts"
BATCH_CREATE_PATH = f"{PROPERTIES_PATH}/batch/create"

SCORE = PropertyDefinition("sp_icp_score", "ICP score", "number", "number", description="0-100")
SEGMENT = PropertyDefinition(
    "sp_segment",
    "Segment",
    "enumeration",
    "select",
    options=(("Enterprise", "enterprise"), ("SMB", "smb")),
)
STATUS = PropertyDefinition("sp_status", "Status", "string", "text")


def listing(*names: str) -> Scripted:
    return Scripted(json={"results": [{"name": name, "type": "string"} for name in names]})


def created(*names: str) -> Scripted:
    return Scripted(201, json={"status": "COMPLETE", "results": [{"name": n} for n in names]})


def already_exists(name: str) -> dict[str, object]:
    return {
        "status": "error",
        "category": "OBJECT_ALREADY_EXISTS",
        "message": f"A property named '{name}' already exists.",
        "context": {"name": [name]},
    }


def test_only_missing_properties_are_created_and_their_names_returned(server, hubspot):
    server.queue(listing("email", "sp_status"), created("sp_icp_score", "sp_segment"))

    names = hubspot.ensure_contact_properties([SCORE, SEGMENT, STATUS])

    assert names == ["sp_icp_score", "sp_segment"]
    listed, create = server.requests
    assert (listed.method, listed.path) == ("GET", PROPERTIES_PATH)
    assert (create.method, create.path) == ("POST", BATCH_CREATE_PATH)
    assert create.json == {
        "inputs": [
            {
                "name": "sp_icp_score",
                "label": "ICP score",
                "type": "number",
                "fieldType": "number",
                "groupName": "contactinformation",
                "description": "0-100",
            },
            {
                "name": "sp_segment",
                "label": "Segment",
                "type": "enumeration",
                "fieldType": "select",
                "groupName": "contactinformation",
                "options": [
                    {
                        "label": "Enterprise",
                        "value": "enterprise",
                        "displayOrder": 0,
                        "hidden": False,
                    },
                    {"label": "SMB", "value": "smb", "displayOrder": 1, "hidden": False},
                ],
            },
        ]
    }


def test_nothing_is_created_when_every_property_exists(server, hubspot):
    server.queue(listing("sp_icp_score", "sp_status"))

    assert hubspot.ensure_contact_properties([SCORE, STATUS]) == []

    assert len(server.requests) == 1


def test_a_property_created_meanwhile_by_another_process_counts_as_existing(server, hubspot):
    server.queue(
        listing(),
        Scripted(
            207,
            json={
                "status": "COMPLETE",
                "results": [{"name": "sp_status"}],
                "numErrors": 1,
                "errors": [already_exists("sp_icp_score")],
            },
        ),
    )

    assert hubspot.ensure_contact_properties([SCORE, STATUS]) == ["sp_status"]


def test_a_whole_batch_409_is_retried_with_the_properties_still_missing(server, hubspot):
    server.queue(
        listing(),
        Scripted(409, json={"status": "error", "category": "CONFLICT", "message": "exists"}),
        listing("sp_icp_score"),
        created("sp_status"),
    )

    assert hubspot.ensure_contact_properties([SCORE, STATUS]) == ["sp_status"]

    assert [item["name"] for item in server.requests[3].json["inputs"]] == ["sp_status"]


def test_a_property_refused_for_another_reason_raises_with_hubspots_message(server, hubspot):
    refusal = {
        "status": "error",
        "category": "VALIDATION_ERROR",
        "message": "Property group nosuchgroup does not exist",
        "context": {"name": ["sp_status"]},
    }
    server.queue(
        listing(),
        Scripted(207, json={"status": "COMPLETE", "results": [], "errors": [refusal]}),
    )

    with pytest.raises(InvalidRequest, match="nosuchgroup does not exist"):
        hubspot.ensure_contact_properties([STATUS])


@pytest.mark.parametrize(
    ("definition", "field"),
    [
        (PropertyDefinition("SP-Score", "x", "number", "number"), "definitions[0].name"),
        (PropertyDefinition("1score", "x", "number", "number"), "definitions[0].name"),
        (PropertyDefinition("sp_score", "x", "number", "text"), "definitions[0].field_type"),
        (PropertyDefinition("sp_score", "x", "decimal", "number"), "definitions[0].type"),
        (PropertyDefinition("sp_seg", "x", "enumeration", "select"), "definitions[0].options"),
        (PropertyDefinition("sp_seg", "<b>x</b>", "string", "text"), "definitions[0].label"),
    ],
)
def test_malformed_definitions_are_rejected_before_anything_is_sent(
    server, hubspot, definition, field
):
    with pytest.raises(InputValidationError) as raised:
        hubspot.ensure_contact_properties([definition])

    assert raised.value.field == field
    assert server.requests == []


def test_two_definitions_with_one_name_are_rejected(server, hubspot):
    with pytest.raises(InputValidationError) as raised:
        hubspot.ensure_contact_properties([STATUS, STATUS])

    assert raised.value.field == "definitions[1].name"
    assert server.requests == []


def test_more_than_100_missing_properties_are_created_in_batches_of_100(server, hubspot):
    definitions = [PropertyDefinition(f"sp_p{i}", f"P{i}", "string", "text") for i in range(150)]

    def answer(request: Recorded) -> Scripted:
        if request.method == "GET":
            return listing()
        return created(*(item["name"] for item in request.json["inputs"]))

    server.handler = answer

    names = hubspot.ensure_contact_properties(definitions)

    assert names == [d.name for d in definitions]
    assert [len(r.json["inputs"]) for r in server.requests[1:]] == [100, 50]
