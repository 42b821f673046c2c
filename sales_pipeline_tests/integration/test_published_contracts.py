"""Every Lemlist and Explorium request our clients send fits the vendor's published OpenAPI
document (shared/specs): the path is a documented operation, every query parameter is declared
with a fitting value, and the JSON body validates against the operation's request schema.
(HubSpot publishes no licensable spec; test_hubspot_sdk_oracle checks it with its SDK.) The
documents are not part of the checkout: without ``../shared/specs`` these tests skip."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from functools import cache
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from sales_pipeline.clients import MatchStatus
from sales_pipeline_tests.contracts.vendor_documents import OpenApiSpec, vendor_document
from sales_pipeline_tests.integration.conftest import Clients, SandboxControl, Sent, Wiretap


def spec(name: str) -> OpenApiSpec:
    """The vendor's document ``name``; the test skips where ``../shared/specs`` is absent."""
    return vendor_document(name)


@cache
def operations(name: str) -> list[tuple[str, str, re.Pattern[str]]]:
    """``(method, documented path, matcher)`` of every operation in the document."""
    found: list[tuple[str, str, re.Pattern[str]]] = []
    for path, item in spec(name).document["paths"].items():
        pattern = re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", path.rstrip("/")) + "/?$")
        found.extend(
            (method.upper(), path, pattern) for method in item if method in ("get", "post")
        )
    return found


def documented(name: str, method: str, path: str) -> str:
    """The documented path of ``method path`` (fails when the vendor documents none)."""
    matches = [doc for m, doc, pattern in operations(name) if m == method and pattern.match(path)]
    assert matches, f"{method} {path} is not in {name}"
    return min(matches, key=lambda doc: doc.count("{"))


def check_request(name: str, prefix: str, prepared: Sent) -> str:
    """Validate one sent request against document ``name``; return ``METHOD documented-path``."""
    parts = urlsplit(prepared.url)
    path = unquote(parts.path.split(prefix, 1)[1])
    method = prepared.method
    doc_path = documented(name, method, path)
    operation = spec(name).operation(doc_path, method)
    declared = {p["name"]: p for p in operation.get("parameters", []) if p.get("in") == "query"}
    for key, value in parse_qsl(parts.query):
        assert key in declared, f"{method} {doc_path}: query {key!r} is not documented"
        schema = declared[key].get("schema", {})
        if "enum" in schema:
            assert value in schema["enum"], f"{key}={value!r} not in {schema['enum']}"
        if schema.get("type") == "integer":
            assert value.isdigit(), f"{key}={value!r} is not an integer"
        if schema.get("type") == "boolean":
            assert value in ("true", "false"), f"{key}={value!r} is not a boolean"
    if prepared.body:
        spec(name).validate_request(doc_path, method, json.loads(prepared.body))
    return f"{method} {doc_path}"


def test_every_lemlist_request_fits_the_published_document(
    sandbox: SandboxControl,
    clients: Clients,
    wiretap: Wiretap,
):
    client = clients.lemlist(http=wiretap)
    campaign = client.list_campaigns(status="running")[0].id
    client.add_lead_to_campaign(
        campaign,
        {
            "email": "contract@example.com",
            "firstName": "Con",
            "companyName": "Tract",
            "variables": {"score": 87},
        },
        deduplicate=True,
    )
    client.get_lead("contract@example.com")
    list(client.iter_unsubscribes())
    list(client.iter_activities(datetime(2000, 1, 1, tzinfo=UTC), type="emailsReplied"))
    client.check_health()

    checked = {check_request("lemlist-openapi.json", "/lemlist/api", r) for r in wiretap.sent}

    assert checked == {
        "GET /campaigns",
        "POST /campaigns/{campaignId}/leads/",
        "GET /leads/{email}",
        "GET /unsubscribes",
        "GET /activities",
    }


def test_every_explorium_request_fits_the_published_document(
    sandbox: SandboxControl,
    clients: Clients,
    wiretap: Wiretap,
):
    client = clients.explorium(http=wiretap)
    emails = [str(c["properties"]["email"]) for c in hubspot_sample(clients)]
    prospects = client.match_prospects(
        [{"email": email} for email in emails] + [{"full_name": "Ann Lee", "company_name": "Acme"}]
    )
    businesses = client.match_businesses([{"name": "Acme", "domain": "acme.com"}])
    ids = [r.entity_id for r in prospects if r.status is MatchStatus.MATCHED and r.entity_id]
    client.enrich_contacts_information(ids, ["email", "phone"])
    client.enrich_profiles(ids)
    business_ids = [r.entity_id for r in businesses if r.entity_id]
    client.enrich_firmographics(business_ids or ["0" * 32])
    client.check_health()

    checked = {check_request("explorium-openapi.yaml", "/explorium", r) for r in wiretap.sent}

    assert checked == {
        "POST /v1/prospects/match",
        "POST /v1/businesses/match",
        "POST /v1/prospects/contacts_information/bulk_enrich",
        "POST /v1/prospects/profiles/bulk_enrich",
        "POST /v1/businesses/firmographics/bulk_enrich",
        "GET /v1/credits",
    }


def hubspot_sample(clients: Clients) -> list[dict[str, Any]]:
    """A few of the sandbox's contacts (their emails match in its Explorium world)."""
    client = clients.hubspot()
    contacts = client.iter_contacts_modified(
        datetime(2000, 1, 1, tzinfo=UTC), datetime.now(UTC), ["email"]
    )
    return [dict(contact) for _, contact in zip(range(5), contacts, strict=False)]
