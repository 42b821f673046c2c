"""A tiny scripted HTTP server for client tests: real sockets, no mocking of requests.

`ScriptedServer` records every request and answers either from a FIFO of
`Scripted` responses or from a handler function that implements just enough
of a vendor's semantics for one test.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from sales_pipeline.clients import (
    ExploriumClient,
    HubSpotClient,
    HubSpotSettings,
    LemlistClient,
    RateLimiter,
    RetryPolicy,
    Secret,
    Timeouts,
    TransportConfig,
)


@dataclass
class Recorded:
    """One request the server received."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    at: float

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None


@dataclass
class Scripted:
    """One scripted answer.

    ``drop`` closes the socket without answering; ``truncate`` announces a
    chunked body and closes mid-chunk; ``endless`` sends a chunked body that
    never ends (until the client hangs up); ``trickle_s`` sends the body a byte
    at a time with that pause; ``delay_s`` sleeps before answering.
    """

    status: int = 200
    json: Any = None
    text: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    drop: bool = False
    truncate: bool = False
    endless: bool = False
    trickle_s: float = 0.0
    content_type: str | None = None


Handler = Callable[[Recorded], Scripted]


class ScriptedServer:
    """HTTP server on 127.0.0.1 answering from a queue or a handler."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self._queue: deque[Scripted] = deque()
        self.handler: Handler | None = None
        self._lock = threading.Lock()
        owner = self

        class _RequestHandler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                """Silence the default stderr access log."""

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                parts = urlsplit(self.path)
                recorded = Recorded(
                    method=self.command,
                    path=parts.path,
                    query=parse_qs(parts.query),
                    headers=dict(self.headers.items()),
                    body=self.rfile.read(length) if length else b"",
                    at=time.time(),
                )
                owner._serve(self, recorded)

            do_GET = do_POST = do_DELETE = do_PATCH = do_PUT = _serve  # noqa: N815 - http.server names

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _RequestHandler)
        self._server.daemon_threads = True
        self._server.handle_error = lambda request, client_address: None  # type: ignore[method-assign]
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def queue(self, *responses: Scripted) -> None:
        """Answer the next requests with ``responses``, in order."""
        with self._lock:
            self._queue.extend(responses)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _next(self, recorded: Recorded) -> Scripted:
        with self._lock:
            self.requests.append(recorded)
            if self._queue:
                return self._queue.popleft()
        if self.handler is not None:
            return self.handler(recorded)
        return Scripted(599, text="unscripted request")

    def _serve(self, handler: BaseHTTPRequestHandler, recorded: Recorded) -> None:
        answer = self._next(recorded)
        if answer.delay_s:
            time.sleep(answer.delay_s)
        if answer.drop:
            handler.close_connection = True
            handler.connection.shutdown(socket.SHUT_RDWR)
            return
        if answer.json is not None:
            body = json.dumps(answer.json).encode()
            content_type = answer.content_type or "application/json"
        else:
            body = (answer.text or "").encode()
            content_type = answer.content_type or "text/plain; charset=utf-8"
        handler.send_response(answer.status)
        handler.send_header("Content-Type", content_type)
        for name, value in answer.headers.items():
            handler.send_header(name, value)
        if answer.endless:
            handler.send_header("Transfer-Encoding", "chunked")
            handler.end_headers()
            chunk = b" " * 65536
            while True:
                handler.wfile.write(b"10000\r\n" + chunk + b"\r\n")
                handler.wfile.flush()
        if answer.truncate:
            handler.send_header("Transfer-Encoding", "chunked")
            handler.end_headers()
            handler.wfile.write(b"400\r\n" + body[:10])
            handler.wfile.flush()
            handler.close_connection = True
            handler.connection.shutdown(socket.SHUT_RDWR)
            return
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        if answer.trickle_s:
            for byte in body:
                handler.wfile.write(bytes([byte]))
                handler.wfile.flush()
                time.sleep(answer.trickle_s)
        else:
            handler.wfile.write(body)


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    """A fresh scripted server per test."""
    scripted = ScriptedServer()
    yield scripted
    scripted.close()


POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
REDIS_URL = "redis://127.0.0.1:6379/0"


def drop_limiter_state(backend_url: str, namespace: str) -> None:
    """Remove the buckets a limiter ``namespace`` left in PostgreSQL or Redis."""
    if backend_url.startswith("postgresql"):
        import psycopg

        with psycopg.connect(backend_url, autocommit=True) as connection:
            rows = connection.execute(
                "SELECT tablename FROM pg_tables WHERE tablename LIKE %s", (f"%{namespace}%",)
            ).fetchall()
            for (table,) in rows:
                connection.execute(f'DROP TABLE IF EXISTS "{table}"')
    elif backend_url.startswith("redis"):
        import redis

        client = redis.Redis.from_url(backend_url)
        for key in client.scan_iter(f"{namespace}:*"):
            client.delete(key)
        client.close()


@pytest.fixture
def limiter() -> Iterator[RateLimiter]:
    """A private in-memory limiter per test, so tests never share buckets."""
    private = RateLimiter("memory://")
    yield private
    private.close()


def fast_config(**retry: Any) -> TransportConfig:
    """Short timeouts and tiny backoffs, so retry tests take milliseconds."""
    policy: dict[str, Any] = {
        "max_tries": 3,
        "backoff_initial_s": 0.01,
        "backoff_max_s": 0.05,
        "max_elapsed_s": 20.0,
    }
    policy.update(retry)
    return TransportConfig(
        timeouts=Timeouts(connect_s=1.0, read_s=0.5, total_s=2.0),
        retry=RetryPolicy(**policy),
        breaker_failure_threshold=3,
        breaker_reset_timeout_s=0.3,
    )


HUBSPOT_TOKEN = "pat-na1-11111111-2222-3333-4444-555555555555"
EXPLORIUM_KEY = "expl-key-0123456789abcdef"
LEMLIST_KEY = "lemlist-key-fedcba9876543210"


@pytest.fixture
def hubspot(server: ScriptedServer, limiter: RateLimiter) -> Iterator[HubSpotClient]:
    """A private-app HubSpot client on the scripted server (limits lifted for speed)."""
    with HubSpotClient(
        f"{server.url}/hubspot",
        access_token=Secret(HUBSPOT_TOKEN),
        settings=HubSpotSettings(burst_limit=10_000, search_limit=10_000),
        transport_config=fast_config(),
        limiter=limiter,
    ) as client:
        yield client


@pytest.fixture
def explorium(server: ScriptedServer, limiter: RateLimiter) -> Iterator[ExploriumClient]:
    """An Explorium client on the scripted server."""
    with ExploriumClient(
        f"{server.url}/explorium/v1",
        api_key=Secret(EXPLORIUM_KEY),
        transport_config=fast_config(),
        limiter=limiter,
    ) as client:
        yield client


@pytest.fixture
def lemlist(server: ScriptedServer, limiter: RateLimiter) -> Iterator[LemlistClient]:
    """A Lemlist client on the scripted server."""
    with LemlistClient(
        f"{server.url}/lemlist/api",
        api_key=Secret(LEMLIST_KEY),
        transport_config=fast_config(),
        limiter=limiter,
    ) as client:
        yield client
