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
from datetime import UTC, datetime

import pytest
from pyrate_limiter import Limiter

from sales_pipeline.clients import (
    LemlistClient,
    LemlistSettings,
    RateLimit,
    RateLimiter,
    Secret,
)
from sales_pipeline.clients.lemlist.rules import lemlist_quota_reader, parse_reset_date
from sales_pipeline.clients.ratelimit import QuotaReading
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


@pytest.fixture
def limiter_clock() -> Iterator[tuple[RateLimiter, ManualClock]]:
    """A limiter whose clock and sleep are a `ManualClock`."""
    clock = ManualClock(1_700_000_000.0)
    private = RateLimiter("memory://", clock=clock, sleep=clock.sleep)
    yield private, clock
    private.close()


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


class ManualClock:
    """Epoch time that moves only when the limiter sleeps; records every sleep."""

    def __init__(self, now: float) -> None:
        self.now = now
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 6))
        self.now += seconds


LIMIT = RateLimit("default", 1000, 2.0)


def test_live_headers_wait_for_the_reset_the_vendor_announces(limiter_clock):
    limiter, clock = limiter_clock
    limiter.observe("v:k:default", QuotaReading("default", 1, 20, 2.0, resets_at=clock.now + 0.4))

    limiter.acquire("v:k:default", LIMIT)

    assert clock.sleeps == [0.4]


def test_a_reset_past_the_window_is_capped_at_one_window(limiter_clock):
    limiter, clock = limiter_clock
    limiter.observe("v:k:default", QuotaReading("default", 0, 20, 2.0, resets_at=clock.now + 90))

    limiter.acquire("v:k:default", LIMIT)

    assert clock.sleeps == [2.0]


def test_without_a_reset_only_an_exhausted_budget_waits_a_whole_window(limiter_clock):
    limiter, clock = limiter_clock
    limiter.observe("v:k:default", QuotaReading("default", 1, 20, 2.0))
    limiter.acquire("v:k:default", LIMIT)
    limiter.observe("v:k:default", QuotaReading("default", 0, 20, 2.0))
    limiter.acquire("v:k:default", LIMIT)

    assert clock.sleeps == [2.0]


def test_a_window_spent_by_this_process_alone_is_left_to_the_proactive_layer(limiter_clock):
    limiter, clock = limiter_clock
    for _ in range(20):
        limiter.acquire("v:k:default", LIMIT)
    limiter.observe("v:k:default", QuotaReading("default", 0, 20, 2.0))

    limiter.acquire("v:k:default", LIMIT)

    assert clock.sleeps == []


def test_a_budget_above_the_margin_never_waits(limiter_clock):
    limiter, clock = limiter_clock
    limiter.observe("v:k:default", QuotaReading("default", 2, 20, 2.0, resets_at=clock.now + 1))

    limiter.acquire("v:k:default", LIMIT)

    assert clock.sleeps == []


def test_lemlist_reset_date_string_is_read_as_a_moment(server, lemlist, limiter):
    reset = "Tue Feb 16 2021 09:02:42 GMT+0100 (Central European Standard Time)"
    reading = lemlist_quota_reader(2.0)(
        {"X-RateLimit-Limit": "20", "X-RateLimit-Remaining": "1", "X-RateLimit-Reset": reset}
    )

    assert reading is not None
    assert reading.resets_at == datetime(2021, 2, 16, 8, 2, 42, tzinfo=UTC).timestamp()
    assert parse_reset_date("1613462562") is None
    assert parse_reset_date("Tue Foo 16 2021 09:02:42 GMT+0100") is None


def test_a_pause_holds_every_caller_of_the_key(limiter):
    limit = RateLimit("default", 1000, 1.0)
    limiter.pause("v:k:default", 0.3)

    waited = limiter.acquire("v:k:default", limit)

    assert waited >= 0.28


