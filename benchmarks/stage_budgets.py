"""How much of each vendor's published rate every stage uses when the vendor is 300 ms away.

Serves the sandbox from a child process with the real limits and a latency fault on every call
(default 300 ms, the middle of what the vendors answer in), then runs each stage's own flow (no
Dagster) on a bulk-import day and records when each request left:

    uv run python benchmarks/stage_budgets.py [--latency-ms 300] [--concurrency 8]
        [--contacts 20000] [--stages hubspot_search hubspot_batch explorium lemlist]

Stages and the limit each is measured against:

- ``hubspot_search``: the contacts extraction (``HubSpotClient.iter_contacts`` over a day of
  more than 10,000 contacts): 5 searches per second.
- ``hubspot_batch``: the enrichment writeback (``flows.write_back.write_back``), batches of 100:
  100 requests per rolling 10 s.
- ``explorium``: the enrichment (``flows.enrich.enrich_new_contacts``): 200 requests per sliding
  60 s. Its window cannot be compressed, so this stage takes two real minutes or more.
- ``lemlist``: the push (``flows.push.Pusher``): 20 requests per 2 s.

The HubSpot stages share one account and run one after the other; the three vendors run at
once. For each stage it prints the requests it sent, the sustained rate over whole windows
(requests sent in the first ``k`` whole windows after the first request, over ``k`` times the
limit), the busiest rolling window over the limit (must stay <= 1) and the 429s the client met;
per vendor, the 429s the sandbox counted. The target is a fraction >= 0.9 with no 429.
"""

from __future__ import annotations

import argparse
import bisect
import json
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from harness import SendLog, ServedSandbox, served_sandbox

from sales_pipeline.clients import (
    Contact,
    ExploriumClient,
    HubSpotClient,
    LemlistClient,
    RateLimiter,
    Secret,
    TransportConfig,
    VendorClient,
)
from sales_pipeline.clients.hubspot.contacts import read_contact
from sales_pipeline.flows.enrich import enrich_new_contacts
from sales_pipeline.flows.push import LeadPush, Pusher
from sales_pipeline.flows.write_back import write_back
from sales_pipeline.sandbox import SandboxConfig
from sales_pipeline.sandbox.core.world import build_world
from sales_pipeline.store.backlog import WorkBacklog
from sales_pipeline.store.ledger import PushLedger
from sales_pipeline.store.pipeline_store import PipelineStore
from sales_pipeline.transforms.contacts import normalize_contacts

VENDORS = ("hubspot", "explorium", "lemlist")


@dataclass
class World:
    """The sandbox, the bulk day's contacts, a store and how clients are built."""

    handle: ServedSandbox
    day: tuple[datetime, datetime]
    contacts: list[Contact]
    """The bulk day's contacts, as the sandbox's seeded world holds them."""
    store: PipelineStore
    concurrency: int
    limiter: RateLimiter

    def options(self, sends: SendLog) -> dict[str, Any]:
        """The keyword arguments every client of the run shares: concurrency, the send log
        and the one limiter."""
        return {
            "transport_config": TransportConfig(concurrency=self.concurrency),
            "http": sends,
            "limiter": self.limiter,
        }

    def hubspot(self, sends: SendLog) -> HubSpotClient:
        token = Secret(self.handle.credentials.hubspot_token)
        return HubSpotClient(self.handle.hubspot_url, access_token=token, **self.options(sends))

    def explorium(self, sends: SendLog) -> ExploriumClient:
        key = Secret(self.handle.credentials.explorium_key)
        return ExploriumClient(self.handle.explorium_url, api_key=key, **self.options(sends))

    def lemlist(self, sends: SendLog) -> LemlistClient:
        key = Secret(self.handle.credentials.lemlist_key)
        return LemlistClient(self.handle.lemlist_url, api_key=key, **self.options(sends))


@dataclass(frozen=True)
class Stage:
    """One stage: the limit it is measured against and how to run its flow."""

    name: str
    vendor: str
    limit: int
    window_s: float
    run: Callable[[World, SendLog], VendorClient]


def bulk_day(now: datetime) -> tuple[datetime, datetime]:
    """The sandbox's bulk-import day (three days before ``now``)."""
    start = (now - timedelta(days=3)).replace(hour=0, minute=0, second=0, microsecond=0)
    return start, start + timedelta(days=1)


def extract(world: World, sends: SendLog) -> VendorClient:
    """The contacts extraction of the bulk day."""
    client = world.hubspot(sends)
    sum(1 for _ in client.iter_contacts(*world.day))
    return client


