"""The HTTP core against a real local server: retries, waits, timeouts, bounds, logs."""

from __future__ import annotations

import itertools
import logging
import time
from typing import Any

import pytest

from sales_pipeline.clients import (
    ApiTimeout,
    CircuitBreaker,
    InputValidationError,
    InvalidRequest,
    NotFound,
    RateLimited,
    RateLimiter,
    ResponseTooLarge,
    ServerError,
    TransportConfig,
    VendorMetrics,
    run_context,
)
from sales_pipeline.clients.auth import NoAuth
from sales_pipeline.clients.observability import client_logger
from sales_pipeline.clients.ratelimit import RateLimit
from sales_pipeline.clients.resolution import ResolutionTable
from sales_pipeline.clients.transport import Operation, Transport
from sales_pipeline_tests.clients.conftest import Scripted, ScriptedServer, fast_config

READ = Operation("get_thing", "GET", "/things/{thing_id}")
CREATE = Operation("create_thing", "POST", "/things", idempotency=None)


def make_transport(
    server: ScriptedServer,
    limiter: RateLimiter,
    config: TransportConfig | None = None,
    base_url: str | None = None,
) -> Transport:
    return Transport(
        "testvendor",
        base_url or server.url,
        auth=NoAuth(),
        table=ResolutionTable(()),
        limits={"default": RateLimit("default", 1000, 1.0)},
        limiter=limiter,
        breaker=CircuitBreaker("testvendor", failure_threshold=100),
        metrics=VendorMetrics("testvendor"),
        logger=client_logger("sales_pipeline.clients.testvendor"),
        config=config or fast_config(),
    )


def call(transport: Transport, operation: Operation = READ, **kwargs: Any) -> Any:
    if operation is READ:
        kwargs.setdefault("path_params", {"thing_id": "1"})
    return transport.call(operation, **kwargs)


def gaps(server: ScriptedServer) -> list[float]:
    return [b.at - a.at for a, b in itertools.pairwise(server.requests)]


def test_server_errors_are_retried_until_success(server, limiter):
    server.queue(Scripted(503, text="busy"), Scripted(500, json={}), Scripted(json={"ok": 1}))
    transport = make_transport(server, limiter)

    reply = call(transport)

    assert reply.data == {"ok": 1}
    assert len(server.requests) == 3
    snapshot = transport.metrics.snapshot()
    assert snapshot["retries"] == 2
    assert snapshot["server_errors_5xx"] == 2


@pytest.mark.parametrize(("status", "error"), [(400, InvalidRequest), (404, NotFound)])
def test_client_errors_are_not_retried(server, limiter, status, error):
    server.queue(Scripted(status, json={"message": "nope"}))

    with pytest.raises(error) as raised:
        call(make_transport(server, limiter))

    assert len(server.requests) == 1
    assert raised.value.status == status
    assert raised.value.retryable is False


def test_retry_after_header_is_honoured(server, limiter):
    server.queue(Scripted(429, headers={"Retry-After": "1"}), Scripted(json={}))

    call(make_transport(server, limiter))

    assert gaps(server)[0] >= 1.0


def test_retry_after_zero_is_floored_so_it_never_hot_loops(server, limiter):
    server.queue(Scripted(429, headers={"Retry-After": "0"}), Scripted(json={}))

    call(make_transport(server, limiter))

    assert gaps(server)[0] >= 0.5


def test_rate_limit_storm_is_bounded_by_its_own_budget(server, limiter):
    server.handler = lambda _: Scripted(429, headers={"Retry-After": "0"})
    transport = make_transport(server, limiter, fast_config(max_rate_limited_tries=3))

    with pytest.raises(RateLimited):
        call(transport)

    assert len(server.requests) == 3
    assert transport.metrics.snapshot()["rate_limited_429"] == 3


def test_vendor_wait_beyond_the_time_budget_fails_at_once(server, limiter):
    server.queue(Scripted(429, headers={"Retry-After": "3600"}))

    with pytest.raises(RateLimited) as raised:
        call(make_transport(server, limiter))

    assert len(server.requests) == 1
    assert raised.value.retry_after == 3600


def test_hung_response_times_out_within_bounds(server, limiter):
    server.handler = lambda _: Scripted(json={}, delay_s=3)
    transport = make_transport(server, limiter)

    started = time.monotonic()
    with pytest.raises(ApiTimeout):
        call(transport)

    assert time.monotonic() - started < 2.5
    assert len(server.requests) == 3
    assert transport.metrics.snapshot()["timeouts"] == 3


