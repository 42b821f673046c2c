"""Serving the receiver with uvicorn: in the foreground (the CLI) or on a thread (tests,
benchmarks)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from sales_pipeline.store.pipeline_store import PipelineStore
from sales_pipeline.webhooks.app import ReceiverConfig, create_app

STARTUP_TIMEOUT_SECONDS = 30.0


def _server(config: ReceiverConfig, store: PipelineStore, host: str, port: int) -> uvicorn.Server:
    """A uvicorn server for the receiver. The access log is off: the receiver logs one line
    per request itself, with no client address, path or query."""
    return uvicorn.Server(
        uvicorn.Config(
            create_app(config, store),
            host=host,
            port=port,
            access_log=False,
            server_header=False,
            proxy_headers=False,
            timeout_keep_alive=30,
            log_config=None,
        )
    )


def serve(config: ReceiverConfig, store: PipelineStore, host: str, port: int) -> None:
    """Serve until SIGINT or SIGTERM (uvicorn finishes the requests in flight first)."""
    _server(config, store, host, port).run()


@contextmanager
def running_receiver(
    config: ReceiverConfig, store: PipelineStore, host: str = "127.0.0.1", port: int = 0
) -> Iterator[str]:
    """Serve on a background thread for the ``with`` block, on ``port`` (0: a free one);
    yields the base URL (``http://host:port``)."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, port))
    port = listener.getsockname()[1]
    server = _server(config, store, host, port)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [listener]}, name="webhooks", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the webhook receiver did not start")
        time.sleep(0.01)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=STARTUP_TIMEOUT_SECONDS)
        listener.close()
