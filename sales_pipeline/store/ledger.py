"""The push ledger: the exactly-once record of Lemlist pushes, and the pushes still owed.

One row per (Lemlist campaign, normalized email). A push is *claimed* by an atomic insert or
update before the request is sent and *settled* with its outcome after. The row keeps the lead
as sent (its payload and segment), so any later run can finish it, whatever partition that run
processes: the ledger owns the work, not the partition.

Claims are leases. A claim carries ``lease_expires_at``; the pushing step renews its leases while
it works (:meth:`PushLedger.renew_leases`). A claim whose lease has lapsed is free, whatever
Dagster says about the run that made it: a process killed with ``kill -9`` renews nothing, so
its claims lapse within one lease and the next run takes them over.

A deferred push is due again at ``next_attempt_at`` (:class:`~sales_pipeline.domain.retry.
RetrySchedule`); one deferred too often or for too long is *given up* with its reason.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from sales_pipeline.domain.outcomes import IN_CAMPAIGN_OUTCOMES, OUTSTANDING_OUTCOMES, PushOutcome
from sales_pipeline.domain.records import PushRecord, normalize_email
from sales_pipeline.domain.retry import RetrySchedule
from sales_pipeline.store.engine import chunks, dialect_insert, reading, utc_now
from sales_pipeline.store.group_commit import GroupCommit
from sales_pipeline.store.pipeline_store import PipelineStore
from sales_pipeline.store.tables import push_ledger

DEFAULT_PUSH_LEASE = timedelta(seconds=60)
"""How long a claim stays reserved without being renewed."""

_OUTSTANDING = [o.value for o in OUTSTANDING_OUTCOMES]
_IN_CAMPAIGN = [o.value for o in IN_CAMPAIGN_OUTCOMES]


@dataclass(frozen=True)
class PushClaim:
    """A push about to be sent: its key, a fingerprint of what is sent, and what a later run
    needs to finish it (the lead as sent and its segment)."""

    campaign_id: str
    email: str
    payload_hash: str
    lead: Mapping[str, Any] | None = None
    segment: str | None = None


@dataclass(frozen=True)
class PushSettlement:
    """The outcome of a claimed push, with its reason and Lemlist's lead id if known."""

    campaign_id: str
    email: str
    outcome: PushOutcome
    reason: str | None = None
    lemlist_lead_id: str | None = None


