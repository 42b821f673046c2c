"""Wall time, peak memory and Explorium requests of one big partition, run as operators do.

Serves a sandbox whose bulk-import day holds ``--contacts`` contacts sharing one
``lastmodifieddate``, then runs ``dagster asset materialize --select '*'`` for that day in a
child process (each step in its own process, as Dagster's default executor does) and prints the
largest step's peak resident memory, the wall time and what the vendors saw:

    uv run python benchmarks/pipeline_partition.py --contacts 100000 --rate-scale 50

``--rate-scale`` multiplies every vendor limit in both the sandbox and the clients, so a day
that would take hours of real rate limits runs in minutes with the same code paths.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests

from sales_pipeline.cli.demo import sandbox_environment
from sales_pipeline.sandbox import SandboxConfig, run_sandbox


def main() -> None:
    """Run the partition and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--rate-scale", type=float, default=50.0)
    args = parser.parse_args()
    now = datetime.now(UTC)
    bulk_day = (now - timedelta(days=3)).strftime("%Y-%m-%d")
    config = SandboxConfig(
        contacts=100, bulk_import=args.contacts, rate_scale=args.rate_scale, now=now
    )
    with tempfile.TemporaryDirectory() as folder, run_sandbox(config) as handle:
        home = Path(folder)
        (home / "dagster").mkdir()
        env = {
            **os.environ,
            **sandbox_environment(handle, home),
            "SALES_PIPELINE_RATE_SCALE": str(args.rate_scale),
        }
        command = [sys.executable, "-m", "dagster", "asset", "materialize", "-m"]
        command += ["sales_pipeline.definitions", "--select", "*", "--partition", bulk_day]
        started = time.monotonic()
        finished = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        wall = time.monotonic() - started
        peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        stats = requests.get(f"{handle.control_url}/stats", timeout=60).json()
    explorium = stats["explorium"]
    matched = explorium["by_endpoint"].get("prospects_match", {}).get("200", 0)
    figures = {
        "contacts": args.contacts,
        "partition": bulk_day,
        "succeeded": finished.returncode == 0,
        "wall_time_s": round(wall, 1),
        "peak_step_rss_mib": round(peak_mib, 1),
        "requests": {vendor: s["requests"] for vendor, s in stats.items()},
        "rate_limited_429s": {vendor: s["rate_limited"] for vendor, s in stats.items()},
        "explorium_match_calls": matched,
        "explorium_requests_per_50_contacts": round(explorium["requests"] / max(matched, 1), 2),
        "explorium_credits": explorium.get("credits_used"),
    }
    print(json.dumps(figures, indent=2))
    if finished.returncode != 0:
        print(finished.stderr[-4000:], file=sys.stderr)


if __name__ == "__main__":
    main()
