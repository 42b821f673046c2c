"""What every asset of the pipeline declares: group, owners, code version, tags, pool."""

from collections.abc import Callable, Sequence
from typing import Any

from dagster import AssetsDefinition, asset

from sales_pipeline.defs.partitions import daily_partitions, one_partition_per_run

DAILY_GROUP = "daily_pipeline"
"""The five daily assets, alone in their group: **Materialize all** on the group's graph is
a backfill of the daily pipeline, never mixed with the unpartitioned engagement asset."""

ENGAGEMENT_GROUP = "engagement"
"""The engagement writeback, driven by the Lemlist activity sensor (not partitioned)."""

OWNERS = ["team:revenue-operations"]
"""Who answers for the pipeline's assets (shown in the catalog)."""

CODE_VERSION = "2026-12-03"
"""The assets' code version: change it when what an asset computes changes, so the catalog
marks materializations made by older code."""


def stage_tags(stage: str, vendor: str) -> dict[str, str]:
    """The catalog tags of an asset of ``stage`` whose step talks to ``vendor``."""
    return {"stage": stage, "vendor": vendor, "personal_data": "masked"}


def daily_stage(
    stage: str,
    vendor: str,
    deps: Sequence[AssetsDefinition] = (),
    *,
    output_required: bool = True,
) -> Callable[[Callable[..., Any]], AssetsDefinition]:
    """An asset of the daily pipeline (:data:`DAILY_GROUP`), one partition per backfill run,
    whose step takes a slot of ``vendor``'s concurrency pool (so the pool bounds how many steps
    talk to one vendor at once across all runs); ``output_required=False`` for a stage whose
    dry run materializes nothing."""
    return asset(
        partitions_def=daily_partitions,
        backfill_policy=one_partition_per_run,
        group_name=DAILY_GROUP,
        kinds={vendor, "pandas"},
        deps=list(deps),
        output_required=output_required,
        owners=OWNERS,
        code_version=CODE_VERSION,
        tags=stage_tags(stage, vendor),
        pool=vendor,
    )
