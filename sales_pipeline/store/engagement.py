"""The queue of Lemlist engagement waiting to be written to HubSpot."""

from collections.abc import Iterable, Sequence

import sqlalchemy as sa

from sales_pipeline.domain.outcomes import EngagementState
from sales_pipeline.domain.records import Engagement
from sales_pipeline.store.engine import chunks, dialect_insert, reading, utc_now
from sales_pipeline.store.pipeline_store import PipelineStore
from sales_pipeline.store.tables import engagement_queue


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
        with reading(self._engine) as conn:
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
        with reading(self._engine) as conn:
            return int(conn.scalar(query) or 0)

    def settle(
        self, activity_ids: Sequence[str], state: EngagementState, detail: str | None = None
    ) -> None:
        """Record the outcome of the engagements ``activity_ids``."""
        now = utc_now()
        with self._engine.begin() as conn:
            for chunk in chunks(activity_ids):
                conn.execute(
                    engagement_queue.update()
                    .where(engagement_queue.c.activity_id.in_(chunk))
                    .values(state=state.value, detail=detail, settled_at=now)
                )
