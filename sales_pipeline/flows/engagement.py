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

from collections.abc import Iterable, Mapping

from sales_pipeline.clients import Activity
from sales_pipeline.domain.records import Engagement, normalize_email

LEAD_STATUS: Mapping[str, str] = {
    "emailsReplied": "CONNECTED",
    "interested": "IN_PROGRESS",
    "notInterested": "UNQUALIFIED",
    "emailsUnsubscribed": "UNQUALIFIED",
    "emailsBounced": "ATTEMPTED_TO_CONTACT",
}
"""Lemlist activity type -> HubSpot ``hs_lead_status`` value (see the module docstring)."""


def engagements_from_activities(activities: Iterable[Activity]) -> list[Engagement]:
    """The activities that change a lead status (see :data:`LEAD_STATUS`), as engagements.

    Activities without an id, an address or a readable time are left out.
    """
    found = []
    for activity in activities:
        kind, activity_id, email, moment = (
            activity.type,
            activity.id,
            activity.lead_email,
            activity.created_at,
        )
        if (
            kind in LEAD_STATUS
            and activity_id is not None
            and email is not None
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
