"""`VendorClient.concurrently`: bounded, ordered, lazy, context-preserving parallel calls."""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Iterator

import pytest

from sales_pipeline.clients import LemlistClient, Secret, TransportConfig

_marker: contextvars.ContextVar[str] = contextvars.ContextVar("marker", default="unset")


def _client(concurrency: int) -> LemlistClient:
    return LemlistClient(
        "http://127.0.0.1:9",
        api_key=Secret("k"),
        transport_config=TransportConfig(concurrency=concurrency),
    )


def test_results_come_back_in_the_order_of_the_items() -> None:
    def slower_first(n: int) -> int:
        time.sleep(0.01 * (5 - n % 5))
        return n

    with _client(4) as client:
        results = list(client.concurrently(slower_first, range(20)))
    assert results == list(range(20))


def test_no_more_than_the_configured_calls_run_at_once() -> None:
    running, peak, lock = 0, 0, threading.Lock()

    def work(n: int) -> int:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.02)
        with lock:
            running -= 1
        return n

    with _client(3) as client:
        assert len(list(client.concurrently(work, range(15)))) == 15
    assert peak == 3


def test_items_are_drawn_lazily_a_bounded_distance_ahead() -> None:
    drawn = 0

    def items() -> Iterator[int]:
        nonlocal drawn
        for n in range(1000):
            drawn += 1
            yield n

    with _client(2) as client:
        results = client.concurrently(lambda n: n, items())
        assert next(results) == 0
        assert drawn <= 5
        del results


def test_each_call_runs_in_the_callers_context() -> None:
    _marker.set("run-42")
    with _client(4) as client:
        assert set(client.concurrently(lambda _: _marker.get(), range(8))) == {"run-42"}


def test_a_failure_surfaces_at_its_item_and_later_items_are_dropped() -> None:
    started: list[int] = []

    def work(n: int) -> int:
        started.append(n)
        if n == 3:
            raise ValueError("item 3")
        return n

    with _client(2) as client:
        results = client.concurrently(work, range(100))
        assert [next(results) for _ in range(3)] == [0, 1, 2]
        with pytest.raises(ValueError, match="item 3"):
            next(results)
    assert len(started) < 100


def test_a_concurrency_of_one_stays_in_the_callers_thread() -> None:
    caller = threading.get_ident()
    with _client(1) as client:
        assert set(client.concurrently(lambda _: threading.get_ident(), range(5))) == {caller}
