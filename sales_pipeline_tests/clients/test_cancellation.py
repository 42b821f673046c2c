"""``client.cancel()`` from another thread ends waits and reads at once, with `Cancelled`."""

from __future__ import annotations

import threading

import pytest

from sales_pipeline.clients import (
    ApiError,
    Cancelled,
    LemlistClient,
    RetryPolicy,
    Secret,
    Timeouts,
    TransportConfig,
)
from sales_pipeline_tests.clients.conftest import LEMLIST_KEY, Scripted, ScriptedServer


def patient_lemlist(server: ScriptedServer, limiter) -> LemlistClient:
    """A client that would wait a minute between tries and read a body for minutes."""
    return LemlistClient(
        f"{server.url}/lemlist/api",
        api_key=Secret(LEMLIST_KEY),
        transport_config=TransportConfig(
            timeouts=Timeouts(connect_s=1.0, read_s=120.0, total_s=600.0),
            retry=RetryPolicy(max_elapsed_s=600.0, backoff_initial_s=60.0, backoff_max_s=60.0),
        ),
        limiter=limiter,
    )


def cancelled_while_busy(server: ScriptedServer, client: LemlistClient) -> list[ApiError]:
    """Start ``list_campaigns`` in a thread, cancel once the server saw it, collect its error."""
    raised: list[ApiError] = []

    def work() -> None:
        try:
            client.list_campaigns()
        except ApiError as error:
            raised.append(error)

    thread = threading.Thread(target=work)
    thread.start()
    while not server.requests and thread.is_alive():
        threading.Event().wait(0.01)
    client.cancel()
    thread.join(timeout=10)
    assert not thread.is_alive()
    return raised


@pytest.mark.parametrize(
    "answer",
    [
        Scripted(503, text="busy", headers={"Retry-After": "60"}),
        Scripted(429, text="Too Many Requests", headers={"Retry-After": "60"}),
        Scripted(json=[{"_id": "cam_1"}], trickle_s=1.0),
    ],
    ids=["backoff-wait", "rate-limit-wait", "slow-body"],
)
def test_cancel_ends_the_call_whatever_it_is_waiting_for(server, limiter, answer):
    server.queue(answer)
    client = patient_lemlist(server, limiter)

    raised = cancelled_while_busy(server, client)

    assert [type(error) for error in raised] == [Cancelled]
    assert raised[0].vendor == "lemlist"
    assert raised[0].operation == "list_campaigns"
    assert len(server.requests) == 1
    client.close()


def test_a_cancelled_client_sends_nothing_more(server, limiter):
    client = patient_lemlist(server, limiter)
    client.cancel()

    with pytest.raises(Cancelled):
        client.list_campaigns()

    assert server.requests == []
    assert client.metrics_snapshot()["cancelled_calls"] == 1
