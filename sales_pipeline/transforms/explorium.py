"""Explorium's typed records (read and checked by its client) as the enrichment stage's rows.

Text goes through the text policy here; the records arrive as Explorium told them. The client
has already refused any answer of the wrong shape, so nothing here validates again: the stage
validates the rows it hands on once per pass (``transforms.enrichment.enrichment_records``),
not five frames per 50-contact chunk, which was half the step's time.

Each function takes a batch of entities (id -> record) and returns plain rows (id -> column ->
value, None for null) in the columns of the matching contract (``ContactDetails``,
``Profiles``, ``CompanyFacts`` without their id column): an entity is cleaned once, however
many contacts share it, and joining rows onto contacts is a dictionary look-up, not a merge.

Each entity's record is also kept as JSON in the store's entity cache (:func:`record_payload`
and the ``*_from_payload`` readers), as Explorium told it, so the text policy applies to cached
and fresh answers alike.
"""

from collections.abc import Mapping, Sequence
from dataclasses import fields
from typing import Any

import pandas as pd

from sales_pipeline.domain.outcomes import EmailStatus
from sales_pipeline.domain.records import normalize_email
from sales_pipeline.domain.sources import ContactInformation, Firmographics, ProspectProfile
from sales_pipeline.domain.text import clean_text
from sales_pipeline.transforms.contacts import url_domain

Row = dict[str, Any]
"""One entity's columns (None for null)."""


def first_present(*candidates: pd.Series) -> pd.Series:
    """Element-wise, the first candidate that is not null. Candidates of one dtype keep it (text
    stays Arrow strings: as objects, every cell of a million-row column would become a Python
    string); candidates that differ in dtype (an all-null column is float) are combined as
    objects."""
    first = candidates[0]
    same = all(candidate.dtype == first.dtype for candidate in candidates[1:])
    result = first if same else first.astype(object)
    for candidate in candidates[1:]:
        result = result.where(result.notna(), candidate)
    return result


def _lower(value: str | None, column: str) -> str | None:
    """Cleaned, lower-cased vendor text (taxonomy values such as job levels)."""
    cleaned = clean_text(value, column)
    return cleaned.lower() if cleaned is not None else None


def _domains(urls: Sequence[str | None]) -> list[str | None]:
    """:func:`url_domain` of a batch of URLs."""
    return [url_domain(url) for url in urls]


def contact_rows(found: Mapping[str, ContactInformation]) -> dict[str, Row]:
    """Contact information per prospect id: the professional email (normalized), how it was
    verified, and a phone."""
    return {
        prospect_id: {
            "professional_email": normalize_email(record.professional_email)
            if record.professional_email is not None
            else None,
            "professional_email_verification": record.email_status.value
            if record.email_status is not None
            else None,
            "phone": clean_text(record.phone, "phone"),
        }
        for prospect_id, record in found.items()
    }


def profile_rows(found: Mapping[str, ProspectProfile]) -> dict[str, Row]:
    """Profiles per prospect id; levels and departments lower-cased, the company domain taken
    from its website."""
    domains = _domains([record.company_website for record in found.values()])
    return {
        prospect_id: {
            "job_title": clean_text(record.job_title, "job_title"),
            "job_level": _lower(record.job_level, "job_level"),
            "job_department": _lower(record.job_department, "job_department"),
            "company_name": clean_text(record.company_name, "company_name"),
            "company_domain": domain,
            "country": clean_text(record.country, "country"),
            "linkedin_url": clean_text(record.linkedin_url, "linkedin_url"),
        }
        for (prospect_id, record), domain in zip(found.items(), domains, strict=True)
    }


def company_rows(found: Mapping[str, Firmographics]) -> dict[str, Row]:
    """Firmographics per business id, the domain taken from its website."""
    domains = _domains([record.website for record in found.values()])
    return {
        business_id: {
            "company_name": clean_text(record.name, "company_name"),
            "company_domain": domain,
            "company_size": record.company_size,
            "yearly_revenue_range": clean_text(record.yearly_revenue_range, "yearly_revenue_range"),
            "industry": clean_text(record.industry, "industry"),
            "country": clean_text(record.country, "country"),
        }
        for (business_id, record), domain in zip(found.items(), domains, strict=True)
    }


def record_payload(record: ContactInformation | ProspectProfile | Firmographics) -> dict[str, Any]:
    """A record as JSON (enums by value), for the entity cache."""
    return {
        name: value.value if isinstance(value, EmailStatus) else value
        for name, value in ((f.name, getattr(record, f.name)) for f in fields(record))
    }


def contact_information_from_payload(payload: Mapping[str, Any]) -> ContactInformation:
    """:func:`record_payload` of a :class:`ContactInformation`, read back."""
    status = payload.get("email_status")
    return ContactInformation(
        professional_email=payload.get("professional_email"),
        email_status=EmailStatus(status) if status is not None else None,
        phone=payload.get("phone"),
    )


def profile_from_payload(payload: Mapping[str, Any]) -> ProspectProfile:
    """:func:`record_payload` of a :class:`ProspectProfile`, read back."""
    return ProspectProfile(**payload)


def firmographics_from_payload(payload: Mapping[str, Any]) -> Firmographics:
    """:func:`record_payload` of a :class:`Firmographics`, read back."""
    return Firmographics(**payload)
