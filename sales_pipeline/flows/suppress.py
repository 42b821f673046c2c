"""Who must not be contacted: Lemlist unsubscribes and engagement, kept in the store.

Plain Python over the Lemlist client and the store (no Dagster). The store's suppression list
is what qualification and every push consult, so an unsubscribe synced here stops that lead
from being pushed by any later run.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from sales_pipeline.clients import LemlistClient
from sales_pipeline.domain.outcomes import SuppressionSource
from sales_pipeline.domain.records import Suppression
from sales_pipeline.store.pipeline_store import PipelineStore

ACTIVITY_SUPPRESSIONS: Mapping[str, SuppressionSource] = {
    "emailsBounced": SuppressionSource.LEMLIST_BOUNCE,
    "emailsUnsubscribed": SuppressionSource.LEMLIST_UNSUBSCRIBE,
    "emailsReplied": SuppressionSource.REPLY,
}
"""Lemlist activity types that put the lead's email on the suppression list, and why."""


def lemlist_time(value: Any) -> datetime | None:
    """A Lemlist timestamp (ISO 8601, ``Z``) as an aware datetime (naive ones read as UTC);
    None when absent or unreadable."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _moment(value: Any) -> datetime:
    """When a suppression happened: Lemlist's ``createdAt``, else now."""
    return lemlist_time(value) or datetime.now(UTC)


def sync_unsubscribes(client: LemlistClient, store: PipelineStore) -> int:
    """Copy Lemlist's unsubscribe list (emails and ``@domain`` entries) into the store.

    Returns how many entries were new. Entries whose value is neither an email nor a domain are
    skipped (Lemlist validates them, so none are expected).
    """
    entries = []
    for record in client.iter_unsubscribes():
        value = record.get("value")
        if isinstance(value, str) and "@" in value:
            entries.append(
                Suppression(
                    value, SuppressionSource.LEMLIST_UNSUBSCRIBE, _moment(record.get("createdAt"))
                )
            )
    return store.add_suppressions(entries)


def suppressions_from_activities(activities: Iterable[Mapping[str, Any]]) -> list[Suppression]:
    """The suppression entries that bounces, unsubscribes and replies imply."""
    entries = []
    for activity in activities:
        source = ACTIVITY_SUPPRESSIONS.get(str(activity.get("type")))
        email = activity.get("leadEmail")
        if source is not None and isinstance(email, str) and "@" in email:
            entries.append(Suppression(email, source, _moment(activity.get("createdAt"))))
    return entries
