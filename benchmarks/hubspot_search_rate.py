"""How much of HubSpot's search budget the contacts extraction uses at a real vendor's latency.

Serves a sandbox at the real limits (search: 5 requests per second) whose bulk-import day holds
``--contacts`` contacts sharing one ``lastmodifieddate``, with every HubSpot answer delayed by
``--latency-ms`` (the sandbox's latency fault), and walks that day with ``iter_contacts`` as
the ``hubspot_contacts`` step does, ``--concurrency`` searches in flight:

    uv run python benchmarks/hubspot_search_rate.py [--contacts 20000] [--latency-ms 300]
        [--concurrency 8]

Prints JSON: searches sent, searches per second over the walk and that rate as a fraction of
the 5 per second allowed (the target is >= 0.9), the 429s the sandbox counted, and whether the
walk returned each contact of the day exactly once (checked against the sandbox's own state).
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from sales_pipeline.clients import (
    HubSpotClient,
    HubSpotSettings,
    RateLimiter,
    Secret,
    TransportConfig,
)
from sales_pipeline.sandbox import SandboxConfig, run_sandbox

SEARCH_LIMIT_PER_S = 5


def latency_profile(milliseconds: float) -> dict[str, Any]:
    """A fault profile that delays every HubSpot answer by ``milliseconds`` and nothing else."""
    return {
        "hubspot": {"latency": {"probability": 1.0, "min_ms": milliseconds, "max_ms": milliseconds}}
    }


def main() -> None:
    """Walk the bulk-import day and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--contacts", type=int, default=20_000)
    parser.add_argument("--latency-ms", type=float, default=300.0)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    now = datetime.now(UTC)
    day = (now - timedelta(days=3)).replace(hour=0, minute=0, second=0, microsecond=0)
    config = SandboxConfig(
        contacts=100, bulk_import=args.contacts, now=now, faults=latency_profile(args.latency_ms)
    )
    limiter = RateLimiter("memory://")
    with run_sandbox(config) as handle:
        client = HubSpotClient(
            handle.hubspot_url,
            access_token=Secret(handle.credentials.hubspot_token),
            settings=HubSpotSettings(),
            transport_config=replace(TransportConfig(), concurrency=args.concurrency),
            limiter=limiter,
        )
        with client:
            started = time.monotonic()
            ids = [
                str(contact.id) for contact in client.iter_contacts(day, day + timedelta(days=1))
            ]
            elapsed = time.monotonic() - started
        stats = requests.get(f"{handle.control_url}/stats", timeout=60).json()["hubspot"]
        state = requests.get(
            f"{handle.control_url}/state", params={"vendor": "hubspot"}, timeout=600
        ).json()["hubspot"]
    limiter.close()
    low, high = day.timestamp(), (day + timedelta(days=1)).timestamp()
    expected = sorted(
        str(contact["id"]) for contact in state["contacts"] if low <= _modified_s(contact) < high
    )
    searches = sum(stats["by_endpoint"].get("search", {}).values())
    rate = searches / elapsed
    print(
        json.dumps(
            {
                "contacts": len(ids),
                "exactly_once": sorted(ids) == expected and len(set(ids)) == len(ids),
                "latency_ms": args.latency_ms,
                "concurrency": args.concurrency,
                "searches": searches,
                "elapsed_s": round(elapsed, 2),
                "searches_per_s": round(rate, 3),
                "fraction_of_limit": round(rate / SEARCH_LIMIT_PER_S, 3),
                "rate_limited_429s": stats["rate_limited"],
            },
            indent=2,
        )
    )


def _modified_s(contact: dict[str, Any]) -> float:
    stamp = str(contact["properties"]["lastmodifieddate"])
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


if __name__ == "__main__":
    main()
