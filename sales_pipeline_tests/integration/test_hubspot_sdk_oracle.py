"""HubSpot's official Python SDK (hubspot-api-client) as an oracle for the sandbox's HubSpot.

Two directions, so the clients and the sandbox can never agree on something HubSpot refuses:

* the requests our client sends are captured, replayed to the sandbox, and every answer must
  deserialize into the SDK's model for that operation and status, with the SDK's required-field
  checks on;
* the SDK's own requests (list, search, batch read and upsert, create and its 409, properties,
  OAuth token) must be accepted by the sandbox.

Where the SDK and shared/api-facts/hubspot.md disagree, the test pins the disagreement.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from types import ModuleType
from typing import Any

import pytest
import requests
import urllib3
from hubspot import oauth as sdk_oauth
from hubspot.crm import contacts as sdk_contacts
from hubspot.crm import properties as sdk_properties
from hubspot.crm.contacts import ApiException
from hubspot.crm.contacts.models import (
    BatchInputSimplePublicObjectBatchInputUpsert,
    BatchReadInputSimplePublicObjectId,
    Filter,
    FilterGroup,
    PublicObjectSearchRequest,
    SimplePublicObjectBatchInputUpsert,
    SimplePublicObjectId,
    SimplePublicObjectInputForCreate,
)
from hubspot.crm.properties.models import BatchInputPropertyCreate, PropertyCreate

from sales_pipeline.clients import (
    ContactUpsert,
    HubSpotSettings,
    InMemoryTokenStore,
    PropertyDefinition,
)
from sales_pipeline_tests.integration.conftest import (
    CREDENTIALS,
    REDIRECT_URI,
    Clients,
    SandboxControl,
    Sent,
    Wiretap,
    authorize,
)

EVER = datetime(2000, 1, 1, tzinfo=UTC)


def replay(request: Sent) -> requests.Response:
    """Send ``request`` again, verbatim."""
    return requests.request(
        request.method, request.url, headers=request.headers, data=request.body, timeout=30
    )


def deserialize(
    package: ModuleType, body: bytes, status: int, model: str, *, strict: bool = True
) -> Any:
    """``body`` as the SDK's ``model``, through the SDK's own deserializer; ``strict`` turns on
    its required-field checks (the SDK ships them off: ``client_side_validation``)."""
    raw = urllib3.HTTPResponse(body=body, status=status, preload_content=True)
    configuration = package.Configuration()
    configuration.client_side_validation = strict
    return package.ApiClient(configuration).deserialize(package.rest.RESTResponse(raw), model)


def parsed(package: ModuleType, answer: requests.Response, model: str) -> Any:
    """``answer`` as the SDK's ``model``, strictly; a 207's ``errors[]`` items are read as the
    SDK itself reads them (leniently), because its ``StandardError`` requires ``links`` and
    ``errors``, which neither api-facts nor HubSpot's answers carry (pinned below)."""
    if answer.status_code != 207:
        return deserialize(package, answer.content, answer.status_code, model)
    envelope = {key: value for key, value in answer.json().items() if key != "errors"}
    deserialize(package, json.dumps(envelope).encode(), 207, model)
    return deserialize(package, answer.content, 207, model, strict=False)


def sdk(package: ModuleType, sandbox: SandboxControl) -> Any:
    """An SDK API client for ``package`` pointed at the sandbox with the private-app token."""
    configuration = package.Configuration(host=sandbox.handle.hubspot_url)
    configuration.access_token = CREDENTIALS.hubspot_token
    return package.ApiClient(configuration)


ANSWER_MODELS: dict[tuple[str, int], tuple[ModuleType, str]] = {
    ("GET /crm/v3/objects/contacts", 200): (
        sdk_contacts,
        "CollectionResponseSimplePublicObjectWithAssociationsForwardPaging",
    ),
    ("POST /crm/v3/objects/contacts/search", 200): (
        sdk_contacts,
        "CollectionResponseWithTotalSimplePublicObjectForwardPaging",
    ),
    ("POST /crm/v3/objects/contacts/batch/read", 200): (
        sdk_contacts,
        "BatchResponseSimplePublicObject",
    ),
    ("POST /crm/v3/objects/contacts/batch/read", 207): (
        sdk_contacts,
        "BatchResponseSimplePublicObjectWithErrors",
    ),
    ("POST /crm/v3/objects/contacts/batch/upsert", 200): (
        sdk_contacts,
        "BatchResponseSimplePublicUpsertObject",
    ),
    ("POST /crm/v3/objects/contacts/batch/upsert", 207): (
        sdk_contacts,
        "BatchResponseSimplePublicUpsertObjectWithErrors",
    ),
    ("GET /crm/v3/properties/contacts", 200): (
        sdk_properties,
        "CollectionResponsePropertyNoPaging",
    ),
    ("POST /crm/v3/properties/contacts/batch/create", 201): (
        sdk_properties,
        "BatchResponseProperty",
    ),
    ("POST /crm/v3/properties/contacts/batch/create", 207): (
        sdk_properties,
        "BatchResponsePropertyWithErrors",
    ),
}
"""The SDK model of each answer our client reads, by endpoint and status."""


