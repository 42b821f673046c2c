"""Webhook delivery: the sandbox posts vendor events to their target URLs as the vendors do.

Each vendor hands over :class:`Delivery` objects (``Vendor.webhook_deliveries``, asked every
:data:`PUMP_SECONDS`); the :class:`WebhookDispatcher` posts them from a few worker threads. A
delivery succeeds on a 2xx answer within :data:`DELIVERY_TIMEOUT_SECONDS` (HubSpot's 5 s); any
other answer, a refused connection or a timeout is a failed attempt, retried after the
delivery's next delay (HubSpot: :data:`HUBSPOT_RETRY_DELAYS`, 10 retries over about 24 hours;
Lemlist documents no retries, so its deliveries have none).

Retries are due on the sandbox clock: ``POST /_sandbox/clock`` makes the ones it skips over due
at once, and ``retry_scale`` (``PUT /_sandbox/webhooks``) shrinks every delay. The queue is
bounded (``max_pending``): a delivery that finds it full is dropped and counted, as a vendor
sheds load. Everything is counted per vendor for ``/_sandbox/stats``.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import urllib.error
import urllib.request
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from .clock import Clock

PUMP_SECONDS = 0.05
"""How often (real time) vendors are asked for new deliveries."""

DELIVERY_TIMEOUT_SECONDS = 5.0
"""An answer slower than this is a failed attempt (HubSpot's rule)."""

HUBSPOT_RETRY_DELAYS: tuple[float, ...] = (
    60,
    120,
    300,
    600,
    1800,
    3600,
    2 * 3600,
    4 * 3600,
    6 * 3600,
    10 * 3600,
)
"""Seconds before each of HubSpot's 10 retries: 1 min up to 10 h, 23.8 h in all."""

WORKERS = 4
"""Deliveries in flight at once."""

DEFAULT_MAX_PENDING = 10_000
"""Deliveries the queue holds (waiting or retrying) before it drops new ones."""

Renderer = Callable[[int, float], tuple[bytes, dict[str, str]]]
"""Body and headers of attempt ``n`` (0 first) sent at sandbox time ``now``."""


@dataclass
class Delivery:
    """One webhook request and its retry policy."""

    vendor: str
    url: str
    render: Renderer
    retry_delays: tuple[float, ...] = ()
    attempt: int = 0


class WebhookDispatcher:
    """A bounded, clock-aware retry queue of deliveries and the threads that post them."""

    def __init__(self, clock: Clock, max_pending: int = DEFAULT_MAX_PENDING) -> None:
        self._clock = clock
        self.max_pending = max_pending
        self.retry_scale = 1.0
        self._queue: list[tuple[float, int, Delivery]] = []
        self._sequence = itertools.count()
        self._condition = threading.Condition()
        self._counts: defaultdict[str, Counter[str]] = defaultdict(Counter)
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    # -- lifecycle ------------------------------------------------------------------------

    def start(self, sources: Callable[[], Iterable[Delivery]]) -> None:
        """Start the workers and a pump that submits what ``sources`` yields."""
        self._stopping.clear()
        pump = threading.Thread(target=self._pump, args=(sources,), name="webhook-pump")
        workers = [threading.Thread(target=self._work, name=f"webhook-{n}") for n in range(WORKERS)]
        self._threads = [pump, *workers]
        for thread in self._threads:
            thread.daemon = True
            thread.start()

    def stop(self) -> None:
        """Stop every thread (an attempt in flight finishes first)."""
        self._stopping.set()
        with self._condition:
            self._condition.notify_all()
        for thread in self._threads:
            thread.join(timeout=DELIVERY_TIMEOUT_SECONDS + 1)
        self._threads = []

    def reset(self) -> None:
        """Forget every waiting delivery and every count."""
        with self._condition:
            self._queue.clear()
            self._counts.clear()
            self.retry_scale = 1.0

    def wake(self) -> None:
        """Re-examine due times (the sandbox clock moved)."""
        with self._condition:
            self._condition.notify_all()

    # -- queue ----------------------------------------------------------------------------

    def submit(self, delivery: Delivery) -> bool:
        """Queue ``delivery`` for now; False (and counted as dropped) when the queue is full."""
        return self._push(delivery, self._clock.now(), "queued")

    def _push(self, delivery: Delivery, due: float, counter: str) -> bool:
        with self._condition:
            if len(self._queue) >= self.max_pending:
                self._counts[delivery.vendor]["dropped"] += 1
                return False
            heapq.heappush(self._queue, (due, next(self._sequence), delivery))
            self._counts[delivery.vendor][counter] += 1
            self._condition.notify()
            return True

    def _next_due(self) -> Delivery | None:
        """Wait for the earliest delivery to fall due; None once stopping."""
        with self._condition:
            while not self._stopping.is_set():
                if self._queue:
                    wait = self._queue[0][0] - self._clock.now()
                    if wait <= 0:
                        return heapq.heappop(self._queue)[2]
                    self._condition.wait(timeout=min(wait, 1.0))
                else:
                    self._condition.wait(timeout=1.0)
            return None

    # -- threads --------------------------------------------------------------------------

    def _pump(self, sources: Callable[[], Iterable[Delivery]]) -> None:
        while not self._stopping.wait(PUMP_SECONDS):
            for delivery in sources():
                self.submit(delivery)

    def _work(self) -> None:
        while (delivery := self._next_due()) is not None:
            if self._post(delivery):
                self._count(delivery.vendor, "delivered")
                continue
            self._count(delivery.vendor, "failed_attempts")
            if delivery.attempt >= len(delivery.retry_delays):
                self._count(delivery.vendor, "gave_up")
                continue
            delay = delivery.retry_delays[delivery.attempt] * self.retry_scale
            delivery.attempt += 1
            self._push(delivery, self._clock.now() + delay, "retries")

    def _post(self, delivery: Delivery) -> bool:
        """One attempt: True on a 2xx answer in time."""
        body, headers = delivery.render(delivery.attempt, self._clock.now())
        request = urllib.request.Request(delivery.url, body, headers, method="POST")  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=DELIVERY_TIMEOUT_SECONDS) as answer:  # noqa: S310
                answer.read()
                return 200 <= int(answer.status) < 300
        except (urllib.error.URLError, OSError, ValueError):
            return False

    def _count(self, vendor: str, counter: str) -> None:
        with self._condition:
            self._counts[vendor][counter] += 1

    # -- reporting ------------------------------------------------------------------------

    def stats(self, vendor: str) -> dict[str, Any]:
        """``queued``, ``delivered``, ``failed_attempts``, ``retries``, ``gave_up``,
        ``dropped`` and ``pending`` (waiting now) for ``vendor``."""
        with self._condition:
            counts = self._counts[vendor]
            pending = sum(1 for _, _, delivery in self._queue if delivery.vendor == vendor)
            names = ("queued", "delivered", "failed_attempts", "retries", "gave_up", "dropped")
            return {**{name: counts[name] for name in names}, "pending": pending}

    def settings(self) -> dict[str, Any]:
        """The run-time settings in force."""
        return {"retry_scale": self.retry_scale, "max_pending": self.max_pending}
