"""The HubSpot account's contacts: storage, unique emails, writes, listing and search.

Thread-safe (one re-entrant lock). Records are immutable versions (:class:`ContactRecord`), so
the search index can keep showing an older version while it "lags" behind writes: with
``search_lag_seconds`` > 0 a write becomes visible to search only that many sandbox-clock
seconds later (a new contact is invisible until then). With the default lag of 0 search sees
every write at once, which keeps tests deterministic.

Search answers are cheap to page: the filtered and sorted id list of each query is cached
against a version counter that moves whenever what search can see changes.
"""

from __future__ import annotations

import threading
from bisect import bisect_left
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from sales_pipeline.sandbox.core.clock import Clock
from sales_pipeline.sandbox.core.world import Contact

from .errors import contact_conflict, not_found
from .properties import PropertyRegistry
from .records import ContactRecord, iso_from_seconds
from .search import SearchQuery, page_of

SEARCH_CACHE_SIZE = 64


def _email_key(value: str | None) -> str | None:
    """The email-index key: trimmed and lower-cased; ``None`` for no email."""
    return value.strip().lower() if value and value.strip() else None


class ContactStore:
    """Every contact of the account, archived ones included, by ascending id."""

    def __init__(
        self, registry: PropertyRegistry, clock: Clock, contacts: Iterable[Contact]
    ) -> None:
        self._registry = registry
        self._clock = clock
        self._lock = threading.RLock()
        self._records: dict[int, ContactRecord] = {}
        self._emails: dict[str, set[int]] = {}
        self._version = 0
        self._lag = 0.0
        self._pending: dict[int, tuple[float, ContactRecord | None]] = {}
        self._cache: OrderedDict[str, tuple[int, list[int]]] = OrderedDict()
        self.on_write: Callable[[ContactRecord, ContactRecord | None], None] | None = None
        """Told of every write after the initial contacts (the webhooks listen here)."""
        for contact in contacts:
            properties = dict(contact.properties)
            created = properties.get("createdate") or iso_from_seconds(
                contact.created_at.timestamp()
            )
            self._put(ContactRecord(contact.id, properties, created), None)
        self._ids = list(self._records)
        self._next_id = max(self._ids, default=1000) + 1

    # ----------------------------------------------------------------- reading
    def count(self) -> int:
        """Contacts that are not archived."""
        with self._lock:
            return sum(1 for record in self._records.values() if not record.archived)

    def get(self, key: str, id_property: str | None, archived: bool = False) -> ContactRecord:
        """The contact whose ``id_property`` (record id by default, or ``email``) is ``key``.

        ``archived`` asks for an archived contact instead of a live one; 404 when none.
        """
        with self._lock:
            record = self._find(key, id_property, archived)
            if record is None:
                raise not_found()
            return record

    def find(self, key: str, id_property: str | None) -> ContactRecord | None:
        """The live contact with that id or email, or ``None``."""
        with self._lock:
            return self._find(key, id_property, archived=False)

    def _find(self, key: str, id_property: str | None, archived: bool) -> ContactRecord | None:
        if id_property == "email":
            owner = self._owner(key)
            return self._records[owner] if owner is not None and not archived else None
        if not key.isdigit():
            return None
        record = self._records.get(int(key))
        return record if record is not None and record.archived == archived else None

    def _owner(self, email: str | None) -> int | None:
        """The id of the live contact holding ``email`` (the oldest one if several do)."""
        key = _email_key(email)
        holders = self._emails.get(key) if key else None
        return min(holders) if holders else None

    def page(
        self, after_id: int, limit: int, archived: bool
    ) -> tuple[list[ContactRecord], int | None]:
        """Up to ``limit`` contacts with id >= ``after_id`` and the id to continue from."""
        with self._lock:
            found: list[ContactRecord] = []
            for index in range(bisect_left(self._ids, after_id), len(self._ids)):
                record = self._records[self._ids[index]]
                if record.archived != archived:
                    continue
                if len(found) == limit:
                    return found, record.id
                found.append(record)
            return found, None

    def snapshot(self) -> dict[str, Any]:
        """Live contacts (id and properties), their count and the archived ids."""
        with self._lock:
            live = [r for r in self._records.values() if not r.archived]
            return {
                "contacts": [{"id": str(r.id), "properties": dict(r.properties)} for r in live],
                "count": len(live),
                "archived": [str(r.id) for r in self._records.values() if r.archived],
            }

    # ----------------------------------------------------------------- writing
    def create(self, values: Mapping[str, Any]) -> ContactRecord:
        """A new contact; 409 when a live contact has the email (case-insensitively)."""
        with self._lock:
            stored = self._registry.normalize(values)
            owner = self._owner(stored.get("email"))
            if owner is not None:
                raise contact_conflict(owner)
            now = iso_from_seconds(self._clock.now())
            record_id = self._next_id
            self._next_id += 1
            properties = {name: value for name, value in stored.items() if value is not None}
            properties.setdefault("createdate", now)
            properties["lastmodifieddate"] = now
            properties["hs_object_id"] = str(record_id)
            record = ContactRecord(record_id, properties, now)
            self._ids.append(record_id)
            self._put(record, None)
            return record

    def update(self, key: str, id_property: str | None, values: Mapping[str, Any]) -> ContactRecord:
        """Change a live contact's properties; unchanged values leave it untouched.

        404 for an unknown contact, 409 when the new email belongs to another contact.
        """
        with self._lock:
            record = self._find(key, id_property, archived=False)
            if record is None:
                raise not_found()
            return self._update(record, self._registry.normalize(values))

    def _update(self, record: ContactRecord, stored: Mapping[str, str | None]) -> ContactRecord:
        owner = self._owner(stored.get("email"))
        if owner is not None and owner != record.id:
            raise contact_conflict(owner)
        properties = {**record.properties, **stored}
        if properties == record.properties:
            return record
        properties["lastmodifieddate"] = iso_from_seconds(self._clock.now())
        updated = ContactRecord(record.id, properties, record.created_at)
        self._put(updated, record)
        return updated

    def upsert_by_email(self, email: str, values: Mapping[str, Any]) -> tuple[ContactRecord, bool]:
        """Update the live contact with ``email`` or create one; ``True`` when created."""
        with self._lock:
            checked = self._registry.normalize({"email": email})
            owner = self._owner(email)
            if owner is None:
                return self.create({**values, **checked}), True
            stored = self._registry.normalize(values)
            stored.pop("email", None)
            return self._update(self._records[owner], stored), False

    def archive(self, key: str) -> None:
        """Archive a live contact (HubSpot's delete); 404 when there is none."""
        with self._lock:
            record = self._find(key, None, archived=False)
            if record is None:
                raise not_found()
            archived_at = iso_from_seconds(self._clock.now())
            self._put(
                ContactRecord(record.id, record.properties, record.created_at, archived_at), record
            )

    def _put(self, record: ContactRecord, previous: ContactRecord | None) -> None:
        """Store a new version, keep the email index and the search view in step."""
        self._records[record.id] = record
        old_email = _email_key(previous.properties.get("email")) if previous else None
        if previous is not None and old_email:
            holders = self._emails.get(old_email, set())
            holders.discard(record.id)
            if not holders:
                self._emails.pop(old_email, None)
        new_email = _email_key(record.properties.get("email"))
        if new_email and not record.archived:
            self._emails.setdefault(new_email, set()).add(record.id)
        if self._lag > 0:
            self._pending.setdefault(record.id, (self._clock.now(), previous))
        else:
            self._version += 1
        if self.on_write is not None:
            self.on_write(record, previous)

    # ----------------------------------------------------------------- search
    @property
    def lag(self) -> float:
        """Seconds (sandbox clock) before search sees a write."""
        return self._lag

    def set_lag(self, seconds: float) -> None:
        """Change the search lag; writes already made become visible on the new schedule."""
        with self._lock:
            self._lag = seconds
            self._drain()

    def _drain(self) -> None:
        """Let search see the writes older than the lag."""
        cutoff = self._clock.now() - self._lag
        while self._pending:
            record_id, (written, _) = next(iter(self._pending.items()))
            if self._lag > 0 and written > cutoff:
                return
            del self._pending[record_id]
            self._version += 1

    def _visible(self, record_id: int) -> ContactRecord | None:
        pending = self._pending.get(record_id)
        record = pending[1] if pending else self._records[record_id]
        return None if record is None or record.archived else record

    def search(self, query: SearchQuery) -> tuple[int, list[ContactRecord]]:
        """The number of matches and the requested page of them (never archived contacts)."""
        with self._lock:
            self._drain()
            cached = self._cache.get(query.cache_key)
            if cached is not None and cached[0] == self._version:
                ids = cached[1]
                self._cache.move_to_end(query.cache_key)
            else:
                ids = self._evaluate(query)
                self._cache[query.cache_key] = (self._version, ids)
                if len(self._cache) > SEARCH_CACHE_SIZE:
                    self._cache.popitem(last=False)
            page = [self._visible(record_id) for record_id in page_of(ids, query)]
            return len(ids), [record for record in page if record is not None]

    def _evaluate(self, query: SearchQuery) -> list[int]:
        if self._pending:
            candidates = (self._visible(record_id) for record_id in self._records)
            visible = [record for record in candidates if record is not None]
        else:
            visible = [record for record in self._records.values() if not record.archived]
        matches = [record for record in visible if query.matches(record)]
        return [record.id for record in query.order(matches)]