def endpoint(request: Sent) -> str:
    path = request.url.split("/hubspot", 1)[1].split("?", 1)[0]
    return f"{request.method} {path}"


def test_every_answer_to_our_clients_requests_is_a_valid_sdk_model(
    sandbox: SandboxControl, clients: Clients, wiretap: Wiretap
):
    client = clients.hubspot(http=wiretap)
    client.check_health()
    contacts = list(client.iter_contacts_modified(EVER, datetime.now(UTC), ["email"]))[:3]
    ids = [str(contact["id"]) for contact in contacts]
    client.batch_read_contacts(ids, ["email", "firstname"])
    client.batch_read_contacts([*ids, "999999999"], ["email"])
    client.batch_upsert_contacts(
        [
            ContactUpsert("oracle@example.com", {"firstname": "Ora"}),
            *[
                ContactUpsert(str(c["properties"]["email"]), {"firstname": "Same"})
                for c in contacts
            ],
        ]
    )
    client.ensure_contact_properties(
        [PropertyDefinition("oracle_score", "Oracle score", "number", "number")]
    )

    sandbox.set_limits(enabled=False)
    seen: set[tuple[str, int]] = set()
    for request in wiretap.sent:
        answer = replay(request)
        key = (endpoint(request), answer.status_code)
        package, model = ANSWER_MODELS[key]
        assert parsed(package, answer, model) is not None, key
        seen.add(key)
    assert {key[0] for key in seen} == {key[0] for key in ANSWER_MODELS}


@pytest.mark.parametrize("version", ["v3", "v1"])
def test_oauth_token_answers_of_both_versions_are_sdk_token_responses(
    sandbox: SandboxControl, clients: Clients, wiretap: Wiretap, version: str
):
    store = InMemoryTokenStore()
    client = clients.hubspot_oauth(
        store, settings=HubSpotSettings(oauth_version=version), http=wiretap
    )
    client.exchange_code(authorize(client))
    (token_request,) = [request for request in wiretap.sent if "/oauth/" in request.url]
    stored = store.get(f"hubspot:{CREDENTIALS.hubspot_client_id}")
    assert stored is not None

    answer = replay_refresh(token_request, stored.refresh_token.reveal())

    assert token_request.url.endswith(f"/oauth/{version}/token")
    tokens = parsed(sdk_oauth, answer, "TokenResponseIF")
    assert tokens.token_type == "bearer"
    assert tokens.expires_in == 1800


def replay_refresh(request: Sent, refresh_token: str) -> requests.Response:
    """The token request of ``request``'s version, as a refresh (a code works once)."""
    return requests.post(
        request.url,
        data={
            "grant_type": "refresh_token",
            "client_id": CREDENTIALS.hubspot_client_id,
            "client_secret": CREDENTIALS.hubspot_client_secret,
            "refresh_token": refresh_token,
        },
        timeout=30,
    )


ERROR_CASES: dict[str, Callable[[SandboxControl], requests.Response]] = {
    "207 missing id": lambda sandbox: requests.post(
        f"{sandbox.handle.hubspot_url}/crm/v3/objects/contacts/batch/read",
        json={"properties": ["email"], "propertiesWithHistory": [], "inputs": [{"id": "999999"}]},
        headers={"Authorization": f"Bearer {CREDENTIALS.hubspot_token}"},
        timeout=30,
    ),
    "400 validation": lambda sandbox: requests.post(
        f"{sandbox.handle.hubspot_url}/crm/v3/objects/contacts/batch/read",
        json={"properties": ["email"], "inputs": [{"id": "1"}]},
        headers={"Authorization": f"Bearer {CREDENTIALS.hubspot_token}"},
        timeout=30,
    ),
    "401 bad token": lambda sandbox: requests.get(
        f"{sandbox.handle.hubspot_url}/crm/v3/objects/contacts",
        headers={"Authorization": "Bearer pat-na1-wrong"},
        timeout=30,
    ),
    "404 missing contact": lambda sandbox: requests.get(
        f"{sandbox.handle.hubspot_url}/crm/v3/objects/contacts/999999999",
        headers={"Authorization": f"Bearer {CREDENTIALS.hubspot_token}"},
        timeout=30,
    ),
}


@pytest.mark.parametrize("case", ["400 validation", "401 bad token", "404 missing contact"])
def test_error_answers_are_sdk_errors(sandbox: SandboxControl, case: str):
    answer = ERROR_CASES[case](sandbox)

    error = parsed(sdk_contacts, answer, "Error")

    assert answer.status_code == int(case.split()[0])
    assert error.message
    assert error.category


