"""Explorium's settings and the typed per-record results the client returns.

The records themselves (`MatchResult`, `ContactInformation`, `ProspectProfile`,
`Firmographics`) are the pipeline's own words, defined in `sales_pipeline.domain.sources`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Generic, TypeVar

from sales_pipeline.clients.explorium.endpoints import BULK_MAX
from sales_pipeline.domain.outcomes import MatchStatus
from sales_pipeline.domain.sources import (
    ContactInformation,
    Firmographics,
    MatchResult,
    ProspectProfile,
)

__all__ = [
    "CONTACT_TYPES",
    "ContactInformation",
    "CreditUsage",
    "EnrichResult",
    "EnrichStatus",
    "ExploriumSettings",
    "Firmographics",
    "MatchResult",
    "MatchStatus",
    "ProspectProfile",
]

Record = TypeVar("Record")

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

    The estimates are a fallback: every enrichment call asks Explorium for its credit report
    and counts what the answer says; only an answer without one is counted by estimate.
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


@dataclass(frozen=True)
class CreditUsage:
    """Credits of the enrichment calls a client made, as Explorium reported them.

    Attributes:
        reported: Credits the answers reported (``credit_usage.total_credits``).
        estimated: Credits estimated per record (:class:`ExploriumSettings`) for the calls
            whose answer reported none.
        unreported_calls: Enrichment calls whose answer reported no credits.
    """

    reported: float = 0.0
    estimated: float = 0.0
    unreported_calls: int = 0

    @property
    def total(self) -> float:
        """Reported and estimated credits together."""
        return self.reported + self.estimated

    def __add__(self, other: CreditUsage) -> CreditUsage:
        """Both usages together."""
        return CreditUsage(
            self.reported + other.reported,
            self.estimated + other.estimated,
            self.unreported_calls + other.unreported_calls,
        )

    def __sub__(self, earlier: CreditUsage) -> CreditUsage:
        """What was used since ``earlier`` (a snapshot of the same client)."""
        return CreditUsage(
            self.reported - earlier.reported,
            self.estimated - earlier.estimated,
            self.unreported_calls - earlier.unreported_calls,
        )


class EnrichStatus(Enum):
    """Whether Explorium returned data for an id."""

    FOUND = "found"
    NOT_FOUND = "not_found"


@dataclass(frozen=True)
class EnrichResult(Generic[Record]):
    """Enrichment of one id, in input order.

    Attributes:
        entity_id: The prospect or business id.
        status: Found (``data`` set) or not found.
        data: What Explorium told about the id (`ContactInformation`, `ProspectProfile` or
            `Firmographics`).
        credits: Estimated credits this record cost (0 when not estimated); what the vendor
            charged per call is in `ExploriumClient.credit_usage`.
    """

    entity_id: str
    status: EnrichStatus
    data: Record | None = None
    credits: float = 0.0
