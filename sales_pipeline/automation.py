"""When the pipeline runs: its jobs, the daily schedule, and the sensors that react to the vendors.

* ``lead_pipeline`` (daily partitions) runs every stage for one day of HubSpot changes;
  ``engagement_writeback`` writes Lemlist engagement to HubSpot.
* ``lead_pipeline_daily`` materializes the previous complete UTC day, at
  ``SALES_PIPELINE_SCHEDULE_HOUR`` (default 6) o'clock in ``SALES_PIPELINE_SCHEDULE_TIMEZONE``
  (default UTC).
* ``hubspot_changes_sensor`` requests the days whose contacts changed since its cursor.
* ``lemlist_activity_sensor`` suppresses replies, bounces and unsubscribes at once and queues the
  engagement for ``engagement_writeback``.
* ``run_failure_alert`` records every failed run and, when
  ``SALES_PIPELINE_FAILURE_WEBHOOK_URL`` is set, posts a redacted summary to it.

Sensors and schedule start stopped (turn them on in the UI or with ``dagster sensor start``);
the failure alert starts running. Every run request carries a ``run_key``, so a tick evaluated
twice launches nothing twice.
"""

import hashlib
import inspect
import json
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import requests
from dagster import (
    DagsterEvent,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    RunFailureSensorContext,
    RunRequest,
    ScheduleDefinition,
    ScheduleEvaluationContext,
    SensorDefinition,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    define_asset_job,
    run_failure_sensor,
    schedule,
    sensor,
)
from dagster_shared.error import SerializableErrorInfo

from sales_pipeline.assets import PIPELINE_ASSETS, hubspot_engagement_writeback
from sales_pipeline.clients import redact
from sales_pipeline.engagement import (
    EngagementQueue,
    activity_time,
    engagements_from_activities,
)
from sales_pipeline.partitions import daily_partitions
from sales_pipeline.resources import HubSpotResource, LemlistResource, PipelineStoreResource
from sales_pipeline.suppression import suppressions_from_activities, sync_unsubscribes

SCHEDULE_HOUR_ENV = "SALES_PIPELINE_SCHEDULE_HOUR"
SCHEDULE_TIMEZONE_ENV = "SALES_PIPELINE_SCHEDULE_TIMEZONE"
SEARCH_LAG_ENV = "SALES_PIPELINE_HUBSPOT_SEARCH_LAG_SECONDS"
FAILURE_WEBHOOK_ENV = "SALES_PIPELINE_FAILURE_WEBHOOK_URL"

DEFAULT_SEARCH_LAG_SECONDS = 60.0
"""How far behind real time HubSpot's search index is assumed to be: the HubSpot sensor only
requests changes older than this, so a change still being indexed is never skipped."""

INITIAL_ACTIVITY_LOOKBACK = timedelta(days=7)
"""How far back the Lemlist sensor reads on its first tick (unsubscribes are synced in full)."""

FAILURE_MESSAGE_MAX = 300
"""Characters of an error message sent to the failure webhook."""

PARTITION_TAG = "dagster/partition"
RANGE_TAGS = ("dagster/asset_partition_range_start", "dagster/asset_partition_range_end")
"""How a run names its partition: one key (schedule, sensor, launchpad) or a range (an asset
backfill, whose policy here makes each run's range a single day)."""

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

Definition = TypeVar("Definition", ScheduleDefinition, SensorDefinition)


def _described(
    decorator: Callable[..., Callable[[Callable[..., Any]], object]],
    kind: type[Definition],
    **options: Any,
) -> Callable[[Callable[..., Any]], Definition]:
    """``decorator(**options)``, with the decorated function's docstring as the description
    Dagster shows; the result must be a ``kind``."""

    def apply(function: Callable[..., Any]) -> Definition:
        definition = decorator(description=inspect.getdoc(function), **options)(function)
        if not isinstance(definition, kind):
            raise TypeError(f"{function.__name__} did not become a {kind.__name__}")
        return definition

    return apply


