"""The Dagster code location: assets, checks, jobs, schedules, sensors and resources."""

from dagster import Definitions, ExecutorDefinition

from sales_pipeline.defs.alerts import run_failure_alert
from sales_pipeline.defs.assets import ENGAGEMENT_ASSETS, PIPELINE_ASSETS
from sales_pipeline.defs.backlog import (
    backlog_job,
    outstanding_work_sensor,
    pipeline_backlog,
    pipeline_backlog_is_healthy,
)
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


def _executor(settings: Settings) -> ExecutorDefinition | None:
    """Celery's executor when ``SALES_PIPELINE_EXECUTOR=celery`` (broker and queue from the run
    config, ``deploy/celery.yaml``), else None: Dagster's default, a process per step.
    dagster-celery is imported only then, so a deployment without Celery never loads it."""
    if settings.executor != "celery":
        return None
    from dagster_celery import celery_executor

    return celery_executor


def build_definitions(
    resources: PipelineResources | None = None, settings: Settings | None = None
) -> Definitions:
    """The definitions for ``settings`` (the process's by default), with ``resources`` or else
    the resources those settings configure."""
    settings = settings or load_settings()
    resources = resources or resources_from_settings(settings)
    return Definitions(
        executor=_executor(settings),
        assets=[*PIPELINE_ASSETS, *ENGAGEMENT_ASSETS, pipeline_backlog],
        asset_checks=[*ASSET_CHECKS, pipeline_backlog_is_healthy],
        jobs=[pipeline_job, engagement_job, backlog_job],
        schedules=[schedule_from_settings(settings)],
        sensors=[
            webhook_inbox_sensor,
            hubspot_changes_sensor,
            lemlist_activity_sensor,
            outstanding_work_sensor,
            run_failure_alert,
        ],
        resources={
            **resources.as_dict(),
            "io_manager": StoreFrameIOManager(store=resources.store),
        },
    )


defs = build_definitions()
