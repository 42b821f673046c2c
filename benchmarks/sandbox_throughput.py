"""How many requests per second the sandbox serves with its rate limits off.

Starts ``sales-pipeline sandbox --no-limits`` in its own process, then drives it from this one
with a few keep-alive sessions on threads for a fixed time, per endpoint, and prints the figures:

    uv run python benchmarks/sandbox_throughput.py [--seconds 5] [--threads 4]
"""

from __future__ import annotations

import argparse
import base64
import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable

import requests

PORT = 8791


def _endpoints(base: str) -> dict[str, Callable[[requests.Session], requests.Response]]:
    hubspot = {"Authorization": "Bearer sandbox-hubspot-token"}
    explorium = {"api_key": "sandbox-explorium-key"}
    lemlist_auth = base64.b64encode(b":sandbox-lemlist-key").decode()
    lemlist = {"Authorization": f"Basic {lemlist_auth}"}
    return {
        "hubspot GET contact": lambda s: s.get(
            f"{base}/hubspot/crm/v3/objects/contacts/1001", headers=hubspot
        ),
        "hubspot POST search (200/page)": lambda s: s.post(
            f"{base}/hubspot/crm/v3/objects/contacts/search",
            headers=hubspot,
            json={"limit": 200, "sorts": [{"propertyName": "hs_object_id"}]},
        ),
        "explorium POST prospects/match (50)": lambda s: s.post(
            f"{base}/explorium/v1/prospects/match",
            headers=explorium,
            json={"prospects_to_match": [{"email": f"p{i}@x.example.com"} for i in range(50)]},
        ),
        "lemlist GET campaigns": lambda s: s.get(f"{base}/lemlist/api/campaigns", headers=lemlist),
    }


def _drive(
    call: Callable[[requests.Session], requests.Response], seconds: float, threads: int
) -> tuple[int, int]:
    done = [0]
    failed = [0]
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def worker() -> None:
        with requests.Session() as session:
            ok = bad = 0
            while time.monotonic() < deadline:
                if call(session).status_code < 300:
                    ok += 1
                else:
                    bad += 1
            with lock:
                done[0] += ok
                failed[0] += bad

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return done[0], failed[0]


def main() -> None:
    """Print requests per second per endpoint."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    server = subprocess.Popen(
        [sys.executable, "-m", "sales_pipeline.cli", "sandbox", "--port", str(PORT), "--no-limits"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{PORT}"
        for _ in range(100):
            try:
                requests.get(f"{base}/_sandbox/health", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.2)
        figures = {}
        for name, call in _endpoints(base).items():
            ok, bad = _drive(call, args.seconds, args.threads)
            figures[name] = {"requests_per_second": round(ok / args.seconds, 1), "non_2xx": bad}
            print(f"{name:40s} {ok / args.seconds:8.1f} req/s   non-2xx: {bad}", flush=True)
        print(json.dumps(figures))
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
