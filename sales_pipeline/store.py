"""The pipeline's durable state, kept with SQLAlchemy Core in SQLite (default) or PostgreSQL.

:class:`PipelineStore` owns these small tables:

``push_ledger``
    One row per (Lemlist campaign, normalized email): the exactly-once record of pushes. A push is
    *claimed* by an atomic insert before the request is sent and *settled* with its outcome after.
``enrichment_cache``
    Explorium answers per normalized email, matched or not, reused until they are ``enrichment_ttl``
    old, so a contact costs credits at most once per TTL.
``quarantine``
    Records a stage refused, with the field, the reason and a masked copy of the record.
``suppression``
    Emails and whole ``@domain`` entries that must never be contacted, with where they came from.
``oauth_token`` / ``sync_cursor``
    Small key-value tables for the HubSpot OAuth token and the sensors' cursors.
``engagement_queue``
    Lemlist engagement waiting to be written to HubSpot (see :mod:`sales_pipeline.engagement`).
``asset_frame``
    Each asset partition's output DataFrame, written by the pipeline's IO manager, so that a
    step running in another process or on another machine reads what the previous one wrote.

The schema is created and upgraded by :data:`MIGRATIONS`, an ordered list of steps recorded in
``schema_version``. :func:`apply_migrations` runs the missing steps in one transaction that holds
a database-wide lock (a PostgreSQL advisory lock, SQLite's write lock), so processes that start
together apply each step exactly once. A change to a table is a new step with its own DDL.

The store takes a database URL and reads no environment. A ``postgresql://`` URL without a driver
uses psycopg2, whichever driver SQLAlchemy would prefer (2.1 prefers psycopg 3). SQLite databases
run in WAL mode and open every transaction with ``BEGIN IMMEDIATE``, so concurrent writers queue
on SQLite's lock (for up to :data:`SQLITE_BUSY_TIMEOUT_SECONDS`) instead of failing half way.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import Any, NamedTuple, Self

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine, Row
from sqlalchemy.engine.interfaces import DBAPIConnection, Dialect
from sqlalchemy.pool import ConnectionPoolEntry

from sales_pipeline.clients import OAuthTokens, Secret

DEFAULT_ENRICHMENT_TTL = timedelta(days=30)
"""How long a cached Explorium answer is reused before the contact is enriched again."""

DEFAULT_PUSH_CLAIM_TIMEOUT = timedelta(minutes=10)
"""How long a claimed push stays reserved for its run before another run may take it over."""

SQLITE_BUSY_TIMEOUT_SECONDS = 30.0
"""How long a SQLite connection waits for another process's write lock."""

_QUERY_CHUNK = 500
"""Values per ``IN (...)`` list: far below SQLite's and PostgreSQL's bind-parameter limits."""

_MIGRATION_LOCK_ID = 7_342_150_019
"""PostgreSQL advisory-lock key that serializes schema migrations across processes."""


def normalize_email(email: str) -> str:
    """The key an email is stored and compared under: trimmed and lower-cased."""
    return email.strip().lower()


