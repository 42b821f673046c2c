"""The project's own contract schemas are valid draft 2020-12, cite their sources, resolve every
reference, and say what ``../shared/api-facts`` says about the bodies it quotes."""

from __future__ import annotations

from typing import Any

import pytest
from jsonschema import Draft202012Validator, ValidationError

from sales_pipeline_tests.contracts.loader import SCHEMAS, SHARED, document, operations, validate

FILES = sorted((path.parent.name, path.stem) for path in SCHEMAS.glob("*/*.json"))


def _refs(node: Any) -> list[str]:
    """Every ``$ref`` value anywhere in ``node``."""
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [ref for value in node.values() for ref in _refs(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in _refs(value)]
    return []


@pytest.mark.parametrize(("vendor", "name"), FILES)
def test_each_file_is_a_valid_draft_2020_12_schema_that_cites_its_source(
    vendor: str, name: str
) -> None:
    schema = document(vendor, name)
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"].endswith(f"/{vendor}/{name}.json")
    assert schema["title"]
    assert schema["description"]
    assert schema["$comment"].startswith("Source: ")


@pytest.mark.parametrize(("vendor", "name"), FILES)
def test_every_reference_of_a_file_resolves(vendor: str, name: str) -> None:
    schema = document(vendor, name)
    for ref in _refs(schema):
        target, _, pointer = ref.partition("#")
        holder = document(vendor, target.removesuffix(".json")) if target else schema
        node: Any = holder
        for step in pointer.strip("/").split("/"):
            node = node[step]
        assert isinstance(node, dict), ref


@pytest.mark.parametrize(("vendor", "name"), operations())
def test_each_operation_states_a_request_or_an_answer(vendor: str, name: str) -> None:
    parts = document(vendor, name)["$defs"]
    assert {"request", "response"} & set(parts)
    source = document(vendor, name).get("x-vendor-document")
    if source is not None:
        assert set(source["parts"]) <= set(parts)


def test_the_shared_files_are_not_operations() -> None:
    assert not {name for _, name in operations()} & set(SHARED)
    assert {vendor for vendor, _ in operations()} == {"hubspot", "explorium", "lemlist"}


# -- the bodies api-facts quotes --------------------------------------------------------------

FACTS_CONFLICT = {
    "status": "error",
    "message": "Contact already exists. Existing ID: 37765128953",
    "correlationId": "4f5a8b43-4b5b-4d1a-9e2e-5b9d6f0c6a11",
    "category": "CONFLICT",
}
FACTS_RATE_LIMIT = {
    "status": "error",
    "message": "You have reached your ten_secondly_rolling limit.",
    "errorType": "RATE_LIMIT",
    "correlationId": "c033cdaa-2c40-4a64-ae48-b4cec88dad24",
    "policyName": "TEN_SECONDLY_ROLLING",
    "requestId": "3d3e35b7-0dae-4b91-9a8c-ceaf1d3b5d70",
}


@pytest.mark.parametrize(
    ("vendor", "name", "part", "body"),
    [
        (
            "hubspot",
            "batch_read_contacts",
            "request",
            {"properties": ["email"], "propertiesWithHistory": [], "inputs": [{"id": "33451"}]},
        ),
        (
            "hubspot",
            "batch_upsert_contacts",
            "request",
            {
                "inputs": [
                    {"id": "a@b.com", "idProperty": "email", "properties": {"firstname": "A"}}
                ]
            },
        ),
        ("hubspot", "create_contact", "conflict", FACTS_CONFLICT),
        (
            "hubspot",
            "create_contact",
            "conflict",
            {**FACTS_CONFLICT, "category": "OBJECT_ALREADY_EXISTS", "error": "CONTACT_EXISTS"},
        ),
        ("hubspot", "errors", "rateLimit", FACTS_RATE_LIMIT),
        (
            "hubspot",
            "oauth_token",
            "request",
            {
                "grant_type": "refresh_token",
                "client_id": "id",
                "client_secret": "secret",
                "refresh_token": "na1-x",
            },
        ),
        (
            "explorium",
            "match_prospects",
            "response",
            {
                "response_context": {
                    "correlation_id": "c1",
                    "request_status": "miss",
                    "time_took_in_seconds": 0.2,
                },
                "total_results": 1,
                "total_matches": 0,
                "matched_prospects": [{"input": {"email": "x@y.z"}, "prospect_id": None}],
            },
        ),
        (
            "explorium",
            "match_prospects",
            "validation",
            {"detail": [{"loc": ["body", "prospects_to_match"], "msg": "too long", "type": "x"}]},
        ),
        (
            "lemlist",
            "list_unsubscribes",
            "response",
            [{"_id": "uns_1", "createdAt": "2025-01-01T00:00:00.000Z", "value": "@domain.com"}],
        ),
        (
            "lemlist",
            "add_lead_to_campaign",
            "request",
            {"email": "a@b.com", "firstName": "A", "segment": "enterprise"},
        ),
    ],
)
def test_the_bodies_api_facts_gives_fit(
    vendor: str, name: str, part: str, body: dict[str, Any]
) -> None:
    validate(vendor, name, part, body)


@pytest.mark.parametrize(
    ("vendor", "name", "part", "body"),
    [
        ("hubspot", "batch_read_contacts", "request", {"properties": [], "inputs": [{"id": "1"}]}),
        (
            "hubspot",
            "oauth_token",
            "request",
            {"grant_type": "authorization_code", "client_id": "i", "client_secret": "s"},
        ),
        (
            "explorium",
            "match_prospects",
            "request",
            {"prospects_to_match": [{"full_name": "Ada Lovelace"}]},
        ),
        ("explorium", "enrich_profiles", "request", {"prospect_ids": ["0" * 40] * 51}),
        ("lemlist", "add_lead_to_campaign", "request", {"email": "a@b.com", "employees": 12}),
    ],
    ids=[
        "batch-read-without-propertiesWithHistory",
        "code-exchange-without-code",
        "full-name-without-company",
        "more-than-50-ids",
        "custom-variable-not-a-string",
    ],
)
def test_the_requests_api_facts_rules_out_are_refused(
    vendor: str, name: str, part: str, body: dict[str, Any]
) -> None:
    with pytest.raises(ValidationError):
        validate(vendor, name, part, body)
