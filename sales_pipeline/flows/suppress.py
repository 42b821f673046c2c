"""Who must not be contacted: Lemlist unsubscribes and engagement, kept in the store.

Plain Python over the Lemlist client and the store (no Dagster). The store's suppression list
is what qualification and every push consult, so an unsubscribe synced here stops that lead
from being pushed by any later run.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

from sales_pipeline.clients import Activity, LemlistClient
from sales_pipeline.domain.outcomes import SuppressionSource
from sales_pipeline.domain.records import Suppression
from sales_pipeline.store.pipeline_store import PipelineStore

ACTIVITY_SUPPRESSIONS: Mapping[str, SuppressionSource] = {
    "emailsBounced": SuppressionSource.LEMLIST_BOUNCE,
    "emailsUnsubscribed": SuppressionSource.LEMLIST_UNSUBSCRIBE,
    "emailsReplied": SuppressionSource.REPLY,
}
"""Lemlist activity types that put the lead's email on the suppression list, and why."""


def _moment(value: datetime | None) -> datetime:
    """When a suppression happened: Lemlist's time for it, else now."""
    return value or datetime.now(UTC)


def sync_unsubscribes(client: LemlistClient, store: PipelineStore) -> int:
    """Copy Lemlist's unsubscribe list (emails and ``@domain`` entries) into the store.

    Returns how many entries were new.
    """
    entries = [
        Suppression(entry.value, SuppressionSource.LEMLIST_UNSUBSCRIBE, _moment(entry.created_at))
        for entry in client.iter_unsubscribes()
    ]
    return store.add_suppressions(entries)


def suppressions_from_activities(activities: Iterable[Activity]) -> list[Suppression]:
    """The suppression entries that bounces, unsubscribes and replies imply."""
    entries = []
    for activity in activities:
        source = ACTIVITY_SUPPRESSIONS.get(activity.type)
        email = activity.lead_email
        if source is not None and email is not None and "@" in email:
            entries.append(Suppression(email, source, _moment(activity.created_at)))
    return entries
