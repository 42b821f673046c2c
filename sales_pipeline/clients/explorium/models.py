"""Explorium's settings and the per-record results the client returns."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from sales_pipeline.clients.explorium.endpoints import BULK_MAX

CONTACT_TYPES = frozenset({"email", "phone"})


@dataclass(frozen=True)
class ExploriumSettings:
    """Explorium tuning; defaults are the published values.

    Attributes:
        requests_per_window: Requests allowed per window (200).
        window_s: Sliding window length (60 s).
        match_batch_size: Queries per match call (1..50).
        enrich_batch_size: Ids per bulk-enrich call (1..50).
        credits_contact_email: Credits per contact-information record, email only.
        credits_contact_phone: Credits per contact-information record with phones.
        credits_per_profile: Credits per profile record, or None to not estimate.
        credits_per_firmographics: Credits per firmographics record, or None.
        rate_limited_wait_s: Wait after a 429 that names no wait.
    """

    requests_per_window: int = 200
    window_s: float = 60.0
    match_batch_size: int = BULK_MAX
    enrich_batch_size: int = BULK_MAX
    credits_contact_email: float = 2.0
    credits_contact_phone: float = 5.0
    credits_per_profile: float | None = None
    credits_per_firmographics: float | None = None
    rate_limited_wait_s: float = 60.0

    def __post_init__(self) -> None:
        for name in ("match_batch_size", "enrich_batch_size"):
            if not 1 <= getattr(self, name) <= BULK_MAX:
                raise ValueError(f"{name} must be within 1..{BULK_MAX}")


class MatchStatus(Enum):
    """How one match query ended."""

    MATCHED = "matched"
    UNMATCHED = "unmatched"
    FAILED = "failed"


@dataclass(frozen=True)
class MatchResult:
    """The outcome of one match query, in input order.

    Attributes:
        index: Position of the query in the input.
        status: Matched, unmatched, or failed (Explorium reported an error).
        entity_id: ``prospect_id`` (40 hex) or ``business_id`` (32 hex) when matched.
        reason: Explorium's ``error_type: error`` (redacted) when failed.
    """

    index: int
    status: MatchStatus
    entity_id: str | None = None
    reason: str | None = None


class EnrichStatus(Enum):
    """Whether Explorium returned data for an id."""

    FOUND = "found"
    NOT_FOUND = "not_found"


@dataclass(frozen=True)
class EnrichResult:
    """Enrichment of one id, in input order.

    Attributes:
        entity_id: The prospect or business id.
        status: Found (``data`` set) or not found.
        data: Explorium's record for the id (its ``data`` object).
        credits: Estimated credits this record cost (0 when not estimated).
    """

    entity_id: str
    status: EnrichStatus
    data: Mapping[str, Any] | None = None
    credits: float = 0.0