class PushLedger:
    """The ``push_ledger`` table in the pipeline store's database. See the module docstring."""

    def __init__(
        self,
        store: PipelineStore,
        *,
        lease: timedelta = DEFAULT_PUSH_LEASE,
        schedule: RetrySchedule | None = None,
    ) -> None:
        """Use ``store``'s database, with claims leased for ``lease`` and deferred pushes
        retried on ``schedule``."""
        self._engine = store.engine
        self.lease = lease
        self.schedule = schedule or RetrySchedule()
        self._sent_marks = GroupCommit(self._mark_sent)

    def record_push_intent(
        self,
        campaign_id: str,
        email: str,
        payload_hash: str,
        run_id: str,
        *,
        lead: Mapping[str, Any] | None = None,
        segment: str | None = None,
        dead_run_ids: Collection[str] = (),
        now: datetime | None = None,
    ) -> bool:
        """Claim the push of ``email`` to ``campaign_id`` before sending it: :meth:`claim_pushes`
        of one push. Returns True when this run may send."""
        claim = PushClaim(campaign_id, email, payload_hash, lead, segment)
        return bool(self.claim_pushes([claim], run_id, dead_run_ids=dead_run_ids, now=now))

    def claim_pushes(
        self,
        claims: Sequence[PushClaim],
        run_id: str,
        *,
        dead_run_ids: Collection[str] = (),
        now: datetime | None = None,
    ) -> set[tuple[str, str]]:
        """Claim the pushes ``claims`` before sending them, in one transaction; returns the
        (campaign, normalized email) keys this run may send.

        A push is claimed when it is new, is deferred and due, is already claimed by this same
        run, or is pending under a claim whose lease has lapsed or whose run is in
        ``dead_run_ids``. It is not when it is settled, not yet due, or another live run holds
        the claim. New pushes are inserted by one statement that skips the keys already there;
        each known push is then taken by its own conditional update, so of two runs racing for
        the same push exactly one wins it. ``lead`` (what is sent) and ``segment`` are kept, so
        a later run can finish the push; a takeover records what it sends now. A key listed
        twice is claimed once, for its first claim.
        """
        now = now or utc_now()
        lease_end = now + self.lease
        first: dict[tuple[str, str], PushClaim] = {}
        for claim in claims:
            first.setdefault((claim.campaign_id, normalize_email(claim.email)), claim)
        if not first:
            return set()
        # Rows are locked in key order, so that two runs claiming overlapping chunks on
        # PostgreSQL queue for each other instead of deadlocking.
        unique = dict(sorted(first.items()))
        rows = [
            {
                "campaign_id": campaign,
                "email": email,
                "payload_hash": claim.payload_hash,
                "run_id": run_id,
                "outcome": PushOutcome.PENDING.value,
                "attempts": 1,
                "created_at": now,
                "claimed_at": now,
                "lease_expires_at": lease_end,
                "lead": dict(claim.lead) if claim.lead is not None else None,
                "segment": claim.segment,
                "sent": False,
            }
            for (campaign, email), claim in unique.items()
        ]
        claimable = self._claimable(now, held_by=[run_id, *dead_run_ids])
        with self._engine.begin() as conn:
            inserted = conn.execute(
                dialect_insert(conn, push_ledger)
                .on_conflict_do_nothing(index_elements=["campaign_id", "email"])
                .returning(push_ledger.c.campaign_id, push_ledger.c.email),
                rows,
            )
            claimed = {(row.campaign_id, row.email) for row in inserted}
            known = [key for key in unique if key not in claimed]
            for key in _claimable_keys(conn, known, claimable):
                claim = unique[key]
                sending = {"lead": dict(claim.lead)} if claim.lead is not None else {}
                taken = conn.execute(
                    push_ledger.update()
                    .where(
                        push_ledger.c.campaign_id == key[0],
                        push_ledger.c.email == key[1],
                        claimable,
                    )
                    .values(
                        outcome=PushOutcome.PENDING.value,
                        run_id=run_id,
                        claimed_at=now,
                        completed_at=None,
                        lease_expires_at=lease_end,
                        attempts=push_ledger.c.attempts + 1,
                        payload_hash=claim.payload_hash,
                        segment=sa.func.coalesce(claim.segment, push_ledger.c.segment),
                        **sending,
                    )
                )
                if taken.rowcount == 1:
                    claimed.add(key)
        return claimed

    def mark_sent(self, campaign_id: str, email: str) -> bool:
        """Record, right before the request goes out, that this push may reach Lemlist: if its
        answer is lost, a later "already in the campaign" means this pipeline added it.
        Returns whether an earlier attempt had already been sent.

        Durable when it returns. Marks made at the same time by several threads (a step's
        concurrent sends) share transactions (:class:`~sales_pipeline.store.group_commit.
        GroupCommit`)."""
        return self._sent_marks.submit((campaign_id, normalize_email(email)))

    def _mark_sent(self, keys: Sequence[tuple[str, str]]) -> list[bool]:
        """Mark the pushes of ``keys`` sent in one transaction; for each key, whether it was
        marked before (a key given twice was, the second time). Rows are updated in key order,
        as :meth:`claim_pushes` locks them, so concurrent writers cannot deadlock.

        Each key is one prepared update of a row not yet marked: a row it changes was not sent
        before, which is the common case, so nothing is read; only the keys it left alone are
        looked up (marked before, or no such row)."""
        wanted = sorted(set(keys))
        with self._engine.begin() as conn:
            untouched = [key for key in wanted if not _marked_now(conn, key)]
            sent = dict.fromkeys(wanted, False)
            sent.update(
                {
                    (row.campaign_id, row.email): bool(row.sent)
                    for row in _rows_of(conn, untouched, (push_ledger.c.sent,))
                }
            )
        before = []
        for key in keys:
            before.append(sent[key])
            sent[key] = True
        return before

    def record_push_outcome(
        self,
        campaign_id: str,
        email: str,
        outcome: PushOutcome,
        reason: str | None = None,
        lemlist_lead_id: str | None = None,
        *,
        now: datetime | None = None,
    ) -> PushOutcome:
        """Settle (or defer) one push: :meth:`record_push_outcomes` of one; returns the outcome
        recorded."""
        settlement = PushSettlement(campaign_id, email, outcome, reason, lemlist_lead_id)
        return self.record_push_outcomes([settlement], now=now)[0]

    def record_push_outcomes(
        self, settlements: Sequence[PushSettlement], *, now: datetime | None = None
    ) -> list[PushOutcome]:
        """Settle (or defer) pushes claimed with :meth:`claim_pushes`, in one transaction;
        returns the outcome recorded for each. A deferred push gets its next attempt time from
        the schedule, or is given up (``given_up``, with the reason) once the schedule is
        exhausted.

        Raises KeyError when a push has no intent recorded (nothing is then written),
        ValueError for the ``pending`` outcome.
        """
        if any(PushOutcome(s.outcome) is PushOutcome.PENDING for s in settlements):
            raise ValueError("'pending' is set by record_push_intent, not recorded as an outcome")
        if not settlements:
            return []
        now = now or utc_now()
        keys = [(s.campaign_id, normalize_email(s.email)) for s in settlements]
        recorded: list[PushOutcome] = []
        updates: list[dict[str, Any]] = []
        with self._engine.begin() as conn:
            known = _attempts(conn, keys)
            for (campaign, email), settlement in zip(keys, settlements, strict=True):
                if (campaign, email) not in known:
                    raise KeyError(f"no push intent recorded for campaign {campaign!r}")
                attempts, created_at = known[campaign, email]
                outcome, reason = PushOutcome(settlement.outcome), settlement.reason
                next_attempt = None
                if outcome is PushOutcome.DEFERRED:
                    if self.schedule.exhausted(attempts, created_at, now):
                        outcome = PushOutcome.GIVEN_UP
                        reason = self.schedule.give_up_reason(attempts, reason)
                    else:
                        next_attempt = self.schedule.next_attempt(attempts, now)
                recorded.append(outcome)
                updates.append(
                    {
                        "key_campaign": campaign,
                        "key_email": email,
                        "set_outcome": outcome.value,
                        "set_reason": reason,
                        "set_lead_id": settlement.lemlist_lead_id,
                        "set_next_attempt": next_attempt,
                    }
                )
            conn.execute(
                push_ledger.update()
                .where(
                    push_ledger.c.campaign_id == sa.bindparam("key_campaign"),
                    push_ledger.c.email == sa.bindparam("key_email"),
                )
                .values(
                    outcome=sa.bindparam("set_outcome"),
                    reason=sa.bindparam("set_reason"),
                    lemlist_lead_id=sa.bindparam("set_lead_id"),
                    completed_at=now,
                    lease_expires_at=None,
                    next_attempt_at=sa.bindparam("set_next_attempt"),
                ),
                sorted(updates, key=lambda u: (u["key_campaign"], u["key_email"])),
            )
        return recorded

    def renew_leases(self, run_id: str, *, now: datetime | None = None) -> int:
        """Extend the lease of every claim ``run_id`` holds; returns how many were renewed."""
        now = now or utc_now()
        with self._engine.begin() as conn:
            renewed = conn.execute(
                push_ledger.update()
                .where(
                    push_ledger.c.run_id == run_id,
                    push_ledger.c.outcome == PushOutcome.PENDING.value,
                )
                .values(lease_expires_at=now + self.lease)
            )
        return renewed.rowcount

    def release(self, run_id: str, *, now: datetime | None = None) -> int:
        """End ``run_id``'s leases at once (a run that stops early, or is terminated), so the
        next run need not wait for them to lapse; returns how many claims were released."""
        with self._engine.begin() as conn:
            released = conn.execute(
                push_ledger.update()
                .where(
                    push_ledger.c.run_id == run_id,
                    push_ledger.c.outcome == PushOutcome.PENDING.value,
                )
                .values(lease_expires_at=(now or utc_now()) - timedelta(seconds=1))
            )
        return released.rowcount

    def retry(self, email: str, now: datetime) -> int:
        """Make the deferred or given-up pushes of ``email`` due at once with a fresh attempt
        count (an operator's retry); returns how many."""
        return self._set_owed(email, [PushOutcome.DEFERRED, PushOutcome.GIVEN_UP], now)

    def give_up(self, email: str, reason: str, now: datetime) -> int:
        """Give up the deferred pushes of ``email`` by hand, with ``reason``; returns how many."""
        with self._engine.begin() as conn:
            return conn.execute(
                push_ledger.update()
                .where(
                    push_ledger.c.email == normalize_email(email),
                    push_ledger.c.outcome == PushOutcome.DEFERRED.value,
                )
                .values(
                    outcome=PushOutcome.GIVEN_UP.value,
                    reason=reason,
                    completed_at=now,
                    next_attempt_at=None,
                )
            ).rowcount

    def _set_owed(self, email: str, outcomes: Sequence[PushOutcome], now: datetime) -> int:
        with self._engine.begin() as conn:
            return conn.execute(
                push_ledger.update()
                .where(
                    push_ledger.c.email == normalize_email(email),
                    push_ledger.c.outcome.in_([o.value for o in outcomes]),
                )
                .values(
                    outcome=PushOutcome.DEFERRED.value,
                    attempts=0,
                    created_at=now,
                    next_attempt_at=now,
                    completed_at=None,
                )
            ).rowcount

    def due_pushes(
        self, now: datetime, *, exclude_run: str | None = None, limit: int = 10_000
    ) -> list[PushRecord]:
        """Outstanding pushes any run may finish now: deferred and due, or pending under a
        lapsed lease; oldest first, at most ``limit``."""
        conditions = [self._claimable(now), push_ledger.c.lead.is_not(None)]
        if exclude_run is not None:
            conditions.append(push_ledger.c.run_id != exclude_run)
        return self._select(*conditions, limit=limit)

    def held_elsewhere(
        self, keys: Iterable[tuple[str, str]], run_id: str, now: datetime
    ) -> list[PushRecord]:
        """Of the (campaign, email) ``keys``, those another run holds under a live lease."""
        wanted = {(campaign, normalize_email(email)) for campaign, email in keys}
        emails = sorted({email for _, email in wanted})
        held: list[PushRecord] = []
        for chunk in chunks(emails):
            held += [
                record
                for record in self._select(
                    push_ledger.c.email.in_(chunk),
                    push_ledger.c.outcome == PushOutcome.PENDING.value,
                    push_ledger.c.run_id != run_id,
                    push_ledger.c.lease_expires_at >= now,
                )
                if (record.campaign_id, record.email) in wanted
            ]
        return held

    def get_push(self, campaign_id: str, email: str) -> PushRecord | None:
        """The ledger row for ``email`` in ``campaign_id``, if any."""
        return self.get_pushes([(campaign_id, email)]).get((campaign_id, normalize_email(email)))

    def get_pushes(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], PushRecord]:
        """The ledger rows of the (campaign, email) ``keys`` that have one, keyed by (campaign,
        normalized email): one query per 500 emails."""
        wanted = {(campaign, normalize_email(email)) for campaign, email in keys}
        found: dict[tuple[str, str], PushRecord] = {}
        for chunk in chunks(sorted({email for _, email in wanted})):
            for record in self._select(push_ledger.c.email.in_(chunk)):
                if (record.campaign_id, record.email) in wanted:
                    found[record.campaign_id, record.email] = record
        return found

    def given_up_pushes(self) -> list[PushRecord]:
        """Pushes given up (by the schedule or by hand), oldest claim first."""
        return self._select(push_ledger.c.outcome == PushOutcome.GIVEN_UP.value)

    def pending_pushes(self, campaign_id: str | None = None) -> list[PushRecord]:
        """Pushes still owed (``pending`` or ``deferred``), oldest claim first."""
        conditions: list[sa.ColumnElement[bool]] = [push_ledger.c.outcome.in_(_OUTSTANDING)]
        if campaign_id is not None:
            conditions.append(push_ledger.c.campaign_id == campaign_id)
        return self._select(*conditions)

    def pushed_emails(self, campaign_id: str | None = None) -> set[str]:
        """Normalized emails that are in a campaign (``added`` or ``already_present``).

        Without ``campaign_id``, across all campaigns: a person already in one of our campaigns
        is not pushed into another.
        """
        query = sa.select(push_ledger.c.email).where(push_ledger.c.outcome.in_(_IN_CAMPAIGN))
        if campaign_id is not None:
            query = query.where(push_ledger.c.campaign_id == campaign_id)
        with reading(self._engine) as conn:
            return set(conn.scalars(query))

    def settled_pushes(self, emails: Iterable[str]) -> dict[str, PushRecord]:
        """For each of ``emails`` whose push is settled or given up (not still owed), its
        ledger row (the most recently claimed one), keyed by normalized email; a row in a
        campaign wins over a refused one."""
        keys = sorted({normalize_email(e) for e in emails})
        found: dict[str, PushRecord] = {}
        for chunk in chunks(keys):
            for record in self._select(
                push_ledger.c.email.in_(chunk), push_ledger.c.outcome.not_in(_OUTSTANDING)
            ):
                held = found.get(record.email)
                if held is None or held.outcome not in IN_CAMPAIGN_OUTCOMES:
                    found[record.email] = record
        return found

    def summary(self, now: datetime) -> list[dict[str, Any]]:
        """The outstanding pushes by outcome, reason and age in days (for the backlog view)."""
        with reading(self._engine) as conn:
            rows = conn.execute(
                sa.select(
                    sa.literal("push"),
                    push_ledger.c.outcome,
                    push_ledger.c.reason,
                    push_ledger.c.created_at,
                ).where(push_ledger.c.outcome.in_([*_OUTSTANDING, PushOutcome.GIVEN_UP.value]))
            )
            return count_work(rows, now)

    def _claimable(self, now: datetime, held_by: Collection[str] = ()) -> sa.ColumnElement[bool]:
        """Pushes a run may take at ``now``: deferred and due, or pending under a lease that
        lapsed (or with no lease, claimed over a lease ago), or held by one of ``held_by``."""
        lapsed = [
            push_ledger.c.lease_expires_at < now,
            sa.and_(
                push_ledger.c.lease_expires_at.is_(None),
                push_ledger.c.claimed_at < now - self.lease,
            ),
        ]
        if held_by:
            lapsed.append(push_ledger.c.run_id.in_(list(held_by)))
        return sa.or_(
            sa.and_(
                push_ledger.c.outcome == PushOutcome.DEFERRED.value,
                sa.or_(
                    push_ledger.c.next_attempt_at.is_(None), push_ledger.c.next_attempt_at <= now
                ),
            ),
            sa.and_(push_ledger.c.outcome == PushOutcome.PENDING.value, sa.or_(*lapsed)),
        )

    def _select(
        self, *conditions: sa.ColumnElement[bool], limit: int | None = None
    ) -> list[PushRecord]:
        """Ledger rows matching all ``conditions``, oldest claim first."""
        query = sa.select(push_ledger).where(*conditions).order_by(push_ledger.c.claimed_at)
        if limit is not None:
            query = query.limit(limit)
        with reading(self._engine) as conn:
            return [_push_record(row) for row in conn.execute(query)]


