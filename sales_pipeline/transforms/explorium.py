"""Explorium's typed records (read and checked by its client) as the enrichment stage's frames.

Text goes through the text policy here; the records arrive as Explorium told them.
"""

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
from pandera.typing.pandas import DataFrame

from sales_pipeline.domain.records import normalize_email
from sales_pipeline.domain.sources import (
    ContactInformation,
    Firmographics,
    MatchResult,
    ProspectProfile,
)
from sales_pipeline.transforms.contacts import clean_column, domain_from_url
from sales_pipeline.transforms.schemas import (
    BusinessMatches,
    CompanyFacts,
    ContactDetails,
    Profiles,
    ProspectMatches,
    validated,
)


def first_present(*candidates: pd.Series) -> pd.Series:
    """Element-wise, the first candidate that is not null (as objects: candidates may differ in
    dtype, an all-null column being float)."""
    result = candidates[0].astype(object)
    for candidate in candidates[1:]:
        result = result.where(result.notna(), candidate)
    return result


def _column(records: Sequence[Any], attribute: str) -> pd.Series:
    """``attribute`` of each record, as objects (None for unknown)."""
    return pd.Series([getattr(record, attribute) for record in records], dtype=object)


def _lower_text(values: pd.Series, column: str) -> pd.Series:
    """Cleaned, lower-cased vendor text (taxonomy values such as job levels)."""
    return clean_column(values, column).str.lower()


def _matches(keys: Sequence[str], results: Sequence[MatchResult], key: str, id_column: str) -> Any:
    """Each key sent (trimmed, lower-cased) with the id matched for it and the error, if any."""
    return pd.DataFrame(
        {
            key: pd.Series(list(keys), dtype="str").map(normalize_email),
            id_column: _column(results, "entity_id"),
            "match_error": _column(results, "reason"),
        }
    )


def prospect_matches(
    emails: Sequence[str], results: Sequence[MatchResult]
) -> DataFrame[ProspectMatches]:
    """The prospect matched for each email (in the order sent, no duplicates), one result each."""
    return validated(ProspectMatches, _matches(emails, results, "email", "prospect_id"))


def business_matches(
    domains: Sequence[str], results: Sequence[MatchResult]
) -> DataFrame[BusinessMatches]:
    """The business matched for each company domain, one result each."""
    return validated(BusinessMatches, _matches(domains, results, "company_domain", "business_id"))


def contact_details(found: Mapping[str, ContactInformation]) -> DataFrame[ContactDetails]:
    """Contact information per prospect id: the professional email (normalized), how it was
    verified, and a phone."""
    records = list(found.values())
    statuses = [r.email_status.value if r.email_status else None for r in records]
    frame = pd.DataFrame(
        {
            "prospect_id": pd.Series(list(found), dtype=object),
            "professional_email": _column(records, "professional_email").map(
                normalize_email, na_action="ignore"
            ),
            "professional_email_verification": pd.Series(statuses, dtype=object),
            "phone": clean_column(_column(records, "phone"), "phone"),
        }
    )
    return validated(ContactDetails, frame)


def profiles(found: Mapping[str, ProspectProfile]) -> DataFrame[Profiles]:
    """Profiles per prospect id; levels and departments lower-cased, the company domain taken
    from its website."""
    records = list(found.values())
    frame = pd.DataFrame(
        {
            "prospect_id": pd.Series(list(found), dtype=object),
            "job_title": clean_column(_column(records, "job_title"), "job_title"),
            "job_level": _lower_text(_column(records, "job_level"), "job_level"),
            "job_department": _lower_text(_column(records, "job_department"), "job_department"),
            "company_name": clean_column(_column(records, "company_name"), "company_name"),
            "company_domain": domain_from_url(_column(records, "company_website")),
            "country": clean_column(_column(records, "country"), "country"),
            "linkedin_url": clean_column(_column(records, "linkedin_url"), "linkedin_url"),
        }
    )
    return validated(Profiles, frame)


def company_facts(found: Mapping[str, Firmographics]) -> DataFrame[CompanyFacts]:
    """Firmographics per business id, the domain taken from its website."""
    records = list(found.values())
    frame = pd.DataFrame(
        {
            "business_id": pd.Series(list(found), dtype=object),
            "company_name": clean_column(_column(records, "name"), "company_name"),
            "company_domain": domain_from_url(_column(records, "website")),
            "company_size": _column(records, "company_size"),
            "yearly_revenue_range": clean_column(
                _column(records, "yearly_revenue_range"), "yearly_revenue_range"
            ),
            "industry": clean_column(_column(records, "industry"), "industry"),
            "country": clean_column(_column(records, "country"), "country"),
        }
    )
    return validated(CompanyFacts, frame)