def utc_now() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware.

    Naive datetimes are refused on write: their meaning depends on the machine that made them.
    SQLite keeps no offset, so values are converted to UTC before storing and tagged UTC on read.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Convert an aware datetime to UTC; refuse naive ones."""
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: pass a timezone-aware datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Return the stored value as an aware UTC datetime."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


metadata = sa.MetaData()

schema_version = sa.Table(
    "schema_version",
    metadata,
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("description", sa.String(200), nullable=False),
    sa.Column("applied_at", UTCDateTime, nullable=False),
)

push_ledger = sa.Table(
    "push_ledger",
    metadata,
    sa.Column("campaign_id", sa.String(64), primary_key=True),
    sa.Column("email", sa.String(320), primary_key=True),
    sa.Column("payload_hash", sa.String(128), nullable=False),
    sa.Column("run_id", sa.String(64), nullable=False),
    sa.Column("outcome", sa.String(20), nullable=False, index=True),
    sa.Column("reason", sa.Text),
    sa.Column("lemlist_lead_id", sa.String(64)),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("claimed_at", UTCDateTime, nullable=False),
    sa.Column("completed_at", UTCDateTime),
)

enrichment_cache = sa.Table(
    "enrichment_cache",
    metadata,
    sa.Column("email", sa.String(320), primary_key=True),
    sa.Column("match_status", sa.String(16), nullable=False),
    sa.Column("prospect_id", sa.String(64)),
    sa.Column("business_id", sa.String(64)),
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Column("enriched_at", UTCDateTime, nullable=False),
)

quarantine_table = sa.Table(
    "quarantine",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("source", sa.String(64), nullable=False),
    sa.Column("partition_key", sa.String(64), nullable=False, index=True),
    sa.Column("record_key", sa.String(128), nullable=False),
    sa.Column("field", sa.String(64), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("masked_record", sa.Text, nullable=False),
    sa.Column("run_id", sa.String(64), nullable=False),
    sa.Column("quarantined_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("source", "partition_key", "record_key", "field"),
)

suppression = sa.Table(
    "suppression",
    metadata,
    sa.Column("value", sa.String(320), primary_key=True),
    sa.Column("source", sa.String(32), primary_key=True),
    sa.Column("suppressed_at", UTCDateTime, nullable=False),
)

oauth_token = sa.Table(
    "oauth_token",
    metadata,
    sa.Column("key", sa.String(128), primary_key=True),
    sa.Column("token", sa.JSON, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

sync_cursor = sa.Table(
    "sync_cursor",
    metadata,
    sa.Column("name", sa.String(128), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)


asset_frame = sa.Table(
    "asset_frame",
    metadata,
    sa.Column("asset_key", sa.String(255), primary_key=True),
    sa.Column("partition_key", sa.String(64), primary_key=True),
    sa.Column("payload", sa.LargeBinary, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

engagement_queue = sa.Table(
    "engagement_queue",
    metadata,
    sa.Column("activity_id", sa.String(64), primary_key=True),
    sa.Column("email", sa.String(320), nullable=False, index=True),
    sa.Column("activity_type", sa.String(32), nullable=False),
    sa.Column("lead_status", sa.String(32), nullable=False),
    sa.Column("occurred_at", UTCDateTime, nullable=False),
    sa.Column("state", sa.String(16), nullable=False, index=True),
    sa.Column("detail", sa.Text),
    sa.Column("queued_at", UTCDateTime, nullable=False),
    sa.Column("settled_at", UTCDateTime),
)

UNPARTITIONED = ""
"""The ``partition_key`` under which an unpartitioned asset's frame is kept."""


@dataclass(frozen=True)
class Migration:
    """One ordered, recorded step of the store's schema."""

    version: int
    description: str
    upgrade: Callable[[Connection], None]


def _create_tables(*tables: sa.Table) -> Callable[[Connection], None]:
    """A migration step that creates ``tables``."""

    def upgrade(conn: Connection) -> None:
        metadata.create_all(conn, tables=list(tables))

    return upgrade


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "push ledger, enrichment cache, quarantine, suppression, oauth tokens, sync cursors",
        _create_tables(
            push_ledger, enrichment_cache, quarantine_table, suppression, oauth_token, sync_cursor
        ),
    ),
    Migration(2, "asset frames for the IO manager", _create_tables(asset_frame)),
    Migration(3, "Lemlist engagement queue", _create_tables(engagement_queue)),
)


def apply_migrations(engine: Engine, steps: Sequence[Migration] = MIGRATIONS) -> int:
    """Apply the steps not yet recorded in ``schema_version``, in version order, exactly once.

    Everything happens in one transaction under a database-wide lock, so a second process
    starting at the same moment waits, then finds nothing left to do. Returns the highest
    version recorded.
    """
    versions = [step.version for step in steps]
    if len(set(versions)) != len(versions):
        raise ValueError(f"duplicate migration versions in {versions}")
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_MIGRATION_LOCK_ID)))
        schema_version.create(conn, checkfirst=True)
        applied = set(conn.scalars(sa.select(schema_version.c.version)))
        for step in sorted(steps, key=lambda s: s.version):
            if step.version in applied:
                continue
            step.upgrade(conn)
            conn.execute(
                schema_version.insert().values(
                    version=step.version, description=step.description, applied_at=utc_now()
                )
            )
            applied.add(step.version)
    return max(applied, default=0)


