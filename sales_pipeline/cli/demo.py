"""``sales-pipeline demo``: the whole pipeline against the sandbox, with no configuration.

Starts the sandbox in-process, points the resources at it, keeps Dagster's instance (SQLite) and
the pipeline store under the project-local home (``.sales_pipeline_home``), materializes every
asset for the most recent daily partitions one partition at a time with a line of progress
each, and ends with a summary table. Because the store persists, running the demo again pushes
nothing new and spends no credits on unchanged contacts.

Each day is a run of the ``lead_pipeline`` job created with the origin of the ``sales_pipeline``
code location (the module :mod:`sales_pipeline.definitions`, as ``workspace.yaml`` and
``sales-pipeline dev`` load it), then executed in this process with the sandbox's resources. So
the UI on the same instance lists the demo's runs on the job's page, in the assets' partition
history and on the Overview timeline, and re-executes them from there, like any run it launched.
"""

import json
import sys
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import requests
from dagster import DagsterInstance, JobDefinition
from dagster._core.definitions.job_base import InMemoryJob
from dagster._core.execution.api import execute_run
from dagster._core.execution.execution_result import ExecutionResult
from dagster._core.instance.ref import InstanceRef
from dagster._core.remote_origin import (
    ManagedGrpcPythonEnvCodeLocationOrigin,
    RemoteJobOrigin,
    RemoteRepositoryOrigin,
)
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin

from sales_pipeline.cli.dev import CODE_LOCATION
from sales_pipeline.definitions import build_definitions, pipeline_job
from sales_pipeline.defs.partitions import daily_partitions
from sales_pipeline.defs.resources import (
    ExploriumResource,
    HubSpotResource,
    LemlistResource,
    PipelineResources,
    PipelineStoreResource,
)
from sales_pipeline.sandbox import SandboxConfig, SandboxHandle, run_sandbox
from sales_pipeline.settings import load_settings

SUMMARY_ROWS: list[tuple[str, str, str]] = [
    # (label, asset, metadata key)
    ("contacts pulled", "hubspot_contacts", "fetched"),
    ("quarantined", "hubspot_contacts", "quarantined"),
    ("enriched (new)", "enriched_contacts", "enriched"),
    ("enriched (from cache)", "enriched_contacts", "cached"),
    ("unmatched", "enriched_contacts", "unmatched"),
    ("deferred", "enriched_contacts", "deferred"),
    ("qualified", "qualified_leads", "qualified"),
    ("pushed", "lemlist_leads", "added"),
    ("already present", "lemlist_leads", "already_present"),
    ("already pushed before", "lemlist_leads", "skipped_settled"),
    ("rejected", "lemlist_leads", "rejected"),
    ("written back", "hubspot_enrichment_writeback", "written"),
]


RUN_CONFIG = {
    "loggers": {"console": {"config": {"log_level": "WARNING"}}},
    "execution": {"config": {"in_process": {}}},
}
"""Run config of the demo's runs: Dagster's console kept to warnings, so the progress lines stand
out (the full event log is in the instance), and every step in this process."""

DEFINITIONS_MODULE = "sales_pipeline.definitions"
REPOSITORY = "__repository__"
"""The name Dagster gives the repository of a module's ``Definitions``."""


def code_location_origin(job: str) -> RemoteJobOrigin:
    """The origin of ``job`` in the ``sales_pipeline`` code location as the workspace loads it
    (module :data:`DEFINITIONS_MODULE`, from the current folder): runs that carry it are the
    code location's runs in the UI."""
    target = LoadableTargetOrigin(
        executable_path=sys.executable,
        module_name=DEFINITIONS_MODULE,
        working_directory=str(Path.cwd()),
    )
    location = ManagedGrpcPythonEnvCodeLocationOrigin(target, CODE_LOCATION)
    return RemoteJobOrigin(RemoteRepositoryOrigin(location, REPOSITORY), job)


def run_partition(instance: DagsterInstance, job: JobDefinition, partition: str) -> ExecutionResult:
    """Create the run of ``job`` for ``partition`` with the code location's origin, and execute
    it in this process."""
    run = instance.create_run_for_job(
        job,
        run_config=RUN_CONFIG,
        tags={**job.tags, "dagster/partition": partition},
        remote_job_origin=code_location_origin(job.name),
    )
    return execute_run(InMemoryJob(job), run, instance)


def sandbox_resources(
    handle: SandboxHandle, home: Path, store_options: Mapping[str, Any] | None = None
) -> PipelineResources:
    """Resources pointed at a running sandbox with the credentials it accepts; the store and
    the rate limiter's buckets are SQLite files in ``home``; ``store_options`` set fields of
    the store resource (leases, retry schedule)."""
    creds = handle.credentials
    store = PipelineStoreResource(
        database_url=f"sqlite:///{home / 'store.sqlite'}", **(store_options or {})
    )
    limiter = f"sqlite:///{home / 'ratelimit.sqlite'}"
    return PipelineResources(
        store=store,
        hubspot=HubSpotResource(
            base_url=handle.hubspot_url,
            access_token=creds.hubspot_token,
            store=store,
            rate_limit_url=limiter,
        ),
        explorium=ExploriumResource(
            base_url=handle.explorium_url, api_key=creds.explorium_key, rate_limit_url=limiter
        ),
        lemlist=LemlistResource(
            base_url=handle.lemlist_url, api_key=creds.lemlist_key, rate_limit_url=limiter
        ),
    )


