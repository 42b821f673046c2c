"""Lemlist's answers read into the client's typed records, once, where they arrive.

Lemlist's own field names (``_id``, ``leadEmail``, ``createdAt``, ``campaignId``) are read here
and nowhere else; what a record lacks or holds in the wrong type becomes ``None``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sales_pipeline.clients.lemlist.models import Activity, Campaign, LeadMembership, Unsubscribe


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


def _text(record: Mapping[str, Any], key: str) -> str | None:
    value = record.get(key)
    return value if isinstance(value, str) else None


def campaign(record: Mapping[str, Any]) -> Campaign | None:
    """A campaign, or None when the record carries no id."""
    campaign_id = record.get("_id")
    if campaign_id is None:
        return None
    return Campaign(str(campaign_id), _text(record, "name"), _text(record, "status"))


def unsubscribe(record: Mapping[str, Any]) -> Unsubscribe | None:
    """An unsubscribe entry, or None when its value is neither an email nor a domain."""
    value = record.get("value")
    if not (isinstance(value, str) and "@" in value):
        return None
    return Unsubscribe(value, lemlist_time(record.get("createdAt")))


def activity(record: Mapping[str, Any]) -> Activity:
    """An activity; fields Lemlist leaves out are None."""
    return Activity(
        id=_text(record, "_id"),
        type=str(record.get("type")),
        lead_email=_text(record, "leadEmail"),
        created_at=lemlist_time(record.get("createdAt")),
        campaign_id=_text(record, "campaignId"),
    )


def lead_membership(record: Mapping[str, Any]) -> LeadMembership:
    """One campaign membership of a lead."""
    return LeadMembership(_text(record, "_id"), _text(record, "campaignId"))
