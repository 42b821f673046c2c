"""The sensors that react to the vendors: the webhook inbox first (every few seconds), and the
polling sensors as the reconciliation path for whatever the receiver missed: HubSpot changes
request the changed days, Lemlist activity suppresses and queues engagement."""

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from dagster import (
    DefaultSensorStatus,
    RunRequest,
    SensorDefinition,
    SensorEvaluationContext,
    SensorResult,
    sensor,
)

from sales_pipeline.clients import Activity
from sales_pipeline.clients.lemlist.answers import activity as lemlist_activity
from sales_pipeline.defs.descriptions import described
from sales_pipeline.defs.jobs import engagement_job, pipeline_job
from sales_pipeline.defs.partitions import daily_partitions
from sales_pipeline.defs.resources import HubSpotResource, LemlistResource, PipelineStoreResource
from sales_pipeline.flows.engagement import engagements_from_activities
from sales_pipeline.flows.suppress import suppressions_from_activities, sync_unsubscribes
from sales_pipeline.settings import load_settings
from sales_pipeline.store.engagement import EngagementQueue
from sales_pipeline.store.inbox import InboxEntry, WebhookInbox, WebhookVendor
from sales_pipeline.webhooks.checks import hubspot_event_day

# HubSpot changes ------------------------------------------------------------------------------


"""How far behind real time HubSpot's search index is assumed to be: the HubSpot sensor only
requests changes older than this, so a change still being indexed is never skipped."""

INITIAL_ACTIVITY_LOOKBACK = timedelta(days=7)
"""How far back the Lemlist sensor reads on its first tick (unsubscribes are synced in full)."""


def day_bounds(start: datetime, end: datetime) -> list[datetime]:
    """``start``, every UTC midnight strictly between ``start`` and ``end``, then ``end``."""
    bounds = [start]
    midnight = datetime.combine(start.astimezone(UTC).date(), datetime.min.time(), UTC)
    while (midnight := midnight + timedelta(days=1)) < end:
        bounds.append(midnight)
    return [*bounds, end]


def _start_of_today() -> datetime:
    return datetime.combine(datetime.now(UTC).date(), datetime.min.time(), UTC)


@described(
    sensor,
    SensorDefinition,
    job=pipeline_job,
    minimum_interval_seconds=1800,
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
    until = datetime.now(UTC) - timedelta(seconds=load_settings().hubspot_search_lag_seconds)
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
    """Where the Lemlist sensor stands: the latest activity time seen and the ids seen at that
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

    def is_new(self, activity: Activity) -> bool:
        """Whether ``activity`` was not processed by an earlier tick."""
        moment = activity.created_at
        if moment is None:
            return True
        return moment > self.since or (moment == self.since and str(activity.id) not in self.ids)

    def advanced(self, activities: Iterable[Activity]) -> "ActivityCursor":
        """The cursor after processing ``activities`` (new ones, in any order)."""
        latest, ids = self.since, set(self.ids)
        for activity in activities:
            moment = activity.created_at
            if moment is None or moment < latest:
                continue
            if moment > latest:
                latest, ids = moment, set()
            ids.add(str(activity.id))
        return ActivityCursor(latest, frozenset(ids))


@described(
    sensor,
    SensorDefinition,
    job=engagement_job,
    minimum_interval_seconds=900,
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
    latest activity time seen plus the ids at that instant; it starts 7 days back.
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


# Webhook inbox ----------------------------------------------------------------------------------

WEBHOOK_TICK_SECONDS = 1
"""The inbox sensor's minimum interval. Dagster's daemon visits its sensors about every 5 s
(``MIN_INTERVAL_LOOP_TIME``); an interval shorter than that asks for a tick at every visit (an
interval of exactly 5 s would skip every other visit, whose start jitters). An idle tick reads
the inbox twice, by an indexed column."""

INBOX_PAGE = 1000
"""Inbox events of each vendor handled per tick at most; the rest wait for the next tick."""


def _digest(entries: Iterable[InboxEntry]) -> str:
    """A short stable name for a set of inbox rows (for run keys)."""
    ids = ",".join(str(entry.id) for entry in sorted(entries, key=lambda e: e.id))
    return hashlib.sha256(ids.encode()).hexdigest()[:16]


@described(
    sensor,
    SensorDefinition,
    job=pipeline_job,
    minimum_interval_seconds=WEBHOOK_TICK_SECONDS,
    default_status=DefaultSensorStatus.STOPPED,
)
def webhook_inbox_sensor(
    context: SensorEvaluationContext, store: PipelineStoreResource
) -> SensorResult:
    """Acts on the webhooks the receiver stored, at every visit of the daemon (about 5 s).

    Lemlist events are activity records: the replies, bounces and unsubscribes among them are
    added to the store's suppression list during the tick, so no push after it reaches those
    leads (the push checks the list right before each lead), and their engagement is queued
    for HubSpot (lemlist_activity_sensor requests the engagement_writeback run while the queue
    holds any: a lead status may wait minutes, a suppression may not, and launching runs would
    slow the tick down). HubSpot contact creations and property changes request a lead_pipeline
    run of the day each one moved its contact into, once they are older than
    SALES_PIPELINE_HUBSPOT_SEARCH_LAG_SECONDS (HubSpot's search must see them first).

    Handled events are marked processed in the inbox after their effects are written; a tick
    that fails half way handles them again, which changes nothing (suppressions and the
    engagement queue ignore what they hold; run keys name the inbox rows). The polling sensors
    remain the reconciliation path for whatever was sent while the receiver was down.
    """
    pipeline_store = store.get_store()
    inbox = WebhookInbox(pipeline_store)
    lemlist = inbox.pending(WebhookVendor.LEMLIST, limit=INBOX_PAGE)
    activities = [lemlist_activity(entry.event.payload) for entry in lemlist]
    suppressed = pipeline_store.add_suppressions(suppressions_from_activities(activities))
    queued = EngagementQueue(pipeline_store).add(engagements_from_activities(activities))
    inbox.mark_processed([entry.id for entry in lemlist])

    settled = datetime.now(UTC) - timedelta(seconds=load_settings().hubspot_search_lag_seconds)
    hubspot = inbox.pending(WebhookVendor.HUBSPOT, received_before=settled, limit=INBOX_PAGE)
    by_day: dict[str, list[InboxEntry]] = {}
    for entry in hubspot:
        by_day.setdefault(hubspot_event_day(entry.event.payload, entry.received_at), []).append(
            entry
        )
    run_requests = [
        RunRequest(partition_key=day, run_key=f"hubspot-webhook:{day}:{_digest(entries)}")
        for day, entries in sorted(by_day.items())
        if daily_partitions.has_partition_key(day)
    ]
    inbox.mark_processed([entry.id for entry in hubspot])
    summary = (
        f"{len(lemlist)} Lemlist events ({suppressed} suppressed, {queued} engagements queued), "
        f"{len(hubspot)} HubSpot events over {len(by_day)} days"
    )
    if lemlist or hubspot:
        context.log.info(summary)
    if not run_requests:
        return SensorResult(skip_reason=f"no day to run ({summary})")
    return SensorResult(run_requests=run_requests)
