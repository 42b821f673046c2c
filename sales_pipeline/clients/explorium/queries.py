"""Match queries validated and cleaned before anything is sent."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from sales_pipeline.clients.validation import Validator

PROSPECT_QUERY_FIELDS = (
    "email",
    "full_name",
    "company_name",
    "phone_number",
    "linkedin",
    "business_id",
)
BUSINESS_QUERY_FIELDS = ("name", "domain", "url", "linkedin_url")

PROSPECT_ID = re.compile(r"[0-9a-f]{40}")
BUSINESS_ID = re.compile(r"[0-9a-f]{32}")
_PHONE = re.compile(r"\+?[0-9 ().-]{6,25}")
_NAME_MAX = 256


def _name_is_usable(full_name: str | None, company_name: str | None) -> bool:
    """Explorium matches a full name only within a company: a name needs a company name."""
    return not full_name or bool(company_name)


def person_query(
    email: str, first_name: str | None, last_name: str | None, company: str | None
) -> dict[str, str]:
    """The prospect query for a person: the email, plus the full name and company when the
    name is usable (see `_name_is_usable`)."""
    full_name = " ".join(part for part in (first_name, last_name) if part)
    query = {"email": email}
    if full_name and _name_is_usable(full_name, company):
        query |= {"full_name": full_name, "company_name": str(company)}
    return query


def company_query(domain: str) -> dict[str, str]:
    """The business query for a company known by its domain."""
    return {"domain": domain}


def _present(check: Validator, query: Any, field: str, allowed: Sequence[str]) -> dict[str, Any]:
    """The query's non-empty values, after rejecting unknown keys."""
    mapping = check.mapping(query, field)
    check.known_keys(mapping, allowed, field)
    return {k: v for k, v in mapping.items() if v is not None and v != ""}


def prospect_query(check: Validator, query: Any, index: int) -> dict[str, str]:
    """Prospect query ``index`` cleaned: known keys only, each value checked."""
    field = f"queries[{index}]"
    values = _present(check, query, field, PROSPECT_QUERY_FIELDS)
    cleaned: dict[str, str] = {}
    for key, value in values.items():
        path = f"{field}.{key}"
        if key == "email":
            cleaned[key] = check.email(value, path)
        elif key == "linkedin":
            cleaned[key] = check.url(value, path, host_suffix="linkedin.com")
        elif key == "business_id":
            cleaned[key] = check.pattern(value, path, BUSINESS_ID, "a 32-hex business id")
        elif key == "phone_number":
            cleaned[key] = check.pattern(value, path, _PHONE, "a phone number")
        else:
            cleaned[key] = check.required_text(value, path, max_length=_NAME_MAX)
    if not _name_is_usable(cleaned.get("full_name"), cleaned.get("company_name")):
        check.fail(f"{field}.company_name", "is required with full_name")
    if not cleaned.keys() & {"email", "phone_number", "linkedin", "full_name"}:
        check.fail(field, "needs email, phone_number, linkedin, or full_name with company_name")
    return cleaned


def business_query(check: Validator, query: Any, index: int) -> dict[str, str]:
    """Business query ``index`` cleaned: known keys only, each value checked."""
    field = f"queries[{index}]"
    values = _present(check, query, field, BUSINESS_QUERY_FIELDS)
    cleaned: dict[str, str] = {}
    for key, value in values.items():
        path = f"{field}.{key}"
        if key == "domain":
            cleaned[key] = check.domain(value, path)
        elif key == "url":
            cleaned[key] = check.url(value, path)
        elif key == "linkedin_url":
            cleaned[key] = check.url(value, path, host_suffix="linkedin.com")
        else:
            cleaned[key] = check.required_text(value, path, max_length=_NAME_MAX)
    if not cleaned:
        check.fail(field, "needs at least one of name, domain, url, linkedin_url")
    return cleaned
