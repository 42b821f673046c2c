"""Stopping a client's HTTP work from another thread, within about a second.

A `Cancellation` is one client's handle (``client.cancel()`` sets it). Once set:

* every wait of the client (retry backoff, rate-limit waits, the local
  limiter's pauses) ends at once, because they all sleep through
  `Cancellation.sleep`, which is an ``Event.wait``;
* every connection the client has open is shut down, which ends a request
  blocked waiting for its answer or reading its body (the blocked read fails
  at once instead of after its read timeout);
* every later call raises `Cancelled` before sending anything.

Connections are tracked through `Cancellation.track`: the urllib3 pool
manager's pools then build connections that register themselves with the
cancellation when they connect. A cancellation cannot be undone: a cancelled
client is done; build a new one for new work.
"""

from __future__ import annotations

import socket
import threading
from typing import Any

from urllib3.connectionpool import HTTPConnectionPool
from urllib3.poolmanager import PoolManager


class Cancellation:
    """A one-way switch that aborts a client's waits and open connections.

    Args:
        event: An event to share (e.g. one a run-termination handler sets);
            a private one by default.
    """

    def __init__(self, event: threading.Event | None = None) -> None:
        self._event = event or threading.Event()
        self._lock = threading.Lock()
        self._connections: set[Any] = set()
        self._classes: dict[type, type] = {}
        self._pools: dict[type, type] = {}

    @property
    def cancelled(self) -> bool:
        """Whether `cancel` was called (or the shared event was set)."""
        return self._event.is_set()

    def cancel(self) -> None:
        """Set the switch and shut down every connection open right now."""
        self._event.set()
        with self._lock:
            open_now = list(self._connections)
        for connection in open_now:
            _shut_down(connection)

    def sleep(self, seconds: float) -> bool:
        """Wait ``seconds`` unless cancelled meanwhile; True when the wait was cut short."""
        return self._event.wait(max(0.0, seconds))

    def connection_class(self, base: type[Any]) -> type:
        """``base`` (a urllib3 connection class) whose instances register while connected."""
        with self._lock:
            tracked = self._classes.get(base)
            if tracked is None:
                tracked = _tracking_subclass(base, self)
                self._classes[base] = tracked
            return tracked

    def track(self, http: PoolManager) -> None:
        """Make the pools ``http`` creates from now on build connections this cancellation
        can shut down (``pool_classes_by_scheme`` is urllib3's documented way to choose them)."""
        http.pool_classes_by_scheme = {
            scheme: self._pool_class(base) for scheme, base in http.pool_classes_by_scheme.items()
        }

    def _pool_class(self, base: type[HTTPConnectionPool]) -> type:
        tracked = self._pools.get(base)
        if tracked is None:
            tracked = _tracking_pool(base, self)
            with self._lock:
                tracked = self._pools.setdefault(base, tracked)
        return tracked

    def _opened(self, connection: Any) -> None:
        with self._lock:
            self._connections.add(connection)
        if self.cancelled:
            _shut_down(connection)

    def _closed(self, connection: Any) -> None:
        with self._lock:
            self._connections.discard(connection)


def _tracking_subclass(base: type[Any], cancellation: Cancellation) -> type:
    """A subclass of connection class ``base`` reporting connects and closes."""

    class Tracked(base):  # type: ignore[misc]
        def connect(self) -> None:
            super().connect()
            cancellation._opened(self)

        def close(self) -> None:
            cancellation._closed(self)
            super().close()

    Tracked.__name__ = f"Cancellable{base.__name__}"
    return Tracked


def _shut_down(connection: Any) -> None:
    """Shut the connection's socket both ways: a thread blocked on it returns at once."""
    sock = getattr(connection, "sock", None)
    if sock is None:
        return
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        return


def _tracking_pool(base: type[HTTPConnectionPool], cancellation: Cancellation) -> type:
    """A subclass of pool class ``base`` whose connections report to ``cancellation``."""

    class Tracked(base):  # type: ignore[valid-type,misc]
        ConnectionCls = cancellation.connection_class(base.ConnectionCls)

    Tracked.__name__ = f"Cancellable{base.__name__}"
    return Tracked
