"""The decorator every daily pipeline stage shares."""

from collections.abc import Callable, Sequence
from typing import Any

from dagster import AssetsDefinition, asset

from sales_pipeline.defs.partitions import daily_partitions, one_partition_per_run


def daily_stage(
    vendor: str, group: str, deps: Sequence[AssetsDefinition] = ()
) -> Callable[[Callable[..., Any]], AssetsDefinition]:
    """An asset on the daily partitions, one partition per backfill run, whose step takes a
    slot of ``vendor``'s concurrency pool (so the pool bounds how many steps talk to one
    vendor at once across all runs)."""
    return asset(
        partitions_def=daily_partitions,
        backfill_policy=one_partition_per_run,
        pool=vendor,
        group_name=group,
        kinds={vendor, "pandas"},
        deps=list(deps),
    )
