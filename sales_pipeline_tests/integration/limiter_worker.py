"""The body of a spawned step process for the shared-limiter tests (importable by spawn).

It imports only the client layer, as a Dagster step process would, and reports its client's
metrics through a queue.
"""

from __future__ import annotations

from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from typing import Any

from sales_pipeline.clients import LemlistClient, RateLimiter, Secret


def list_campaigns_repeatedly(
    lemlist_url: str,
    api_key: str,
    limiter_url: str,
    namespace: str,
    calls: int,
    start: Barrier,
    results: Queue[dict[str, Any]],
) -> None:
    """Wait for every process to be ready, list campaigns ``calls`` times at full speed,
    then put ``{"campaigns": [counts], **metrics}`` on ``results``."""
    limiter = RateLimiter(limiter_url, namespace=namespace)
    try:
        with LemlistClient(lemlist_url, api_key=Secret(api_key), limiter=limiter) as client:
            start.wait(timeout=60)
            campaigns = [len(client.list_campaigns()) for _ in range(calls)]
            results.put({"campaigns": campaigns, **client.metrics_snapshot()})
    finally:
        limiter.close()
