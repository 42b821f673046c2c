"""Scale-out on Celery: a three-day backfill whose steps run on two Celery worker processes.

The Dagster instance (deploy/dagster.production.yaml), the pipeline store and the rate limiter
live in one throwaway PostgreSQL database; RabbitMQ on this machine is the broker, with a queue
of this test's own. The daemon runs the backfill, one run per day, and each run sends its steps
to the workers (deploy/celery.yaml as run config and worker config). The outcome is compared
with a single-process run of the same days on a second sandbox built from the same seed.
"""

import contextlib
import dataclasses
import os
import secrets
import socket
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from celery import Celery
from dagster import (
    DagsterEventType,
    DagsterInstance,
    DagsterRunStatus,
    Definitions,
    RunsFilter,
    TextMetadataValue,
)
from dagster._core.execution.backfill import PartitionBackfill
from dagster._core.instance.ref import InstanceRef
from dagster._core.storage.dagster_run import RunRecord
from dagster._core.utils import make_new_backfill_id

from sales_pipeline.definitions import build_definitions
from sales_pipeline.settings import Settings
from sales_pipeline_tests.deployment import (
    REPO,
    deployment_environment,
    open_instance_here,
    production_dagster_home,
    throwaway_database,
)
from sales_pipeline_tests.pipeline.conftest import PipelineWorld, make_world
from sales_pipeline_tests.scaleout.processes import running

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.slow,
    # Above the deadlines below, so that a slow machine fails with their messages and logs.
    pytest.mark.timeout(600),
]

CODE_LOCATION = "sales_pipeline.definitions"
PIPELINE_JOB = "lead_pipeline"
BROKER = "pyamqp://guest:guest@127.0.0.1:5672//"
VENDORS = ("hubspot", "explorium", "lemlist")
WORKERS = ("worker-a", "worker-b")
WRITEBACK_PREFIX = "sp_"
"""The prefix of every HubSpot property the pipeline writes."""
FINISHED = {DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED}
WORKERS_READY_SECONDS = 120.0
"""How long the workers may take to start (they load the definitions first)."""
BACKFILL_SECONDS = 300.0
"""How long the backfill's runs may take to finish once requested."""


def complete_days(now: datetime, count: int) -> list[str]:
    """The ``count`` UTC days that ended last before ``now``, oldest first."""
    today = now.date()
    return [(today - timedelta(days=back)).isoformat() for back in range(count, 0, -1)]


@pytest.fixture
def database() -> Iterator[str]:
    """A throwaway PostgreSQL database for Dagster, the store and the limiter."""
    with throwaway_database("sp_celery") as url:
        yield url


@pytest.fixture
def queue() -> Iterator[str]:
    """A Celery queue name of this test's own; afterwards the queue, with whatever it still
    holds, and the exchange Celery made for it are deleted from RabbitMQ (deleting what was
    never declared is a no-op)."""
    name = f"sales_pipeline_test_{secrets.token_hex(4)}"
    yield name
    with Celery(broker=BROKER).connection_for_write() as connection:
        channel = connection.default_channel
        channel.queue_delete(name)
        channel.exchange_delete(name)


@pytest.fixture
def celery_world(tmp_path: Path) -> Iterator[PipelineWorld]:
    """The sandbox the Celery backfill runs against."""
    yield from make_world(tmp_path / "celery")


@pytest.fixture
def single_world(tmp_path: Path, celery_world: PipelineWorld) -> Iterator[PipelineWorld]:
    """A second sandbox, built from the same seed and clock as :func:`celery_world`."""
    yield from make_world(tmp_path / "single", now=celery_world.now)


def executor_config(queue: str) -> dict[str, Any]:
    """deploy/celery.yaml with ``queue`` as the queue its runs and workers use, and the runs'
    reply queues left to RabbitMQ to delete a minute after the test."""
    config = yaml.safe_load((REPO / "deploy" / "celery.yaml").read_text())
    celery_settings = config["execution"]["config"]["config_source"]
    celery_settings["task_default_queue"] = queue
    celery_settings["result_expires"] = 60
    return dict(config)


def worker_command(name: str, config: Path, queue: str) -> list[str]:
    """``dagster-celery worker start`` for one worker process named ``name`` on ``queue``."""
    return [
        str(Path(sys.executable).with_name("dagster-celery")),
        *("worker", "start", "-A", "dagster_celery.app"),
        *("-y", str(config), "-q", queue, "-n", name, "-i", CODE_LOCATION),
        # After "--": arguments for `celery worker` itself. One process per worker, so that
        # each worker is exactly one process with its own hostname.
        *("--", "--pool=solo", "--without-gossip", "--without-mingle"),
    ]


