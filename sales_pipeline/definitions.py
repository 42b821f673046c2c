"""The Dagster code location: assets, checks, jobs, schedules, sensors and resources."""

from dagster import Definitions

from sales_pipeline.defs.alerts import run_failure_alert
from sales_pipeline.defs.assets import ENGAGEMENT_ASSETS, PIPELINE_ASSETS
from sales_pipeline.defs.checks import ASSET_CHECKS
from sales_pipeline.defs.io_manager import StoreFrameIOManager
from sales_pipeline.defs.jobs import engagement_job, pipeline_job
from sales_pipeline.defs.resources import PipelineResources, resources_from_settings
from sales_pipeline.defs.schedules import schedule_from_settings
from sales_pipeline.defs.sensors import (
    hubspot_changes_sensor,
    lemlist_activity_sensor,
    webhook_inbox_sensor,
)
from sales_pipeline.settings import Settings, load_settings

__all__ = ["build_definitions", "defs", "pipeline_job"]


def build_definitions(
    resources: PipelineResources | None = None, settings: Settings | None = None
) -> Definitions:
    """The definitions for ``settings`` (the process's by default), with ``resources`` or else
    the resources those settings configure."""
    settings = settings or load_settings()
    resources = resources or resources_from_settings(settings)
    return Definitions(
        assets=[*PIPELINE_ASSETS, *ENGAGEMENT_ASSETS],
        asset_checks=ASSET_CHECKS,
        jobs=[pipeline_job, engagement_job],
        schedules=[schedule_from_settings(settings)],
        sensors=[
            webhook_inbox_sensor,
            hubspot_changes_sensor,
            lemlist_activity_sensor,
            run_failure_alert,
        ],
        resources={
            **resources.as_dict(),
            "io_manager": StoreFrameIOManager(store=resources.store),
        },
    )


defs = build_definitions()
