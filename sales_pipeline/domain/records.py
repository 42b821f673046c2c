"""The records the pipeline keeps about contacts and leads: plain, immutable values."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sales_pipeline.domain.outcomes import MatchStatus, PushOutcome, SuppressionSource


def normalize_email(email: str) -> str:
    """The key an email is stored and compared under: trimmed and lower-cased."""
    return email.strip().lower()


@dataclass(frozen=True)
class PushRecord:
    """One row of the push ledger."""

    campaign_id: str
    email: str
    outcome: PushOutcome
    payload_hash: str
    run_id: str
    attempts: int
    claimed_at: datetime
    completed_at: datetime | None
    reason: str | None
    lemlist_lead_id: str | None
    segment: str | None = None
    lead: Mapping[str, Any] | None = None
    """What is (or was) sent to Lemlist: kept so any later run can finish the push."""
    sent: bool = False
    """Whether an attempt may have reached Lemlist (its answer can have been lost)."""
    lease_expires_at: datetime | None = None
    next_attempt_at: datetime | None = None
    created_at: datetime | None = None


@dataclass(frozen=True)
class CachedEnrichment:
    """An Explorium answer for one email, as kept in the enrichment cache.

    ``payload`` holds the parsed enrichment fields and must be JSON-serializable (no NaN).
    """

    email: str
    match_status: MatchStatus
    prospect_id: str | None
    business_id: str | None
    payload: Mapping[str, Any]
    enriched_at: datetime


class QuarantineRecord(NamedTuple):
    """A record a stage refused, with the field at fault and a masked (PII-free) copy."""

    source: str
    record_key: str
    field: str
    reason: str
    masked_record_json: str
    run_id: str
    partition: str


@dataclass(frozen=True)
class Suppression:
    """One suppression entry: an email (``a@b.com``) or a whole domain (``@b.com``)."""

    value: str
    source: SuppressionSource
    suppressed_at: datetime

    @property
    def key(self) -> str:
        """The normalized value the entry is stored and matched under."""
        key = normalize_email(self.value)
        local, at, domain = key.rpartition("@")
        if not at or not domain or "@" in local:
            raise ValueError(f"suppression value {self.value!r} is neither an email nor '@domain'")
        return key


@dataclass(frozen=True)
class Engagement:
    """One queued Lemlist activity and the lead status it implies."""

    activity_id: str
    email: str
    activity_type: str
    lead_status: str
    occurred_at: datetime
