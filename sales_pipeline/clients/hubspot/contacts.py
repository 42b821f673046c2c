"""HubSpot contact records read into the pipeline's `Contact`, once, where they arrive.

HubSpot's property names (``firstname``, ``jobtitle``, ``hs_email_optout``,
``lastmodifieddate``...) are read here and nowhere else in the pipeline.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sales_pipeline.domain.sources import Contact

CONTACT_TEXT_PROPERTIES: Mapping[str, str] = {
    "email": "email",
    "firstname": "first_name",
    "lastname": "last_name",
    "company": "company",
    "jobtitle": "job_title",
    "phone": "phone",
    "country": "country",
}
"""HubSpot text property -> `Contact` field."""

OPT_OUT = "hs_email_optout"
MODIFIED = "lastmodifieddate"

CONTACT_PROPERTIES = (*CONTACT_TEXT_PROPERTIES, OPT_OUT, MODIFIED)
"""The HubSpot contact properties a `Contact` is read from (what the client asks for)."""


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _moment(value: str) -> datetime | None:
    """An ISO 8601 timestamp as an aware datetime (naive ones read as UTC); None if unreadable."""
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def read_contact(record: Mapping[str, Any]) -> Contact:
    """A HubSpot contact object (``id``, ``properties``, ``updatedAt``...) as a `Contact`.

    The id falls back to ``hs_object_id`` and the modification time to ``updatedAt``; an
    opt-out flag other than ``true``, ``false`` or empty, and a time that is not ISO 8601, are
    reported in ``unreadable``.
    """
    properties = record.get("properties") or {}
    texts = {
        ours: _text(properties.get(theirs)) for theirs, ours in CONTACT_TEXT_PROPERTIES.items()
    }
    unreadable: list[tuple[str, str]] = []
    opt_out = (_text(properties.get(OPT_OUT)) or "").strip().lower()
    if opt_out not in ("true", "false", ""):
        unreadable.append(("opted_out", "invalid: expected true or false"))
    stamp = _text(properties.get(MODIFIED) or record.get("updatedAt"))
    modified = _moment(stamp) if stamp is not None else None
    if stamp is not None and modified is None:
        unreadable.append(("modified_at", "invalid: not an ISO 8601 timestamp"))
    return Contact(
        id=_text(record.get("id") or properties.get("hs_object_id")),
        **texts,
        opted_out=opt_out == "true",
        modified_at=modified,
        unreadable=tuple(unreadable),
    )
