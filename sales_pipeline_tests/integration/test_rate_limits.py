"""Sustained runs at the vendors' real limits meet no 429: in one process, and from several
processes sharing one limiter backend (as Dagster's step processes do).

The sandbox injects no 429s here (faults off), so any 429 it counts is a real limit breach.
Each run pushes past one window, and the client's ``throttle_wait_s`` shows its limiter had to
hold requests back, so the runs really met the limit rather than staying far below it.
"""

from __future__ import annotations

import multiprocessing
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import pytest

from sales_pipeline.clients import ExploriumSettings, MatchStatus, VendorClient
from sales_pipeline_tests.clients.conftest import POSTGRES_URL, REDIS_URL, drop_limiter_state
from sales_pipeline_tests.integration.conftest import CREDENTIALS, Clients, SandboxControl
from sales_pipeline_tests.integration.limiter_worker import list_campaigns_repeatedly

T = TypeVar("T")


def drive(call: Callable[[int], T], count: int, threads: int = 3) -> list[T]:
    """``call(0..count-1)`` from ``threads`` threads at full speed; results in order."""
    with ThreadPoolExecutor(max_workers=threads) as pool:
        return list(pool.map(call, range(count)))


def assert_limit_met_without_429(
    sandbox: SandboxControl, vendor: str, metrics: list[dict[str, Any]], requests: int
) -> None:
    """The sandbox served exactly ``requests`` (no retries) and refused none; the clients
    saw no 429 and their limiter did hold requests back."""
    stats = sandbox.stats(vendor)
    assert stats["rate_limited"] == 0
    assert stats["requests"] == requests
    assert sum(int(m["rate_limited_429"]) for m in metrics) == 0
    assert sum(float(m["throttle_wait_s"]) for m in metrics) > 0


def snapshot(client: VendorClient) -> list[dict[str, Any]]:
    return [dict(client.metrics_snapshot())]


@pytest.mark.slow  # whole pipeline runs or real time windows: tens of seconds
def test_hubspot_reads_past_one_burst_window_meet_no_429(sandbox, clients: Clients):
    ids = [str(c["id"]) for c in sandbox.state("hubspot")["contacts"][:150]]
    hubspot = clients.hubspot()

    results = drive(lambda i: hubspot.batch_read_contacts([ids[i]], ["email"]), len(ids))

    assert [result.contact_id for [result] in results if result.properties is not None] == ids
    assert_limit_met_without_429(sandbox, "hubspot", snapshot(hubspot), requests=150)


def test_lemlist_requests_past_three_windows_meet_no_429(sandbox, clients: Clients):
    campaigns = len(sandbox.state("lemlist")["campaigns"])
    lemlist = clients.lemlist()

    results = drive(lambda _: len(lemlist.list_campaigns()), 60)

    assert results == [campaigns] * 60
    assert_limit_met_without_429(sandbox, "lemlist", snapshot(lemlist), requests=60)


@pytest.mark.slow  # Explorium's window is a real minute: the run lasts one window
def test_explorium_requests_past_one_minute_window_meet_no_429(sandbox, clients: Clients):
    """The 60-second window cannot be shortened, so the limit is scaled down (200 -> 20 a
    minute) to cross it with few requests; the run still lasts one window (~60 s)."""
    sandbox.set_limits(rate_scale=0.1)
    emails = [str(c["properties"]["email"]) for c in sandbox.state("hubspot")["contacts"][:22]]
    explorium = clients.explorium(settings=ExploriumSettings(requests_per_window=20))

    results = drive(lambda i: explorium.match_prospects([{"email": emails[i]}]), len(emails))

    assert all(result.status is not MatchStatus.FAILED for [result] in results)
    assert_limit_met_without_429(sandbox, "explorium", snapshot(explorium), requests=22)


@pytest.fixture(
    params=[
        pytest.param(POSTGRES_URL, marks=pytest.mark.postgres, id="postgres"),
        pytest.param(REDIS_URL, marks=pytest.mark.redis, id="redis"),
    ]
)
def shared_backend(request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    """A limiter backend URL and a namespace of its own, dropped afterwards."""
    url, namespace = str(request.param), f"it{uuid.uuid4().hex[:10]}"
    yield url, namespace
    drop_limiter_state(url, namespace)


@pytest.mark.slow  # whole pipeline runs or real time windows: tens of seconds
def test_processes_sharing_a_limiter_backend_stay_under_one_accounts_limit(sandbox, shared_backend):
    url, namespace = shared_backend
    processes, calls = 3, 20
    campaigns = len(sandbox.state("lemlist")["campaigns"])
    spawn = multiprocessing.get_context("spawn")
    start = spawn.Barrier(processes)
    results: Any = spawn.Queue()
    workers = [
        spawn.Process(
            target=list_campaigns_repeatedly,
            args=(
                sandbox.handle.lemlist_url,
                CREDENTIALS.lemlist_key,
                url,
                namespace,
                calls,
                start,
                results,
            ),
        )
        for _ in range(processes)
    ]
    for worker in workers:
        worker.start()

    reports = [results.get(timeout=120) for _ in workers]
    for worker in workers:
        worker.join(timeout=30)

    assert [worker.exitcode for worker in workers] == [0] * processes
    assert all(report["campaigns"] == [campaigns] * calls for report in reports)
    assert_limit_met_without_429(sandbox, "lemlist", reports, requests=processes * calls)
