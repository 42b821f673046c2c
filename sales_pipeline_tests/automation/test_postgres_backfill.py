"""Production shape on this machine's PostgreSQL: a UI-style backfill run by Dagster's daemon.

Dagster's instance (deploy/dagster.production.yaml), the pipeline store and the rate limiter's
buckets all live in one throwaway PostgreSQL database. The daemon launches one run per day
(the assets' backfill policy) as separate processes, which share one request budget per vendor
through the database, against the sandbox with its real limits.
"""

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from dagster import (
    DagsterEventType,
    DagsterInstance,
    DagsterRunStatus,
    JsonMetadataValue,
    RunsFilter,
)
from dagster._core.execution.backfill import PartitionBackfill
from dagster._core.instance.ref import InstanceRef
from dagster._core.utils import make_new_backfill_id

from sales_pipeline.cli.demo import recent_partitions
from sales_pipeline.definitions import build_definitions
from sales_pipeline.defs.alerts import run_partition
from sales_pipeline.defs.assets import PIPELINE_ASSETS
from sales_pipeline_tests.deployment import (
    deployment_environment,
    open_instance_here,
    production_dagster_home,
    throwaway_database,
)
from sales_pipeline_tests.pipeline.conftest import PipelineWorld, make_world

pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.timeout(900)]

REPO = Path(__file__).resolve().parents[2]
DAYS = recent_partitions(4)[:-1]
"""Three complete days, about 50 contacts each in a 1,500-contact world."""
VENDOR_POOLS = ("hubspot", "explorium", "lemlist")
POOL_LIMIT = 2
FINISHED = {DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED}


@pytest.fixture
def database() -> Iterator[str]:
    """A throwaway database ``sp_dagster_<hex>``, dropped afterwards."""
    with throwaway_database("sp_dagster") as url:
        yield url


@pytest.fixture
def world(tmp_path: Path) -> Iterator[PipelineWorld]:
    yield from make_world(tmp_path)


def _request_backfill(instance: DagsterInstance) -> str:
    """What the UI does for "Materialize" of every pipeline asset over a range of days."""
    backfill_id = make_new_backfill_id()
    instance.add_backfill(
        PartitionBackfill.from_asset_partitions(
            backfill_id=backfill_id,
            asset_graph=build_definitions().resolve_asset_graph(),
            partition_names=DAYS,
            asset_selection=[asset.key for asset in PIPELINE_ASSETS],
            backfill_timestamp=time.time(),
            tags={},
            dynamic_partitions_store=instance,
            all_partitions=False,
            title="three days",
            description=None,
            # One process per run: the multiprocess default adds a process per step, which on
            # this 2-core machine costs more than the runs' own work.
            run_config={"execution": {"config": {"in_process": {}}}},
        )
    )
    return backfill_id


def _wait_for_runs(instance: DagsterInstance, backfill_id: str, log: Path) -> list[Any]:
    deadline = time.monotonic() + 150
    backfill_runs = RunsFilter(tags={"dagster/backfill": backfill_id})
    while time.monotonic() < deadline:
        records = instance.get_run_records(filters=backfill_runs)
        if len(records) >= len(DAYS) and all(r.dagster_run.status in FINISHED for r in records):
            return list(records)
        time.sleep(1)
    pytest.fail(f"the backfill did not finish; daemon log:\n{log.read_text()[-4000:]}")