def test_safety_margin_paces_published_limits_by_stretching_their_window():
    limiter = RateLimiter(safety_margin=0.9)

    assert limiter.effective_limit(RateLimit("burst", 100, 10)) == pytest.approx(90)
    assert limiter.paced_interval_s(RateLimit("burst", 100, 10)) == pytest.approx(10 / 0.9)
    assert limiter.effective_limit(RateLimit("tiny", 1, 1)) == pytest.approx(0.9)


def test_the_default_margin_uses_95_percent_of_each_limit_without_flooring_small_ones():
    limiter = RateLimiter()

    assert limiter.effective_limit(RateLimit("search", 5, 1)) == pytest.approx(4.75)
    assert limiter.effective_limit(RateLimit("burst", 100, 10)) == pytest.approx(95)
    assert limiter.effective_limit(RateLimit("lemlist", 20, 2)) == pytest.approx(19)
    assert limiter.effective_limit(RateLimit("explorium", 200, 60)) == pytest.approx(190)


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
allowed, margin, pause = int(sys.argv[5]), float(sys.argv[6]), float(sys.argv[7])
limiter = RateLimiter(url, namespace=namespace, safety_margin=margin)
limit = RateLimit("default", allowed, 1.0)
limiter.acquire("vendor:key:default", limit)
time.sleep(max(0.0, start_at - time.time()))
stamps = []
for _ in range(count):
    limiter.acquire("vendor:key:default", limit)
    stamps.append(time.time())
    time.sleep(pause)
limiter.close()
print(json.dumps(stamps))
"""


def run_workers(
    url: str,
    namespace: str,
    workers: int = 3,
    each: int = 5,
    limit: int = 5,
    margin: float = 1.0,
    pause_s: float = 0.0,
) -> list[float]:
    """When each of ``workers`` processes got each of its ``each`` permits under ``limit``
    per second, sorted; a worker pauses ``pause_s`` after each permit, as if sending."""
    start_at = time.time() + 2.0
    arguments = [url, namespace, str(start_at), str(each), str(limit), str(margin), str(pause_s)]
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, *arguments],
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


def test_far_from_the_limit_permits_are_leased_in_blocks_from_the_shared_bucket(
    tmp_path, monkeypatch
):
    tries: list[int] = []
    real_try = Limiter.try_acquire

    def counted(self: Limiter, name: str, weight: int = 1, **kwargs: object) -> object:
        tries.append(weight)
        return real_try(self, name, weight, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Limiter, "try_acquire", counted)
    limiter = RateLimiter(f"sqlite:///{tmp_path / 'limits.db'}")

    for _ in range(19):
        limiter.acquire("v:k:published", RateLimit("published", 20, 2.0))
    published = list(tries)
    tries.clear()
    for _ in range(640):
        limiter.acquire("v:k:scaled", RateLimit("scaled", 20_000, 2.0))
    limiter.close()

    assert published == [1] * 19
    assert tries.count(32) >= 20
    assert len(tries) < 640 / 4, "a lease lapses unused only after its short horizon"


def test_leased_permits_keep_every_window_within_the_limit_across_processes(tmp_path, namespace):
    stamps = run_workers(
        f"sqlite:///{tmp_path / 'limits.db'}",
        namespace,
        each=1500,
        limit=1000,
        margin=0.95,
        pause_s=0.002,
    )

    assert len(stamps) == 4500
    for first, later in zip(stamps, stamps[1000:], strict=False):
        assert later - first > 1.0, (first, later)


@pytest.mark.postgres
def test_threads_waiting_on_one_shared_bucket_each_get_a_wait_and_then_a_permit(
    postgres_namespace,
):
    limiter = RateLimiter(POSTGRES_URL, namespace=postgres_namespace)
    limit = RateLimit("default", 20, 0.2)
    failures: list[BaseException] = []

    def take_five() -> None:
        try:
            for _ in range(5):
                limiter.acquire("v:k:default", limit)
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=take_five) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    limiter.close()

    assert failures == []
