"""Connecting to the store's database: engines, the UTC timestamp type and upsert helpers."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.engine.interfaces import DBAPIConnection, Dialect
from sqlalchemy.pool import ConnectionPoolEntry

DEFAULT_ENRICHMENT_TTL = timedelta(days=30)
"""How long a cached Explorium answer is reused before the contact is enriched again."""

SQLITE_BUSY_TIMEOUT_SECONDS = 30.0
"""How long a SQLite connection waits for another process's write lock."""

_READ_ONLY = "sales_pipeline_read_only"
"""Execution option of :func:`reading`'s connections: their transactions only read."""

_QUERY_CHUNK = 500
"""Values per ``IN (...)`` list: far below SQLite's and PostgreSQL's bind-parameter limits."""


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


def _begin(conn: Connection) -> None:
    """Open each SQLite transaction that may write with the write lock, so writers queue instead
    of deadlocking; a :func:`reading` transaction begins deferred and takes no lock at all (in
    WAL mode it reads a snapshot while writers go on)."""
    read_only = conn.get_execution_options().get(_READ_ONLY, False)
    conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


@contextmanager
def reading(engine: Engine) -> Iterator[Connection]:
    """A transaction that only reads: one consistent snapshot that neither waits for the
    writers nor holds them up (on SQLite, where every other transaction takes the database's
    one write lock as it begins, so reads queued behind every write)."""
    with engine.connect() as conn:
        conn.execution_options(**{_READ_ONLY: True})
        with conn.begin():
            yield conn


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
        sa.event.listen(engine, "begin", _begin)
        return engine
    raise ValueError(f"unsupported database {backend!r}: the store runs on sqlite or postgresql")


def dialect_insert(conn: Connection, table: sa.Table) -> postgresql.Insert | sqlite.Insert:
    """An INSERT into ``table`` that supports ``ON CONFLICT`` on the connection's database."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def chunks(values: Sequence[str], size: int = _QUERY_CHUNK) -> Iterator[Sequence[str]]:
    """Consecutive slices of ``values`` of at most ``size`` items."""
    for start in range(0, len(values), size):
        yield values[start : start + size]
