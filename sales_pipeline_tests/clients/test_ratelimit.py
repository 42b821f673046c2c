"""Proactive rate limiting: in one process, from live headers, and across processes."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterator

import pytest

from sales_pipeline.clients import (
    LemlistClient,
    LemlistSettings,
    RateLimit,
    RateLimiter,
    Secret,
)
from sales_pipeline_tests.clients.conftest import (
    LEMLIST_KEY,
    POSTGRES_URL,
    REDIS_URL,
    Recorded,
    Scripted,
    drop_limiter_state,
    fast_config,
)


class SlidingWindowVendor:
    """Answers 429 whenever more than ``limit`` requests arrived in the last ``window_s``."""

    def __init__(self, limit: int, window_s: float) -> None:
        self.limit = limit
        self.window_s = window_s
        self.arrivals: deque[float] = deque()
        self.rejected = 0
        self._lock = threading.Lock()

    def __call__(self, request: Recorded) -> Scripted:
        with self._lock:
            now = time.monotonic()
            while self.arrivals and self.arrivals[0] <= now - self.window_s:
                self.arrivals.popleft()
            if len(self.arrivals) >= self.limit:
                self.rejected += 1
                return Scripted(429, text="Too many requests", headers={"Retry-After": "1"})
            self.arrivals.append(now)
        return Scripted(json=[])


def test_proactive_limiter_keeps_a_threaded_burst_under_the_vendor_limit(server, limiter):
    vendor = SlidingWindowVendor(limit=10, window_s=1.0)
    server.handler = vendor
    client = LemlistClient(
        f"{server.url}/lemlist/api",
        api_key=Secret(LEMLIST_KEY),
        settings=LemlistSettings(requests_per_window=10, window_s=1.0),
        transport_config=fast_config(),
        limiter=limiter,
    )

    def burst() -> None:
        for _ in range(5):
            client.list_campaigns()

    threads = [threading.Thread(target=burst) for _ in range(5)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(server.requests) == 25
    assert vendor.rejected == 0
    assert client.metrics_snapshot()["rate_limited_429"] == 0
    assert time.monotonic() - started >= 1.5


def test_live_headers_hold_requests_until_the_window_frees(server, limiter):
    low = {"X-RateLimit-Limit": "20", "X-RateLimit-Remaining": "1"}
    server.queue(Scripted(json=[], headers=low), Scripted(json=[]))
    client = LemlistClient(
        f"{server.url}/lemlist/api",
        api_key=Secret(LEMLIST_KEY),
        settings=LemlistSettings(window_s=0.6),
        transport_config=fast_config(),
        limiter=limiter,
    )

    client.list_campaigns()
    client.list_campaigns()

    first, second = server.requests
    assert second.at - first.at >= 0.5


def test_a_pause_holds_every_caller_of_the_key(limiter):
    limit = RateLimit("default", 1000, 1.0)
    limiter.pause("v:k:default", 0.3)

    waited = limiter.acquire("v:k:default", limit)

    assert waited >= 0.28


def test_safety_margin_scales_published_limits():
    limiter = RateLimiter(safety_margin=0.9)

    assert limiter.effective_limit(RateLimit("burst", 100, 10)) == 90
    assert limiter.effective_limit(RateLimit("search", 5, 1)) == 4
    assert limiter.effective_limit(RateLimit("tiny", 1, 1)) == 1


def test_the_default_margin_uses_95_percent_of_each_limit():
    limiter = RateLimiter()

    assert limiter.effective_limit(RateLimit("burst", 100, 10)) == 95
    assert limiter.effective_limit(RateLimit("lemlist", 20, 2)) == 19
    assert limiter.effective_limit(RateLimit("explorium", 200, 60)) == 190


def test_a_sqlite_backend_in_a_folder_not_yet_created_works(tmp_path):
    limiter = RateLimiter(f"sqlite:///{tmp_path / 'fresh-home' / 'ratelimit.sqlite'}")

    limiter.acquire("v:k:default", RateLimit("default", 5, 1.0))

    limiter.close()
    assert (tmp_path / "fresh-home" / "ratelimit.sqlite").is_file()


def test_unknown_backend_scheme_is_rejected():
    with pytest.raises(ValueError, match="mysql"):
        RateLimiter("mysql://localhost/db")


WORKER = """
import json, sys, time
from sales_pipeline.clients.ratelimit import RateLimit, RateLimiter
url, namespace, start_at, count = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
limiter = RateLimiter(url, namespace=namespace, safety_margin=1.0)
limit = RateLimit("default", 5, 1.0)
limiter.acquire("vendor:key:default", limit)
time.sleep(max(0.0, start_at - time.time()))
stamps = []
for _ in range(count):
    limiter.acquire("vendor:key:default", limit)
    stamps.append(time.time())
limiter.close()
print(json.dumps(stamps))
"""


def run_workers(url: str, namespace: str, workers: int = 3, each: int = 5) -> list[float]:
    start_at = time.time() + 2.0
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, url, namespace, str(start_at), str(each)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(workers)
    ]
    stamps: list[float] = []
    for process in processes:
        output, _ = process.communicate(timeout=60)
        assert process.returncode == 0
        stamps.extend(json.loads(output))
    return sorted(stamps)


@pytest.fixture
def namespace() -> str:
    return f"t{uuid.uuid4().hex[:10]}"


@pytest.fixture
def postgres_namespace(namespace: str) -> Iterator[str]:
    yield namespace
    drop_limiter_state(POSTGRES_URL, namespace)


@pytest.fixture
def redis_namespace(namespace: str) -> Iterator[str]:
    yield namespace
    drop_limiter_state(REDIS_URL, namespace)


def assert_never_more_than(stamps: list[float], limit: int, window_s: float) -> None:
    """In every window of ``window_s`` there were at most ``limit`` acquisitions."""
    for first, later in zip(stamps, stamps[limit:], strict=False):
        assert later - first >= window_s - 0.1, (first, later)


@pytest.mark.postgres
def test_postgres_limiter_is_shared_across_processes(postgres_namespace):
    stamps = run_workers(POSTGRES_URL, postgres_namespace)

    assert len(stamps) == 15
    assert_never_more_than(stamps, 5, 1.0)


@pytest.mark.redis
def test_redis_limiter_is_shared_across_processes(redis_namespace):
    stamps = run_workers(REDIS_URL, redis_namespace)

    assert len(stamps) == 15
    assert_never_more_than(stamps, 5, 1.0)


def test_sqlite_limiter_is_shared_across_processes(tmp_path, namespace):
    stamps = run_workers(f"sqlite:///{tmp_path / 'limits.db'}", namespace)

    assert len(stamps) == 15
    assert_never_more_than(stamps, 5, 1.0)
