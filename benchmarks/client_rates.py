"""How close the clients run to each vendor's real rate limit, and whether they ever meet a 429.

Starts the sandbox in-process with the real limits (HubSpot 100 per rolling 10 s, Explorium 200
per sliding 60 s, Lemlist 20 per 2 s) and no injected faults, then drives each vendor's client
from several threads at full speed, all three vendors at once, for a whole number of windows:

    uv run python benchmarks/client_rates.py [--threads 4] [--safety-margin 0.95]
        [--rate-scale 1] [--hubspot-windows 3] [--search-windows 20]
        [--explorium-windows 2] [--lemlist-windows 15] [--only lemlist hubspot_search]

``--rate-scale`` multiplies every limit, in the sandbox and in the clients alike (the rate-bound
pushes of issue 12 ran at x 10). It prints one JSON object: per limit, the sustained request
rate as a fraction of the allowed rate (the target is >= 0.9), the most requests sent within
any one rolling window as a fraction of the limit (must stay <= 1) and the 429s the client
met; per vendor, the 429s the sandbox counted. At full speed the limiter releases a
window's worth of requests at once and then holds every thread until the window frees, so the
traffic comes in cycles; the sustained rate is measured over whole cycles (requests per cycle
over the mean cycle length), which counts the time the limiter adds to each window. (Counting
requests inside a fixed number of windows would hide that time until it adds up to a whole
window.)

Explorium's window cannot be compressed: the sandbox's ``rate_scale`` multiplies the number of
requests allowed, not the window's length, so its run takes whole real minutes (two by default;
the other vendors finish within that time).

Operations: HubSpot ``batch_read_contacts`` of one id (a non-search endpoint, counted against
the burst limit only), then, once that run is over, HubSpot ``count_contacts_modified_since``
(one search, counted against the 5 per second search limit and the burst limit), Explorium
``match_prospects`` of one email (free), Lemlist ``list_campaigns`` (one request per call).
"""

from __future__ import annotations

import argparse
import bisect
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from harness import SendLog

from sales_pipeline.clients import (
    ExploriumClient,
    ExploriumSettings,
    HubSpotClient,
    HubSpotSettings,
    LemlistClient,
    LemlistSettings,
    RateLimiter,
    Secret,
    VendorClient,
)
from sales_pipeline.sandbox import SandboxConfig, SandboxHandle, run_sandbox


@dataclass(frozen=True)
class Vendor:
    """One limit's run: the published limit, and how to build and call the vendor's client."""

    name: str
    limit: int
    window_s: float
    windows: int
    client: Callable[[SandboxHandle, SendLog, RateLimiter], VendorClient]
    call: Callable[[Any, int], object]


@dataclass(frozen=True)
class Outcome:
    """What one vendor's run measured."""

    vendor: Vendor
    sent: list[float]
    rate_limited: int

    @property
    def cycle_starts(self) -> list[float]:
        """Send times that follow a pause of over a quarter window: at full speed the
        limiter lets a window's worth out at once, then holds every thread until the
        window frees, so each start begins one limiter cycle."""
        quiet = self.vendor.window_s / 4
        return [t for i, t in enumerate(self.sent) if i == 0 or t - self.sent[i - 1] > quiet]

    @property
    def per_cycle(self) -> float:
        """Mean requests sent per cycle (the limit after the safety margin)."""
        starts = self.cycle_starts
        return bisect.bisect_left(self.sent, starts[-1]) / (len(starts) - 1)

    @property
    def cycle_s(self) -> float:
        """Mean cycle length: the window plus whatever the limiter adds to it."""
        starts = self.cycle_starts
        return (starts[-1] - starts[0]) / (len(starts) - 1)

    @property
    def fraction(self) -> float:
        """Sustained rate (requests per second over whole cycles) over the allowed rate."""
        return (self.per_cycle / self.cycle_s) / (self.vendor.limit / self.vendor.window_s)

    @property
    def peak(self) -> float:
        """Most requests sent within any rolling window, over the limit."""
        window = self.vendor.window_s
        busiest = max(
            bisect.bisect_left(self.sent, start + window) - i for i, start in enumerate(self.sent)
        )
        return busiest / self.vendor.limit


EVER = datetime(2000, 1, 1, tzinfo=UTC)


