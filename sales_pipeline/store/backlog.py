"""Outstanding work besides pushes: contacts whose enrichment was deferred, and HubSpot
writebacks that failed for a transient reason.

One row per (stage, normalized email) in ``work_item``, with what a later run needs to do the
work (the normalized contact, or the properties to write), the partition it came from, the last
reason and the time of the next attempt. Any run, whatever partition it processes, takes the
due items of its stage (:meth:`WorkBacklog.due`) and settles them (:meth:`WorkBacklog.done`) or
defers them again (:meth:`WorkBacklog.defer`), with exponential backoff until the
:class:`~sales_pipeline.domain.retry.RetrySchedule` gives them up. Pushes owed live in the push
ledger (:mod:`sales_pipeline.store.ledger`) the same way.

An operator can retry a given-up item or give one up by hand (``sales-pipeline backlog``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Row

from sales_pipeline.domain.records import normalize_email
from sales_pipeline.domain.retry import RetrySchedule
from sales_pipeline.store.engine import chunks, dialect_insert, reading
from sales_pipeline.store.ledger import PushLedger, count_work
from sales_pipeline.store.pipeline_store import PipelineStore
from sales_pipeline.store.tables import work_item


class Stage(StrEnum):
    """The stages that keep outstanding work here."""

    ENRICH = "enrich"
    """A contact Explorium could not serve; its normalized record is kept."""
    WRITEBACK = "writeback"
    """HubSpot properties that could not be written; the values are kept."""


class WorkState(StrEnum):
    """Where a work item stands."""

    DUE = "due"
    """Owed: a run takes it at ``next_attempt_at``."""
    DONE = "done"
    """Finished by a later run."""
    GIVEN_UP = "given_up"
    """Tried too often or for too long; ``reason`` says why."""


@dataclass(frozen=True)
class WorkItem:
    """One item of outstanding work."""

    stage: Stage
    key: str
    partition: str
    payload: Mapping[str, Any]
    state: WorkState
    reason: str | None
    attempts: int
    first_seen_at: datetime
    next_attempt_at: datetime | None


class WorkBacklog:
    """The ``work_item`` table in the pipeline store's database. See the module docstring."""

    def __init__(self, store: PipelineStore, schedule: RetrySchedule | None = None) -> None:
        """Use ``store``'s database; deferred work is retried on ``schedule``."""
        self._engine = store.engine
        self.schedule = schedule or RetrySchedule()

    def defer(
        self,
        stage: Stage,
        items: Iterable[tuple[str, str, Mapping[str, Any]]],
        reason: str,
        now: datetime,
    ) -> int:
        """Record that the work ``items`` (key, partition, payload) failed now for ``reason``.

        New items start at one attempt; known ones count one more and keep when they were
        first seen. Each is due again per the schedule, or given up once it is exhausted; an
        item listed twice counts once, with its last values. One transaction (a read and an
        upsert) per 500 items, not one statement per item. Returns how many were given up.
        """
        latest = {normalize_email(key): (partition, payload) for key, partition, payload in items}
        given_up = 0
        for chunk in chunks(list(latest)):
            with self._engine.begin() as conn:
                known: dict[str, Row[Any]] = {
                    row.key: row
                    for row in conn.execute(
                        sa.select(work_item)
                        .where(work_item.c.stage == stage.value, work_item.c.key.in_(chunk))
                        .with_for_update()
                    )
                }
                rows = []
                for email in chunk:
                    row = self._deferred_row(
                        stage, email, *latest[email], known.get(email), reason, now
                    )
                    given_up += row["state"] == WorkState.GIVEN_UP.value
                    rows.append(row)
                insert = dialect_insert(conn, work_item)
                conn.execute(
                    insert.on_conflict_do_update(
                        index_elements=["stage", "key"],
                        set_={name: insert.excluded[name] for name in rows[0] if name != "key"},
                    ),
                    rows,
                )
        return given_up

    def _deferred_row(
        self,
        stage: Stage,
        email: str,
        partition: str,
        payload: Mapping[str, Any],
        known: Row[Any] | None,
        reason: str,
        now: datetime,
    ) -> dict[str, Any]:
        """The ``work_item`` row of ``email`` deferred now: one attempt more than ``known`` (if
        it is owed), due per the schedule or given up once the schedule is exhausted."""
        if known is None or known.state != WorkState.DUE.value:
            attempts, first_seen = 1, now
        else:
            attempts, first_seen = known.attempts + 1, known.first_seen_at
        state, next_attempt, why = WorkState.DUE, None, reason
        if self.schedule.exhausted(attempts, first_seen, now):
            state, why = WorkState.GIVEN_UP, self.schedule.give_up_reason(attempts, reason)
        else:
            next_attempt = self.schedule.next_attempt(attempts, now)
        return {
            "stage": stage.value,
            "key": email,
            "partition_key": partition,
            "payload": dict(payload),
            "state": state.value,
            "reason": why,
            "attempts": attempts,
            "first_seen_at": first_seen,
            "last_attempt_at": now,
            "next_attempt_at": next_attempt,
            "settled_at": now if state is WorkState.GIVEN_UP else None,
        }

    def enqueue(
        self, stage: Stage, items: Iterable[tuple[str, str, Mapping[str, Any]]], now: datetime
    ) -> None:
        """Add the work ``items`` (key, partition, payload), due at once (no attempt yet); an
        item already known is replaced and due again."""
        rows = [
            {
                "stage": stage.value,
                "key": normalize_email(key),
                "partition_key": partition,
                "payload": dict(payload),
                "state": WorkState.DUE.value,
                "reason": None,
                "attempts": 0,
                "first_seen_at": now,
                "last_attempt_at": now,
                "next_attempt_at": now,
                "settled_at": None,
            }
            for key, partition, payload in items
        ]
        if not rows:
            return
        with self._engine.begin() as conn:
            insert = dialect_insert(conn, work_item)
            conn.execute(
                insert.on_conflict_do_update(
                    index_elements=["stage", "key"],
                    set_={name: insert.excluded[name] for name in rows[0] if name != "key"},
                ),
                rows,
            )

    def due(self, stage: Stage, now: datetime, limit: int = 10_000) -> list[WorkItem]:
        """The items of ``stage`` due at ``now``, oldest first, at most ``limit``."""
        return self._select(
            work_item.c.stage == stage.value,
            work_item.c.state == WorkState.DUE.value,
            work_item.c.next_attempt_at <= now,
            limit=limit,
        )

    def done(self, stage: Stage, keys: Iterable[str], now: datetime) -> int:
        """Settle the owed items ``keys`` of ``stage``; returns how many were owed."""
        return self._set_state(stage, keys, WorkState.DONE, now, from_states=[WorkState.DUE])

    def give_up(self, stage: Stage, keys: Iterable[str], reason: str, now: datetime) -> int:
        """Give the owed items ``keys`` up by hand, with ``reason``; returns how many."""
        return self._set_state(
            stage, keys, WorkState.GIVEN_UP, now, from_states=[WorkState.DUE], reason=reason
        )

    def retry(self, stage: Stage, keys: Iterable[str], now: datetime) -> int:
        """Make the items ``keys`` of ``stage`` (owed or given up) due at once, with a fresh
        attempt count; returns how many."""
        updated = 0
        with self._engine.begin() as conn:
            for chunk in chunks(sorted({normalize_email(k) for k in keys})):
                updated += conn.execute(
                    work_item.update()
                    .where(
                        work_item.c.stage == stage.value,
                        work_item.c.key.in_(chunk),
                        work_item.c.state != WorkState.DONE.value,
                    )
                    .values(
                        state=WorkState.DUE.value,
                        attempts=0,
                        first_seen_at=now,
                        next_attempt_at=now,
                        settled_at=None,
                    )
                ).rowcount
        return updated

    def items(self, stage: Stage | None = None, state: WorkState | None = None) -> list[WorkItem]:
        """Every item, optionally of one stage and state, oldest first."""
        conditions: list[sa.ColumnElement[bool]] = []
        if stage is not None:
            conditions.append(work_item.c.stage == stage.value)
        if state is not None:
            conditions.append(work_item.c.state == state.value)
        return self._select(*conditions)

    def summary(self, now: datetime) -> list[dict[str, Any]]:
        """Items owed or given up, counted by stage, state, reason and age in whole days."""
        with reading(self._engine) as conn:
            rows = conn.execute(
                sa.select(
                    work_item.c.stage,
                    work_item.c.state,
                    work_item.c.reason,
                    work_item.c.first_seen_at,
                ).where(work_item.c.state != WorkState.DONE.value)
            )
            return count_work(rows, now)

    def _set_state(
        self,
        stage: Stage,
        keys: Iterable[str],
        state: WorkState,
        now: datetime,
        *,
        from_states: Sequence[WorkState],
        reason: str | None = None,
    ) -> int:
        values: dict[str, Any] = {"state": state.value, "settled_at": now, "next_attempt_at": None}
        if reason is not None:
            values["reason"] = reason
        updated = 0
        with self._engine.begin() as conn:
            for chunk in chunks(sorted({normalize_email(k) for k in keys})):
                updated += conn.execute(
                    work_item.update()
                    .where(
                        work_item.c.stage == stage.value,
                        work_item.c.key.in_(chunk),
                        work_item.c.state.in_([s.value for s in from_states]),
                    )
                    .values(**values)
                ).rowcount
        return updated

    def _select(
        self, *conditions: sa.ColumnElement[bool], limit: int | None = None
    ) -> list[WorkItem]:
        query = sa.select(work_item).where(*conditions).order_by(work_item.c.first_seen_at)
        if limit is not None:
            query = query.limit(limit)
        with reading(self._engine) as conn:
            return [
                WorkItem(
                    stage=Stage(row.stage),
                    key=row.key,
                    partition=row.partition_key,
                    payload=row.payload,
                    state=WorkState(row.state),
                    reason=row.reason,
                    attempts=row.attempts,
                    first_seen_at=row.first_seen_at,
                    next_attempt_at=row.next_attempt_at,
                )
                for row in conn.execute(query)
            ]


SUMMARY_COLUMNS = ("stage", "state", "reason", "age_days", "count")
"""The columns of :func:`outstanding_summary`'s rows."""


def outstanding_summary(
    ledger: PushLedger, backlog: WorkBacklog, now: datetime
) -> list[dict[str, Any]]:
    """Every stage's owed and given-up work counted by state, reason and age in whole days:
    the pushes of the ledger and the items of the backlog."""
    return [*ledger.summary(now), *backlog.summary(now)]
