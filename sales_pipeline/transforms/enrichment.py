"""Enrichment joined onto contacts, cached, and scored for confidence."""

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from pandera.typing.pandas import DataFrame

from sales_pipeline.domain.outcomes import EmailStatus, EnrichmentStatus, MatchStatus
from sales_pipeline.domain.records import CachedEnrichment
from sales_pipeline.domain.text import DOMAIN_PATTERN
from sales_pipeline.transforms.contacts import FREE_MAIL_DOMAINS
from sales_pipeline.transforms.explorium import first_present
from sales_pipeline.transforms.frames import is_in
from sales_pipeline.transforms.schemas import (
    EnrichedContacts,
    EnrichmentFields,
    EnrichmentRecords,
    validated,
)

ENRICHMENT_FIELDS = tuple(EnrichmentFields.to_schema().columns)
"""The enrichment columns kept in the cache payload."""

_DOMAIN = re.compile(DOMAIN_PATTERN)


def business_domain(email: str, profile: Mapping[str, Any] | None) -> str | None:
    """The domain to find a contact's company by: their profile's company website, else the
    email's own domain unless it is a mailbox provider's (:data:`FREE_MAIL_DOMAINS`)."""
    if profile is not None and profile.get("company_domain"):
        return str(profile["company_domain"])
    own = email.rpartition("@")[2]
    return own if own not in FREE_MAIL_DOMAINS and _DOMAIN.fullmatch(own) else None


def enrichment_row(
    email: str,
    prospect_id: str | None,
    contact: Mapping[str, Any] | None,
    profile: Mapping[str, Any] | None,
    company_domain: str | None,
    business_id: str | None,
    company: Mapping[str, Any] | None,
    enriched_at: datetime,
) -> dict[str, Any]:
    """One :class:`EnrichmentRecords` row (plain values, None for null) from the rows of
    ``transforms.explorium`` that the contact's prospect and business have.

    Company name and domain prefer firmographics, then the profile (then, for the domain, the
    email's own unless a mailbox provider's: ``company_domain``, see :func:`business_domain`);
    the country is the person's (profile) before the company's. ``email_status`` is Explorium's
    verification of its professional email when that is the contact's email, else unknown.
    """
    person = profile or {}
    firm = company or {}
    reach = contact or {}
    verified = reach.get("professional_email") == email
    return {
        "email": email,
        "match_status": (MatchStatus.MATCHED if prospect_id else MatchStatus.UNMATCHED).value,
        "prospect_id": prospect_id,
        "business_id": business_id,
        "job_title": person.get("job_title"),
        "job_level": person.get("job_level"),
        "job_department": person.get("job_department"),
        "company_name": firm.get("company_name") or person.get("company_name"),
        "company_domain": firm.get("company_domain") or company_domain,
        "company_size": firm.get("company_size"),
        "yearly_revenue_range": firm.get("yearly_revenue_range"),
        "industry": firm.get("industry"),
        "country": person.get("country") or firm.get("country"),
        "linkedin_url": person.get("linkedin_url"),
        "phone": reach.get("phone"),
        "email_status": (verified and reach.get("professional_email_verification"))
        or EmailStatus.UNKNOWN.value,
        "enriched_at": enriched_at,
    }


