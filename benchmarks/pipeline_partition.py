"""Wall time, compute per contact and peak memory of one big partition, run as operators do.

Serves a sandbox whose bulk-import day holds ``--contacts`` contacts sharing one
``lastmodifieddate``, then runs ``dagster asset materialize --select '*'`` for that day in a
child process (each step in its own process, as Dagster's default executor does;
``--in-process`` runs every step in the one process instead, ``--profile`` also writes that
process's cProfile for ``pstats``) and prints JSON:

    uv run python benchmarks/pipeline_partition.py --contacts 100000 [--rate-scale 1000]
        [--select 'hubspot_contacts'] [--in-process] [--profile run.prof]

- ``ms_per_contact``: the whole run's wall time per contact, process starts included;
- per step (``steps``), read from the run's events and materializations in the Dagster
  instance: ``start_s`` (launching the step's process until the step starts: interpreter,
  imports, loading the definitions), ``compute_s`` (the step itself, reading its input and
  storing its output included), ``ms_per_contact`` (both together) and ``peak_rss_mib`` (the
  step process's peak resident memory, which the IO manager records as ``peak_rss_mib`` when it
  stores the step's output, and each asset check in its evaluation's metadata: check steps
  load their asset's frame in processes of their own);
- ``cpu_ms_per_contact``, per asset step and summed over them: the CPU time the step's process
  spent (every thread) computing the asset, from its input in memory to its output, which the
  assets record as ``compute_cpu_s``: the pipeline's own compute, without process start, input
  loading and output storing, and without the time spent waiting (for vendors, locks, disk);
- ``largest_process_rss_mib``: the peak of the largest process of the run (``dagster asset
  materialize`` and every step); a step whose figure is missing did not record one (it failed
  first). It is measured by a small launcher process, because a child forked from this process
  inherits its peak: Linux keeps ``ru_maxrss`` across ``exec``, so reading this process's
  ``RUSAGE_CHILDREN`` reports the sandbox's size (over 3 GiB at 1,000,000 contacts), not the
  run's;
- ``sandbox_process_rss_mib``: the peak of this process, which serves the sandbox (not part
  of the pipeline: it holds every emulated vendor record in memory);
- what the vendors saw (requests, 429s, Explorium match calls and credits).

``--rate-scale`` multiplies every vendor limit in both the sandbox and the clients; the
default, 1000, takes the limits out of the way, so the figures are compute, not waiting.
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
from typing import Any

import requests
from dagster import DagsterEventType, DagsterInstance

from sales_pipeline.cli.demo import sandbox_environment
from sales_pipeline.sandbox import SandboxConfig, run_sandbox

IN_PROCESS: dict[str, Any] = {"execution": {"config": {"in_process": {}}}}

MEASURED_LAUNCH = """
import resource, subprocess, sys
from pathlib import Path
done = subprocess.run(sys.argv[2:], check=False)
Path(sys.argv[1]).write_text(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))
sys.exit(done.returncode)
"""
"""Runs the command in ``argv[2:]`` and writes the peak RSS (KiB) of its largest process to the
file ``argv[1]``: started by exec, this launcher forks the command from its own small memory
image, so the figure is the run's alone."""


def step_figures(home: Path, contacts: int) -> dict[str, dict[str, Any]]:
    """Per step of the one run in the instance at ``home``: start and compute seconds, ms
    per contact, and the peak RSS its materialization recorded."""
    previous = os.environ.get("DAGSTER_HOME")
    os.environ["DAGSTER_HOME"] = str(home)
    try:
        with DagsterInstance.get() as instance:
            (run,) = instance.get_runs()
            moments: dict[str, dict[str, float]] = {}
            peaks: dict[str, float] = {}
            cpu: dict[str, float] = {}
            for entry in instance.all_logs(run.run_id):
                event = entry.dagster_event
                if event is None or event.step_key is None:
                    continue
                moments.setdefault(event.step_key, {})[event.event_type_value] = entry.timestamp
                if event.event_type == DagsterEventType.ASSET_MATERIALIZATION:
                    metadata = event.step_materialization_data.materialization.metadata
                elif event.event_type == DagsterEventType.ASSET_CHECK_EVALUATION:
                    metadata = event.asset_check_evaluation_data.metadata
                else:
                    continue
                if "peak_rss_mib" in metadata:
                    peak = float(metadata["peak_rss_mib"].value)  # type: ignore[arg-type]
                    peaks[event.step_key] = max(peak, peaks.get(event.step_key, 0.0))
                if "compute_cpu_s" in metadata:
                    cpu[event.step_key] = float(metadata["compute_cpu_s"].value)  # type: ignore[arg-type]
    finally:
        if previous is None:
            del os.environ["DAGSTER_HOME"]
        else:
            os.environ["DAGSTER_HOME"] = previous
    figures = {}
    for step, seen in moments.items():
        started = seen.get(DagsterEventType.STEP_START.value)
        ended = seen.get(DagsterEventType.STEP_SUCCESS.value) or seen.get(
            DagsterEventType.STEP_FAILURE.value
        )
        if started is None or ended is None:
            continue
        launched = seen.get(DagsterEventType.STEP_WORKER_STARTING.value, started)
        start_s, compute_s = started - launched, ended - started
        figures[step] = {
            "start_s": round(start_s, 2),
            "compute_s": round(compute_s, 2),
            "ms_per_contact": round((start_s + compute_s) * 1000 / contacts, 3),
            "peak_rss_mib": peaks.get(step),
            "cpu_ms_per_contact": (round(cpu[step] * 1000 / contacts, 3) if step in cpu else None),
        }
    return figures


def main() -> None:
    """Run the partition and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--rate-scale", type=float, default=1000.0)
    parser.add_argument(
        "--select", default="*", help="the assets to materialize (default: the whole pipeline)"
    )
    parser.add_argument("--in-process", action="store_true")
    parser.add_argument(
        "--profile", type=Path, help="write a cProfile of the run here (implies --in-process)"
    )
    args = parser.parse_args()
    args.in_process = args.in_process or args.profile is not None
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
        peak_file = home / "largest_process_rss_kib"
        command = [sys.executable, "-c", MEASURED_LAUNCH, str(peak_file), sys.executable]
        if args.profile is not None:
            command += ["-m", "cProfile", "-o", str(args.profile)]
        command += ["-m", "dagster", "asset", "materialize", "-m"]
        command += ["sales_pipeline.definitions", "--select", args.select, "--partition", bulk_day]
        if args.in_process:
            command += ["--config-json", json.dumps(IN_PROCESS)]
        started = time.monotonic()
        finished = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        wall = time.monotonic() - started
        largest_mib = int(peak_file.read_text()) / 1024 if peak_file.exists() else None
        stats = requests.get(f"{handle.control_url}/stats", timeout=600).json()
        steps = step_figures(home / "dagster", args.contacts)
    explorium = stats["explorium"]
    matched = explorium["by_endpoint"].get("prospects_match", {}).get("200", 0)
    figures = {
        "contacts": args.contacts,
        "partition": bulk_day,
        "selection": args.select,
        "executor": "in_process" if args.in_process else "multiprocess",
        "succeeded": finished.returncode == 0,
        "wall_time_s": round(wall, 1),
        "ms_per_contact": round(wall * 1000 / args.contacts, 3),
        "cpu_ms_per_contact": round(
            sum(step["cpu_ms_per_contact"] or 0.0 for step in steps.values()), 3
        ),
        "steps": steps,
        "largest_process_rss_mib": None if largest_mib is None else round(largest_mib, 1),
        "sandbox_process_rss_mib": round(
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1
        ),
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
