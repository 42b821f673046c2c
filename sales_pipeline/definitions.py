"""The Dagster code location: assets, checks, jobs, schedules, sensors and resources."""

from dagster import Definitions

from sales_pipeline.assets import ENGAGEMENT_ASSETS, PIPELINE_ASSETS
from sales_pipeline.automation import (
    engagement_job,
    hubspot_changes_sensor,
    lemlist_activity_sensor,
    pipeline_job,
    run_failure_alert,
    schedule_from_env,
)
from sales_pipeline.checks import ASSET_CHECKS
from sales_pipeline.io_manager import StoreFrameIOManager
from sales_pipeline.resources import PipelineResources, resources_from_env

__all__ = ["build_definitions", "defs", "pipeline_job"]


def build_definitions(resources: PipelineResources | None = None) -> Definitions:
    """The definitions, with ``resources`` or else resources configured from the environment."""
    resources = resources or resources_from_env()
    return Definitions(
        assets=[*PIPELINE_ASSETS, *ENGAGEMENT_ASSETS],
        asset_checks=ASSET_CHECKS,
        jobs=[pipeline_job, engagement_job],
        schedules=[schedule_from_env()],
        sensors=[hubspot_changes_sensor, lemlist_activity_sensor, run_failure_alert],
        resources={
            **resources.as_dict(),
            "io_manager": StoreFrameIOManager(store=resources.store),
        },
    )


defs = build_definitions()
