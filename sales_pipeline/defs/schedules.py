"""The daily schedule."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from dagster import (
    DefaultScheduleStatus,
    RunRequest,
    ScheduleDefinition,
    ScheduleEvaluationContext,
    SkipReason,
    schedule,
)

from sales_pipeline.defs.descriptions import described
from sales_pipeline.defs.jobs import pipeline_job
from sales_pipeline.defs.partitions import daily_partitions
from sales_pipeline.settings import Settings

# The daily schedule ---------------------------------------------------------------------------


def previous_complete_day(moment: datetime) -> str:
    """The partition key of the last UTC day that has ended at ``moment`` (timezone-aware)."""
    return (moment.astimezone(UTC).date() - timedelta(days=1)).isoformat()


def build_daily_schedule(hour: int, timezone: str) -> ScheduleDefinition:
    """The daily schedule of ``lead_pipeline`` at ``hour``:00 in ``timezone`` (IANA name)."""
    if not 0 <= hour <= 23:
        raise ValueError(f"SALES_PIPELINE_SCHEDULE_HOUR must be an hour from 0 to 23, not {hour}")
    ZoneInfo(timezone)  # an unknown zone fails here, when the code location loads

    @described(
        schedule,
        ScheduleDefinition,
        name="lead_pipeline_daily",
        job=pipeline_job,
        cron_schedule=f"0 {hour} * * *",
        execution_timezone=timezone,
        default_status=DefaultScheduleStatus.STOPPED,
    )
    def lead_pipeline_daily(context: ScheduleEvaluationContext) -> RunRequest | SkipReason:
        """Every day, the pipeline for the previous complete UTC day (the run key is the day,
        so a tick evaluated twice launches one run). Hour and time zone come from
        SALES_PIPELINE_SCHEDULE_HOUR (default 6) and SALES_PIPELINE_SCHEDULE_TIMEZONE
        (default UTC)."""
        moment = context.scheduled_execution_time
        day = previous_complete_day(moment)
        if not daily_partitions.has_partition_key(day):
            return SkipReason(f"{day} is before the first partition {daily_partitions.start:%F}")
        return RunRequest(partition_key=day, run_key=day)

    return lead_pipeline_daily


def schedule_from_settings(settings: Settings) -> ScheduleDefinition:
    """:func:`build_daily_schedule` at ``SALES_PIPELINE_SCHEDULE_HOUR`` (default 6) in
    ``SALES_PIPELINE_SCHEDULE_TIMEZONE`` (default UTC)."""
    return build_daily_schedule(settings.schedule_hour, settings.schedule_timezone)