_MARK_SENT = (
    push_ledger.update()
    .where(
        push_ledger.c.campaign_id == sa.bindparam("key_campaign"),
        push_ledger.c.email == sa.bindparam("key_email"),
        push_ledger.c.sent == sa.false(),
    )
    .values(sent=True)
)
"""Marks one push sent unless it already was (built once: the statement is the same for
every lead the push sends)."""


def _marked_now(conn: Connection, key: tuple[str, str]) -> bool:
    """Mark the push of ``key`` sent; whether this changed its row (it was not marked yet)."""
    return conn.execute(_MARK_SENT, {"key_campaign": key[0], "key_email": key[1]}).rowcount == 1


def _rows_of(
    conn: Connection,
    keys: Iterable[tuple[str, str]],
    columns: Sequence[sa.ColumnElement[Any]],
    *conditions: sa.ColumnElement[bool],
) -> Iterator[Row[Any]]:
    """``columns`` (with the key's) of the ledger rows of the (campaign, normalized email)
    ``keys`` that meet ``conditions``: one read per 500 emails (the rows are found by email,
    which the ledger indexes)."""
    wanted = set(keys)
    key_columns = (push_ledger.c.campaign_id, push_ledger.c.email)
    for chunk in chunks(sorted({email for _, email in wanted})):
        query = sa.select(*key_columns, *columns).where(push_ledger.c.email.in_(chunk))
        for row in conn.execute(query.where(*conditions)):
            if (row.campaign_id, row.email) in wanted:
                yield row


