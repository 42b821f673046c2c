"""One HubSpot contact as the emulation stores it, and HubSpot's timestamp formats."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

ALWAYS_RETURNED = ("createdate", "hs_object_id", "lastmodifieddate")
"""Properties every contact answer carries, whatever was asked for."""


def iso_from_seconds(epoch_seconds: float) -> str:
    """HubSpot's timestamp text: ``2025-07-07T20:27:17.947Z`` (UTC, milliseconds)."""
    moment = datetime.fromtimestamp(epoch_seconds, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def ms_from_text(text: str) -> int:
    """Epoch milliseconds from epoch-ms digits, an ISO timestamp or an ISO date (UTC midnight).

    Raises ``ValueError`` for anything else.
    """
    stripped = text.strip()
    if stripped.lstrip("-").isdigit():
        return int(stripped)
    moment = datetime.fromisoformat(stripped.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return round(moment.timestamp() * 1000)


@dataclass(frozen=True)
class ContactRecord:
    """An immutable version of a contact: a write replaces the record, never mutates it.

    ``properties`` holds every set value as a string (``createdate``, ``lastmodifieddate`` and
    ``hs_object_id`` always among them). Numeric views of values (dates as epoch ms) are cached
    per record, which is safe because the record never changes.
    """

    id: int
    properties: Mapping[str, str | None]
    created_at: str
    archived_at: str | None = None
    _numbers: dict[str, float | None] = field(default_factory=dict, compare=False, repr=False)

    @property
    def archived(self) -> bool:
        """Whether the contact is archived (deleted)."""
        return self.archived_at is not None

    @property
    def updated_at(self) -> str:
        """``updatedAt``: the ``lastmodifieddate``."""
        return self.properties.get("lastmodifieddate") or self.created_at

    def number(self, name: str, convert: Callable[[str], float | None]) -> float | None:
        """The value of ``name`` as a number (``None`` when unset or not numeric), cached."""
        try:
            return self._numbers[name]
        except KeyError:
            raw = self.properties.get(name)
            value = convert(raw) if raw else None
            self._numbers[name] = value
            return value

    def to_json(self, names: Iterable[str]) -> dict[str, Any]:
        """HubSpot's object shape with the properties ``names`` (unset ones as ``null``)."""
        answer: dict[str, Any] = {
            "id": str(self.id),
            "properties": {name: self.properties.get(name) for name in names},
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
            "archived": self.archived,
        }
        if self.archived_at is not None:
            answer["archivedAt"] = self.archived_at
        return answer
