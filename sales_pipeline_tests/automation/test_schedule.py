"""The daily schedule: the previous complete UTC day, at a configured hour and time zone."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from dagster import RunRequest, ScheduleDefinition, SkipReason, build_schedule_context

from sales_pipeline.definitions import build_definitions
from sales_pipeline.defs.schedules import build_daily_schedule, schedule_from_settings
from sales_pipeline.settings import Settings


def _evaluate(schedule: ScheduleDefinition, moment: datetime) -> list[RunRequest] | SkipReason:
    """One tick of ``schedule`` in the code location, as the daemon evaluates it."""
    repository = build_definitions().get_repository_def()
    context = build_schedule_context(scheduled_execution_time=moment, repository_def=repository)
    data = schedule.evaluate_tick(context)
    if data.skip_message:
        return SkipReason(data.skip_message)
    return list(data.run_requests or [])


def test_defaults_run_at_six_utc() -> None:
    schedule = schedule_from_settings(Settings.from_env({}))
    assert schedule.name == "lead_pipeline_daily"
    assert schedule.job_name == "lead_pipeline"
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("0 6 * * *", "UTC")
    assert schedule.description
    assert "previous complete UTC day" in schedule.description


def test_hour_and_time_zone_come_from_the_environment() -> None:
    environ = {
        "SALES_PIPELINE_SCHEDULE_HOUR": "9",
        "SALES_PIPELINE_SCHEDULE_TIMEZONE": "Europe/Paris",
    }
    schedule = schedule_from_settings(Settings.from_env(environ))
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("0 9 * * *", "Europe/Paris")


@pytest.mark.parametrize(
    ("timezone", "local_time", "day"),
    [
        ("UTC", datetime(2026, 11, 26, 6), "2026-11-25"),
        ("America/New_York", datetime(2026, 11, 26, 6), "2026-11-25"),
        # 06:00 in Tokyo is 21:00 UTC the day before: the 25th is not over yet.
        ("Asia/Tokyo", datetime(2026, 11, 26, 6), "2026-11-24"),
    ],
)
def test_a_tick_requests_the_previous_complete_utc_day_once(
    timezone: str, local_time: datetime, day: str
) -> None:
    schedule = build_daily_schedule(6, timezone)
    moment = local_time.replace(tzinfo=ZoneInfo(timezone))
    first = _evaluate(schedule, moment)
    assert isinstance(first, list)
    assert [(r.partition_key, r.run_key) for r in first] == [(day, day)]
    # The same tick evaluated again asks for the same run key: Dagster launches it once.
    assert _evaluate(schedule, moment) == first


def test_days_before_the_first_partition_are_skipped() -> None:
    skipped = _evaluate(build_daily_schedule(6, "UTC"), datetime(2020, 1, 2, 6, tzinfo=UTC))
    assert isinstance(skipped, SkipReason)
    assert "before the first partition" in (skipped.skip_message or "")


@pytest.mark.parametrize(("hour", "timezone"), [(24, "UTC"), (-1, "UTC"), (6, "Mars/Olympus")])
def test_a_bad_configuration_fails_when_the_code_location_loads(hour: int, timezone: str) -> None:
    with pytest.raises((ValueError, KeyError)):
        build_daily_schedule(hour, timezone)
