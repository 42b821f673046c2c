"""The deployment files: both instance configurations, the workspace, and a clean validate."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from dagster import DagsterInstance
from dagster._core.instance.config import dagster_instance_config
from dagster._core.instance.ref import InstanceRef
from dagster._core.run_coordinator import QueuedRunCoordinator

from sales_pipeline.definitions import build_definitions

REPO = Path(__file__).resolve().parents[2]
INSTANCE_FILES = [REPO / "dagster.yaml", REPO / "deploy" / "dagster.production.yaml"]


@pytest.mark.parametrize("path", INSTANCE_FILES, ids=lambda p: p.name)
def test_instance_files_pass_dagsters_own_validation(path: Path) -> None:
    config, _ = dagster_instance_config(str(path.parent), config_filename=path.name)
    assert config["run_retries"] == {
        "enabled": True,
        "max_retries": 2,
        "retry_on_asset_or_op_failure": True,
    }
    assert config["run_monitoring"]["enabled"] is True
    pools = config["concurrency"]["pools"]
    assert (pools["default_limit"], pools["granularity"]) == (2, "op")
    per_day = {"value": {"applyLimitPerUniqueValue": True}, "limit": 1}
    assert config["concurrency"]["runs"]["tag_concurrency_limits"] == [
        {"key": "dagster/partition", **per_day},
        {"key": "dagster/asset_partition_range_start", **per_day},
    ]


def test_the_local_instance_keeps_its_sqlite_files_in_the_pipeline_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # relative paths resolve against the working directory
    ref = InstanceRef.from_dir(str(tmp_path), config_dir=str(REPO))
    with DagsterInstance.from_ref(ref) as instance:
        assert isinstance(instance.run_coordinator, QueuedRunCoordinator)
        assert instance.run_retries_max_retries == 2
        assert instance.get_concurrency_config().pool_config.default_pool_limit == 2
    assert (tmp_path / ".sales_pipeline_home" / "dagster" / "history" / "runs.db").exists()


def test_the_code_location_carries_the_jobs_schedule_and_sensors() -> None:
    repository = build_definitions().get_repository_def()
    assert {job.name for job in repository.get_all_jobs()} >= {
        "lead_pipeline",
        "engagement_writeback",
        "backlog_report",
    }
    assert [s.name for s in repository.schedule_defs] == ["lead_pipeline_daily"]
    assert {s.name for s in repository.sensor_defs} == {
        "hubspot_changes_sensor",
        "lemlist_activity_sensor",
        "outstanding_work_sensor",
        "run_failure_alert",
        "webhook_inbox_sensor",
    }
    for schedule in repository.schedule_defs:
        assert schedule.description
    for sensor in repository.sensor_defs:
        assert sensor.description, f"{sensor.name} has no description"


@pytest.mark.slow  # whole pipeline runs or real time windows: tens of seconds
def test_the_workspace_validates_with_no_vendor_configuration(tmp_path: Path) -> None:
    """What CI runs: no credential, no base URL, no Dagster home in the environment."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(
            ("HUBSPOT_", "EXPLORIUM_", "LEMLIST_", "SALES_PIPELINE_", "DAGSTER_")
        )
    }
    env["DAGSTER_HOME"] = str(tmp_path)
    (tmp_path / "dagster.yaml").write_text("telemetry:\n  enabled: false\n", encoding="utf-8")
    validate = subprocess.run(
        [sys.executable, "-m", "dagster", "definitions", "validate", "-w", "workspace.yaml"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert validate.returncode == 0, validate.stderr[-2000:]
    assert (
        "Validation successful for code location sales_pipeline"
        in validate.stdout + validate.stderr
    )