# The daily schedule ---------------------------------------------------------------------------


def previous_complete_day(moment: datetime) -> str:
    """The partition key of the last UTC day that has ended at ``moment`` (timezone-aware)."""
    return (moment.astimezone(UTC).date() - timedelta(days=1)).isoformat()


def build_daily_schedule(hour: int, timezone: str) -> ScheduleDefinition:
    """The daily schedule of ``lead_pipeline`` at ``hour``:00 in ``timezone`` (IANA name)."""
    if not 0 <= hour <= 23:
        raise ValueError(f"{SCHEDULE_HOUR_ENV} must be an hour from 0 to 23, not {hour}")
    ZoneInfo(timezone)  # an unknown zone fails here, when the code location loads

    @_described(
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


def schedule_from_env() -> ScheduleDefinition:
    """:func:`build_daily_schedule` configured by ``SALES_PIPELINE_SCHEDULE_HOUR`` (default 6)
    and ``SALES_PIPELINE_SCHEDULE_TIMEZONE`` (default UTC)."""
    return build_daily_schedule(
        int(os.environ.get(SCHEDULE_HOUR_ENV) or 6),
        os.environ.get(SCHEDULE_TIMEZONE_ENV) or "UTC",
    )


# HubSpot changes ------------------------------------------------------------------------------


def day_bounds(start: datetime, end: datetime) -> list[datetime]:
    """``start``, every UTC midnight strictly between ``start`` and ``end``, then ``end``."""
    bounds = [start]
    midnight = datetime.combine(start.astimezone(UTC).date(), datetime.min.time(), UTC)
    while (midnight := midnight + timedelta(days=1)) < end:
        bounds.append(midnight)
    return [*bounds, end]


def _start_of_today() -> datetime:
    return datetime.combine(datetime.now(UTC).date(), datetime.min.time(), UTC)


@_described(
    sensor,
    SensorDefinition,
    job=pipeline_job,
    minimum_interval_seconds=300,
    default_status=DefaultSensorStatus.STOPPED,
)
def hubspot_changes_sensor(
    context: SensorEvaluationContext, hubspot: HubSpotResource
) -> SensorResult:
    """Runs the pipeline for each day whose HubSpot contacts changed since the cursor.

    Cheap: one search count (limit 1) per tick when nothing changed, plus one per day boundary
    in the window when something did. Only changes older than
    SALES_PIPELINE_HUBSPOT_SEARCH_LAG_SECONDS (default 60) are requested, because HubSpot's
    search index lags writes. The cursor is the end of the window requested (every change
    before it has been requested) and starts at the beginning of the current UTC day; run keys
    name the day and the window's start, so a tick evaluated twice requests nothing twice.
    """
    since = datetime.fromisoformat(context.cursor) if context.cursor else _start_of_today()
    until = datetime.now(UTC) - timedelta(
        seconds=float(os.environ.get(SEARCH_LAG_ENV) or DEFAULT_SEARCH_LAG_SECONDS)
    )
    if until <= since:
        return SensorResult(skip_reason=f"nothing to look at before {since:%FT%T%z}")
    bounds = day_bounds(since, until)
    with hubspot.get_client() as client:
        totals = [client.count_contacts_modified_since(since)]
        if totals[0]:
            totals += [client.count_contacts_modified_since(bound) for bound in bounds[1:]]
    window, cursor = (moment.isoformat(timespec="milliseconds") for moment in (since, until))
    changed = {
        start.date().isoformat(): after_start - after_end
        for start, after_start, after_end in zip(bounds, totals, totals[1:], strict=False)
        if after_start > after_end
    }
    run_requests = [
        RunRequest(partition_key=day, run_key=f"hubspot-changes:{day}:{window}")
        for day in changed
        if daily_partitions.has_partition_key(day)
    ]
    if not run_requests:
        return SensorResult(
            skip_reason=f"no HubSpot contact modified between {since:%FT%T%z} and {until:%FT%T%z}",
            cursor=cursor,
        )
    context.log.info(f"HubSpot contacts changed per day: {changed}")
    return SensorResult(run_requests=run_requests, cursor=cursor)


# Lemlist activity -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ActivityCursor:
    """Where the Lemlist sensor stands: the latest ``createdAt`` seen and the ids seen at that
    instant (Lemlist's ``minDate`` is inclusive, so those come back and are dropped)."""

    since: datetime
    ids: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, raw: str | None) -> "ActivityCursor":
        """The cursor a tick stored, or the initial one (:data:`INITIAL_ACTIVITY_LOOKBACK`)."""
        if not raw:
            return cls(datetime.now(UTC) - INITIAL_ACTIVITY_LOOKBACK)
        saved = json.loads(raw)
        return cls(datetime.fromisoformat(saved["since"]), frozenset(saved["ids"]))

    def serialize(self) -> str:
        """The cursor as the sensor stores it."""
        return json.dumps({"since": self.since.isoformat(), "ids": sorted(self.ids)})

    def is_new(self, activity: Mapping[str, Any]) -> bool:
        """Whether ``activity`` was not processed by an earlier tick."""
        moment = activity_time(activity)
        if moment is None:
            return True
        return moment > self.since or (
            moment == self.since and str(activity.get("_id")) not in self.ids
        )

    def advanced(self, activities: Iterable[Mapping[str, Any]]) -> "ActivityCursor":
        """The cursor after processing ``activities`` (new ones, in any order)."""
        latest, ids = self.since, set(self.ids)
        for activity in activities:
            moment = activity_time(activity)
            if moment is None or moment < latest:
                continue
            if moment > latest:
                latest, ids = moment, set()
            ids.add(str(activity.get("_id")))
        return ActivityCursor(latest, frozenset(ids))


