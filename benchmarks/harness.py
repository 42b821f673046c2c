"""What the benchmarks share: a sandbox served by a child process, a session that logs sends.

In the benchmark's own process the sandbox would share the interpreter lock with the clients it
serves, so its work would be timed (and profiled) as the pipeline's, and at several calls in
flight it would slow the very pacing being measured. The child builds the world from the same
``SandboxConfig`` (the world is seeded), so the parent can build it too to know its contacts.
"""

from __future__ import annotations

import multiprocessing
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

import requests
import urllib3

from sales_pipeline.sandbox import SandboxAddress, SandboxConfig, run_sandbox
from sales_pipeline.sandbox.core.vendor import Credentials


@dataclass(frozen=True)
class ServedSandbox(SandboxAddress):
    """Where the child's sandbox listens and the credentials it accepts."""

    credentials: Credentials

    def stats(self) -> dict[str, Any]:
        """Per vendor: requests, requests by endpoint and status, 429s, vendor extras."""
        answer = requests.get(f"{self.base_url}/_sandbox/stats", timeout=60)
        answer.raise_for_status()
        stats: dict[str, Any] = answer.json()
        return stats


class SendLog(urllib3.PoolManager):
    """A pool manager that records when each request leaves (monotonic seconds)."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[float] = []
        self._lock = threading.Lock()

    def urlopen(self, *args: Any, **kwargs: Any) -> urllib3.BaseHTTPResponse:
        with self._lock:
            self.sent.append(time.monotonic())
        return super().urlopen(*args, **kwargs)


def _serve(config: SandboxConfig, pipe: Connection) -> None:
    """Child process: serve ``config`` until the parent says stop."""
    with run_sandbox(config) as handle:
        pipe.send((handle.base_url, handle.credentials))
        pipe.recv()


@contextmanager
def served_sandbox(config: SandboxConfig) -> Iterator[ServedSandbox]:
    """Serve ``config`` from a child process for the ``with`` block."""
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(target=_serve, args=(config, child))
    process.start()
    try:
        yield ServedSandbox(*parent.recv())
    finally:
        parent.send("stop")
        process.join()
