"""What the vendors tell the pipeline, in the pipeline's own words.

The clients read each vendor's JSON once, where the answer arrives, and hand on these records;
nothing past the clients knows a vendor's field names. Text here is as the vendor sent it
(trimmed of nothing): the transforms apply the text policy.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sales_pipeline.domain.outcomes import EmailStatus, MatchStatus

COMPANY_SIZES = (
    "1-10",
    "11-50",
    "51-200",
    "201-500",
    "501-1000",
    "1001-5000",
    "5001-10000",
    "10001+",
)
"""The employee-count ranges a company's size is told in."""


@dataclass(frozen=True)
class MatchResult:
    """The outcome of one match query, in input order.

    Attributes:
        index: Position of the query in the input.
        status: Matched, unmatched, or failed (the vendor reported an error).
        entity_id: The prospect id (40 hex) or business id (32 hex) when matched.
        reason: The vendor's error (redacted) when failed.
    """

    index: int
    status: MatchStatus
    entity_id: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class ContactInformation:
    """How to reach a prospect.

    Attributes:
        professional_email: Their professional address (None when unknown).
        email_status: How deliverable that address is (None when not verified).
        phone: A phone number, mobile first (None when unknown or not asked for).
    """

    professional_email: str | None = None
    email_status: EmailStatus | None = None
    phone: str | None = None


@dataclass(frozen=True)
class ProspectProfile:
    """A prospect's professional profile.

    Attributes:
        job_title: Their title.
        job_level: Their seniority (``c-suite``, ``manager``...), as told.
        job_department: Their department, as told.
        company_name: Their employer's name.
        company_website: Their employer's website (a URL, not yet a domain).
        country: The country they work in.
        linkedin_url: Their LinkedIn profile.
    """

    job_title: str | None = None
    job_level: str | None = None
    job_department: str | None = None
    company_name: str | None = None
    company_website: str | None = None
    country: str | None = None
    linkedin_url: str | None = None


@dataclass(frozen=True)
class Firmographics:
    """Facts about a company.

    Attributes:
        name: Its name.
        website: Its website (a URL, not yet a domain).
        company_size: One of :data:`COMPANY_SIZES`.
        yearly_revenue_range: Its revenue band, as told.
        industry: Its industry.
        country: The country it is based in.
    """

    name: str | None = None
    website: str | None = None
    company_size: str | None = None
    yearly_revenue_range: str | None = None
    industry: str | None = None
    country: str | None = None


@dataclass(frozen=True)
class Contact:
    """A CRM contact as the CRM holds it (text not yet cleaned: the transforms apply the text
    policy and quarantine what it refuses).

    Attributes:
        id: The CRM's record id (None when absent).
        email, first_name, last_name, company, job_title, phone, country: Text as held.
        opted_out: The person opted out of email.
        modified_at: When the contact last changed (None when absent or unreadable).
        unreadable: ``(field, reason)`` for each value the client could not read (an opt-out
            flag that is neither true nor false, a timestamp that is not ISO 8601), named as
            above; such a contact is quarantined, not guessed at.
    """

    id: str | None
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    company: str | None = None
    job_title: str | None = None
    phone: str | None = None
    country: str | None = None
    opted_out: bool = False
    modified_at: datetime | None = None
    unreadable: tuple[tuple[str, str], ...] = ()
