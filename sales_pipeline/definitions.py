"""The Dagster code location: assets, checks, jobs and resources."""

from dagster import Definitions, define_asset_job

from sales_pipeline.assets import PIPELINE_ASSETS
from sales_pipeline.checks import ASSET_CHECKS
from sales_pipeline.io_manager import StoreFrameIOManager
from sales_pipeline.partitions import daily_partitions
from sales_pipeline.resources import PipelineResources, resources_from_env

pipeline_job = define_asset_job(
    "lead_pipeline",
    selection=[asset.key for asset in PIPELINE_ASSETS],
    partitions_def=daily_partitions,
    description="HubSpot contacts of a day through Explorium to Lemlist, with writeback.",
)


def build_definitions(resources: PipelineResources | None = None) -> Definitions:
    """The definitions, with ``resources`` or else resources configured from the environment."""
    resources = resources or resources_from_env()
    return Definitions(
        assets=PIPELINE_ASSETS,
        asset_checks=ASSET_CHECKS,
        jobs=[pipeline_job],
        resources={
            **resources.as_dict(),
            "io_manager": StoreFrameIOManager(store=resources.store),
        },
    )


defs = build_definitions()
