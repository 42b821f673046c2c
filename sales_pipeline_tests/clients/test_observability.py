"""Metrics snapshots and run-scoped ids."""

from __future__ import annotations

import threading

from sales_pipeline.clients import VendorMetrics, current_run_id, run_context


def test_snapshot_reports_counters_and_latency_percentiles():
    metrics = VendorMetrics("hubspot")
    for latency in range(1, 101):
        metrics.record_attempt(200, float(latency))
    metrics.record_attempt(429, 1.0)
    metrics.record_attempt(503, 1.0)
    metrics.record_attempt(None, 1.0)
    metrics.add_credits(4.5)

    snapshot = metrics.snapshot()

    assert snapshot["vendor"] == "hubspot"
    assert snapshot["requests"] == 103
    assert snapshot["rate_limited_429"] == 1
    assert snapshot["server_errors_5xx"] == 1
    assert snapshot["credits_used"] == 4.5
    assert (snapshot["latency_ms_p50"], snapshot["latency_ms_p95"]) == (49.0, 95.0)
    assert snapshot["latency_ms_p99"] == 99.0


def test_metrics_count_exactly_under_concurrency():
    metrics = VendorMetrics("lemlist")

    def hammer() -> None:
        for _ in range(1000):
            metrics.increment("retries")
            metrics.record_attempt(200, 1.0)

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    snapshot = metrics.snapshot()
    assert (snapshot["retries"], snapshot["requests"]) == (8000, 8000)


def test_run_context_nests_and_restores():
    assert current_run_id() is None
    with run_context("outer"):
        with run_context("inner"):
            assert current_run_id() == "inner"
        assert current_run_id() == "outer"
    assert current_run_id() is None
