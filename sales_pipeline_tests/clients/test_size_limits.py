"""Answers are read under their operation's cap; requests over a documented size are never sent."""

from __future__ import annotations

import pytest

from sales_pipeline.clients import RequestTooLarge, ResponseTooLarge, TransportConfig
from sales_pipeline.clients.explorium.endpoints import BULK_MAX, ExploriumEndpoints
from sales_pipeline.clients.hubspot.endpoints import BATCH_MAX, HubSpotEndpoints
from sales_pipeline.clients.lemlist.endpoints import LEAD_CAP
from sales_pipeline.clients.operation import Operation
from sales_pipeline.clients.wire import build_request
from sales_pipeline_tests.clients.conftest import Scripted


def test_an_endless_streamed_answer_stops_at_the_cap(server, lemlist):
    server.queue(Scripted(endless=True, content_type="application/json"))

    with pytest.raises(ResponseTooLarge) as raised:
        lemlist.list_campaigns()

    assert raised.value.retryable is False
    assert len(server.requests) == 1


def test_each_operation_has_its_own_cap(server, lemlist):
    lead_over_cap = {"_id": "lea_1", "pad": "x" * LEAD_CAP}
    server.queue(Scripted(json=lead_over_cap), Scripted(json=[lead_over_cap]))

    with pytest.raises(ResponseTooLarge, match=f"{LEAD_CAP} bytes"):
        lemlist.add_lead_to_campaign("cam_1", {"email": "ann@acme.com"})
    campaigns = lemlist.list_campaigns()

    assert campaigns[0].id == "lea_1"


def test_caps_come_from_the_operation_unless_the_deployment_overrides_them():
    config = TransportConfig(max_response_bytes=5000, response_caps={"tuned": 42})

    assert config.response_cap(Operation("plain", "GET", "/")) == 5000
    assert config.response_cap(Operation("own", "GET", "/", max_response_bytes=7)) == 7
    assert config.response_cap(Operation("tuned", "GET", "/", max_response_bytes=7)) == 42


@pytest.mark.parametrize(
    ("operation", "body_key", "limit"),
    [
        (HubSpotEndpoints.for_versions("v3", "v3").batch_read_contacts, "inputs", BATCH_MAX),
        (HubSpotEndpoints.for_versions("v3", "v3").batch_upsert_contacts, "inputs", BATCH_MAX),
        (ExploriumEndpoints.match_prospects, "prospects_to_match", BULK_MAX),
        (ExploriumEndpoints.enrich_profiles, "prospect_ids", BULK_MAX),
        (ExploriumEndpoints.enrich_firmographics, "business_ids", BULK_MAX),
    ],
    ids=lambda value: getattr(value, "name", str(value)),
)
def test_more_items_than_the_vendor_documents_are_refused(operation, body_key, limit):
    def request_with(count: int) -> object:
        return build_request(
            "vendor",
            "https://api.example.test",
            operation,
            path_params=None,
            params=None,
            json_body={body_key: [{"id": str(i)} for i in range(count)]},
            form=None,
            max_request_bytes=10**9,
        )

    assert request_with(limit) is not None
    with pytest.raises(RequestTooLarge) as raised:
        request_with(limit + 1)
    assert raised.value.field == body_key