def enrichment_frame(rows: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """:func:`enrichment_row` rows as a frame of :class:`EnrichmentRecords` columns, not yet
    validated: a pass packs its rows as they come (a frame row costs a fraction of a dict) and
    checks them once, with :func:`combined_records`."""
    rows = list(rows)
    columns = [c for c in EnrichmentRecords.to_schema().columns if c != "enriched_at"]
    frame = pd.DataFrame.from_records(rows, columns=columns)
    frame["enriched_at"] = pd.Series(
        [pd.Timestamp(row["enriched_at"]) for row in rows], dtype=object
    )
    return frame


def combined_records(frames: Sequence[pd.DataFrame]) -> DataFrame[EnrichmentRecords]:
    """:func:`enrichment_frame` frames (at least one) as one, validated once."""
    return validated(EnrichmentRecords, pd.concat(frames, ignore_index=True))


def enrichment_records(rows: Iterable[Mapping[str, Any]]) -> DataFrame[EnrichmentRecords]:
    """:func:`enrichment_row` rows (of one pass, or read from the cache) as one frame, validated
    once."""
    return validated(EnrichmentRecords, enrichment_frame(rows))


def enrichment_cache_entries(rows: Iterable[Mapping[str, Any]]) -> list[CachedEnrichment]:
    """:func:`enrichment_row` rows as cache entries."""
    return [
        CachedEnrichment(
            email=row["email"],
            match_status=MatchStatus(row["match_status"]),
            prospect_id=row["prospect_id"],
            business_id=row["business_id"],
            payload={name: row[name] for name in ENRICHMENT_FIELDS},
            enriched_at=row["enriched_at"],
        )
        for row in rows
    ]


def enrichment_from_cache(entries: Iterable[CachedEnrichment]) -> DataFrame[EnrichmentRecords]:
    """Cache entries as :class:`EnrichmentRecords` (fields an older entry lacks are null)."""
    return enrichment_records(
        {
            "email": entry.email,
            "match_status": MatchStatus(entry.match_status).value,
            "prospect_id": entry.prospect_id,
            "business_id": entry.business_id,
            **{name: entry.payload.get(name) for name in ENRICHMENT_FIELDS},
            "email_status": entry.payload.get("email_status") or EmailStatus.UNKNOWN.value,
            "enriched_at": entry.enriched_at,
        }
        for entry in entries
    )


def _tag_status(enrichment: pd.DataFrame, matched: EnrichmentStatus) -> pd.DataFrame:
    """Enrichment rows with their ``enrichment_status``: ``matched`` or unmatched."""
    return enrichment.drop(columns="match_status").assign(
        enrichment_status=np.where(
            enrichment["match_status"] == MatchStatus.MATCHED.value,
            matched.value,
            EnrichmentStatus.UNMATCHED.value,
        )
    )


def enrich_contacts(
    contacts: pd.DataFrame,
    now: datetime,
    fresh: pd.DataFrame | None = None,
    cached: pd.DataFrame | None = None,
) -> DataFrame[EnrichedContacts]:
    """Join enrichment onto contacts and score its :func:`confidence_score`.

    ``fresh`` (this run's :func:`enrichment_records`) wins over ``cached``
    (:func:`enrichment_from_cache`); leave either out when there is none. Matched rows are
    ``enriched`` (fresh) or ``cached``; unmatched rows are ``unmatched`` wherever they come
    from; contacts in neither are ``deferred``.
    """
    fresh = enrichment_from_cache(()) if fresh is None else fresh
    cached = enrichment_from_cache(()) if cached is None else cached
    enrichment = pd.concat(
        [
            _tag_status(fresh, EnrichmentStatus.ENRICHED),
            _tag_status(cached[~is_in(cached["email"], fresh["email"])], EnrichmentStatus.CACHED),
        ],
        ignore_index=True,
    )
    joined = contacts.merge(enrichment, on="email", how="left", suffixes=("_hubspot", ""))
    frame = joined.assign(
        enrichment_status=joined["enrichment_status"].fillna(EnrichmentStatus.DEFERRED.value),
        job_title=first_present(joined["job_title"], joined["job_title_hubspot"]),
        country=first_present(joined["country"], joined["country_hubspot"]),
        phone=first_present(joined["phone_hubspot"], joined["phone"]),
        company_name=first_present(joined["company_name"], joined["company"]),
        email_status=joined["email_status"].fillna(EmailStatus.UNKNOWN.value),
    )
    frame["confidence"] = confidence_score(frame, now)
    return validated(EnrichedContacts, frame)


# Confidence -------------------------------------------------------------------------------------

EMAIL_STATUS_CONFIDENCE: Mapping[str, float] = {
    EmailStatus.VALID: 1.0,
    EmailStatus.CATCH_ALL: 0.5,
    EmailStatus.UNKNOWN: 0.2,
    EmailStatus.INVALID: 0.0,
}
"""How much each email verification status is worth."""

FIELD_IMPORTANCE: Mapping[str, float] = {
    "job_title": 3.0,
    "job_level": 3.0,
    "company_name": 2.0,
    "company_domain": 2.0,
    "job_department": 2.0,
    "company_size": 2.0,
    "country": 1.0,
    "linkedin_url": 1.0,
}
"""How much each field's presence is worth (the fields ICP scoring and outreach rely on most)."""

CONFIDENCE_WEIGHTS: Mapping[str, float] = {"email": 0.45, "completeness": 0.35, "freshness": 0.20}
"""Weights of the three parts of :func:`confidence_score` (they sum to 1)."""

FRESHNESS_HALF_LIFE_DAYS = 90.0
"""After this many days the freshness part is worth half."""


def confidence_score(enriched: pd.DataFrame, now: datetime) -> pd.Series:
    """How far each row's data can be trusted, from 0 to 1::

        confidence = 0.45 * E + 0.35 * C + 0.20 * F

    * E, email verification: :data:`EMAIL_STATUS_CONFIDENCE` of ``email_status``
      (valid 1, catch-all 0.5, unknown 0.2, invalid 0).
    * C, completeness: the share of :data:`FIELD_IMPORTANCE` weight whose fields are present.
    * F, freshness: ``0.5 ** (age_days / 90)``, the age of ``enriched_at``, or of
      ``modified_at`` for rows never enriched (a time in the future counts as now).
    """
    email = enriched["email_status"].map(EMAIL_STATUS_CONFIDENCE).fillna(0.0).astype(float)
    present = pd.DataFrame({f: enriched[f].notna() for f in FIELD_IMPORTANCE})
    weights = pd.Series(FIELD_IMPORTANCE)
    completeness = present.astype(float).mul(weights, axis=1).sum(axis=1) / weights.sum()
    observed = pd.to_datetime(enriched["enriched_at"], utc=True).fillna(
        pd.to_datetime(enriched["modified_at"], utc=True)
    )
    age_days = ((pd.Timestamp(now) - observed).dt.total_seconds() / 86_400).clip(lower=0)
    freshness: pd.Series = 0.5 ** (age_days / FRESHNESS_HALF_LIFE_DAYS)
    score = (
        CONFIDENCE_WEIGHTS["email"] * email
        + CONFIDENCE_WEIGHTS["completeness"] * completeness
        + CONFIDENCE_WEIGHTS["freshness"] * freshness
    )
    return score.clip(0.0, 1.0).astype(float).rename("confidence")


# Qualification ----------------------------------------------------------------------------------
