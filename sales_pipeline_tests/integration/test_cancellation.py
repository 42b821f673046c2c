"""Cancelling a client from another thread while the sandbox holds its requests."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from sales_pipeline.clients import ApiError, Cancelled, TransportConfig
from sales_pipeline_tests.integration.conftest import Clients, SandboxControl, transport_config

EVER = datetime(2000, 1, 1, tzinfo=UTC)
HANG = {"hang": {"probability": 1.0, "seconds": 120}}


def in_thread(work: Callable[[], object]) -> tuple[threading.Thread, list[BaseException]]:
    """Run ``work`` in a thread; the list receives what it raised."""
    raised: list[BaseException] = []

    def run() -> None:
        try:
            work()
        except ApiError as error:
            raised.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, raised


@pytest.mark.parametrize("vendor", ["hubspot", "explorium", "lemlist"])
def test_cancel_aborts_a_request_the_vendor_is_holding(
    sandbox: SandboxControl, clients: Clients, vendor: str
):
    base = transport_config(read_s=120.0)
    patient = TransportConfig(timeouts=base.timeouts, retry=base.retry)
    sandbox.set_faults({vendor: HANG})
    hubspot = clients.hubspot(transport_config=patient)
    explorium = clients.explorium(transport_config=patient)
    lemlist = clients.lemlist(transport_config=patient)
    calls: dict[str, Callable[[], object]] = {
        "hubspot": lambda: hubspot.count_contacts_modified_since(EVER),
        "explorium": lambda: explorium.match_prospects([{"email": "ann@example.com"}]),
        "lemlist": lemlist.list_campaigns,
    }
    client = {"hubspot": hubspot, "explorium": explorium, "lemlist": lemlist}[vendor]
    thread, raised = in_thread(calls[vendor])
    sandbox.wait_until_held(1)

    client.cancel()
    thread.join(timeout=10)

    alive = thread.is_alive()
    sandbox.release_hangs()
    assert not alive
    assert [type(error) for error in raised] == [Cancelled]
    assert client.metrics_snapshot()["cancelled_calls"] == 1
    with pytest.raises(Cancelled):
        calls[vendor]()
    sandbox.wait_until_none_held()