def wait_for_workers(hostnames: set[str], log_dir: Path) -> None:
    """Return once every worker in ``hostnames`` answers a ping over the broker."""
    app = Celery(broker=BROKER)
    deadline = time.monotonic() + WORKERS_READY_SECONDS
    answered: set[str] = set()
    while time.monotonic() < deadline:
        answered |= {host for reply in app.control.ping(timeout=1.0) for host in reply}
        if hostnames <= answered:
            return
    logs = "\n".join(log.read_text()[-2000:] for log in sorted(log_dir.glob("worker-*.log")))
    pytest.fail(f"workers {sorted(hostnames - answered)} did not start:\n{logs}")


def request_backfill(
    instance: DagsterInstance, defs: Definitions, days: list[str], run_config: dict[str, Any]
) -> str:
    """An asset backfill of ``lead_pipeline``'s assets over ``days``, as the UI requests it."""
    job = defs.resolve_job_def(PIPELINE_JOB)
    backfill_id = make_new_backfill_id()
    instance.add_backfill(
        PartitionBackfill.from_asset_partitions(
            backfill_id=backfill_id,
            asset_graph=defs.resolve_asset_graph(),
            partition_names=days,
            asset_selection=sorted(job.asset_layer.selected_asset_keys),
            backfill_timestamp=time.time(),
            tags={},
            dynamic_partitions_store=instance,
            all_partitions=False,
            title="three days on Celery",
            description=None,
            run_config=run_config,
        )
    )
    return backfill_id


def wait_for_runs(
    instance: DagsterInstance, backfill_id: str, days: int, daemon_log: Path
) -> list[RunRecord]:
    """The backfill's run records once all ``days`` runs have finished."""
    backfill_runs = RunsFilter(tags={"dagster/backfill": backfill_id})
    deadline = time.monotonic() + BACKFILL_SECONDS
    while time.monotonic() < deadline:
        records = list(instance.get_run_records(filters=backfill_runs))
        if len(records) >= days and all(r.dagster_run.status in FINISHED for r in records):
            return records
        time.sleep(1)
    pytest.fail(f"the backfill did not finish; daemon log:\n{daemon_log.read_text()[-4000:]}")


def celery_workers_by_step(instance: DagsterInstance, run_id: str) -> dict[str, str]:
    """Step key -> hostname of the Celery worker that executed it, as the worker recorded it
    in the run's event log (dagster-celery's "Executing steps ... in celery worker" event)."""
    workers = {}
    for entry in instance.all_logs(run_id, of_type=DagsterEventType.ENGINE_EVENT):
        event = entry.dagster_event
        assert event is not None
        hostname = event.engine_event_data.metadata.get("Celery worker")
        if isinstance(hostname, TextMetadataValue) and event.step_key is not None:
            workers[event.step_key] = str(hostname.value)
    return workers


def executed_steps(instance: DagsterInstance, run_id: str) -> set[str]:
    """The keys of the steps that started in the run."""
    return {
        str(entry.dagster_event.step_key)
        for entry in instance.all_logs(run_id, of_type=DagsterEventType.STEP_START)
        if entry.dagster_event is not None
    }


def vendor_traffic(world: PipelineWorld) -> dict[str, dict[str, int]]:
    """Per vendor, from the sandbox's stats: the requests it answered, the 429s among them and
    the requests it counted as over a rate limit."""
    stats = world.stats()
    traffic = {}
    for vendor in VENDORS:
        statuses: Counter[str] = Counter()
        for by_status in stats[vendor]["by_endpoint"].values():
            statuses.update(by_status)
        traffic[vendor] = {
            "requests": stats[vendor]["requests"],
            "429": statuses["429"],
            "rate_limited": stats[vendor]["rate_limited"],
        }
    return traffic


def vendor_outcome(world: PipelineWorld) -> dict[str, Any]:
    """What the pipeline leaves at the vendors: each Lemlist campaign's leads (by email) and
    each HubSpot contact's writeback properties."""
    campaigns = world.state("lemlist")["campaigns"]
    contacts = world.state("hubspot")["contacts"]
    return {
        "lemlist": {
            campaign["_id"]: sorted(lead["email"].lower() for lead in campaign["leads"])
            for campaign in campaigns
        },
        "hubspot": {
            contact["id"]: {
                name: value
                for name, value in contact["properties"].items()
                if name.startswith(WRITEBACK_PREFIX)
            }
            for contact in contacts
        },
    }