def vendors(args: argparse.Namespace) -> list[list[Vendor]]:
    """The runs, with the sandbox's default credentials: runs of one inner list go one after
    the other (they share the vendor's account), the lists run at once."""
    scale = float(args.rate_scale)

    def scaled(limit: int) -> int:
        return max(1, round(limit * scale))

    def hubspot(h: SandboxHandle, sends: SendLog, limiter: RateLimiter) -> HubSpotClient:
        return HubSpotClient(
            h.hubspot_url,
            access_token=Secret(h.credentials.hubspot_token),
            settings=HubSpotSettings(burst_limit=scaled(100), search_limit=scaled(5)),
            http=sends,
            limiter=limiter,
        )

    return [
        [
            Vendor(
                "hubspot",
                scaled(100),
                10.0,
                args.hubspot_windows,
                hubspot,
                lambda client, i: client.batch_read_contacts([str(1001 + i % 2000)], ["email"]),
            ),
            Vendor(
                "hubspot_search",
                scaled(5),
                1.0,
                args.search_windows,
                hubspot,
                lambda client, _: client.count_contacts_modified_since(EVER),
            ),
        ],
        [
            Vendor(
                "explorium",
                scaled(200),
                60.0,
                args.explorium_windows,
                lambda h, sends, limiter: ExploriumClient(
                    h.explorium_url,
                    api_key=Secret(h.credentials.explorium_key),
                    settings=ExploriumSettings(requests_per_window=scaled(200)),
                    http=sends,
                    limiter=limiter,
                ),
                lambda client, i: client.match_prospects([{"email": f"p{i}@bench.example.com"}]),
            )
        ],
        [
            Vendor(
                "lemlist",
                scaled(20),
                2.0,
                args.lemlist_windows,
                lambda h, sends, limiter: LemlistClient(
                    h.lemlist_url,
                    api_key=Secret(h.credentials.lemlist_key),
                    settings=LemlistSettings(requests_per_window=scaled(20)),
                    http=sends,
                    limiter=limiter,
                ),
                lambda client, _: client.list_campaigns(),
            )
        ],
    ]


def drive(handle: SandboxHandle, vendor: Vendor, threads: int, margin: float) -> Outcome:
    """Call ``vendor`` from ``threads`` threads until its windows are over."""
    sends = SendLog()
    limiter = RateLimiter("memory://", safety_margin=margin)
    client = vendor.client(handle, sends, limiter)
    deadline = time.monotonic() + vendor.windows * vendor.window_s
    counter = iter(range(10**9))
    lock = threading.Lock()

    def work() -> None:
        while time.monotonic() < deadline:
            with lock:
                i = next(counter)
            vendor.call(client, i)

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    client.close()
    limiter.close()
    client_429 = int(client.metrics_snapshot()["rate_limited_429"])
    return Outcome(vendor, sorted(sends.sent), client_429)


def main() -> None:
    """Run the vendors at once and print one JSON object of figures per limit."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=4, help="threads per vendor")
    parser.add_argument("--safety-margin", type=float, default=None, help="limiter margin")
    parser.add_argument("--rate-scale", type=float, default=1.0, help="multiplies every limit")
    parser.add_argument("--hubspot-windows", type=int, default=3, help="10 s windows")
    parser.add_argument("--search-windows", type=int, default=20, help="1 s search windows")
    parser.add_argument("--explorium-windows", type=int, default=2, help="60 s windows")
    parser.add_argument("--lemlist-windows", type=int, default=15, help="2 s windows")
    parser.add_argument(
        "--only", nargs="*", default=None, help="limits to run (hubspot, hubspot_search, ...)"
    )
    args = parser.parse_args()
    margin = args.safety_margin or RateLimiter().safety_margin
    groups = [
        [vendor for vendor in group if args.only is None or vendor.name in args.only]
        for group in vendors(args)
    ]
    groups = [group for group in groups if group]
    outcomes: dict[str, Outcome] = {}
    config = SandboxConfig(contacts=2000, rate_scale=args.rate_scale)
    with run_sandbox(config) as handle:

        def run_group(group: list[Vendor]) -> None:
            for vendor in group:
                outcomes[vendor.name] = drive(handle, vendor, args.threads, margin)

        threads = [threading.Thread(target=run_group, args=(group,)) for group in groups]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        sandbox_429 = {
            vendor: int(stats["rate_limited"]) for vendor, stats in handle.sandbox.stats().items()
        }
    figures = {
        "safety_margin": margin,
        "rate_scale": args.rate_scale,
        "threads_per_vendor": args.threads,
        "limits": {
            vendor.name: {
                "limit": vendor.limit,
                "window_s": vendor.window_s,
                "run_s": vendor.windows * vendor.window_s,
                "sent": len(outcomes[vendor.name].sent),
                "per_cycle": round(outcomes[vendor.name].per_cycle, 1),
                "cycle_s": round(outcomes[vendor.name].cycle_s, 3),
                "fraction_of_limit": round(outcomes[vendor.name].fraction, 3),
                "peak_over_limit": round(outcomes[vendor.name].peak, 2),
                "client_429s": outcomes[vendor.name].rate_limited,
            }
            for group in groups
            for vendor in group
        },
        "sandbox_429s": sandbox_429,
    }
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
