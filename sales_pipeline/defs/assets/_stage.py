"""What every asset of the pipeline declares (group, owners, code version, tags, pool), and the
span its step runs in."""

import functools
import inspect
import time
from collections.abc import Callable, Sequence
from typing import Any

from dagster import AssetExecutionContext, AssetsDefinition, MetadataValue, Output, asset

from sales_pipeline.clients import step_span
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


def traced(compute: Callable[..., Any]) -> Callable[..., Any]:
    """``compute`` inside an OpenTelemetry span named after its asset, carrying the run id, so
    the vendor requests it makes nest under the step (a no-op unless ``OTEL_*`` configure an
    exporter; see the README's Tracing section).

    Each ``Output`` also carries ``compute_cpu_s``: the CPU seconds the process spent (all its
    threads) from the function's start, its input in memory, to the output, so what the step
    costs besides waiting for vendors and the disk shows in the catalog."""

    if inspect.isgeneratorfunction(compute):

        @functools.wraps(compute)
        def run_yielding(context: AssetExecutionContext, *args: Any, **kwargs: Any) -> Any:
            started = time.process_time()
            with step_span(context.asset_key.to_user_string(), context.run.run_id):
                for event in compute(context, *args, **kwargs):
                    yield _with_cpu(event, started)

        return run_yielding

    @functools.wraps(compute)
    def run(context: AssetExecutionContext, *args: Any, **kwargs: Any) -> Any:
        started = time.process_time()
        with step_span(context.asset_key.to_user_string(), context.run.run_id):
            return _with_cpu(compute(context, *args, **kwargs), started)

    return run


def _with_cpu(event: Any, started: float) -> Any:
    """``event`` with ``compute_cpu_s`` (process CPU since ``started``) if it is an ``Output``."""
    if not isinstance(event, Output):
        return event
    cpu_s = MetadataValue.float(round(time.process_time() - started, 3))
    return event.with_metadata({**event.metadata, "compute_cpu_s": cpu_s})


def daily_stage(
    stage: str,
    vendor: str,
    deps: Sequence[AssetsDefinition] = (),
    *,
    output_required: bool = True,
) -> Callable[[Callable[..., Any]], AssetsDefinition]:
    """An asset of the daily pipeline (:data:`DAILY_GROUP`), one partition per backfill run,
    whose step takes a slot of ``vendor``'s concurrency pool (so the pool bounds how many steps
    talk to one vendor at once across all runs), traced as a span; ``output_required=False``
    for a stage whose dry run materializes nothing."""
    decorate = asset(
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
    return lambda compute: decorate(traced(compute))