def _claimable_keys(
    conn: Connection, keys: Sequence[tuple[str, str]], claimable: sa.ColumnElement[bool]
) -> list[tuple[str, str]]:
    """Of the (campaign, normalized email) ``keys``, those ``claimable`` now, in their order,
    so only pushes that can be taken over get an update of their own."""
    found = {(row.campaign_id, row.email) for row in _rows_of(conn, keys, (), claimable)}
    return [key for key in keys if key in found]


def _attempts(
    conn: Connection, keys: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], tuple[int, datetime]]:
    """(attempts, created at) of the ledger rows of ``keys``."""
    columns = (push_ledger.c.attempts, push_ledger.c.created_at)
    return {
        (row.campaign_id, row.email): (row.attempts, row.created_at)
        for row in _rows_of(conn, keys, columns)
    }


def count_work(rows: Iterable[Sequence[Any]], now: datetime) -> list[dict[str, Any]]:
    """(stage, state, reason, first seen) rows counted by stage, state, reason kind (the text
    before the first colon, so counts group) and age in whole days at ``now``."""
    counts: Counter[tuple[str, str, str, int]] = Counter(
        (stage, state, (reason or "").split(":", 1)[0].strip()[:80], (now - seen).days)
        for stage, state, reason, seen in rows
    )
    return [
        {"stage": stage, "state": state, "reason": reason, "age_days": age, "count": n}
        for (stage, state, reason, age), n in sorted(counts.items())
    ]


def _push_record(row: Row[Any]) -> PushRecord:
    """A ledger row as a :class:`PushRecord`."""
    return PushRecord(
        campaign_id=row.campaign_id,
        email=row.email,
        outcome=PushOutcome(row.outcome),
        payload_hash=row.payload_hash,
        run_id=row.run_id,
        attempts=row.attempts,
        claimed_at=row.claimed_at,
        completed_at=row.completed_at,
        reason=row.reason,
        lemlist_lead_id=row.lemlist_lead_id,
        segment=row.segment,
        lead=row.lead,
        sent=bool(row.sent),
        lease_expires_at=row.lease_expires_at,
        next_attempt_at=row.next_attempt_at,
        created_at=row.created_at,
    )
