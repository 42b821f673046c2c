"""HubSpot's records and settings as the client takes and returns them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sales_pipeline.clients.hubspot.endpoints import BATCH_MAX, CRM_VERSIONS, OAUTH_VERSIONS
from sales_pipeline.domain.sources import Contact

__all__ = [
    "FIELD_TYPES",
    "Contact",
    "ContactReadResult",
    "ContactUpsert",
    "HubSpotSettings",
    "PropertyDefinition",
    "UpsertResult",
]

FIELD_TYPES: Mapping[str, frozenset[str]] = {
    "string": frozenset({"text", "textarea", "phonenumber", "html", "file"}),
    "number": frozenset({"number", "calculation_equation"}),
    "date": frozenset({"date"}),
    "datetime": frozenset({"date"}),
    "enumeration": frozenset({"select", "radio", "checkbox", "booleancheckbox"}),
    "bool": frozenset({"booleancheckbox"}),
}
"""HubSpot property types and the field types each may be shown with."""


@dataclass(frozen=True)
class HubSpotSettings:
    """HubSpot tuning; defaults are the published values.

    Attributes:
        crm_version: CRM API version in paths (``v3``, the only one HubSpot publishes).
        oauth_version: OAuth API version in the token path: ``v3`` (default) or
            ``v1`` (retired by HubSpot on 2027-02-16; see `oauth_version_warning`).
        burst_limit: Requests per burst window (100 Free/Starter, 190 Pro/Enterprise).
        burst_interval_s: Burst window length.
        search_limit: Search requests per ``search_interval_s``.
        search_interval_s: Search window length.
        secondly_wait_s: Wait unit after a ``SECONDLY`` 429 (multiplied by the 429 count).
        migration_wait_s: Wait after a 477 without ``Retry-After``.
        batch_size: Inputs per batch call (1..100).
    """

    crm_version: str = CRM_VERSIONS[0]
    oauth_version: str = OAUTH_VERSIONS[0]
    burst_limit: int = 100
    burst_interval_s: float = 10.0
    search_limit: int = 5
    search_interval_s: float = 1.0
    secondly_wait_s: float = 1.0
    migration_wait_s: float = 30.0
    batch_size: int = BATCH_MAX

    def __post_init__(self) -> None:
        if self.crm_version not in CRM_VERSIONS:
            raise ValueError(f"crm_version must be one of {', '.join(CRM_VERSIONS)}")
        if self.oauth_version not in OAUTH_VERSIONS:
            raise ValueError(f"oauth_version must be one of {', '.join(OAUTH_VERSIONS)}")
        if not 1 <= self.batch_size <= BATCH_MAX:
            raise ValueError(f"batch_size must be within 1..{BATCH_MAX}")


@dataclass(frozen=True)
class ContactUpsert:
    """One contact to create or update, identified by email.

    Attributes:
        email: The contact's email (the upsert key).
        properties: HubSpot property internal names to values; values are sent
            as strings, ``None`` as an empty string (clears the property).
    """

    email: str
    properties: Mapping[str, str | int | float | bool | None]


@dataclass(frozen=True)
class UpsertResult:
    """The outcome of one `ContactUpsert`, in input order.

    Attributes:
        email: The input's (normalised) email.
        ok: HubSpot created or updated the contact.
        contact_id: HubSpot record id when ``ok``.
        created: True when the contact was new, False when updated, None if unknown.
        error: HubSpot's message (redacted) when not ``ok``.
        category: HubSpot's error category when not ``ok``.
    """

    email: str
    ok: bool
    contact_id: str | None = None
    created: bool | None = None
    error: str | None = None
    category: str | None = None


@dataclass(frozen=True)
class ContactReadResult:
    """The outcome of reading one contact id, in input order.

    ``properties`` maps each property asked for to its value (``None`` when unset),
    or is ``None`` when HubSpot reported the id missing, with its message (redacted)
    in ``error``.
    """

    contact_id: str
    properties: Mapping[str, str | None] | None
    error: str | None = None


@dataclass(frozen=True)
class PropertyDefinition:
    """A custom contact property, as `HubSpotClient.ensure_contact_properties` creates it.

    Attributes:
        name: Internal name: lowercase letters, digits and ``_``, starting with a letter.
        label: Name shown in HubSpot.
        type: ``"string"``, ``"number"``, ``"date"``, ``"datetime"``, ``"enumeration"``
            or ``"bool"``.
        field_type: How HubSpot shows it, valid for ``type`` (see `FIELD_TYPES`):
            ``"text"``, ``"number"``, ``"date"``, ``"select"``...
        group_name: Property group (an existing one, default ``"contactinformation"``).
        description: Help text shown in HubSpot.
        options: ``(label, value)`` pairs; required for ``enumeration``, not allowed
            for other types (``bool`` gets HubSpot's Yes/No).
    """

    name: str
    label: str
    type: str
    field_type: str
    group_name: str = "contactinformation"
    description: str = ""
    options: tuple[tuple[str, str], ...] = ()
