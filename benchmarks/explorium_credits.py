"""Explorium credits, purchases per distinct business and cache hits of enrichment, as JSON.

Serves a sandbox whose world holds a bulk-import day of ``--contacts`` contacts and
``--second-day`` more contacts at the same companies, then enriches the first day and, with
the same store, the second, through ``enrich_new_contacts`` (no Dagster):

    uv run python benchmarks/explorium_credits.py --contacts 20000 --second-day 5000

Limits are off in effect: ``--rate-scale`` multiplies Explorium's 200 requests/min in both the
sandbox and the client. Per day it prints the credits Explorium reported (and what the sandbox
charged, which must agree), credits per contact, firmographics purchases per distinct business,
purchases and cache hits per entity kind, and the milliseconds of the step per contact.

``--budget-s N`` measures instead how much of Explorium's real 200 requests/min enrichment
reaches when every answer takes 300 ms (the sandbox's latency fault at probability 1): real
limits, enrichment for ``N`` seconds of a day, then the requests answered in the whole
minutes from the start against 200 per minute, and the 429s. Explorium's window is a real
60 s, so keep ``N`` near 120:

    uv run python benchmarks/explorium_credits.py --budget-s 120

``--profile`` runs the first day in the caller's thread under cProfile and prints the top
functions by own time to stderr.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import multiprocessing
import pstats
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import pandas as pd
import requests

from sales_pipeline.clients import (
    ExploriumClient,
    ExploriumSettings,
    RateLimiter,
    Secret,
    TransportConfig,
)
from sales_pipeline.clients.hubspot.contacts import read_contact
from sales_pipeline.flows.enrich import EnrichmentOutcome, enrich_new_contacts
from sales_pipeline.sandbox import SandboxConfig, run_sandbox
from sales_pipeline.sandbox.core.world import World, build_world
from sales_pipeline.store.pipeline_store import PipelineStore
from sales_pipeline.transforms.contacts import normalize_contacts

LATENCY_MS = 300.0
LATENCY = {"probability": 1.0, "min_ms": LATENCY_MS, "max_ms": LATENCY_MS}
EXPLORIUM_PER_MINUTE = 200


def _days(world: World, first: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The bulk-import day (the last ``first`` contacts) and the spread-out contacts before
    it, normalized as ``hubspot_contacts`` hands them on."""
    records = [read_contact({"id": str(c.id), "properties": c.properties}) for c in world.contacts]
    bulk, other = records[-first:], records[:-first]
    return normalize_contacts(bulk)[0], normalize_contacts(other)[0]


@dataclass(frozen=True)
class Sandbox:
    """A sandbox served by a child process, so its work is not timed as the step's."""

    base_url: str
    explorium_key: str

    @property
    def explorium_url(self) -> str:
        """Stands for https://api.explorium.ai/v1."""
        return f"{self.base_url}/explorium/v1"


def _serve(config: SandboxConfig, pipe: Connection) -> None:
    """Child process: serve ``config`` until the parent says stop."""
    with run_sandbox(config) as handle:
        pipe.send((handle.base_url, handle.credentials.explorium_key))
        pipe.recv()


@contextmanager
def _sandbox(config: SandboxConfig) -> Iterator[Sandbox]:
    """Serve ``config`` in a child process for the ``with`` block."""
    parent, child = multiprocessing.get_context("spawn").Pipe()
    process = multiprocessing.get_context("spawn").Process(target=_serve, args=(config, child))
    process.start()
    try:
        yield Sandbox(*parent.recv())
    finally:
        parent.send("stop")
        process.join()


def _client(handle: Sandbox, scale: float, concurrency: int) -> ExploriumClient:
    return ExploriumClient(
        handle.explorium_url,
        api_key=Secret(handle.explorium_key),
        settings=ExploriumSettings(requests_per_window=int(EXPLORIUM_PER_MINUTE * scale)),
        transport_config=TransportConfig(concurrency=concurrency),
        limiter=RateLimiter("memory://"),
    )


def _explorium_stats(handle: Sandbox) -> dict[str, Any]:
    answer = requests.get(f"{handle.base_url}/_sandbox/stats", timeout=30)
    stats: dict[str, Any] = answer.json()["explorium"]
    return stats


def _day(
    handle: Sandbox,
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


def _budget(handle: Sandbox, contacts: pd.DataFrame, args: argparse.Namespace) -> None:
    """Requests per minute enrichment keeps up once the first minute's burst is spent."""
    samples: list[tuple[float, int]] = []
    stop = threading.Event()
    watcher = threading.Thread(target=_watch, args=(handle, samples, stop), daemon=True)
    with (
        tempfile.TemporaryDirectory() as folder,
        PipelineStore(f"sqlite:///{Path(folder) / 'store.sqlite'}") as store,
        _client(handle, 1.0, args.concurrency) as client,
    ):
        watcher.start()
        started = time.monotonic()
        step = 50 * args.concurrency
        for start in range(0, len(contacts), step):
            if time.monotonic() - started >= args.budget_s:
                break
            enrich_new_contacts(
                client, contacts.iloc[start : start + step], store, datetime.now(UTC)
            )
        elapsed = time.monotonic() - started
        stop.set()
        watcher.join()
    stats = _explorium_stats(handle)
    minutes = max(int(args.budget_s // 60), 1)
    answered = _answered_by(samples, started + 60.0 * minutes)
    print(
        json.dumps(
            {
                "latency_ms": LATENCY_MS,
                "concurrency": args.concurrency,
                "seconds": round(elapsed, 1),
                "requests": stats["requests"],
                "rate_limited_429s": stats["rate_limited"],
                "whole_minutes": minutes,
                "requests_in_whole_minutes": answered,
                "fraction_of_200_per_min": round(answered / (EXPLORIUM_PER_MINUTE * minutes), 3),
            },
            indent=2,
        )
    )


def _watch(handle: Sandbox, samples: list[tuple[float, int]], stop: threading.Event) -> None:
    """Sample the sandbox's Explorium request count every 0.1 s."""
    while not stop.wait(0.1):
        samples.append((time.monotonic(), int(_explorium_stats(handle)["requests"])))


def _answered_by(samples: Sequence[tuple[float, int]], moment: float) -> int:
    """Requests the sandbox had answered by ``moment``.

    A sliding 60 s window lets at most 200 requests through in any minute, so over ``k``
    whole minutes from the first request the most is ``200 k``: the fraction of that reached
    is the fraction of the budget used (a burst at the start is no gain)."""
    return max((count for at, count in samples if at <= moment), default=0)


def main() -> None:
    """Run the days (or the budget measurement) and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--contacts", type=int, default=20_000)
    parser.add_argument("--second-day", type=int, default=5_000)
    parser.add_argument("--rate-scale", type=float, default=1000.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--budget-s", type=float, default=0.0)
    args = parser.parse_args()
    now = datetime.now(UTC) - timedelta(seconds=1)
    measuring_budget = args.budget_s > 0
    config = SandboxConfig(
        contacts=args.second_day,
        bulk_import=args.contacts,
        now=now,
        rate_scale=1.0 if measuring_budget else args.rate_scale,
        faults={"explorium": {"latency": LATENCY}} if measuring_budget else "none",
    )
    world = build_world(
        seed=config.seed,
        contacts=config.contacts,
        bulk_import=config.bulk_import,
        match_rate=config.match_rate,
        now=config.now,
    )
    first, second = _days(world, args.contacts)
    with _sandbox(config) as handle:
        if measuring_budget:
            _budget(handle, first, args)
            return
        with (
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
