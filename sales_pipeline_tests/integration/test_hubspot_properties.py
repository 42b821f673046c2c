"""HubSpot custom contact properties against the sandbox: created once, raced safely."""

from __future__ import annotations

from typing import Any

import requests
import urllib3

from sales_pipeline.clients import ContactUpsert, PropertyDefinition
from sales_pipeline_tests.integration.conftest import CREDENTIALS, Clients

DEFINITIONS = [
    PropertyDefinition("sp_icp_score", "ICP score", "number", "number"),
    PropertyDefinition("sp_segment", "Segment", "string", "text", description="ICP segment"),
    PropertyDefinition(
        "sp_tier",
        "Tier",
        "enumeration",
        "select",
        options=(("Tier A", "a"), ("Tier B", "b")),
    ),
]
NAMES = [definition.name for definition in DEFINITIONS]


def test_missing_properties_are_created_once_and_then_accept_values(sandbox, clients: Clients):
    hubspot = clients.hubspot()

    first = hubspot.ensure_contact_properties(DEFINITIONS)
    second = hubspot.ensure_contact_properties(DEFINITIONS)
    [written] = hubspot.batch_upsert_contacts(
        [ContactUpsert("ada@example.com", {"sp_icp_score": 87.5, "sp_tier": "a"})]
    )

    assert first == NAMES
    assert second == []
    assert set(NAMES) <= set(sandbox.state("hubspot")["properties"])
    assert written.ok, written.error
    assert sandbox.stats("hubspot")["by_endpoint"]["properties_batch_create"] == {"201": 1}


class CompetingPool(urllib3.PoolManager):
    """A pool manager that lets "another process" create ``name`` through its own connection
    just before the client's batch create goes out (after the client listed)."""

    def __init__(self, properties_url: str, name: str) -> None:
        super().__init__()
        self._properties_url = properties_url
        self._name = name

    def urlopen(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        if url.endswith("/batch/create"):
            competitor = requests.post(
                self._properties_url,
                json={
                    "name": self._name,
                    "label": "Made by another process",
                    "type": "string",
                    "fieldType": "text",
                    "groupName": "contactinformation",
                },
                headers={"Authorization": f"Bearer {CREDENTIALS.hubspot_token}"},
                timeout=10,
            )
            assert competitor.status_code == 201
        return super().urlopen(method, url, *args, **kwargs)


def test_a_property_another_process_creates_meanwhile_is_not_an_error(sandbox, clients: Clients):
    properties_url = f"{sandbox.handle.hubspot_url}/crm/v3/properties/contacts"
    with CompetingPool(properties_url, "sp_segment") as competing:
        created = clients.hubspot(http=competing).ensure_contact_properties(DEFINITIONS)

    assert created == ["sp_icp_score", "sp_tier"]
    assert set(NAMES) <= set(sandbox.state("hubspot")["properties"])
    assert sandbox.stats("hubspot")["by_endpoint"]["properties_batch_create"] == {"207": 1}
