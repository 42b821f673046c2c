"""Vendors' Deprecation, Sunset and Warning headers: counted, kept for doctor, logged once."""

from __future__ import annotations

import logging

from sales_pipeline.clients import HubSpotSettings, InMemoryTokenStore
from sales_pipeline_tests.integration.conftest import Clients, SandboxControl, authorize


def test_every_answer_with_a_notice_is_counted_and_its_endpoint_kept_for_doctor(
    sandbox: SandboxControl, clients: Clients
):
    sandbox.add_deprecation(
        vendor="lemlist",
        path_prefix="/api/campaigns",
        sunset="2027-01-31T00:00:00Z",
        warning="campaigns v1 retires; use v3",
    )
    client = clients.lemlist()

    client.list_campaigns()
    client.check_health()
    list(client.iter_unsubscribes())

    snapshot = client.metrics_snapshot()
    assert snapshot["deprecation_notices"] == 2
    assert snapshot["deprecated_endpoints"] == "GET /campaigns"
    (notice,) = client.deprecation_notices()
    said = dict(notice.headers)
    assert said["Deprecation"].startswith("@")
    assert said["Sunset"] == "Sun, 31 Jan 2027 00:00:00 GMT"
    assert said["Warning"] == '299 - "campaigns v1 retires; use v3"'
    assert notice.describe().startswith("lemlist GET /campaigns is deprecated")


def test_a_notice_is_logged_once_per_endpoint_per_process(
    sandbox: SandboxControl, clients: Clients, caplog
):
    caplog.set_level(logging.WARNING, logger="sales_pipeline.clients")
    sandbox.add_deprecation(vendor="explorium", path_prefix="/v1/credits", warning="moving")
    first, second = clients.explorium(), clients.explorium()

    for client in (first, second, first):
        client.check_health()

    logged = [r for r in caplog.records if "is deprecated" in r.getMessage()]
    assert [r.getMessage() for r in logged] == [
        "explorium GET /v1/credits is deprecated (Deprecation: "
        + dict(first.deprecation_notices()[0].headers)["Deprecation"]
        + '; Warning: 299 - "moving")'
    ]
    assert first.metrics_snapshot()["deprecation_notices"] == 2
    assert second.metrics_snapshot()["deprecation_notices"] == 1


def test_hubspot_oauth_v1_answers_carry_the_2027_sunset(sandbox: SandboxControl, clients: Clients):
    client = clients.hubspot_oauth(
        InMemoryTokenStore(), settings=HubSpotSettings(oauth_version="v1")
    )

    client.exchange_code(authorize(client))

    (notice,) = client.deprecation_notices()
    assert notice.endpoint == "POST /oauth/v1/token"
    assert dict(notice.headers)["Sunset"] == "Tue, 16 Feb 2027 00:00:00 GMT"
    assert client.version_warnings() != []
