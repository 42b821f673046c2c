"""The pipeline's jobs."""

from dagster import (
    define_asset_job,
)

from sales_pipeline.defs.assets import PIPELINE_ASSETS, hubspot_engagement_writeback

pipeline_job = define_asset_job(
    "lead_pipeline",
    selection=[asset.key for asset in PIPELINE_ASSETS],
    description="HubSpot contacts of a day through Explorium to Lemlist, with writeback.",
)

engagement_job = define_asset_job(
    "engagement_writeback",
    selection=[hubspot_engagement_writeback.key],
    description="Lemlist engagement queued by the activity sensor, written to HubSpot.",
)
