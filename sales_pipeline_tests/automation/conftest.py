"""Fixtures for the automation tests: a sandbox world, resources on it, a Dagster instance."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from dagster import (
    AssetKey,
    DagsterInstance,
    Definitions,
    ExecuteInProcessResult,
    SensorDefinition,
    build_sensor_context,
)
from dagster._core.definitions.sensor_definition import SensorExecutionData
from dagster._core.instance.ref import InstanceRef

from sales_pipeline.cli.demo import sandbox_resources
from sales_pipeline.definitions import build_definitions
from sales_pipeline.defs.jobs import pipeline_job
from sales_pipeline.defs.resources import PipelineResources
from sales_pipeline_tests.pipeline.conftest import PipelineWorld, make_world


class Automation:
    """A sandbox world with the pipeline's definitions and a Dagster instance on it."""

    def __init__(self, world: PipelineWorld, instance: DagsterInstance) -> None:
        self.world = world
        self.instance = instance
        self.resources: PipelineResources = sandbox_resources(world.sandbox, world.home)
        self.defs: Definitions = build_definitions(self.resources)

    def tick(self, sensor: SensorDefinition, cursor: str | None) -> SensorExecutionData:
        """Evaluate ``sensor`` once, as the daemon does, from ``cursor``."""
        context = build_sensor_context(
            instance=self.instance,
            cursor=cursor,
            resources=self.resources.as_dict(),
            definitions=self.defs,
        )
        with context:
            return sensor.evaluate_tick(context)

    def materialize(self, partition: str, *assets: str) -> ExecuteInProcessResult:
        """Run ``lead_pipeline`` for ``partition``, only ``assets`` when given."""
        job = self.defs.resolve_job_def(pipeline_job.name)
        selection = [AssetKey(name) for name in assets] or None
        return job.execute_in_process(
            partition_key=partition, instance=self.instance, asset_selection=selection
        )

    def lemlist(self, method: str, path: str) -> Any:
        """Call the sandbox's Lemlist API with the key it accepts."""
        answer = requests.request(
            method,
            f"{self.world.sandbox.lemlist_url}{path}",
            auth=("", self.world.sandbox.credentials.lemlist_key),
            timeout=30,
        )
        answer.raise_for_status()
        return answer.json()

    def advance_clock(self, seconds: float) -> None:
        """Move the sandbox's time forward."""
        requests.post(
            f"{self.world.sandbox.control_url}/clock",
            json={"advance_seconds": seconds},
            timeout=30,
        ).raise_for_status()

    def search_requests(self) -> int:
        """HubSpot search requests the sandbox has answered so far."""
        by_endpoint = self.world.stats()["hubspot"]["by_endpoint"]
        return sum(by_endpoint.get("search", {}).values())


@pytest.fixture
def automation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Automation]:
    """A fresh sandbox world and pipeline home, a Dagster instance in that home, and a HubSpot
    sensor that trusts the sandbox's search index at once (it has no lag by default)."""
    monkeypatch.setenv("SALES_PIPELINE_HUBSPOT_SEARCH_LAG_SECONDS", "0")
    for world in make_world(tmp_path):
        dagster_home = world.home / "dagster"
        dagster_home.mkdir(parents=True)
        with DagsterInstance.from_ref(InstanceRef.from_dir(str(dagster_home))) as instance:
            yield Automation(world, instance)