@_described(
    sensor,
    SensorDefinition,
    job=engagement_job,
    minimum_interval_seconds=120,
    default_status=DefaultSensorStatus.STOPPED,
)
def lemlist_activity_sensor(
    context: SensorEvaluationContext, lemlist: LemlistResource, store: PipelineStoreResource
) -> SensorResult:
    """Follows Lemlist activities: suppresses at once, then requests the engagement writeback.

    Each tick reads the activities since its cursor (deduplicated by id), adds the addresses
    that replied, bounced or unsubscribed to the store's suppression list and re-syncs Lemlist's
    unsubscribe list, all before it returns: from then on no run pushes those leads. Replies,
    interest, bounces and unsubscribes are queued in the store (emails never go into run
    config) and, while any wait, an engagement_writeback run is requested under a run key
    derived from the cursor, so a tick evaluated twice requests it once. The cursor is the
    latest createdAt seen plus the ids at that instant; it starts 7 days back.
    """
    cursor = ActivityCursor.parse(context.cursor)
    pipeline_store = store.get_store()
    with lemlist.get_client() as client:
        activities = [a for a in client.iter_activities(since=cursor.since) if cursor.is_new(a)]
        suppressed = pipeline_store.add_suppressions(suppressions_from_activities(activities))
        unsubscribed = sync_unsubscribes(client, pipeline_store)
    queue = EngagementQueue(pipeline_store)
    queued = queue.add(engagements_from_activities(activities))
    waiting = queue.pending_count()
    next_cursor = cursor.advanced(activities).serialize()
    summary = (
        f"{len(activities)} new activities, {suppressed} suppressed from activities, "
        f"{unsubscribed} new unsubscribes, {queued} engagements queued, {waiting} waiting"
    )
    context.log.info(summary)
    if not waiting:
        return SensorResult(skip_reason=f"no engagement to write ({summary})", cursor=next_cursor)
    run_key = hashlib.sha256((context.cursor or "").encode()).hexdigest()[:16]
    return SensorResult(
        run_requests=[RunRequest(run_key=f"lemlist-engagement:{run_key}")], cursor=next_cursor
    )


