"""Proactive rate limiting: stay under the vendor's limits instead of meeting 429s.

Two layers, both consulted before every request:

1. **Published limits**, counted by ``pyrate-limiter`` (4.x). We use it
   because it already implements the four backends we need (in-memory,
   SQLite, Redis with atomic Lua scripts, PostgreSQL under a table lock) and
   is actively maintained; writing our own would duplicate that with less
   testing. Memory, SQLite and PostgreSQL keep exact sliding-window logs
   (Redis: see below). The backend is chosen by
   URL, so threads share the in-process default and processes or machines
   share a SQLite file, a PostgreSQL database or a Redis instance:

   ========================================  ====================================
   ``memory://``                             this process (all threads)
   ``sqlite:///path/to/file.db``             processes on one machine (file lock;
                                             the folder is created if missing)
   ``postgresql://user@host:5432/db``        every process reaching the database
   ``redis://host:6379/0``                   every process reaching the server
   ========================================  ====================================

   The PostgreSQL bucket needs psycopg 3 (``psycopg[binary,pool]``); SQLAlchemy
   style URLs (``postgresql+psycopg2://``) are accepted and reduced to libpq form.

   On Redis we use pyrate-limiter's GCRA state store instead of its sliding-window
   log: that log's script counts only entries stamped up to the caller's own
   clock reading, so processes racing at a window edge can slip past it (we saw
   6 admissions for a limit of 5). GCRA keeps one "theoretical arrival time"
   that only moves forward, so out-of-order stamps make it stricter, never
   looser. To keep every rolling window within the limit ``L`` it runs at
   ``L - B`` per window with a burst of ``B = max(1, L // 10)``.

   Each limit is paced by ``safety_margin`` (default 0.95), so a healthy run
   aims at 95 % of what the vendor allows: ``L`` requests per ``W / margin``
   seconds instead of ``L`` per ``W``. Stretching the window rather than
   scaling the count keeps the fraction exact for small limits (HubSpot's
   5 searches per second run at 4.75/s; a count floored to 4 would drop a fifth
   of the budget) and never puts more than ``L`` requests in any ``W`` seconds.
   The stretch (5 % of each window) and the 50 ms a waiting request sleeps past
   the moment the bucket frees (see `_Slot.retry_after_s`) leave room for
   network jitter at window edges; `benchmarks/client_rates.py` measures the
   fraction each limit reaches and the 429s met.
   On Redis, GCRA paces ``L - B`` per stretched window with a burst of ``B``
   (see above), which is coarser for limits under 20.

   **Leases.** A permit from a shared backend costs a transaction (the SQLite
   bucket: a file lock and a commit, about 0.5 ms of CPU), which dominated the
   push once limits were far above what one process sends. So a slot takes
   ``k`` permits in one try and hands them out locally for a short *horizon*
   ``h``, after which unused ones are dropped. This never breaks the limit:
   every request goes out within ``h`` of its permit's stamp, so the requests
   of any vendor window of ``W`` seconds hold stamps from ``W + h`` seconds,
   and ``h`` is half of the stretch ``W / margin - W``, so that span fits
   inside one paced window, which holds at most ``L`` stamps; the other half
   of the stretch is left for network jitter. ``k`` is a quarter of what the
   bucket admits in ``h`` (at most 32), so a lease that expires unused wastes
   little budget; at every published limit it is 1, exactly one transaction
   per request as before, and it grows only when the limits are scaled far up
   (benchmarks run with limits x 1000).

2. **Live headers**: `RateLimiter.observe` records what the last answer said
   (remaining, limit, window, reset). When the remaining budget is down to the
   margin (e.g. <= 5 of 100), requests wait until the vendor's window has room
   again: until the reset the vendor announces (Explorium's Unix time,
   Lemlist's date string), at most one window after the observation. A vendor
   that announces no reset (HubSpot) is only waited on for a whole window when
   nothing remains at all and this process did not send all of the window's
   requests itself: a sliding window frees gradually, so waiting a whole window
   for a margin the proactive layer already keeps would halve the rate whenever
   requests spread over the window, and when the spent window is our own burst
   the proactive layer's exact log already knows when it frees (waiting a whole
   window after it cost a writeback with 8 calls in flight 0.3 of HubSpot's
   burst budget). This layer catches other consumers of the same account that
   do not share our limiter.
   `RateLimiter.pause` holds a key after a 429, so other threads stop instead
   of adding to the storm.
   This layer is per process: every process reads the vendor's own headers.

Keys are ``"{vendor}:{credential fingerprint}:{limit name}"``: one bucket per
vendor, credential and limit (HubSpot's search limit is separate from its
burst limit).
"""