def write_back_day(world: World, sends: SendLog) -> VendorClient:
    """The writeback of an enrichment status to every contact of the day."""
    client = world.hubspot(sends)
    changes = {
        contact.email: {"sp_enrichment_status": "enriched", "sp_segment": "benchmark"}
        for contact in world.contacts
        if contact.email
    }
    now = datetime.now(UTC)
    write_back(client, changes, WorkBacklog(world.store), now.date().isoformat(), now)
    return client


def enrich(world: World, sends: SendLog) -> VendorClient:
    """The enrichment of the day's first contacts (enough for two Explorium windows)."""
    client = world.explorium(sends)
    frame, _ = normalize_contacts(world.contacts[:6000])
    enrich_new_contacts(client, frame, world.store, datetime.now(UTC))
    return client


def push(world: World, sends: SendLog) -> VendorClient:
    """The push of 400 of the day's contacts into the first campaign."""
    client = world.lemlist(sends)
    campaign = client.list_campaigns()[0].id
    pushes = [
        LeadPush(contact.email, campaign, {"email": contact.email}, None)
        for contact in world.contacts[:400]
        if contact.email
    ]
    ledger = PushLedger(world.store)
    Pusher(client, world.store, ledger, "stage-budgets", clock=lambda: datetime.now(UTC)).run(
        pushes
    )
    return client


STAGES = {
    stage.name: stage
    for stage in (
        Stage("hubspot_search", "hubspot", 5, 1.0, extract),
        Stage("hubspot_batch", "hubspot", 100, 10.0, write_back_day),
        Stage("explorium", "explorium", 200, 60.0, enrich),
        Stage("lemlist", "lemlist", 20, 2.0, push),
    )
}


def measure(stage: Stage, world: World) -> dict[str, Any]:
    """Run ``stage`` and say how much of its limit it used."""
    sends = SendLog()
    started = time.monotonic()
    client = stage.run(world, sends)
    elapsed = time.monotonic() - started
    client.close()
    sent = sorted(sends.sent)
    windows = int((sent[-1] - sent[0]) // stage.window_s) if sent else 0
    in_windows = bisect.bisect_left(sent, sent[0] + windows * stage.window_s) if windows else 0
    busiest = max(
        (bisect.bisect_left(sent, t + stage.window_s) - i for i, t in enumerate(sent)), default=0
    )
    return {
        "limit": stage.limit,
        "window_s": stage.window_s,
        "requests": len(sent),
        "elapsed_s": round(elapsed, 1),
        "whole_windows": windows,
        "fraction_of_limit": round(in_windows / (windows * stage.limit), 3) if windows else None,
        "busiest_window_over_limit": round(busiest / stage.limit, 2),
        "client_429s": int(client.metrics_snapshot()["rate_limited_429"]),
    }


def main() -> None:
    """Run the stages and print one JSON object."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--latency-ms", type=float, default=300.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--contacts", type=int, default=20_000, help="contacts of the bulk day")
    parser.add_argument("--stages", nargs="*", default=list(STAGES), choices=list(STAGES))
    args = parser.parse_args()
    latency = {"probability": 1.0, "min_ms": args.latency_ms, "max_ms": args.latency_ms}
    now = datetime.now(UTC)
    config = SandboxConfig(
        contacts=100,
        bulk_import=args.contacts,
        now=now,
        faults={vendor: {"latency": latency} for vendor in VENDORS},
    )
    world_contacts = build_world(config.seed, config.contacts, now, config.bulk_import).contacts
    bulk = [
        read_contact({"id": str(c.id), "properties": c.properties})
        for c in world_contacts[-args.contacts :]
    ]
    figures: dict[str, Any] = {}
    with (
        tempfile.TemporaryDirectory() as folder,
        served_sandbox(config) as handle,
        PipelineStore(f"sqlite:///{Path(folder) / 'store.db'}") as store,
    ):
        limiter = RateLimiter("memory://")
        world = World(handle, bulk_day(now), bulk, store, args.concurrency, limiter)
        groups = [
            [STAGES[name] for name in args.stages if STAGES[name].vendor == vendor]
            for vendor in VENDORS
        ]

        def run_group(group: list[Stage]) -> None:
            for stage in group:
                figures[stage.name] = measure(stage, world)

        threads = [threading.Thread(target=run_group, args=(g,)) for g in groups if g]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        sandbox_429s = {v: int(s["rate_limited"]) for v, s in handle.stats().items()}
        limiter.close()
    print(
        json.dumps(
            {
                "latency_ms": args.latency_ms,
                "concurrency": args.concurrency,
                "bulk_day_contacts": args.contacts,
                "stages": figures,
                "sandbox_429s": sandbox_429s,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