def test_trickling_body_is_cut_by_the_total_deadline(server, limiter):
    server.queue(Scripted(json={"padding": "x" * 60}, trickle_s=0.05))
    config = fast_config(max_tries=1)

    started = time.monotonic()
    with pytest.raises(ApiTimeout):
        call(make_transport(server, limiter, config))

    assert time.monotonic() - started < config.timeouts.total_s + 1


@pytest.mark.parametrize(
    "broken",
    [
        Scripted(drop=True),
        Scripted(json={"a": "b" * 50}, truncate=True),
        Scripted(text="{not json", content_type="application/json"),
    ],
    ids=["dropped-connection", "truncated-chunked-body", "malformed-json-on-200"],
)
def test_broken_answers_are_retried(server, limiter, broken):
    server.queue(broken, Scripted(json={"ok": True}))

    reply = call(make_transport(server, limiter))

    assert reply.data == {"ok": True}
    assert len(server.requests) == 2


def test_oversized_answer_is_refused_without_retry(server, limiter):
    server.queue(Scripted(json={"blob": "x" * 5000}))
    config = TransportConfig(max_response_bytes=1000, retry=fast_config().retry)

    with pytest.raises(ResponseTooLarge) as raised:
        call(make_transport(server, limiter, config))

    assert raised.value.retryable is False
    assert "1000 bytes" in str(raised.value)
    assert len(server.requests) == 1


def test_oversized_request_body_is_never_sent(server, limiter):
    config = TransportConfig(max_request_bytes=100)

    with pytest.raises(InputValidationError) as raised:
        call(make_transport(server, limiter, config), CREATE, json_body={"x": "y" * 500})

    assert raised.value.field == "body"
    assert server.requests == []


def test_non_idempotent_write_is_not_resent_after_an_ambiguous_failure(server, limiter):
    server.queue(Scripted(502, text="bad gateway"), Scripted(json={}))

    with pytest.raises(ServerError) as raised:
        call(make_transport(server, limiter), CREATE, json_body={})

    assert raised.value.retryable is False
    assert len(server.requests) == 1


def test_non_idempotent_write_is_resent_after_429_because_it_was_not_processed(server, limiter):
    server.queue(Scripted(429, headers={"Retry-After": "0"}), Scripted(json={"id": 7}))

    reply = call(make_transport(server, limiter), CREATE, json_body={})

    assert reply.data == {"id": 7}
    assert len(server.requests) == 2


def test_request_log_shows_template_path_status_attempt_and_run_id(server, limiter, caplog):
    server.queue(Scripted(500, json={"correlationId": "c-1"}), Scripted(json={}))
    caplog.set_level(logging.INFO, logger="sales_pipeline.clients")

    with run_context("run-42"):
        call(make_transport(server, limiter), path_params={"thing_id": "jane@example.com"})

    records = [r for r in caplog.records if getattr(r, "http_path", None)]
    assert [r.http_status for r in records] == [500, 200]
    assert [r.attempt for r in records] == [1, 2]
    assert records[0].correlation_id == "c-1"
    assert {r.run_id for r in records} == {"run-42"}
    assert all(r.http_path == "/things/{thing_id}" for r in records)
    assert "jane@example.com" not in caplog.text


def test_deprecation_header_is_logged_once(server, limiter, caplog):
    sunset = {"Sunset": "Wed, 11 Nov 2026 23:59:59 GMT"}
    server.queue(Scripted(json={}, headers=sunset), Scripted(json={}, headers=sunset))
    transport = make_transport(server, limiter)

    call(transport)
    call(transport)

    warnings = [r for r in caplog.records if "Sunset" in r.getMessage()]
    assert len(warnings) == 1


def test_the_environments_proxy_still_carries_requests_read_once_per_transport(
    server, limiter, monkeypatch
):
    for name in ("NO_PROXY", "no_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", server.url)
    monkeypatch.setenv("http_proxy", server.url)
    server.queue(Scripted(json={"ok": 1}))
    transport = make_transport(server, limiter, base_url="http://vendor.invalid")

    assert call(transport).data == {"ok": 1}
    assert server.requests[0].headers["Host"] == "vendor.invalid"
