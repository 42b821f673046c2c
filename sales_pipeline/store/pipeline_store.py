"""The store's facade: one object per database URL over every table (see the package docs)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, Self

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from sales_pipeline.domain.outcomes import (
    SOURCE_PRIORITY,
    MatchStatus,
    SuppressionSource,
)
from sales_pipeline.domain.records import (
    CachedEnrichment,
    QuarantineRecord,
    Suppression,
    normalize_email,
)
from sales_pipeline.store.engine import (
    DEFAULT_ENRICHMENT_TTL,
    chunks,
    create_store_engine,
    dialect_insert,
    reading,
    utc_now,
)
from sales_pipeline.store.entity_cache import (
    EntityKind,
    Payload,
    read_entities,
    write_entities,
)
from sales_pipeline.store.tables import (
    apply_migrations,
    asset_frame,
    enrichment_cache,
    oauth_token,
    quarantine_table,
    schema_version,
    suppression,
    sync_cursor,
)


class PipelineStore:
    """The pipeline's durable state behind one database URL. See the module docstring."""

    def __init__(
        self,
        url: str,
        *,
        enrichment_ttl: timedelta = DEFAULT_ENRICHMENT_TTL,
        migrate: bool = True,
    ) -> None:
        """Connect to ``url`` and, unless ``migrate`` is false, bring the schema up to date."""
        self._engine = create_store_engine(url)
        self.enrichment_ttl = enrichment_ttl
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
        with reading(self._engine) as conn:
            version = conn.scalar(sa.select(sa.func.max(schema_version.c.version)))
        if version is None:
            raise RuntimeError("the store's schema has not been created: run migrate()")
        return int(version)

    # Enrichment cache ------------------------------------------------------------------------

    def get_enrichments(self, emails: Iterable[str], now: datetime) -> dict[str, CachedEnrichment]:
        """Cached answers younger than ``enrichment_ttl`` at ``now``, keyed by normalized email."""
        keys = sorted({normalize_email(e) for e in emails})
        fresh_after = now - self.enrichment_ttl
        found: dict[str, CachedEnrichment] = {}
        with reading(self._engine) as conn:
            for chunk in chunks(keys):
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

    def put_enrichments(
        self,
        records: Iterable[CachedEnrichment],
        entities: Mapping[EntityKind, Mapping[str, Payload]] | None = None,
        now: datetime | None = None,
    ) -> None:
        """Insert or replace cache entries (matched and unmatched alike) and, in the same
        transaction, the Explorium answers per entity bought for them (``entities``, fetched at
        ``now``; see :meth:`put_entities`)."""
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
        bought = {kind: payloads for kind, payloads in (entities or {}).items() if payloads}
        if not rows and not bought:
            return
        with self._engine.begin() as conn:
            for kind, payloads in bought.items():
                write_entities(conn, kind, payloads, now or utc_now())
            if rows:
                insert = dialect_insert(conn, enrichment_cache)
                replaced = {name: insert.excluded[name] for name in rows[0] if name != "email"}
                conn.execute(
                    insert.on_conflict_do_update(index_elements=["email"], set_=replaced), rows
                )

    def get_entities(
        self, kind: EntityKind, keys: Iterable[str], now: datetime
    ) -> dict[str, Payload]:
        """Cached Explorium answers of ``kind`` younger than ``enrichment_ttl`` at ``now``, by
        key (see :mod:`sales_pipeline.store.entity_cache`); keys not cached are left out."""
        with reading(self._engine) as conn:
            return read_entities(conn, kind, keys, now - self.enrichment_ttl)

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
        with reading(self._engine) as conn:
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
        with reading(self._engine) as conn:
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
        with reading(self._engine) as conn:
            for chunk in chunks(keys):
                rows = conn.execute(
                    sa.select(suppression.c.value, suppression.c.source).where(
                        suppression.c.value.in_(chunk)
                    )
                )
                for value, source in rows:
                    best = sources.get(value)
                    if best is None or SOURCE_PRIORITY[source] < SOURCE_PRIORITY[best]:
                        sources[value] = source
        found = normalized.map(sources).fillna(domains.map(sources)).astype(object)
        return found.where(found.notna(), None).rename("suppression_source")

    def suppressed_mask(self, emails: pd.Series) -> pd.Series:
        """True where the email, or its whole domain, is suppressed; same index as ``emails``."""
        return self.suppression_sources(emails).notna().rename("suppressed")

    def is_suppressed(self, email: str) -> bool:
        """Whether one email, or its domain, is suppressed (:meth:`suppressed_emails` of one)."""
        return bool(self.suppressed_emails([email]))

    def suppressed_emails(self, emails: Iterable[str]) -> set[str]:
        """Of ``emails``, the normalized ones suppressed by their own entry or their domain's
        ``@domain`` entry: one indexed lookup per 500 keys, so a chunk of pushes asks once
        right before sending instead of once per lead."""
        wanted = {normalize_email(email) for email in emails}
        keys = sorted(wanted | {domain for email in wanted if (domain := _domain_key(email))})
        hits: set[str] = set()
        with reading(self._engine) as conn:
            for chunk in chunks(keys):
                hits.update(
                    conn.scalars(
                        sa.select(suppression.c.value).where(suppression.c.value.in_(chunk))
                    )
                )
        return {email for email in wanted if email in hits or _domain_key(email) in hits}

    # OAuth tokens and sync cursors -----------------------------------------------------------

    def load_oauth_token(self, key: str) -> dict[str, Any] | None:
        """The token saved under ``key``, if any."""
        with reading(self._engine) as conn:
            token = conn.scalar(sa.select(oauth_token.c.token).where(oauth_token.c.key == key))
        return dict(token) if token is not None else None

    def save_oauth_token(self, key: str, token: Mapping[str, Any]) -> None:
        """Save (replace) the token under ``key``."""
        self._put_value(oauth_token, oauth_token.c.key, key, oauth_token.c.token, dict(token))

    def get_cursor(self, name: str) -> str | None:
        """The cursor saved under ``name``, if any."""
        with reading(self._engine) as conn:
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
        with reading(self._engine) as conn:
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


def _domain_key(email: str) -> str | None:
    """The ``@domain`` suppression entry that covers a normalized email (the text from its last
    ``@``), or None when it has no ``@``."""
    return email[email.rfind("@") :] if "@" in email else None