from __future__ import annotations

import hashlib
import math
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from pyrate_limiter import (
    GCRA,
    AbstractBucket,
    InMemoryBucket,
    Limiter,
    PostgresBucket,
    Rate,
    RateItem,
    RedisStateStore,
    SQLiteBucket,
    StateBucket,
)


@dataclass(frozen=True)
class RateLimit:
    """A published vendor limit: ``limit`` requests per ``interval_s`` seconds."""

    name: str
    limit: int
    interval_s: float


@dataclass(frozen=True)
class QuotaReading:
    """What one answer's rate-limit headers said about a limit.

    Attributes:
        limit_name: Which `RateLimit` of the vendor the headers describe.
        remaining: Requests left in the current window.
        limit: Size of the window's budget as the vendor reports it.
        window_s: Window length in seconds.
        resets_at: Epoch seconds when the window resets, if the vendor says so.
    """

    limit_name: str
    remaining: int
    limit: int
    window_s: float
    resets_at: float | None = None


class RateLimiter:
    """Sliding-window limiter shared by threads, and via its backend by processes.

    Args:
        backend_url: ``memory://``, ``sqlite:///path``, ``postgresql://...`` or
            ``redis://...``.
        namespace: Prefix of bucket tables/keys, to separate deployments.
        safety_margin: Fraction of each published limit actually used (0 < m <= 1).
        max_wait_s: Longest `acquire` blocks before raising `TimeoutError`.
        clock: Wall clock in epoch seconds (injectable for tests).
        sleep: Sleep function (injectable for tests).
    """

    def __init__(
        self,
        backend_url: str = "memory://",
        *,
        namespace: str = "sales_pipeline",
        safety_margin: float = 0.95,
        max_wait_s: float = 120.0,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not 0 < safety_margin <= 1:
            raise ValueError("safety_margin must be in (0, 1]")
        self.backend_url = backend_url
        self.namespace = namespace
        self.safety_margin = safety_margin
        self.max_wait_s = max_wait_s
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._slots: dict[str, _Slot] = {}
        self._readings: dict[str, tuple[QuotaReading, float]] = {}
        self._paused_until: dict[str, float] = {}
        self._sent: dict[str, deque[float]] = {}
        self._backend = _Backend.from_url(backend_url)

    def effective_limit(self, limit: RateLimit) -> float:
        """Requests per ``limit.interval_s`` this limiter admits for ``limit`` at full speed
        (margin applied, fractional: 5 per second at 0.95 is 4.75, not 4)."""
        return limit.limit * self.safety_margin

    def paced_interval_s(self, limit: RateLimit) -> float:
        """The window in which this limiter admits ``limit.limit`` requests: the vendor's
        window stretched by the margin."""
        return limit.interval_s / self.safety_margin

    def acquire(
        self, key: str, limit: RateLimit, sleep: Callable[[float], None] | None = None
    ) -> float:
        """Block until one more request under ``limit`` is allowed for ``key``.

        Waits first for any live-header pause of ``key``, then for a permit
        from the shared bucket. Each attempt is a zero-timeout try stamped
        with the backend's current time, and we sleep between tries for the
        bucket's own retry-after. (pyrate-limiter's blocking wait re-stamps a
        waiting item with ``old stamp + sleep`` and so, on Redis, can miss
        entries other processes stamped later; its ``blocking=False`` mode
        passes a bool timeout that filelock 4 rejects.)

        Args:
            key: The bucket.
            limit: The published limit the bucket paces.
            sleep: How to wait (default: the limiter's own sleep); a client
                passes a cancellable one, which may raise to abandon the wait.

        Returns:
            Seconds spent waiting.

        Raises:
            TimeoutError: No permit within ``max_wait_s``.
        """
        wait = sleep or self._sleep
        started = time.monotonic()
        live_wait = self._live_wait(key)
        if live_wait > 0:
            wait(live_wait)
        slot = self._slot_for(key, limit)
        deadline = started + self.max_wait_s
        while (pause := slot.take(key)) is not None:
            if time.monotonic() + pause > deadline:
                raise TimeoutError(f"no rate-limit permit for {key} within {self.max_wait_s} s")
            wait(pause)
        self._record_sent(key, slot.interval_s)
        return time.monotonic() - started

    def observe(self, key: str, reading: QuotaReading) -> None:
        """Record the live quota the vendor reported for ``key``."""
        with self._lock:
            self._readings[key] = (reading, self._clock())

    def pause(self, key: str, seconds: float) -> None:
        """Hold every request for ``key`` in this process for ``seconds`` (and drop the
        permits leased for it: they were counted for a moment the vendor refused)."""
        with self._lock:
            until = self._clock() + seconds
            self._paused_until[key] = max(until, self._paused_until.get(key, 0.0))
            slot = self._slots.get(key)
        if slot is not None:
            slot.drop_lease()

    def close(self) -> None:
        """Release backend connections and leak threads."""
        with self._lock:
            slots = list(self._slots.values())
            self._slots.clear()
        for slot in slots:
            slot.limiter.close()
        self._backend.close()

    def _record_sent(self, key: str, kept_s: float) -> None:
        """Remember when this process was let through for ``key``, for ``kept_s`` seconds."""
        now = self._clock()
        with self._lock:
            sent = self._sent.setdefault(key, deque())
            sent.append(now)
            while sent and sent[0] < now - kept_s:
                sent.popleft()

    def _live_wait(self, key: str) -> float:
        now = self._clock()
        with self._lock:
            until = self._paused_until.get(key, 0.0)
            observed = self._readings.get(key)
            if observed is not None:
                reading, observed_at = observed
                reserve = max(1, math.ceil(round(reading.limit * (1 - self.safety_margin), 9)))
                if reading.remaining <= reserve:
                    if not self._all_ours(key, reading, observed_at):
                        until = max(until, _room_at(reading, observed_at))
                    del self._readings[key]
        return max(0.0, until - now)

    def _all_ours(self, key: str, reading: QuotaReading, observed_at: float) -> bool:
        """Whether a vendor without announced resets counts only requests this process sent
        in the window before ``observed_at`` (then the proactive layer knows when it frees)."""
        if reading.resets_at is not None:
            return False
        since = observed_at - reading.window_s
        ours = sum(1 for at in self._sent.get(key, ()) if since <= at <= observed_at)
        return ours >= reading.limit - reading.remaining

    def _slot_for(self, key: str, limit: RateLimit) -> _Slot:
        with self._lock:
            slot = self._slots.get(key)
            if slot is None:
                interval_s = self.paced_interval_s(limit)
                rate = Rate(limit.limit, round(interval_s * 1000))
                bucket = self._backend.bucket(f"{self.namespace}:{key}", rate)
                horizon_s = (interval_s - limit.interval_s) / 2
                lease = min(_MAX_LEASE, int(limit.limit * horizon_s / interval_s / 4))
                slot = _Slot(Limiter(bucket), bucket, interval_s, max(1, lease), horizon_s)
                self._slots[key] = slot
            return slot


def _room_at(reading: QuotaReading, observed_at: float) -> float:
    """When the vendor's window has room again: its announced reset (at most one window
    away), else a whole window when nothing remains, else now (epoch seconds)."""
    window_end = observed_at + reading.window_s
    if reading.resets_at is not None:
        return min(reading.resets_at, window_end)
    return window_end if reading.remaining == 0 else observed_at


_MAX_LEASE = 32
"""Most permits one slot takes from its bucket at once (see "Leases" above)."""


@dataclass
class _Slot:
    """One key's pyrate-limiter ``Limiter`` (which also leaks old entries) and bucket, and
    the permits leased from it: ``lease`` at a time, each usable for ``horizon_s``."""

    limiter: Limiter
    bucket: AbstractBucket
    interval_s: float
    lease: int
    horizon_s: float
    lock: threading.Lock = field(default_factory=threading.Lock)
    """Makes a try and its wait one step: the bucket keeps the rate the last failed put hit as
    its own state, so another thread's successful put between them would leave nothing to
    compute the wait from (pyrate-limiter asserts, and the step failed under concurrency)."""
    leased: int = 0
    lease_ends: float = 0.0
    """Permits leased and not handed out yet, and the monotonic time they lapse."""

    _MIN_PAUSE_S = 0.01
    _BUFFER_S = 0.05

    def take(self, key: str) -> float | None:
        """One permit for ``key`` now (None), or how long to wait before trying again."""
        with self.lock:
            if self.leased and time.monotonic() < self.lease_ends:
                self.leased -= 1
                return None
            if self.lease > 1 and self.limiter.try_acquire(
                key, weight=self.lease, blocking=True, timeout=0
            ):
                self.leased = self.lease - 1
                self.lease_ends = time.monotonic() + self.horizon_s
                return None
            self.leased = 0
            if self.limiter.try_acquire(key, blocking=True, timeout=0):
                return None
            return self.retry_after_s()

    def drop_lease(self) -> None:
        """Forget the permits leased and not handed out yet."""
        with self.lock:
            self.leased = 0

    def retry_after_s(self) -> float:
        """How long until the bucket may admit one more, plus 50 ms for the
        network jitter between our clock and the vendor's; within [10 ms, interval]."""
        probe = self.limiter.bucket_factory.wrap_item("probe", 1)
        waiting = self.bucket.waiting(probe) if isinstance(probe, RateItem) else 0
        wait_s = (
            waiting / 1000 + self._BUFFER_S if isinstance(waiting, int) and waiting > 0 else 0.0
        )
        return min(max(wait_s, self._MIN_PAUSE_S), self.interval_s)


class _Backend:
    """Creates pyrate-limiter buckets for one backend URL."""

    def __init__(self, make: Callable[[str, Rate], AbstractBucket], close: Callable[[], None]):
        self.bucket = make
        self.close = close

    @classmethod
    def from_url(cls, url: str) -> _Backend:
        scheme = urlsplit(url).scheme.split("+", 1)[0].lower()
        if scheme == "memory":
            return cls(lambda _, rate: InMemoryBucket([rate]), _nothing)
        if scheme == "sqlite":
            return cls._sqlite(url)
        if scheme in ("postgres", "postgresql"):
            return cls._postgres(url)
        if scheme in ("redis", "rediss"):
            return cls._redis(url)
        raise ValueError(f"unsupported rate-limiter backend scheme {scheme!r}")

    @classmethod
    def _sqlite(cls, url: str) -> _Backend:
        path = url.split(":///", 1)[1] if ":///" in url else ""
        if not path:
            raise ValueError("sqlite limiter URL needs a file path: sqlite:///path/to/file.db")
        Path(path).parent.mkdir(parents=True, exist_ok=True)

        def make(name: str, rate: Rate) -> AbstractBucket:
            return SQLiteBucket.init_from_file(
                [rate], table=_table_name(name), db_path=path, use_file_lock=True
            )

        return cls(make, _nothing)

    @classmethod
    def _postgres(cls, url: str) -> _Backend:
        from psycopg_pool import ConnectionPool

        parts = urlsplit(url)
        conninfo = urlunsplit(("postgresql", parts.netloc, parts.path, parts.query, ""))
        pool = ConnectionPool(conninfo, min_size=1, max_size=4, open=True)

        def make(name: str, rate: Rate) -> AbstractBucket:
            return PostgresBucket(pool, _table_name(name), [rate])

        return cls(make, pool.close)

    @classmethod
    def _redis(cls, url: str) -> _Backend:
        import redis

        client = redis.Redis.from_url(url)

        def make(name: str, rate: Rate) -> AbstractBucket:
            burst = max(1, rate.limit // 10)
            paced = Rate(max(1, rate.limit - burst), rate.interval, burst=burst)
            return StateBucket([paced], algorithm=GCRA(), store=RedisStateStore(client, name))

        return cls(make, client.close)


def _nothing() -> None:
    """Nothing to release."""


_MAX_TABLE_NAME = 40


def _table_name(name: str) -> str:
    """A safe SQL identifier for bucket ``name`` (short enough for PostgreSQL's 63)."""
    cleaned = re.sub(r"[^a-z0-9_]", "_", name.lower())
    if len(cleaned) <= _MAX_TABLE_NAME:
        return cleaned
    digest = hashlib.sha256(name.encode()).hexdigest()[:10]
    return f"{cleaned[: _MAX_TABLE_NAME - 11]}_{digest}"


_shared_lock = threading.Lock()
_shared: dict[str, RateLimiter] = {}


def shared_limiter(backend_url: str = "memory://") -> RateLimiter:
    """The process-wide `RateLimiter` for ``backend_url`` (created on first use).

    Clients default to ``shared_limiter()``, so every client of a vendor and
    credential in one process draws from the same buckets.
    """
    with _shared_lock:
        limiter = _shared.get(backend_url)
        if limiter is None:
            limiter = RateLimiter(backend_url)
            _shared[backend_url] = limiter
        return limiter
