"""Explorium credits, purchases per distinct business and cache hits of enrichment, as JSON.

Serves a sandbox whose world holds a bulk-import day of ``--contacts`` contacts and
``--second-day`` more contacts at the same companies, then enriches the first day and, with
the same store, the second, through ``enrich_new_contacts`` (no Dagster):

    uv run python benchmarks/explorium_credits.py --contacts 20000 --second-day 5000

Limits are off in effect: ``--rate-scale`` multiplies Explorium's 200 requests/min in both the
sandbox and the client. Per day it prints the credits Explorium reported (and what the sandbox
charged, which must agree), credits per contact, firmographics purchases per distinct business,
purchases and cache hits per entity kind, and the milliseconds of the step per contact.

How much of Explorium's 200 requests/min enrichment uses when every answer takes 300 ms is
``benchmarks/stage_budgets.py``'s figure.

``--profile`` runs the first day in the caller's thread under cProfile and prints the top
functions by own time to stderr.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
from harness import ServedSandbox, served_sandbox

from sales_pipeline.clients import (
    ExploriumClient,
    ExploriumSettings,
    RateLimiter,
    Secret,
    TransportConfig,
)
from sales_pipeline.clients.hubspot.contacts import read_contact
from sales_pipeline.flows.enrich import EnrichmentOutcome, enrich_new_contacts
from sales_pipeline.sandbox import SandboxConfig
from sales_pipeline.sandbox.core.world import World, build_world
from sales_pipeline.store.pipeline_store import PipelineStore
from sales_pipeline.transforms.contacts import normalize_contacts

EXPLORIUM_PER_MINUTE = 200


def _days(world: World, first: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The bulk-import day (the last ``first`` contacts) and the spread-out contacts before
    it, normalized as ``hubspot_contacts`` hands them on."""
    records = [read_contact({"id": str(c.id), "properties": c.properties}) for c in world.contacts]
    bulk, other = records[-first:], records[:-first]
    return normalize_contacts(bulk)[0], normalize_contacts(other)[0]


def _client(handle: ServedSandbox, scale: float, concurrency: int) -> ExploriumClient:
    return ExploriumClient(
        handle.explorium_url,
        api_key=Secret(handle.credentials.explorium_key),
        settings=ExploriumSettings(requests_per_window=int(EXPLORIUM_PER_MINUTE * scale)),
        transport_config=TransportConfig(concurrency=concurrency),
        limiter=RateLimiter("memory://"),
    )


def _explorium_stats(handle: ServedSandbox) -> dict[str, Any]:
    stats: dict[str, Any] = handle.stats()["explorium"]
    return stats


def _day(
    handle: ServedSandbox,
    store: PipelineStore,
    contacts: pd.DataFrame,
    args: argparse.Namespace,
    profile: bool,
) -> dict[str, Any]:
    """Enrich one day and describe what it cost."""
    charged_before = _explorium_stats(handle)["credits_used"]
    with _client(handle, args.rate_scale, 1 if profile else args.concurrency) as client:
        profiler = cProfile.Profile() if profile else None
        started = time.perf_counter()
        if profiler is not None:
            profiler.enable()
        outcome = enrich_new_contacts(client, contacts, store, datetime.now(UTC))
        if profiler is not None:
            profiler.disable()
            pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime").print_stats(5)
        elapsed = time.perf_counter() - started
    charged = _explorium_stats(handle)["credits_used"] - charged_before
    return {
        "contacts": len(contacts),
        "ms_per_contact": round(1000 * elapsed / max(len(contacts), 1), 3),
        "sandbox_charged_credits": charged,
        **_figures(outcome, contacts),
    }


def _figures(outcome: EnrichmentOutcome, contacts: pd.DataFrame) -> dict[str, Any]:
    """What the outcome says about credits and purchases."""
    credits = outcome.credits
    businesses = outcome.records["business_id"].dropna().nunique()
    return {
        "reported_credits": credits.reported,
        "estimated_credits": credits.estimated,
        "calls_without_credit_report": credits.unreported_calls,
        "credits_per_contact": round(credits.total / max(len(contacts), 1), 3),
        "distinct_businesses": int(businesses),
        "firmographics_purchases_per_business": round(
            outcome.purchases.get("firmographics", 0) / max(businesses, 1), 3
        ),
        "purchases": dict(outcome.purchases),
        "cache_hits": dict(outcome.cache_hits),
        "deferred": len(outcome.deferred),
    }


def main() -> None:
    """Run the days and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--contacts", type=int, default=20_000)
    parser.add_argument("--second-day", type=int, default=5_000)
    parser.add_argument("--rate-scale", type=float, default=1000.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    now = datetime.now(UTC) - timedelta(seconds=1)
    config = SandboxConfig(
        contacts=args.second_day,
        bulk_import=args.contacts,
        now=now,
        rate_scale=args.rate_scale,
    )
    world = build_world(config.seed, config.contacts, config.now, config.bulk_import)
    first, second = _days(world, args.contacts)
    with (
        served_sandbox(config) as handle,
        tempfile.TemporaryDirectory() as folder,
        PipelineStore(f"sqlite:///{Path(folder) / 'store.sqlite'}") as store,
    ):
        figures = {
            "first_day": _day(handle, store, first, args, args.profile),
            "second_day_same_store": _day(handle, store, second, args, False),
        }
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
