"""Lemlist engagement waiting to be written to HubSpot as each contact's lead status.

Plain Python over the store's database (no Dagster). The Lemlist activity sensor queues the
engagement it sees here, one row per activity id, so a repeated tick queues nothing twice; the
``hubspot_engagement_writeback`` asset drains the queue. Emails travel through this table and
never through run config, which Dagster's UI shows to everyone.

The ``engagement_queue`` table is one of the pipeline store's tables (migration 3).

How engagement maps onto HubSpot's ``hs_lead_status`` (:data:`LEAD_STATUS`):

=====================  ========================  =============================================
Lemlist activity       ``hs_lead_status``        why
=====================  ========================  =============================================
``emailsReplied``      ``CONNECTED``             a two-way conversation has started
``interested``         ``IN_PROGRESS``           a warm lead that sales is now working
``notInterested``      ``UNQUALIFIED``           the person said no
``emailsUnsubscribed`` ``UNQUALIFIED``           the person asked not to be contacted
``emailsBounced``      ``ATTEMPTED_TO_CONTACT``  we tried, the address did not reach them
=====================  ========================  =============================================

Sends, opens and clicks change nothing: they say nothing about the person's intent. When a
contact has several engagements waiting, the latest one decides.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa

from sales_pipeline.store import (
    PipelineStore,
    dialect_insert,
    engagement_queue,
    normalize_email,
    utc_now,
)
from sales_pipeline.suppression import lemlist_time

LEAD_STATUS: Mapping[str, str] = {
    "emailsReplied": "CONNECTED",
    "interested": "IN_PROGRESS",
    "notInterested": "UNQUALIFIED",
    "emailsUnsubscribed": "UNQUALIFIED",
    "emailsBounced": "ATTEMPTED_TO_CONTACT",
}
"""Lemlist activity type -> HubSpot ``hs_lead_status`` value (see the module docstring)."""

_QUERY_CHUNK = 500
"""Ids per ``IN (...)`` list: far below SQLite's and PostgreSQL's bind-parameter limits."""


class EngagementState(StrEnum):
    """Where a queued engagement stands."""

    PENDING = "pending"
    """Waiting for the next writeback."""
    WRITTEN = "written"
    """HubSpot accepted the lead status."""
    FAILED = "failed"
    """HubSpot refused this contact's update (its message is kept); not retried."""
    SKIPPED = "skipped"
    """Not written, with the reason (e.g. a lead the pipeline never pushed)."""


@dataclass(frozen=True)
class Engagement:
    """One queued Lemlist activity and the lead status it implies."""

    activity_id: str
    email: str
    activity_type: str
    lead_status: str
    occurred_at: datetime


def activity_time(activity: Mapping[str, Any]) -> datetime | None:
    """An activity's ``createdAt`` as an aware datetime, None if unreadable."""
    return lemlist_time(activity.get("createdAt"))


def engagements_from_activities(activities: Iterable[Mapping[str, Any]]) -> list[Engagement]:
    """The activities that change a lead status (see :data:`LEAD_STATUS`), as engagements.

    Activities without an id, an address or a readable time are left out.
    """
    found = []
    for activity in activities:
        kind = str(activity.get("type"))
        activity_id, email = activity.get("_id"), activity.get("leadEmail")
        moment = activity_time(activity)
        if (
            kind in LEAD_STATUS
            and isinstance(activity_id, str)
            and isinstance(email, str)
            and "@" in email
            and moment is not None
        ):
            found.append(
                Engagement(activity_id, normalize_email(email), kind, LEAD_STATUS[kind], moment)
            )
    return found


def latest_per_email(engagements: Iterable[Engagement]) -> dict[str, Engagement]:
    """For each email, its latest engagement (ties: the last given)."""
    latest: dict[str, Engagement] = {}
    for engagement in engagements:
        current = latest.get(engagement.email)
        if current is None or engagement.occurred_at >= current.occurred_at:
            latest[engagement.email] = engagement
    return latest


class EngagementQueue:
    """The ``engagement_queue`` table in the pipeline store's database."""

    def __init__(self, store: PipelineStore) -> None:
        """Use ``store``'s database."""
        self._engine = store.engine

    def add(self, engagements: Iterable[Engagement]) -> int:
        """Queue ``engagements``; returns how many were new (a known activity id is ignored)."""
        now = utc_now()
        rows = [
            {
                "activity_id": e.activity_id,
                "email": e.email,
                "activity_type": e.activity_type,
                "lead_status": e.lead_status,
                "occurred_at": e.occurred_at,
                "state": EngagementState.PENDING.value,
                "queued_at": now,
            }
            for e in engagements
        ]
        if not rows:
            return 0
        with self._engine.begin() as conn:
            insert = dialect_insert(conn, engagement_queue)
            inserted = conn.execute(
                insert.on_conflict_do_nothing(index_elements=["activity_id"]).returning(
                    engagement_queue.c.activity_id
                ),
                rows,
            )
            return len(inserted.all())

    def pending(self) -> list[Engagement]:
        """Every engagement waiting to be written, oldest first."""
        query = (
            sa.select(engagement_queue)
            .where(engagement_queue.c.state == EngagementState.PENDING.value)
            .order_by(engagement_queue.c.occurred_at, engagement_queue.c.activity_id)
        )
        with self._engine.begin() as conn:
            return [
                Engagement(
                    row.activity_id, row.email, row.activity_type, row.lead_status, row.occurred_at
                )
                for row in conn.execute(query)
            ]

    def pending_count(self) -> int:
        """How many engagements are waiting to be written."""
        query = sa.select(sa.func.count()).where(
            engagement_queue.c.state == EngagementState.PENDING.value
        )
        with self._engine.begin() as conn:
            return int(conn.scalar(query) or 0)

    def settle(
        self, activity_ids: Sequence[str], state: EngagementState, detail: str | None = None
    ) -> None:
        """Record the outcome of the engagements ``activity_ids``."""
        now = utc_now()
        with self._engine.begin() as conn:
            for start in range(0, len(activity_ids), _QUERY_CHUNK):
                conn.execute(
                    engagement_queue.update()
                    .where(
                        engagement_queue.c.activity_id.in_(
                            activity_ids[start : start + _QUERY_CHUNK]
                        )
                    )
                    .values(state=state.value, detail=detail, settled_at=now)
                )
