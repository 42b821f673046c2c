"""How many webhook deliveries per second the receiver accepts, and how long an unsubscribe
webhook takes to become a suppression.

Throughput: for each store (a SQLite file, then a throwaway PostgreSQL database), starts
``sales-pipeline webhooks`` in its own process and drives it from this one with keep-alive
sessions on threads, each delivery one v3-signed HubSpot event with its own id (signed before
the clock starts). Every accepted delivery must be in the inbox exactly once afterwards.

Latency: starts the receiver, ``dagster-daemon run`` with ``webhook_inbox_sensor`` started
(runs stay queued: the benchmark measures the sensor, not the runs), then posts Lemlist
unsubscribe webhooks at random moments and measures the time from each ``200`` to the
suppression in the store.

    uv run python benchmarks/webhook_receiver.py [--deliveries 3000] [--threads 8]
        [--latency-samples 8] [--postgres-url postgresql://postgres@127.0.0.1:5432/postgres]

Prints one JSON document.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests
import sqlalchemy as sa
import yaml

from sales_pipeline.sandbox.hubspot.webhooks import sign_v3
from sales_pipeline.store.engine import create_store_engine
from sales_pipeline.store.inbox import WebhookInbox
from sales_pipeline.store.pipeline_store import PipelineStore

HUBSPOT_SECRET = "benchmark-hubspot-client-secret"
LEMLIST_SECRET = "benchmark-lemlist-webhook-secret"
BIN = Path(sys.executable).parent
STARTUP_SECONDS = 120.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait(condition: Any, what: str, seconds: float = STARTUP_SECONDS) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.05)


@contextmanager
def _receiver(store_url: str, home: Path) -> Iterator[str]:
    """``sales-pipeline webhooks`` on a free port with ``store_url``; yields its base URL."""
    port = _free_port()
    environment = {
        **os.environ,
        "SALES_PIPELINE_HOME": str(home),
        "SALES_PIPELINE_DATABASE_URL": store_url,
        "HUBSPOT_CLIENT_SECRET": HUBSPOT_SECRET,
        "LEMLIST_WEBHOOK_SECRET": LEMLIST_SECRET,
    }
    command = [str(BIN / "sales-pipeline"), "webhooks", "--port", str(port)]
    process = subprocess.Popen(
        command, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        try:
            return requests.get(f"{base}/healthz", timeout=1).status_code == 200
        except requests.ConnectionError:
            return False

    try:
        _wait(healthy, "the receiver")
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


def _signed_deliveries(url: str, count: int, run: str) -> list[tuple[bytes, dict[str, str]]]:
    timestamp = str(int(time.time() * 1000))
    deliveries = []
    for n in range(count):
        event = {
            "eventId": f"{run}-{n}",
            "subscriptionType": "contact.propertyChange",
            "objectId": 1000 + n,
            "occurredAt": int(timestamp),
            "propertyName": "jobtitle",
            "propertyValue": "CTO",
            "attemptNumber": 0,
        }
        body = json.dumps([event]).encode()
        headers = {
            "Content-Type": "application/json",
            "X-HubSpot-Request-Timestamp": timestamp,
            "X-HubSpot-Signature-v3": sign_v3(HUBSPOT_SECRET, url, body, timestamp),
        }
        deliveries.append((body, headers))
    return deliveries


def _throughput(store_url: str, deliveries: int, threads: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as home, _receiver(store_url, Path(home)) as base:
        url = f"{base}/webhooks/hubspot"
        queue = _signed_deliveries(url, deliveries, uuid.uuid4().hex[:8])
        lock = threading.Lock()
        statuses: dict[int, int] = {}

        def worker(share: list[tuple[bytes, dict[str, str]]]) -> None:
            with requests.Session() as session:
                for body, headers in share:
                    status = session.post(url, data=body, headers=headers, timeout=30).status_code
                    with lock:
                        statuses[status] = statuses.get(status, 0) + 1

        workers = [
            threading.Thread(target=worker, args=(queue[n::threads],)) for n in range(threads)
        ]
        started = time.perf_counter()
        for thread in workers:
            thread.start()
        for thread in workers:
            thread.join()
        elapsed = time.perf_counter() - started
    with PipelineStore(store_url) as store:
        stored = WebhookInbox(store).pending_count()
    return {
        "deliveries": deliveries,
        "threads": threads,
        "seconds": round(elapsed, 2),
        "accepted_per_second": round(statuses.get(200, 0) / elapsed, 1),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "stored_in_inbox": stored,
    }


@contextmanager
def _postgres_database(admin_url: str) -> Iterator[str]:
    """A database created for the benchmark and dropped after it."""
    admin = create_store_engine(admin_url).execution_options(isolation_level="AUTOCOMMIT")
    name = f"sp_bench_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield sa.make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


def _latency(samples: int) -> dict[str, Any]:
    """Seconds from an accepted unsubscribe webhook to its suppression, under the daemon."""
    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder)
        store_url = f"sqlite:///{home / 'store.sqlite'}"
        dagster_home = home / "dagster"
        dagster_home.mkdir()
        (dagster_home / "dagster.yaml").write_text(
            yaml.safe_dump(
                {
                    "run_coordinator": {
                        "module": "dagster.core.run_coordinator",
                        "class": "QueuedRunCoordinator",
                        "config": {"max_concurrent_runs": 0},
                    }
                }
            )
        )
        workspace = home / "workspace.yaml"
        location = {"module_name": "sales_pipeline.definitions", "location_name": "bench"}
        workspace.write_text(yaml.safe_dump({"load_from": [{"python_module": location}]}))
        environment = {
            **os.environ,
            "DAGSTER_HOME": str(dagster_home),
            "SALES_PIPELINE_HOME": str(home),
            "SALES_PIPELINE_DATABASE_URL": store_url,
        }
        PipelineStore(store_url).close()
        subprocess.run(
            [str(BIN / "dagster"), "sensor", "start", "webhook_inbox_sensor", "-w", str(workspace)],
            env=environment,
            check=True,
            capture_output=True,
        )
        daemon = subprocess.Popen(
            [str(BIN / "dagster-daemon"), "run", "-w", str(workspace)],
            env=environment,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            with _receiver(store_url, home) as base, PipelineStore(store_url) as store:
                return _measure(base, store, samples)
        finally:
            daemon.terminate()
            daemon.wait(timeout=60)


def _measure(base: str, store: PipelineStore, samples: int) -> dict[str, Any]:
    def post(n: int) -> str:
        email = f"leaving{n}-{uuid.uuid4().hex[:6]}@bench.example.com"
        activity = {
            "_id": f"act_{uuid.uuid4().hex}",
            "type": "emailsUnsubscribed",
            "createdAt": "2026-12-01T10:00:00.000Z",
            "leadEmail": email,
            "secret": LEMLIST_SECRET,
        }
        answer = requests.post(f"{base}/webhooks/lemlist", json=activity, timeout=30)
        answer.raise_for_status()
        return email

    warm = post(-1)  # the daemon's first tick loads the code location: not measured
    _wait(lambda: store.is_suppressed(warm), "the first tick", STARTUP_SECONDS)
    rng = random.Random(9)
    latencies = []
    for n in range(samples):
        time.sleep(rng.uniform(0, 5))
        email = post(n)
        accepted = time.perf_counter()
        _wait(lambda email=email: store.is_suppressed(email), "a suppression", 60)
        latencies.append(time.perf_counter() - accepted)
    return {
        "samples": samples,
        "min_seconds": round(min(latencies), 2),
        "median_seconds": round(statistics.median(latencies), 2),
        "max_seconds": round(max(latencies), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=3000)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--latency-samples", type=int, default=8)
    parser.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as folder:
        sqlite_url = f"sqlite:///{Path(folder) / 'store.sqlite'}"
        figures["sqlite"] = _throughput(sqlite_url, args.deliveries, args.threads)
    with _postgres_database(args.postgres_url) as postgres_url:
        figures["postgresql"] = _throughput(postgres_url, args.deliveries, args.threads)
    if args.latency_samples:
        figures["unsubscribe_to_suppression"] = _latency(args.latency_samples)
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