def test_a_429_body_lacks_the_category_the_sdk_error_model_requires(sandbox: SandboxControl):
    sandbox.set_faults({"hubspot": {"rate_limit_burst": 1.0}})
    answer = requests.get(
        f"{sandbox.handle.hubspot_url}/crm/v3/objects/contacts",
        headers={"Authorization": f"Bearer {CREDENTIALS.hubspot_token}"},
        timeout=30,
    )

    assert answer.status_code == 429
    body = answer.json()
    assert body["policyName"] in {"TEN_SECONDLY_ROLLING", "SECONDLY", "DAILY"}
    with pytest.raises(ValueError, match="category"):
        parsed(sdk_contacts, answer, "Error")


def test_a_207_error_item_lacks_the_links_the_sdk_standard_error_requires(
    sandbox: SandboxControl,
):
    answer = ERROR_CASES["207 missing id"](sandbox)

    assert answer.status_code == 207
    assert set(answer.json()["errors"][0]) >= {"status", "category", "message", "context"}
    with pytest.raises(ValueError, match="links"):
        deserialize(sdk_contacts, answer.content, 207, "BatchResponseSimplePublicObjectWithErrors")


def test_the_sdks_own_requests_are_accepted(sandbox: SandboxControl):
    contacts_api = sdk(sdk_contacts, sandbox)
    basic = sdk_contacts.BasicApi(contacts_api)
    search = sdk_contacts.SearchApi(contacts_api)
    batch = sdk_contacts.BatchApi(contacts_api)

    page = basic.get_page(limit=10, properties=["email"], archived=False)
    found = search.do_search(
        PublicObjectSearchRequest(
            filter_groups=[
                FilterGroup(
                    filters=[Filter(property_name="lastmodifieddate", operator="GTE", value="0")]
                )
            ],
            sorts=["hs_object_id"],
            properties=["email"],
            limit=5,
            after="0",
        )
    )
    read = batch.read(
        BatchReadInputSimplePublicObjectId(
            properties=["email"],
            properties_with_history=[],
            inputs=[SimplePublicObjectId(id=contact.id) for contact in page.results[:3]],
        )
    )
    upserted = batch.upsert(
        BatchInputSimplePublicObjectBatchInputUpsert(
            inputs=[
                SimplePublicObjectBatchInputUpsert(
                    id="sdk-oracle@example.com",
                    id_property="email",
                    properties={"firstname": "Sdk"},
                )
            ]
        )
    )
    created = basic.create(
        SimplePublicObjectInputForCreate(properties={"email": "sdk-new@example.com"})
    )
    with pytest.raises(ApiException) as conflict:
        basic.create(SimplePublicObjectInputForCreate(properties={"email": "sdk-new@example.com"}))
    properties_api = sdk(sdk_properties, sandbox)
    listed = sdk_properties.CoreApi(properties_api).get_all("contacts")
    made = sdk_properties.BatchApi(properties_api).create(
        "contacts",
        BatchInputPropertyCreate(
            inputs=[
                PropertyCreate(
                    name="sdk_oracle_flag",
                    label="SDK oracle flag",
                    type="string",
                    field_type="text",
                    group_name="contactinformation",
                )
            ]
        ),
    )

    assert len(page.results) == 10
    assert found.total == 2000
    assert len(read.results) == 3
    assert upserted.results[0].properties["email"] == "sdk-oracle@example.com"
    assert created.id
    assert conflict.value.status == 409
    error = deserialize(sdk_contacts, conflict.value.body.encode(), 409, "Error")
    assert error.category in {"CONFLICT", "OBJECT_ALREADY_EXISTS"}
    assert "Existing ID" in error.message
    assert any(item.name == "email" for item in listed.results)
    assert [item.name for item in made.results] == ["sdk_oracle_flag"]


def test_the_sdks_token_requests_are_accepted(sandbox: SandboxControl, clients: Clients):
    helper = clients.hubspot_oauth(InMemoryTokenStore())
    configuration = sdk_oauth.Configuration(host=sandbox.handle.hubspot_url)
    tokens_api = sdk_oauth.TokensApi(sdk_oauth.ApiClient(configuration))

    first = tokens_api.create(
        grant_type="authorization_code",
        code=authorize(helper),
        redirect_uri=REDIRECT_URI,
        client_id=CREDENTIALS.hubspot_client_id,
        client_secret=CREDENTIALS.hubspot_client_secret,
    )
    second = tokens_api.create(
        grant_type="refresh_token",
        refresh_token=first.refresh_token,
        client_id=CREDENTIALS.hubspot_client_id,
        client_secret=CREDENTIALS.hubspot_client_secret,
    )

    assert first.access_token != second.access_token
    assert second.expires_in == 1800