def _configure_sqlite_connection(
    dbapi_connection: DBAPIConnection, connection_record: ConnectionPoolEntry
) -> None:
    """Hand transaction control to SQLAlchemy and switch the database to WAL mode.

    Switching needs the database to itself, and SQLite answers "database is locked" at once,
    without waiting, while another process holds a transaction (processes opening a new store
    together do). So the switch is retried for up to :data:`SQLITE_BUSY_TIMEOUT_SECONDS`; a
    database already in WAL mode (it persists in the file) needs no switch.
    """
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_SECONDS
    try:
        while cursor.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            try:
                cursor.execute("PRAGMA journal_mode=WAL")
            except sqlite3.OperationalError as locked:
                if "locked" not in str(locked) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
    finally:
        cursor.close()


def _begin_immediate(conn: Connection) -> None:
    """Open each SQLite transaction with the write lock, so writers queue instead of deadlocking."""
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def create_store_engine(url: str) -> Engine:
    """Create the engine for a ``sqlite:///path`` or ``postgresql://...`` URL.

    For a SQLite file the parent folder is created if needed.
    """
    parsed = sa.make_url(url)
    serializer = partial(json.dumps, allow_nan=False)
    backend = parsed.get_backend_name()
    if backend == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg2")
        return sa.create_engine(parsed, pool_pre_ping=True, json_serializer=serializer)
    if backend == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(
            parsed,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS},
            json_serializer=serializer,
        )
        sa.event.listen(engine, "connect", _configure_sqlite_connection)
        sa.event.listen(engine, "begin", _begin_immediate)
        return engine
    raise ValueError(f"unsupported database {backend!r}: the store runs on sqlite or postgresql")