# Run failures ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunFailure:
    """What the failure alert says about a failed run: no secret, no personal data."""

    job: str
    run_id: str
    partition: str | None
    step: str | None
    error_class: str
    message: str

    def payload(self) -> dict[str, str | None]:
        """The webhook's JSON body."""
        return {"event": "run_failure", **vars(self)}


def _user_error(error: SerializableErrorInfo) -> tuple[str, str]:
    """The class and message of the error the code raised, under Dagster's wrappers."""
    while error.cause is not None and error.cls_name and error.cls_name.startswith("Dagster"):
        error = error.cause
    error_class = error.cls_name or "Error"
    _, _, message = error.message.partition(f"{error_class}: ")
    return error_class, message or error.message


def one_line(message: str) -> str:
    """The first non-blank line of ``message``, redacted and cut to
    :data:`FAILURE_MESSAGE_MAX` characters."""
    line = next((text.strip() for text in message.splitlines() if text.strip()), "")
    return redact(line)[:FAILURE_MESSAGE_MAX]


def run_partition(tags: Mapping[str, str]) -> str | None:
    """The partition a run worked on, from its tags: ``day``, ``first...last`` or None."""
    start, end = (tags.get(tag) for tag in RANGE_TAGS)
    if PARTITION_TAG in tags or not (start and end):
        return tags.get(PARTITION_TAG)
    return start if start == end else f"{start}...{end}"


def describe_failure(
    job: str,
    run_id: str,
    tags: Mapping[str, str],
    failure_event: DagsterEvent,
    step_failures: Sequence[DagsterEvent],
) -> RunFailure:
    """The :class:`RunFailure` of a run, from its failure event and step failure events: the
    first failed step's error, else the run's own error or failure reason."""
    step = step_failures[0] if step_failures else None
    run_data = failure_event.job_failure_data
    if step is not None:
        error = step.step_failure_data.error
        fallback = "StepFailure"
    else:
        error = run_data.error if run_data else None
        reason = run_data.failure_reason if run_data else None
        fallback = reason.value if reason else "RunFailure"
    if error is not None:
        error_class, message = _user_error(error)
    else:
        error_class, message = fallback, (step or failure_event).message or ""
    return RunFailure(
        job,
        run_id,
        run_partition(tags),
        step.step_key if step else None,
        error_class,
        one_line(message),
    )


def post_failure(url: str, failure: RunFailure) -> str:
    """POST the failure to the webhook; ``"delivered"`` or why not (never the URL, which
    often embeds a token)."""
    try:
        requests.post(url, json=failure.payload(), timeout=10).raise_for_status()
    except requests.RequestException as error:
        status = getattr(error.response, "status_code", None)
        return f"failed: {type(error).__name__}" + (f" {status}" if status else "")
    return "delivered"


@_described(
    run_failure_sensor,
    SensorDefinition,
    name="run_failure_alert",
    default_status=DefaultSensorStatus.RUNNING,
)
def run_failure_alert(context: RunFailureSensorContext, store: PipelineStoreResource) -> None:
    """Records every failed run of this code location with its error class, and posts a
    redacted one-line summary (job, run id, partition, step, error class, message) to
    SALES_PIPELINE_FAILURE_WEBHOOK_URL when it is set. The record is kept in the store under
    run_failure:<run id>."""
    run = context.dagster_run
    failure = describe_failure(
        run.job_name,
        run.run_id,
        run.tags,
        context.failure_event,
        context.get_step_failure_events(),
    )
    url = os.environ.get(FAILURE_WEBHOOK_ENV)
    webhook = post_failure(url, failure) if url else "not configured"
    context.log.error(
        f"run {failure.run_id} of {failure.job} failed at {failure.step or 'run level'}: "
        f"{failure.error_class}: {failure.message} (webhook {webhook})"
    )
    store.get_store().set_cursor(
        f"run_failure:{failure.run_id}",
        json.dumps({**failure.payload(), "webhook": webhook}, sort_keys=True),
    )
