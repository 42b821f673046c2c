"""Explorium answers per vendor entity, so each entity is bought once per time to live.

Contacts are enriched through entities: a person's prospect (contact information and profile,
keyed by ``prospect_id``), the business matched for their company's domain (keyed by the
normalized domain) and that business's firmographics (keyed by ``business_id``). Many contacts
share a business, and a person can come back under another email or in another day's
partition; keyed by email, the cache bought a business's firmographics again for every chunk
in which one of its people appeared. Keyed by entity, what one chunk, run or partition bought
serves every later one until it is ``ttl`` old.

``payload`` is the answer as a JSON object, or null when Explorium had nothing for the key
(not found costs no credit, but asking again costs a request). The time to live is the
enrichment cache's: one concept, ``PipelineStore.enrichment_ttl``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from sales_pipeline.store.engine import chunks, dialect_insert
from sales_pipeline.store.tables import entity_cache

Payload = Mapping[str, Any] | None
"""An entity's answer as JSON, or None when Explorium knew nothing of it."""


class EntityKind(StrEnum):
    """What an ``entity_cache`` row holds, and what its key is."""

    CONTACT_INFORMATION = "contact_information"
    """A prospect's contact information, by ``prospect_id``."""
    PROFILE = "profile"
    """A prospect's profile, by ``prospect_id``."""
    BUSINESS_MATCH = "business_match"
    """The business matched for a company domain, by normalized domain."""
    FIRMOGRAPHICS = "firmographics"
    """A business's firmographics, by ``business_id``."""


def read_entities(
    conn: Connection, kind: EntityKind, keys: Iterable[str], fresh_after: datetime
) -> dict[str, Payload]:
    """The payloads of ``keys`` fetched after ``fresh_after``; keys not cached are left out."""
    wanted = sorted(set(keys))
    found: dict[str, Payload] = {}
    for chunk in chunks(wanted):
        rows = conn.execute(
            sa.select(entity_cache.c.key, entity_cache.c.payload).where(
                entity_cache.c.kind == kind.value,
                entity_cache.c.key.in_(chunk),
                entity_cache.c.fetched_at > fresh_after,
            )
        )
        found.update((row.key, row.payload) for row in rows)
    return found


def write_entities(
    conn: Connection,
    kind: EntityKind,
    payloads: Mapping[str, Payload],
    fetched_at: datetime,
) -> None:
    """Insert or replace the payloads of ``kind`` by key, fetched at ``fetched_at``."""
    rows = [
        {"kind": kind.value, "key": key, "payload": payload, "fetched_at": fetched_at}
        for key, payload in payloads.items()
    ]
    if not rows:
        return
    insert = dialect_insert(conn, entity_cache)
    conn.execute(
        insert.on_conflict_do_update(
            index_elements=["kind", "key"],
            set_={"payload": insert.excluded.payload, "fetched_at": insert.excluded.fetched_at},
        ),
        rows,
    )
