"""The store's tables and the ordered migrations that create them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.schema import CreateColumn

from sales_pipeline.store.engine import UTCDateTime, utc_now

MIGRATION_LOCK_ID = 7_342_150_019
"""PostgreSQL advisory-lock key that serializes schema migrations across processes."""


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
    sa.Column("email", sa.String(320), primary_key=True, index=True),
    sa.Column("payload_hash", sa.String(128), nullable=False),
    sa.Column("run_id", sa.String(64), nullable=False),
    sa.Column("outcome", sa.String(20), nullable=False, index=True),
    sa.Column("reason", sa.Text),
    sa.Column("lemlist_lead_id", sa.String(64)),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("claimed_at", UTCDateTime, nullable=False),
    sa.Column("completed_at", UTCDateTime),
    sa.Column("segment", sa.String(64)),
    sa.Column("lead", sa.JSON),
    sa.Column("sent", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("lease_expires_at", UTCDateTime),
    sa.Column("next_attempt_at", UTCDateTime, index=True),
)
LEDGER_WORK_COLUMNS = ("segment", "lead", "sent", "lease_expires_at", "next_attempt_at")
"""The ledger columns migration 6 adds: what a later run needs to finish a push."""

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

entity_cache = sa.Table(
    "entity_cache",
    metadata,
    sa.Column("kind", sa.String(32), primary_key=True),
    sa.Column("key", sa.String(320), primary_key=True),
    sa.Column("payload", sa.JSON(none_as_null=True)),
    sa.Column("fetched_at", UTCDateTime, nullable=False),
)
"""Explorium answers per vendor entity (see :mod:`sales_pipeline.store.entity_cache`)."""

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

work_item = sa.Table(
    "work_item",
    metadata,
    sa.Column("stage", sa.String(32), primary_key=True),
    sa.Column("key", sa.String(320), primary_key=True),
    sa.Column("partition_key", sa.String(64), nullable=False),
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Column("state", sa.String(16), nullable=False, index=True),
    sa.Column("reason", sa.Text),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("first_seen_at", UTCDateTime, nullable=False),
    sa.Column("last_attempt_at", UTCDateTime, nullable=False),
    sa.Column("next_attempt_at", UTCDateTime, index=True),
    sa.Column("settled_at", UTCDateTime),
)

contact_state = sa.Table(
    "contact_state",
    metadata,
    sa.Column("email", sa.String(320), primary_key=True),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("processed_at", UTCDateTime, nullable=False),
)

run_failure = sa.Table(
    "run_failure",
    metadata,
    sa.Column("run_id", sa.String(64), primary_key=True),
    sa.Column("summary", sa.JSON, nullable=False),
    sa.Column("recorded_at", UTCDateTime, nullable=False),
)

webhook_inbox = sa.Table(
    "webhook_inbox",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("vendor", sa.String(16), nullable=False),
    sa.Column("event_id", sa.String(128), nullable=False),
    sa.Column("event_type", sa.String(64), nullable=False),
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Column("received_at", UTCDateTime, nullable=False),
    sa.Column("processed_at", UTCDateTime, index=True),
    sa.UniqueConstraint("vendor", "event_id"),
)

UNPARTITIONED = ""
"""The ``partition_key`` under which an unpartitioned asset's frame is kept."""


@dataclass(frozen=True)
class Migration:
    """One ordered, recorded step of the store's schema."""

    version: int
    description: str
    upgrade: Callable[[Connection], None]


def _add_columns(table: sa.Table, names: Sequence[str]) -> Callable[[Connection], None]:
    """A migration step that adds ``table``'s columns ``names`` where they are missing (a
    database created after the step was written already has them)."""

    def upgrade(conn: Connection) -> None:
        present = {column["name"] for column in sa.inspect(conn).get_columns(table.name)}
        table_name = conn.dialect.identifier_preparer.quote(table.name)
        added = [table.c[name] for name in names if name not in present]
        for column in added:
            spec = CreateColumn(column).compile(dialect=conn.dialect)
            conn.exec_driver_sql(f"ALTER TABLE {table_name} ADD COLUMN {spec}")
        for index in table.indexes:
            if any(column in added for column in index.columns):
                index.create(conn, checkfirst=True)

    return upgrade


def _steps(*steps: Callable[[Connection], None]) -> Callable[[Connection], None]:
    """A migration step made of several."""

    def upgrade(conn: Connection) -> None:
        for step in steps:
            step(conn)

    return upgrade


def _create_index(table: sa.Table, name: str) -> Callable[[Connection], None]:
    """A migration step that creates ``table``'s index ``name`` (a database whose table was
    created after the step was written already has it)."""

    def upgrade(conn: Connection) -> None:
        next(index for index in table.indexes if index.name == name).create(conn, checkfirst=True)

    return upgrade


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
    Migration(4, "failed runs, each with its redacted summary", _create_tables(run_failure)),
    Migration(5, "webhook inbox", _create_tables(webhook_inbox)),
    Migration(
        6,
        "outstanding work: ledger leases and retry times, work items, contact fingerprints",
        _steps(
            _add_columns(push_ledger, LEDGER_WORK_COLUMNS),
            _create_tables(work_item, contact_state),
        ),
    ),
    Migration(
        7,
        "Explorium answers per entity (prospect, business, business match by domain)",
        _create_tables(entity_cache),
    ),
    Migration(
        8,
        "push ledger rows by email (its key leads with the campaign, its lookups with the email)",
        _create_index(push_ledger, "ix_push_ledger_email"),
    ),
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
            conn.execute(sa.select(sa.func.pg_advisory_xact_lock(MIGRATION_LOCK_ID)))
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