def _processes_mentioning(marker: str) -> list[int]:
    """Ids of the processes whose command line contains ``marker`` (this test's own folder)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                command = (entry / "cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue
            if marker in command:
                found.append(int(entry.name))
    return found


def _stop(daemon: subprocess.Popen[bytes], marker: str) -> None:
    """Stop the daemon's process group, then any code server it left behind (they run in their
    own sessions and name this test's Dagster home on their command line)."""
    os.killpg(daemon.pid, signal.SIGTERM)
    try:
        daemon.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(daemon.pid, signal.SIGKILL)
        daemon.wait(timeout=30)
    for pid in _processes_mentioning(marker):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _throttle_wait_s(instance: DagsterInstance, records: list[Any], vendor: str) -> float:
    """Seconds the runs' clients waited for the shared limiter before calling ``vendor``."""
    waited = 0.0
    for record in records:
        for entry in instance.all_logs(
            record.dagster_run.run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION
        ):
            metadata = entry.asset_materialization.metadata if entry.asset_materialization else {}
            figures = metadata.get(f"{vendor}_api")
            if isinstance(figures, JsonMetadataValue) and isinstance(figures.data, dict):
                waited += float(figures.data["throttle_wait_s"])
    return waited


def _most_at_once(records: list[Any]) -> int:
    """The largest number of runs in progress at the same moment."""
    edges = sorted(
        [(r.start_time, 1) for r in records] + [(r.end_time, -1) for r in records],
    )
    running = most = 0
    for _, change in edges:
        running += change
        most = max(most, running)
    return most


def test_a_backfill_on_postgresql_runs_concurrently_within_the_vendors_limits(
    world: PipelineWorld, database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dagster_home = production_dagster_home(tmp_path / "dagster_home")
    env = deployment_environment(world, database, dagster_home)
    open_instance_here(monkeypatch, env)

    log = tmp_path / "daemon.log"
    started = time.monotonic()
    with (
        DagsterInstance.from_ref(InstanceRef.from_dir(str(dagster_home))) as instance,
        log.open("w") as output,
    ):
        # The deploy step `dagster instance concurrency set <pool> <limit>` (docs/operations.md)
        for pool in VENDOR_POOLS:
            instance.event_log_storage.set_concurrency_slots(pool, POOL_LIMIT)
        daemon = subprocess.Popen(
            [str(Path(sys.executable).with_name("dagster-daemon")), "run", "-w", "workspace.yaml"],
            cwd=REPO,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            backfill_id = _request_backfill(instance)
            records = _wait_for_runs(instance, backfill_id, log)
            lemlist_wait = _throttle_wait_s(instance, records, "lemlist")
        finally:
            _stop(daemon, str(dagster_home))
    elapsed = time.monotonic() - started

    runs = [record.dagster_run for record in records]
    assert sorted(str(run_partition(run.tags)) for run in runs) == sorted(DAYS)
    assert {run.status for run in runs} == {DagsterRunStatus.SUCCESS}
    assert _most_at_once(records) >= 2, "the runs overlapped"

    stats = world.stats()
    statuses = {
        vendor: sum((Counter(s) for s in figures["by_endpoint"].values()), Counter())
        for vendor, figures in stats.items()
    }
    for vendor in ("hubspot", "explorium", "lemlist"):
        assert stats[vendor]["rate_limited"] == 0, vendor
        assert statuses[vendor]["429"] == 0, vendor
        assert stats[vendor]["requests"] > 0, vendor
    assert lemlist_wait > 0, "the runs waited for their shared Lemlist budget instead of a 429"

    leads = world.lemlist_leads()
    assert leads
    assert len(leads) == len(set(leads)), "a lead was pushed twice"
    assert len({email for _, email in leads}) == len(leads), "a lead is in two campaigns"

    engine = sa.create_engine(database)
    with engine.connect() as conn:
        tables = set(sa.inspect(conn).get_table_names())
        pushed = conn.scalar(sa.text("SELECT count(*) FROM push_ledger WHERE outcome = 'added'"))
    engine.dispose()
    assert {"runs", "event_logs", "push_ledger", "asset_frame"} <= tables, "one database"
    assert pushed == len(leads)
    print(
        f"\nbackfill of {len(DAYS)} days: {elapsed:.0f} s, most runs at once "
        f"{_most_at_once(records)}, requests "
        + ", ".join(f"{v} {stats[v]['requests']}" for v in ("hubspot", "explorium", "lemlist"))
        + f", Lemlist throttle wait {lemlist_wait:.1f} s, leads {len(leads)}"
    )
