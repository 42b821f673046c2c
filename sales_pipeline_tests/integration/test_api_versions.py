"""Every API version each client can be configured with, against the sandbox.

HubSpot: CRM v3 (the only one published for the endpoints used) and OAuth v3 (default) and
v1 (deprecated; flagged for doctor). Explorium: v1 only. Lemlist: ``version=v2`` only.
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlsplit

import pytest

from sales_pipeline.clients import (
    ExploriumClient,
    HubSpotSettings,
    InMemoryTokenStore,
    LemlistSettings,
    Secret,
)
from sales_pipeline_tests.integration.conftest import CREDENTIALS, Clients, Wiretap, authorize

EVER = datetime(2000, 1, 1, tzinfo=UTC)


def paths(wiretap: Wiretap) -> list[str]:
    """The method and path of every request sent through ``wiretap``."""
    return [f"{request.method} {request.path}" for request in wiretap.sent]


@pytest.mark.parametrize(
    ("oauth_version", "warned"), [("v3", False), ("v1", True)], ids=["oauth-v3", "oauth-v1"]
)
def test_each_hubspot_oauth_version_exchanges_and_refreshes_on_its_own_token_path(
    sandbox, clients: Clients, wiretap: Wiretap, oauth_version: str, warned: bool
):
    store = InMemoryTokenStore()
    client = clients.hubspot_oauth(
        store, settings=HubSpotSettings(oauth_version=oauth_version), http=wiretap
    )

    client.exchange_code(authorize(client))
    sandbox.advance_clock(1800)
    count = client.count_contacts_modified_since(EVER)

    token_path = f"POST /hubspot/oauth/{oauth_version}/token"
    assert count == 2000
    assert paths(wiretap).count(token_path) == 2
    assert client.api_versions == {"crm": "v3", "oauth": oauth_version}
    assert bool(client.version_warnings()) is warned


def test_hubspot_crm_v3_serves_list_search_and_batch_read(
    sandbox, clients: Clients, wiretap: Wiretap
):
    client = clients.hubspot(settings=HubSpotSettings(crm_version="v3"), http=wiretap)

    health = client.check_health()
    total = client.count_contacts_modified_since(EVER)

    assert health.ok
    assert total == 2000
    assert paths(wiretap) == [
        "GET /hubspot/crm/v3/objects/contacts",
        "POST /hubspot/crm/v3/objects/contacts/search",
    ]
    assert client.version_warnings() == []


def test_an_unpublished_version_is_refused_before_any_client_exists():
    with pytest.raises(ValueError, match="oauth_version"):
        HubSpotSettings(oauth_version="v2")
    with pytest.raises(ValueError, match="crm_version"):
        HubSpotSettings(crm_version="v4")
    with pytest.raises(ValueError, match="api_version"):
        LemlistSettings(api_version="v1")


@pytest.mark.parametrize("with_version", [True, False], ids=["base-with-v1", "base-without-v1"])
def test_explorium_v1_paths_come_from_the_endpoint_table(
    sandbox, clients: Clients, wiretap: Wiretap, with_version: bool
):
    documented = clients.handle.explorium_url
    base_url = documented if with_version else documented.removesuffix("/v1")

    with ExploriumClient(
        base_url,
        api_key=Secret(CREDENTIALS.explorium_key),
        transport_config=clients.config,
        limiter=clients.limiter,
        http=wiretap,
    ) as client:
        report = client.check_health()

    assert report.ok
    assert paths(wiretap) == ["GET /explorium/v1/credits"]
    assert client.api_versions == {"api": "v1"}


def test_lemlist_v2_is_sent_on_exactly_the_versioned_routes(
    sandbox, clients: Clients, wiretap: Wiretap
):
    client = clients.lemlist(settings=LemlistSettings(api_version="v2"), http=wiretap)

    assert client.list_campaigns()
    list(client.iter_activities(EVER))
    list(client.iter_unsubscribes())

    versioned = {r.path: "version=v2" in urlsplit(r.url).query for r in wiretap.sent}
    assert versioned == {
        "/lemlist/api/campaigns": True,
        "/lemlist/api/activities": True,
        "/lemlist/api/unsubscribes": False,
    }
    assert client.api_versions == {"api": "v2"}