def dialect_insert(conn: Connection, table: sa.Table) -> postgresql.Insert | sqlite.Insert:
    """An INSERT into ``table`` that supports ``ON CONFLICT`` on the connection's database."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def _chunks(values: Sequence[str], size: int = _QUERY_CHUNK) -> Iterator[Sequence[str]]:
    """Consecutive slices of ``values`` of at most ``size`` items."""
    for start in range(0, len(values), size):
        yield values[start : start + size]


class PushOutcome(StrEnum):
    """Where a Lemlist push stands in the ledger."""

    PENDING = "pending"
    """Claimed by a run; the request may or may not have reached Lemlist."""
    ADDED = "added"
    """Lemlist created the lead in the campaign."""
    ALREADY_PRESENT = "already_present"
    """Lemlist answered that the lead is already in the campaign."""
    REJECTED = "rejected"
    """Lemlist refused the lead for good (invalid email, graveyard, ...)."""
    DEFERRED = "deferred"
    """Not sent, or failed transiently; the next run tries again."""


IN_CAMPAIGN_OUTCOMES = frozenset({PushOutcome.ADDED, PushOutcome.ALREADY_PRESENT})
"""Outcomes meaning the lead is in the campaign."""


@dataclass(frozen=True)
class PushRecord:
    """One row of the push ledger."""

    campaign_id: str
    email: str
    outcome: PushOutcome
    payload_hash: str
    run_id: str
    attempts: int
    claimed_at: datetime
    completed_at: datetime | None
    reason: str | None
    lemlist_lead_id: str | None


class MatchStatus(StrEnum):
    """Whether Explorium matched an email to a prospect."""

    MATCHED = "matched"
    UNMATCHED = "unmatched"


@dataclass(frozen=True)
class CachedEnrichment:
    """An Explorium answer for one email, as kept in the enrichment cache.

    ``payload`` holds the parsed enrichment fields and must be JSON-serializable (no NaN).
    """

    email: str
    match_status: MatchStatus
    prospect_id: str | None
    business_id: str | None
    payload: Mapping[str, Any]
    enriched_at: datetime


class QuarantineRecord(NamedTuple):
    """A record a stage refused, with the field at fault and a masked (PII-free) copy."""

    source: str
    record_key: str
    field: str
    reason: str
    masked_record_json: str
    run_id: str
    partition: str


class SuppressionSource(StrEnum):
    """Why an email or domain is suppressed; earlier members win when several apply."""

    LEMLIST_BOUNCE = "lemlist_bounce"
    LEMLIST_UNSUBSCRIBE = "lemlist_unsubscribe"
    HUBSPOT_OPTOUT = "hubspot_optout"
    REPLY = "reply"
    MANUAL = "manual"


_SOURCE_PRIORITY = {source.value: rank for rank, source in enumerate(SuppressionSource)}


@dataclass(frozen=True)
class Suppression:
    """One suppression entry: an email (``a@b.com``) or a whole domain (``@b.com``)."""

    value: str
    source: SuppressionSource
    suppressed_at: datetime

    @property
    def key(self) -> str:
        """The normalized value the entry is stored and matched under."""
        key = normalize_email(self.value)
        local, at, domain = key.rpartition("@")
        if not at or not domain or "@" in local:
            raise ValueError(f"suppression value {self.value!r} is neither an email nor '@domain'")
        return key


class PipelineStore:
    """The pipeline's durable state behind one database URL. See the module docstring."""

    def __init__(
        self,
        url: str,
        *,
        enrichment_ttl: timedelta = DEFAULT_ENRICHMENT_TTL,
        push_claim_timeout: timedelta = DEFAULT_PUSH_CLAIM_TIMEOUT,
        migrate: bool = True,
    ) -> None:
        """Connect to ``url`` and, unless ``migrate`` is false, bring the schema up to date."""
        self._engine = create_store_engine(url)
        self.enrichment_ttl = enrichment_ttl
        self.push_claim_timeout = push_claim_timeout
        if migrate:
            self.migrate()

    def __repr__(self) -> str:
        """The backend and database, without credentials."""
        return f"PipelineStore({self._engine.url.render_as_string(hide_password=True)!r})"

    def __enter__(self) -> Self:
        """Use the store as a context manager that closes its connections on exit."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Close the store's connections."""
        self.close()

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine, for health checks and tests."""
        return self._engine

    def close(self) -> None:
        """Close every pooled connection."""
        self._engine.dispose()

    def migrate(self) -> int:
        """Apply missing schema steps; returns the schema version."""
        return apply_migrations(self._engine)

    def check_health(self) -> int:
        """Run one cheap query; returns the schema version, raises if the database is unusable."""
        with self._engine.begin() as conn:
            version = conn.scalar(sa.select(sa.func.max(schema_version.c.version)))
        if version is None:
            raise RuntimeError("the store's schema has not been created: run migrate()")
        return int(version)

    # Push ledger -----------------------------------------------------------------------------

    def record_push_intent(
        self,
        campaign_id: str,
        email: str,
        payload_hash: str,
        run_id: str,
        *,
        dead_run_ids: Collection[str] = (),
        now: datetime | None = None,
    ) -> bool:
        """Claim the push of ``email`` to ``campaign_id`` before sending it.

        Returns True when this run may send: the push is new, was deferred, is already claimed by
        this same run, or is pending under a claim of a run in ``dead_run_ids`` or older than
        ``push_claim_timeout`` (its run died mid-send; Lemlist answers a repeat with "already in
        the campaign"). Returns False when the push is settled or another live run holds the
        claim. Each step is one atomic statement, so of two runs racing for the same push exactly
        one gets True.
        """
        now = now or utc_now()
        key = normalize_email(email)
        with self._engine.begin() as conn:
            inserted = conn.execute(
                dialect_insert(conn, push_ledger)
                .values(
                    campaign_id=campaign_id,
                    email=key,
                    payload_hash=payload_hash,
                    run_id=run_id,
                    outcome=PushOutcome.PENDING.value,
                    attempts=1,
                    created_at=now,
                    claimed_at=now,
                )
                .on_conflict_do_nothing(index_elements=["campaign_id", "email"])
            )
            if inserted.rowcount == 1:
                return True
            claimable = sa.or_(
                push_ledger.c.outcome == PushOutcome.DEFERRED.value,
                sa.and_(
                    push_ledger.c.outcome == PushOutcome.PENDING.value,
                    sa.or_(
                        push_ledger.c.run_id == run_id,
                        push_ledger.c.run_id.in_(list(dead_run_ids)),
                        push_ledger.c.claimed_at < now - self.push_claim_timeout,
                    ),
                ),
            )
            taken = conn.execute(
                push_ledger.update()
                .where(
                    push_ledger.c.campaign_id == campaign_id,
                    push_ledger.c.email == key,
                    claimable,
                )
                .values(
                    outcome=PushOutcome.PENDING.value,
                    payload_hash=payload_hash,
                    run_id=run_id,
                    claimed_at=now,
                    completed_at=None,
                    attempts=push_ledger.c.attempts + 1,
                )
            )
            return taken.rowcount == 1

    def record_push_outcome(
        self,
        campaign_id: str,
        email: str,
        outcome: PushOutcome,
        reason: str | None = None,
        lemlist_lead_id: str | None = None,
        *,
        now: datetime | None = None,
    ) -> None:
        """Settle (or defer) a push claimed with :meth:`record_push_intent`.

        Raises KeyError when no intent was recorded, ValueError for the ``pending`` outcome.
        """
        outcome = PushOutcome(outcome)
        if outcome is PushOutcome.PENDING:
            raise ValueError("'pending' is set by record_push_intent, not recorded as an outcome")
        with self._engine.begin() as conn:
            updated = conn.execute(
                push_ledger.update()
                .where(
                    push_ledger.c.campaign_id == campaign_id,
                    push_ledger.c.email == normalize_email(email),
                )
                .values(
                    outcome=outcome.value,
                    reason=reason,
                    lemlist_lead_id=lemlist_lead_id,
                    completed_at=now or utc_now(),
                )
            )
        if updated.rowcount != 1:
            raise KeyError(f"no push intent recorded for campaign {campaign_id!r}")

    def get_push(self, campaign_id: str, email: str) -> PushRecord | None:
        """The ledger row for ``email`` in ``campaign_id``, if any."""
        records = self._select_pushes(
            push_ledger.c.campaign_id == campaign_id,
            push_ledger.c.email == normalize_email(email),
        )
        return records[0] if records else None

    def pending_pushes(self, campaign_id: str | None = None) -> list[PushRecord]:
        """Pushes still to finish (``pending`` or ``deferred``), oldest claim first."""
        conditions: list[sa.ColumnElement[bool]] = [
            push_ledger.c.outcome.in_([PushOutcome.PENDING.value, PushOutcome.DEFERRED.value])
        ]
        if campaign_id is not None:
            conditions.append(push_ledger.c.campaign_id == campaign_id)
        return self._select_pushes(*conditions)

    def pushed_emails(self, campaign_id: str | None = None) -> set[str]:
        """Normalized emails that are in a campaign (``added`` or ``already_present``).

        Without ``campaign_id``, across all campaigns: a person already in one of our campaigns
        is not pushed into another.
        """
        query = sa.select(push_ledger.c.email).where(
            push_ledger.c.outcome.in_([o.value for o in IN_CAMPAIGN_OUTCOMES])
        )
        if campaign_id is not None:
            query = query.where(push_ledger.c.campaign_id == campaign_id)
        with self._engine.begin() as conn:
            return set(conn.scalars(query))

    def settled_pushes(self, emails: Iterable[str]) -> dict[str, PushRecord]:
        """For each of ``emails`` that is in a campaign (``added`` or ``already_present``), its
        ledger row (the most recently claimed one), keyed by normalized email."""
        keys = sorted({normalize_email(e) for e in emails})
        found: dict[str, PushRecord] = {}
        for chunk in _chunks(keys):
            for record in self._select_pushes(
                push_ledger.c.email.in_(chunk),
                push_ledger.c.outcome.in_([o.value for o in IN_CAMPAIGN_OUTCOMES]),
            ):
                found[record.email] = record
        return found

    def _select_pushes(self, *conditions: sa.ColumnElement[bool]) -> list[PushRecord]:
        """Ledger rows matching all ``conditions``, oldest claim first."""
        query = sa.select(push_ledger).where(*conditions).order_by(push_ledger.c.claimed_at)
        with self._engine.begin() as conn:
            return [_push_record(row) for row in conn.execute(query)]

    # Enrichment cache ------------------------------------------------------------------------

    def get_enrichments(self, emails: Iterable[str], now: datetime) -> dict[str, CachedEnrichment]:
        """Cached answers younger than ``enrichment_ttl`` at ``now``, keyed by normalized email."""
        keys = sorted({normalize_email(e) for e in emails})
        fresh_after = now - self.enrichment_ttl
        found: dict[str, CachedEnrichment] = {}
        with self._engine.begin() as conn:
            for chunk in _chunks(keys):
                rows = conn.execute(
                    sa.select(enrichment_cache).where(
                        enrichment_cache.c.email.in_(chunk),
                        enrichment_cache.c.enriched_at > fresh_after,
                    )
                )
                for row in rows:
                    found[row.email] = CachedEnrichment(
                        email=row.email,
                        match_status=MatchStatus(row.match_status),
                        prospect_id=row.prospect_id,
                        business_id=row.business_id,
                        payload=row.payload,
                        enriched_at=row.enriched_at,
                    )
        return found

    def put_enrichments(self, records: Iterable[CachedEnrichment]) -> None:
        """Insert or replace cache entries (matched and unmatched alike)."""
        rows = [
            {
                "email": normalize_email(r.email),
                "match_status": MatchStatus(r.match_status).value,
                "prospect_id": r.prospect_id,
                "business_id": r.business_id,
                "payload": dict(r.payload),
                "enriched_at": r.enriched_at,
            }
            for r in records
        ]
        if not rows:
            return
        with self._engine.begin() as conn:
            insert = dialect_insert(conn, enrichment_cache)
            replaced = {name: insert.excluded[name] for name in rows[0] if name != "email"}
            conn.execute(
                insert.on_conflict_do_update(index_elements=["email"], set_=replaced), rows
            )

    # Quarantine ------------------------------------------------------------------------------

    def quarantine(
        self,
        records: Iterable[QuarantineRecord | tuple[str, str, str, str, str, str, str]],
        *,
        now: datetime | None = None,
    ) -> None:
        """Record refused records, as :class:`QuarantineRecord` or plain tuples in its field
        order; a (source, partition, record, field) seen before is updated."""
        moment = now or utc_now()
        rows = [
            {
                "source": r.source,
                "partition_key": r.partition,
                "record_key": r.record_key,
                "field": r.field,
                "reason": r.reason,
                "masked_record": r.masked_record_json,
                "run_id": r.run_id,
                "quarantined_at": moment,
            }
            for r in map(QuarantineRecord._make, records)
        ]
        if not rows:
            return
        with self._engine.begin() as conn:
            insert = dialect_insert(conn, quarantine_table)
            replaced = {
                name: insert.excluded[name]
                for name in ("reason", "masked_record", "run_id", "quarantined_at")
            }
            conn.execute(
                insert.on_conflict_do_update(
                    index_elements=["source", "partition_key", "record_key", "field"],
                    set_=replaced,
                ),
                rows,
            )

    def clear_quarantine(self, source: str, partition: str) -> int:
        """Forget what ``source`` quarantined in ``partition`` (before re-processing it)."""
        with self._engine.begin() as conn:
            deleted = conn.execute(
                quarantine_table.delete().where(
                    quarantine_table.c.source == source,
                    quarantine_table.c.partition_key == partition,
                )
            )
        return deleted.rowcount

    def quarantined(self, partition: str, source: str | None = None) -> list[QuarantineRecord]:
        """What was quarantined in ``partition`` (optionally from one ``source``), in key order."""
        query = (
            sa.select(quarantine_table)
            .where(*self._quarantine_filter(partition, source))
            .order_by(
                quarantine_table.c.source,
                quarantine_table.c.record_key,
                quarantine_table.c.field,
            )
        )
        with self._engine.begin() as conn:
            return [
                QuarantineRecord(
                    source=row.source,
                    record_key=row.record_key,
                    field=row.field,
                    reason=row.reason,
                    masked_record_json=row.masked_record,
                    run_id=row.run_id,
                    partition=row.partition_key,
                )
                for row in conn.execute(query)
            ]

    def count_quarantined(self, partition: str, source: str | None = None) -> int:
        """How many distinct records were quarantined in ``partition`` (a record may have several
        faulty fields)."""
        records = (
            sa.select(quarantine_table.c.source, quarantine_table.c.record_key)
            .where(*self._quarantine_filter(partition, source))
            .distinct()
            .subquery()
        )
        with self._engine.begin() as conn:
            return int(conn.scalar(sa.select(sa.func.count()).select_from(records)) or 0)

    @staticmethod
    def _quarantine_filter(partition: str, source: str | None) -> list[sa.ColumnElement[bool]]:
        """WHERE conditions selecting one partition, optionally one source."""
        conditions: list[sa.ColumnElement[bool]] = [quarantine_table.c.partition_key == partition]
        if source is not None:
            conditions.append(quarantine_table.c.source == source)
        return conditions

    # Suppression -----------------------------------------------------------------------------

    def add_suppressions(self, entries: Iterable[Suppression]) -> int:
        """Add emails and ``@domain`` entries; returns how many were new (the first time an
        entry is seen from a source is kept)."""
        rows = [
            {
                "value": e.key,
                "source": SuppressionSource(e.source).value,
                "suppressed_at": e.suppressed_at,
            }
            for e in entries
        ]
        if not rows:
            return 0
        with self._engine.begin() as conn:
            inserted = conn.execute(
                dialect_insert(conn, suppression)
                .on_conflict_do_nothing(index_elements=["value", "source"])
                .returning(suppression.c.value),
                rows,
            )
            return len(inserted.all())

    def suppression_sources(self, emails: pd.Series) -> pd.Series:
        """For each email, the :class:`SuppressionSource` value that suppresses it, else None.

        An email matches its own entry or its domain's ``@domain`` entry (exact domain, not
        subdomains); its own entry wins over the domain's. The result has the input's index.
        """
        normalized = emails.astype("string").str.strip().str.lower()
        domains = normalized.str.extract(r"(@[^@\s]+)$", expand=False)
        keys = sorted(set(normalized.dropna()) | set(domains.dropna()))
        sources: dict[str, str] = {}
        with self._engine.begin() as conn:
            for chunk in _chunks(keys):
                rows = conn.execute(
                    sa.select(suppression.c.value, suppression.c.source).where(
                        suppression.c.value.in_(chunk)
                    )
                )
                for value, source in rows:
                    best = sources.get(value)
                    if best is None or _SOURCE_PRIORITY[source] < _SOURCE_PRIORITY[best]:
                        sources[value] = source
        found = normalized.map(sources).fillna(domains.map(sources)).astype(object)
        return found.where(found.notna(), None).rename("suppression_source")

    def suppressed_mask(self, emails: pd.Series) -> pd.Series:
        """True where the email, or its whole domain, is suppressed; same index as ``emails``."""
        return self.suppression_sources(emails).notna().rename("suppressed")

    def is_suppressed(self, email: str) -> bool:
        """Whether one email, or its domain, is suppressed."""
        return bool(self.suppressed_mask(pd.Series([email])).iloc[0])

    # OAuth tokens and sync cursors -----------------------------------------------------------

    def load_oauth_token(self, key: str) -> dict[str, Any] | None:
        """The token saved under ``key``, if any."""
        with self._engine.begin() as conn:
            token = conn.scalar(sa.select(oauth_token.c.token).where(oauth_token.c.key == key))
        return dict(token) if token is not None else None

    def save_oauth_token(self, key: str, token: Mapping[str, Any]) -> None:
        """Save (replace) the token under ``key``."""
        self._put_value(oauth_token, oauth_token.c.key, key, oauth_token.c.token, dict(token))

    def get_cursor(self, name: str) -> str | None:
        """The cursor saved under ``name``, if any."""
        with self._engine.begin() as conn:
            value = conn.scalar(sa.select(sync_cursor.c.value).where(sync_cursor.c.name == name))
        return None if value is None else str(value)

    def set_cursor(self, name: str, value: str) -> None:
        """Save (replace) the cursor under ``name``."""
        self._put_value(sync_cursor, sync_cursor.c.name, name, sync_cursor.c.value, value)

    # Asset frames -------------------------------------------------------------------------

    def save_frame(self, asset_key: str, partition_key: str, payload: bytes) -> None:
        """Save (replace) the serialized output of one asset partition."""
        row = {
            "asset_key": asset_key,
            "partition_key": partition_key,
            "payload": payload,
            "updated_at": utc_now(),
        }
        with self._engine.begin() as conn:
            insert = dialect_insert(conn, asset_frame).values(row)
            conn.execute(
                insert.on_conflict_do_update(
                    index_elements=["asset_key", "partition_key"],
                    set_={
                        "payload": insert.excluded.payload,
                        "updated_at": insert.excluded.updated_at,
                    },
                )
            )

    def load_frame(self, asset_key: str, partition_key: str) -> bytes | None:
        """The serialized output of one asset partition, if it was saved."""
        with self._engine.begin() as conn:
            payload = conn.scalar(
                sa.select(asset_frame.c.payload).where(
                    asset_frame.c.asset_key == asset_key,
                    asset_frame.c.partition_key == partition_key,
                )
            )
        return None if payload is None else bytes(payload)

    def _put_value(
        self,
        table: sa.Table,
        key_column: sa.Column[Any],
        key: str,
        value_column: sa.Column[Any],
        value: object,
    ) -> None:
        """Upsert one row of a key-value table."""
        row = {key_column.name: key, value_column.name: value, "updated_at": utc_now()}
        with self._engine.begin() as conn:
            insert = dialect_insert(conn, table).values(row)
            conn.execute(
                insert.on_conflict_do_update(
                    index_elements=[key_column.name],
                    set_={
                        value_column.name: insert.excluded[value_column.name],
                        "updated_at": insert.excluded["updated_at"],
                    },
                )
            )


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
    )


class StoreTokenStore:
    """The HubSpot client's token-store protocol over :class:`PipelineStore`: every exchange
    and refresh is persisted, so a rotated refresh token survives the process and is shared by
    every process using the same database."""

    def __init__(self, store: PipelineStore) -> None:
        self._store = store

    def get(self, key: str) -> OAuthTokens | None:
        """The tokens saved under ``key``, if any."""
        saved = self._store.load_oauth_token(key)
        if saved is None:
            return None
        return OAuthTokens(
            access_token=Secret(saved["access_token"]),
            refresh_token=Secret(saved["refresh_token"]),
            expires_at=float(saved["expires_at"]),
        )

    def save(self, key: str, tokens: OAuthTokens) -> None:
        """Persist ``tokens`` under ``key``."""
        self._store.save_oauth_token(
            key,
            {
                "access_token": tokens.access_token.reveal(),
                "refresh_token": tokens.refresh_token.reveal(),
                "expires_at": tokens.expires_at,
            },
        )
