"""The circuit breaker alone, and as the transport uses it."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import pytest

from sales_pipeline.clients import (
    BreakerState,
    CircuitBreaker,
    CircuitOpen,
    HubSpotClient,
    HubSpotSettings,
    NotFound,
    Secret,
    ServerError,
)
from sales_pipeline_tests.clients.conftest import HUBSPOT_TOKEN, Scripted, fast_config

SINCE = datetime(2025, 7, 7, tzinfo=UTC)


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_breaker_opens_after_consecutive_failures_and_fails_fast():
    clock = FakeClock()
    breaker = CircuitBreaker("v", failure_threshold=3, reset_timeout_s=10, clock=clock)

    for _ in range(3):
        breaker.before_call("op")
        breaker.record_failure()

    with pytest.raises(CircuitOpen) as raised:
        breaker.before_call("op")
    assert raised.value.retry_after == pytest.approx(10)
    assert raised.value.vendor == "v"


def test_a_success_resets_the_consecutive_count():
    breaker = CircuitBreaker("v", failure_threshold=2)

    breaker.record_failure()
    breaker.record_success()
    breaker.record_failure()

    assert breaker.state is BreakerState.CLOSED


def test_half_open_lets_exactly_one_probe_through():
    clock = FakeClock()
    breaker = CircuitBreaker("v", failure_threshold=1, reset_timeout_s=5, clock=clock)
    breaker.record_failure()
    clock.now += 5

    breaker.before_call("probe")
    with pytest.raises(CircuitOpen):
        breaker.before_call("second")

    breaker.record_success()
    assert breaker.state is BreakerState.CLOSED
    breaker.before_call("after")


def test_a_failed_probe_opens_the_breaker_again():
    clock = FakeClock()
    breaker = CircuitBreaker("v", failure_threshold=1, reset_timeout_s=5, clock=clock)
    breaker.record_failure()
    clock.now += 5
    breaker.before_call("probe")

    breaker.record_failure()

    assert breaker.state is BreakerState.OPEN
    with pytest.raises(CircuitOpen):
        breaker.before_call("op")


def test_breaker_never_serialises_concurrent_calls():
    breaker = CircuitBreaker("v")

    def slow_call() -> None:
        breaker.before_call("op")
        time.sleep(0.3)
        breaker.record_success()

    threads = [threading.Thread(target=slow_call) for _ in range(4)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert time.monotonic() - started < 0.6


def client_on(server, limiter) -> HubSpotClient:
    return HubSpotClient(
        f"{server.url}/hubspot",
        access_token=Secret(HUBSPOT_TOKEN),
        settings=HubSpotSettings(search_limit=1000),
        transport_config=fast_config(max_tries=1),
        limiter=limiter,
    )


def test_outage_opens_the_breaker_then_a_probe_closes_it(server, limiter):
    server.queue(*[Scripted(503, text="down")] * 3, Scripted(json={"results": []}))
    client = client_on(server, limiter)

    for _ in range(3):
        with pytest.raises(ServerError):
            client.count_contacts_modified_since(SINCE)
    with pytest.raises(CircuitOpen):
        client.count_contacts_modified_since(SINCE)
    assert len(server.requests) == 3
    assert client.metrics_snapshot()["circuit_open_rejections"] == 1

    time.sleep(0.35)
    assert client.check_health().ok is True
    assert len(server.requests) == 4


def test_client_errors_do_not_open_the_breaker(server, limiter):
    server.handler = lambda _: Scripted(404, json={"message": "no such contact"})
    client = client_on(server, limiter)

    for _ in range(6):
        with pytest.raises(NotFound):
            client.count_contacts_modified_since(SINCE)

    assert len(server.requests) == 6
