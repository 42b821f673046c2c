"""The one partitioning every asset shares: the UTC day a contact was last modified in HubSpot.

The first day is configuration (``SALES_PIPELINE_START_DATE``, ``YYYY-MM-DD``). The current,
still-growing day is a partition too, so a sensor can catch up on today's changes; the schedule
materializes the previous, complete day.
"""

from __future__ import annotations

from dagster import BackfillPolicy, DailyPartitionsDefinition

from sales_pipeline.settings import load_settings

daily_partitions = DailyPartitionsDefinition(
    start_date=load_settings().start_date,
    timezone="UTC",
    end_offset=1,
)

one_partition_per_run = BackfillPolicy.multi_run(max_partitions_per_run=1)
"""Backfills launch one run per day: each run's API work is small and independently retryable,
runs queue behind Dagster's run-concurrency limits, and the vendor pools (``dagster.yaml``)
bound how many steps talk to one vendor at once."""
