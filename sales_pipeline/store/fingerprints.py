"""What each contact looked like when the pipeline last finished with it.

Every HubSpot write moves a contact's modification time, the pipeline's own writeback
included, so the contact re-enters that day's partition. The fingerprint of its source fields
(the ones the pipeline reads, never the ``sp_`` properties it writes) is recorded once the
contact has gone through the whole pipeline; a contact whose fingerprint has not changed since
is not new work.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

import sqlalchemy as sa

from sales_pipeline.domain.records import normalize_email
from sales_pipeline.store.engine import chunks, dialect_insert, reading
from sales_pipeline.store.pipeline_store import PipelineStore
from sales_pipeline.store.tables import contact_state


class ContactFingerprints:
    """The ``contact_state`` table in the pipeline store's database."""

    def __init__(self, store: PipelineStore) -> None:
        """Use ``store``'s database."""
        self._engine = store.engine

    def get(self, emails: Iterable[str]) -> dict[str, str]:
        """The recorded fingerprint of each of ``emails`` that has one, by normalized email."""
        keys = sorted({normalize_email(e) for e in emails})
        found: dict[str, str] = {}
        with reading(self._engine) as conn:
            for chunk in chunks(keys):
                rows = conn.execute(
                    sa.select(contact_state.c.email, contact_state.c.fingerprint).where(
                        contact_state.c.email.in_(chunk)
                    )
                )
                found.update((email, fingerprint) for email, fingerprint in rows)
        return found

    def record(self, fingerprints: Mapping[str, str], now: datetime) -> None:
        """Record (or replace) each email's fingerprint as processed at ``now``."""
        rows = [
            {"email": normalize_email(email), "fingerprint": value, "processed_at": now}
            for email, value in fingerprints.items()
        ]
        if not rows:
            return
        with self._engine.begin() as conn:
            insert = dialect_insert(conn, contact_state)
            conn.execute(
                insert.on_conflict_do_update(
                    index_elements=["email"],
                    set_={
                        "fingerprint": insert.excluded.fingerprint,
                        "processed_at": insert.excluded.processed_at,
                    },
                ),
                rows,
            )