def sandbox_environment(handle: SandboxHandle, home: Path) -> dict[str, str]:
    """The environment that points plain Dagster tooling (``dagster dev``, ``dagster asset
    materialize``) at a running sandbox, with Dagster's instance and the store under ``home``."""
    creds = handle.credentials
    return {
        "DAGSTER_HOME": str(home / "dagster"),
        "SALES_PIPELINE_HOME": str(home),
        "HUBSPOT_BASE_URL": handle.hubspot_url,
        "HUBSPOT_ACCESS_TOKEN": creds.hubspot_token,
        "EXPLORIUM_BASE_URL": handle.explorium_url,
        "EXPLORIUM_API_KEY": creds.explorium_key,
        "LEMLIST_BASE_URL": handle.lemlist_url,
        "LEMLIST_API_KEY": creds.lemlist_key,
    }


def recent_partitions(days: int) -> list[str]:
    """The last ``days`` daily partition keys, today's included."""
    return list(daily_partitions.get_partition_keys())[-days:]


def _vendor_figures(stats: dict[str, Any]) -> dict[str, dict[str, int]]:
    figures = {}
    for vendor, vendor_stats in stats.items():
        statuses: Counter[str] = Counter()
        for by_status in vendor_stats["by_endpoint"].values():
            statuses.update(by_status)
        figures[vendor] = {"requests": vendor_stats["requests"], "429s": statuses["429"]}
    figures["explorium"]["credits"] = stats["explorium"].get("credits_used", 0)
    return figures


def _materialized_counts(result: ExecutionResult) -> Counter[str]:
    """Every integer metadata entry of the run's materializations, as ``asset.name``."""
    counts: Counter[str] = Counter()
    for asset in {asset for _, asset, _ in SUMMARY_ROWS}:
        for materialization in result.asset_materializations_for_node(asset):
            for name, entry in materialization.metadata.items():
                if isinstance(entry.value, int) and not isinstance(entry.value, bool):
                    counts[f"{asset}.{name}"] += entry.value
    return counts


def run_pipeline(
    handle: SandboxHandle,
    home: Path,
    partitions: Sequence[str],
    out: Callable[[str], None] = print,
    store_options: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Materialize every asset for each of ``partitions`` against a running sandbox, with the
    Dagster instance and the store under ``home`` (configured by ``store_options``); returns
    the summary.

    The vendor figures are the sandbox's own counts since it started (or was last reset).
    """
    dagster_home = home / "dagster"
    dagster_home.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    totals: Counter[str] = Counter()
    failed: list[str] = []
    resources = sandbox_resources(handle, home, store_options)
    job = build_definitions(resources).resolve_job_def(pipeline_job.name)
    with DagsterInstance.from_ref(InstanceRef.from_dir(str(dagster_home))) as instance:
        for number, key in enumerate(partitions, start=1):
            result = run_partition(instance, job, key)
            counts = _materialized_counts(result)
            totals.update(counts)
            if not result.success:
                failed.append(key)
            out(
                f"[{number}/{len(partitions)}] {key}: {'ok' if result.success else 'FAILED'}  "
                f"contacts {counts['hubspot_contacts.fetched']}, "
                f"qualified {counts['qualified_leads.qualified']}, "
                f"pushed {counts['lemlist_leads.added']}"
            )
    stats = requests.get(f"{handle.control_url}/stats", timeout=30).json()
    return {
        "partitions": list(partitions),
        "failed_partitions": failed,
        "wall_time_s": round(time.monotonic() - started, 1),
        "pipeline": {label: totals[f"{asset}.{key}"] for label, asset, key in SUMMARY_ROWS},
        "vendors": _vendor_figures(stats),
    }


def run_demo(
    days: int = 7,
    sandbox: SandboxConfig | None = None,
    out: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Start a sandbox, run the pipeline for the last ``days`` partitions with the state in
    the project-local home, print and return the summary."""
    home = load_settings().pipeline_home
    with run_sandbox(sandbox or SandboxConfig()) as handle:
        out(f"sandbox serving on {handle.base_url}; state in {home}")
        summary = run_pipeline(handle, home, recent_partitions(days), out)
    out(format_summary(summary))
    return summary


def format_summary(summary: dict[str, Any]) -> str:
    """The summary as a plain-text table."""
    lines = [f"\nPartitions {summary['partitions'][0]} .. {summary['partitions'][-1]}"]
    lines += [f"  {label:<24}{value:>8}" for label, value in summary["pipeline"].items()]
    lines.append(f"  {'vendor':<12}{'requests':>10}{'429s':>8}{'credits':>10}")
    for vendor, figures in summary["vendors"].items():
        credits = figures.get("credits", "")
        lines.append(f"  {vendor:<12}{figures['requests']:>10}{figures['429s']:>8}{credits!s:>10}")
    lines.append(f"  wall time {summary['wall_time_s']} s")
    if summary["failed_partitions"]:
        lines.append(f"  FAILED partitions: {', '.join(summary['failed_partitions'])}")
    return "\n".join(lines)


def write_summary(summary: dict[str, Any], path: Path) -> None:
    """Write the summary as JSON."""
    path.write_text(json.dumps(summary, indent=2), encoding="utf-8")
