"""The webhook inbox: vendor events the receiver accepted, waiting for the sensors.

The receiver (:mod:`sales_pipeline.webhooks`) commits each verified delivery here before it
answers 2xx, and the ``webhook_inbox_sensor`` drains it. One row per (vendor, event id): the
unique constraint and an insert-or-ignore make a redelivered event a no-op, whether the vendor
retried it or an attacker replayed it. Rows are never deleted by the pipeline; a drained row
keeps its ``processed_at``.

The ``webhook_inbox`` table is one of the pipeline store's tables (migration 5).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa

from sales_pipeline.store.engine import dialect_insert, reading, utc_now
from sales_pipeline.store.pipeline_store import PipelineStore
from sales_pipeline.store.tables import webhook_inbox


class WebhookVendor(StrEnum):
    """Who sent an inbox event."""

    LEMLIST = "lemlist"
    HUBSPOT = "hubspot"


@dataclass(frozen=True)
class InboxEvent:
    """One verified vendor event, as the receiver stores it.

    ``event_id`` is the vendor's own id for the event (HubSpot's event id, the Lemlist
    activity's id), so every delivery of the same event has the same key.
    """

    vendor: WebhookVendor
    event_id: str
    event_type: str
    payload: Mapping[str, Any]


@dataclass(frozen=True)
class InboxEntry:
    """A stored event with its row id and when it was received."""

    id: int
    event: InboxEvent
    received_at: datetime


class WebhookInbox:
    """The ``webhook_inbox`` table in the pipeline store's database."""

    def __init__(self, store: PipelineStore) -> None:
        """Use ``store``'s database."""
        self._engine = store.engine

    def add(self, events: Sequence[InboxEvent], *, now: datetime | None = None) -> int:
        """Store ``events`` in one transaction; returns how many were new.

        An event already stored (same vendor and event id) is ignored, so a delivery can be
        stored any number of times. When this returns, the new rows are committed.
        """
        received = now or utc_now()
        rows = [
            {
                "vendor": event.vendor.value,
                "event_id": event.event_id,
                "event_type": event.event_type,
                "payload": dict(event.payload),
                "received_at": received,
            }
            for event in events
        ]
        if not rows:
            return 0
        with self._engine.begin() as conn:
            inserted = conn.execute(
                dialect_insert(conn, webhook_inbox)
                .on_conflict_do_nothing(index_elements=["vendor", "event_id"])
                .returning(webhook_inbox.c.id),
                rows,
            )
            return len(inserted.all())

    def pending(
        self,
        vendor: WebhookVendor,
        *,
        received_before: datetime | None = None,
        limit: int = 1000,
    ) -> list[InboxEntry]:
        """Up to ``limit`` events of ``vendor`` not yet processed, oldest first; with
        ``received_before``, only those received earlier than that."""
        query = (
            sa.select(webhook_inbox)
            .where(
                webhook_inbox.c.processed_at.is_(None),
                webhook_inbox.c.vendor == vendor.value,
            )
            .order_by(webhook_inbox.c.id)
            .limit(limit)
        )
        if received_before is not None:
            query = query.where(webhook_inbox.c.received_at < received_before)
        with reading(self._engine) as conn:
            return [
                InboxEntry(
                    row.id,
                    InboxEvent(
                        WebhookVendor(row.vendor), row.event_id, row.event_type, row.payload
                    ),
                    row.received_at,
                )
                for row in conn.execute(query)
            ]

    def pending_count(self) -> int:
        """How many events of any vendor wait to be processed."""
        query = sa.select(sa.func.count()).where(webhook_inbox.c.processed_at.is_(None))
        with reading(self._engine) as conn:
            return int(conn.scalar(query) or 0)

    def mark_processed(self, entry_ids: Sequence[int], *, now: datetime | None = None) -> None:
        """Record that the events ``entry_ids`` (one :meth:`pending` page at most) were acted
        on."""
        if not entry_ids:
            return
        with self._engine.begin() as conn:
            conn.execute(
                webhook_inbox.update()
                .where(
                    webhook_inbox.c.id.in_(list(entry_ids)),
                    webhook_inbox.c.processed_at.is_(None),
                )
                .values(processed_at=now or utc_now())
            )
