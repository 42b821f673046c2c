"""Answers read under a size cap per operation; requests checked against documented sizes."""

from __future__ import annotations

import pytest

from sales_pipeline.clients import (
    ContactUpsert,
    RequestTooLarge,
    ResponseTooLarge,
    TransportConfig,
)
from sales_pipeline_tests.integration.conftest import Clients, SandboxControl, transport_config

MEBIBYTE = 1024 * 1024


def test_an_answer_over_its_operation_cap_ends_in_a_typed_error(
    sandbox: SandboxControl, clients: Clients
):
    sandbox.set_faults({"lemlist": {"oversized": {"probability": 1.0, "mebibytes": 64}}})
    base = transport_config()
    capped = TransportConfig(
        timeouts=base.timeouts, retry=base.retry, response_caps={"list_campaigns": MEBIBYTE}
    )
    client = clients.lemlist(transport_config=capped)

    with pytest.raises(ResponseTooLarge) as raised:
        client.list_campaigns()

    assert raised.value.retryable is False
    assert f"{MEBIBYTE} bytes" in str(raised.value)
    assert sandbox.stats("lemlist")["requests"] == 1


def test_an_answer_within_its_cap_is_read_whole(sandbox: SandboxControl, clients: Clients):
    plain = clients.lemlist().list_campaigns()
    sandbox.set_faults({"lemlist": {"oversized": {"probability": 1.0, "mebibytes": 2}}})

    assert clients.lemlist().list_campaigns() == plain


def test_a_body_over_the_byte_limit_is_refused_before_sending(
    sandbox: SandboxControl, clients: Clients
):
    base = transport_config()
    small = TransportConfig(timeouts=base.timeouts, retry=base.retry, max_request_bytes=2048)
    client = clients.hubspot(transport_config=small)
    records = [ContactUpsert("big@example.com", {"notes": "x" * 4096})]

    with pytest.raises(RequestTooLarge) as raised:
        client.batch_upsert_contacts(records)

    assert raised.value.field == "body"
    assert sandbox.stats("hubspot")["requests"] == 0