def write_code_location(folder: Path) -> Path:
    """A workspace file in ``folder`` that loads :data:`CODE_LOCATION`."""
    location = {"module_name": CODE_LOCATION, "working_directory": str(REPO)}
    workspace = folder / "workspace.yaml"
    workspace.write_text(yaml.safe_dump({"load_from": [{"python_module": location}]}))
    return workspace


def test_a_backfill_on_two_celery_workers_matches_a_single_process_run(
    celery_world: PipelineWorld,
    single_world: PipelineWorld,
    database: str,
    queue: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    started = time.monotonic()
    days = complete_days(celery_world.now, 3)
    dagster_home = production_dagster_home(tmp_path / "dagster_home")
    env = {
        **deployment_environment(celery_world, database, dagster_home),
        "DAGSTER_CELERY_BROKER_URL": BROKER,
        "SALES_PIPELINE_EXECUTOR": "celery",
        "PYTHONPATH": str(REPO),  # the workers import CODE_LOCATION from this checkout
        # `dagster-celery worker start` runs `celery` from the PATH: this environment's.
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }
    open_instance_here(monkeypatch, env)
    run_config = executor_config(queue)
    worker_config = tmp_path / "celery.yaml"
    worker_config.write_text(yaml.safe_dump(run_config))
    names = [f"{worker}-{secrets.token_hex(3)}" for worker in WORKERS]
    hostnames = {f"{name}@{socket.gethostname()}" for name in names}
    workspace = write_code_location(tmp_path)
    daemon = [str(Path(sys.executable).with_name("dagster-daemon")), "run", "-w", str(workspace)]

    with (
        DagsterInstance.from_ref(InstanceRef.from_dir(str(dagster_home))) as instance,
        contextlib.ExitStack() as services,
    ):
        for pool in VENDORS:
            instance.event_log_storage.set_concurrency_slots(pool, 2)
        for name in names:
            command = worker_command(name, worker_config, queue)
            services.enter_context(running(command, REPO, env, tmp_path / f"{name}.log"))
        services.enter_context(running(daemon, tmp_path, env, tmp_path / "daemon.log"))
        wait_for_workers(hostnames, tmp_path)
        workers_ready = time.monotonic() - started
        defs = build_definitions(settings=Settings.from_env(env))
        backfill_id = request_backfill(instance, defs, days, run_config)
        # The single-process run of the same days, on the second sandbox, while the backfill's
        # runs start and wait on the workers.
        single_summary = dataclasses.replace(single_world, partitions=days).run()
        records = wait_for_runs(instance, backfill_id, len(days), tmp_path / "daemon.log")
        backfill_done = time.monotonic() - started
        services.close()
        runs = [record.dagster_run for record in records]
        by_step = {run.run_id: celery_workers_by_step(instance, run.run_id) for run in runs}
        steps = {run.run_id: executed_steps(instance, run.run_id) for run in runs}

    assert {run.status for run in runs} == {DagsterRunStatus.SUCCESS}
    assert len(runs) == len(days)
    for run in runs:
        assert steps[run.run_id], "the run executed steps"
        assert set(by_step[run.run_id]) == steps[run.run_id], "every step ran on a worker"
    used = Counter(host for workers in by_step.values() for host in workers.values())
    assert set(used) == hostnames, f"steps per worker: {dict(used)}"

    traffic = vendor_traffic(celery_world)
    for vendor, figures in traffic.items():
        assert figures["requests"] > 0, vendor
        assert (figures["429"], figures["rate_limited"]) == (0, 0), vendor

    assert single_summary["failed_partitions"] == []
    outcome = vendor_outcome(celery_world)
    assert any(outcome["lemlist"].values()), "leads were pushed"
    assert outcome == vendor_outcome(single_world)
    print(
        f"\nworkers ready after {workers_ready:.0f} s, backfill of {len(days)} days finished "
        f"after {backfill_done:.0f} s; steps per worker {dict(used)}; vendors {traffic}; leads "
        f"{sum(len(leads) for leads in outcome['lemlist'].values())}; whole test "
        f"{time.monotonic() - started:.0f} s"
    )
