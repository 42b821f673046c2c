"""The decorators every pipeline stage shares."""

import functools
from collections.abc import Callable, Sequence
from typing import Any

from dagster import AssetExecutionContext, AssetsDefinition, asset

from sales_pipeline.clients import step_span
from sales_pipeline.defs.partitions import daily_partitions, one_partition_per_run


def traced(compute: Callable[..., Any]) -> Callable[..., Any]:
    """``compute`` inside an OpenTelemetry span named after its asset, carrying the run id, so
    the vendor requests it makes nest under the step (a no-op unless ``OTEL_*`` configure an
    exporter; see the README's Tracing section)."""

    @functools.wraps(compute)
    def run(context: AssetExecutionContext, *args: Any, **kwargs: Any) -> Any:
        with step_span(context.asset_key.to_user_string(), context.run.run_id):
            return compute(context, *args, **kwargs)

    return run


def daily_stage(
    vendor: str, group: str, deps: Sequence[AssetsDefinition] = ()
) -> Callable[[Callable[..., Any]], AssetsDefinition]:
    """An asset on the daily partitions, one partition per backfill run, whose step takes a
    slot of ``vendor``'s concurrency pool (so the pool bounds how many steps talk to one
    vendor at once across all runs), traced as a span."""
    decorate = asset(
        partitions_def=daily_partitions,
        backfill_policy=one_partition_per_run,
        pool=vendor,
        group_name=group,
        kinds={vendor, "pandas"},
        deps=list(deps),
    )
    return lambda compute: decorate(traced(compute))
