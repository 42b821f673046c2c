"""Explorium's answers read into typed records, once, where they arrive.

Every Explorium field name the pipeline depends on is read here (see
shared/api-facts/explorium.md). A value of the wrong type, an id of the wrong shape or an
unknown enum value means the answer's shape changed: `ServerError` (not retryable) names the
field, so a changed answer fails loudly instead of enriching with nothing. Nulls, and keys an
answer leaves out, are tolerated: Explorium leaves out what it does not know.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, NoReturn, TypeVar

from sales_pipeline.clients.errors import ServerError
from sales_pipeline.clients.explorium.endpoints import VENDOR
from sales_pipeline.clients.explorium.models import EnrichResult, EnrichStatus
from sales_pipeline.clients.redaction import redact
from sales_pipeline.domain.outcomes import EXPLORIUM_EMAIL_STATUSES, EmailStatus, MatchStatus
from sales_pipeline.domain.sources import (
    COMPANY_SIZES,
    ContactInformation,
    Firmographics,
    MatchResult,
    ProspectProfile,
)

Record = TypeVar("Record")

PROFESSIONAL_EMAIL_TYPES = frozenset({"professional", "current_professional"})
"""The ``emails[].type`` values of a professional address."""


class AnswerReader:
    """Reads one operation's answer; `fail` raises `ServerError` naming the field."""

    def __init__(self, operation: str) -> None:
        self.operation = operation

    def fail(self, field: str, problem: str) -> NoReturn:
        """Raise `ServerError`: the answer does not have its documented shape."""
        raise ServerError(
            f"unexpected answer: {field} {problem}",
            vendor=VENDOR,
            operation=self.operation,
            retryable=False,
        )

    def object(self, value: Any, field: str) -> Mapping[str, Any] | None:
        """A JSON object, or None."""
        if value is not None and not isinstance(value, Mapping):
            self.fail(field, "must be an object")
        return value

    def objects(self, value: Any, field: str) -> list[Mapping[str, Any]]:
        """A list of JSON objects (null reads as empty)."""
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(item, Mapping) for item in value):
            self.fail(field, "must be a list of objects")
        return value

    def text(self, record: Mapping[str, Any], key: str) -> str | None:
        """``record[key]`` as text, or None when absent or null."""
        value = record.get(key)
        if value is not None and not isinstance(value, str):
            self.fail(key, "must be text")
        return value

    def first_text(self, record: Mapping[str, Any], key: str) -> str | None:
        """The first item of the list of text ``record[key]``, or None."""
        value = record.get(key)
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            self.fail(key, "must be a list of text")
        return value[0] if value else None

    def choice(self, record: Mapping[str, Any], key: str, allowed: tuple[str, ...]) -> str | None:
        """``record[key]``, one of ``allowed``, or None."""
        value = self.text(record, key)
        if value is not None and value not in allowed:
            self.fail(key, f"must be one of {', '.join(allowed)}")
        return value

    def entity_id(
        self, record: Mapping[str, Any], key: str, pattern: re.Pattern[str]
    ) -> str | None:
        """An id of ``pattern``'s shape, or None."""
        value = self.text(record, key)
        if value is not None and not pattern.fullmatch(value):
            self.fail(key, "is not an id of the documented shape")
        return value


def contact_information(read: AnswerReader, data: Mapping[str, Any]) -> ContactInformation:
    """``contacts_information`` data: the professional email is ``professions_email`` (the
    vendor's spelling), else the first professional ``emails[]`` entry; the phone is
    ``mobile_phone``, else the first ``phone_numbers[]`` entry."""
    listed = next(
        (
            read.text(entry, "address")
            for entry in read.objects(data.get("emails"), "emails")
            if entry.get("type") in PROFESSIONAL_EMAIL_TYPES and entry.get("address")
        ),
        None,
    )
    phones = read.objects(data.get("phone_numbers"), "phone_numbers")
    status = read.choice(
        data, "professional_email_status", tuple(s.value for s in EXPLORIUM_EMAIL_STATUSES)
    )
    return ContactInformation(
        professional_email=read.text(data, "professions_email") or listed,
        email_status=EmailStatus(status) if status is not None else None,
        phone=read.text(data, "mobile_phone")
        or (read.text(phones[0], "phone_number") if phones else None),
    )


def prospect_profile(read: AnswerReader, data: Mapping[str, Any]) -> ProspectProfile:
    """``profiles`` data: the job level is ``job_level_main``, else the first of
    ``job_level_array``, else ``job_seniority_level``; the department likewise from
    ``job_department_main`` and ``job_department_array``."""
    return ProspectProfile(
        job_title=read.text(data, "job_title"),
        job_level=read.text(data, "job_level_main")
        or read.first_text(data, "job_level_array")
        or read.text(data, "job_seniority_level"),
        job_department=read.text(data, "job_department_main")
        or read.first_text(data, "job_department_array"),
        company_name=read.text(data, "company_name"),
        company_website=read.text(data, "company_website"),
        country=read.text(data, "country_name"),
        linkedin_url=read.text(data, "linkedin"),
    )


def firmographics(read: AnswerReader, data: Mapping[str, Any]) -> Firmographics:
    """``firmographics`` data (``number_of_employees_range`` is the size,
    ``linkedin_industry_category`` the industry)."""
    return Firmographics(
        name=read.text(data, "name"),
        website=read.text(data, "website"),
        company_size=read.choice(data, "number_of_employees_range", COMPANY_SIZES),
        yearly_revenue_range=read.text(data, "yearly_revenue_range"),
        industry=read.text(data, "linkedin_industry_category"),
        country=read.text(data, "country_name"),
    )


def enrich_results(
    read: AnswerReader,
    answer: Mapping[str, Any],
    batch: list[str],
    id_key: str,
    id_pattern: re.Pattern[str],
    parse: Callable[[AnswerReader, Mapping[str, Any]], Record],
    cost: float | None,
) -> list[EnrichResult[Record]]:
    """One result per id of ``batch``: FOUND with the parsed record and its ``cost`` when any
    field came back, else NOT_FOUND."""
    found: dict[str, Mapping[str, Any] | None] = {}
    for item in read.objects(answer.get("data"), "data"):
        entity_id = read.entity_id(item, id_key, id_pattern)
        if entity_id is None:
            read.fail(id_key, "is missing from an item")
        found[entity_id] = read.object(item.get("data"), "data")
    results: list[EnrichResult[Record]] = []
    for entity_id in batch:
        data = found.get(entity_id)
        if data and any(data.values()):
            results.append(
                EnrichResult(entity_id, EnrichStatus.FOUND, parse(read, data), cost or 0.0)
            )
        else:
            results.append(EnrichResult(entity_id, EnrichStatus.NOT_FOUND))
    return results


def reported_credits(read: AnswerReader, answer: Mapping[str, Any]) -> float | None:
    """The credits Explorium says this call cost (``credit_usage.total_credits``, present when
    the request asked with ``credit-usage: true``), or None when the answer reports none."""
    usage = read.object(answer.get("credit_usage"), "credit_usage")
    if usage is None:
        return None
    credits = usage.get("total_credits")
    if isinstance(credits, bool) or not isinstance(credits, int | float) or credits < 0:
        read.fail("credit_usage.total_credits", "must be a non-negative number")
    return float(credits)


def match_results(
    read: AnswerReader,
    batch: list[tuple[int, dict[str, str]]],
    rows: list[Mapping[str, Any]],
    id_key: str,
    id_pattern: re.Pattern[str],
) -> list[MatchResult]:
    """Pair answer rows with queries: by position when counts agree, else by echoed input."""
    paired: list[tuple[int, Mapping[str, Any] | None]]
    if len(rows) == len(batch):
        paired = [(index, row) for (index, _), row in zip(batch, rows, strict=True)]
    else:
        unused = list(rows)
        paired = []
        for index, query in batch:
            row = next((r for r in unused if _echoed(r) == query), None)
            if row is not None:
                unused.remove(row)
            paired.append((index, row))
    return [_match_result(read, index, row, id_key, id_pattern) for index, row in paired]


def _echoed(row: Mapping[str, Any]) -> dict[str, str]:
    echoed = row.get("input") or {}
    return (
        {k: v for k, v in echoed.items() if v not in (None, "")} if isinstance(echoed, dict) else {}
    )


def _match_result(
    read: AnswerReader,
    index: int,
    row: Mapping[str, Any] | None,
    id_key: str,
    id_pattern: re.Pattern[str],
) -> MatchResult:
    if row is None:
        return MatchResult(index, MatchStatus.FAILED, reason="no result returned for this query")
    entity_id = read.entity_id(row, id_key, id_pattern)
    if entity_id:
        return MatchResult(index, MatchStatus.MATCHED, entity_id=entity_id)
    if row.get("error"):
        return MatchResult(
            index,
            MatchStatus.FAILED,
            reason=redact(f"{row.get('error_type', 'error')}: {row['error']}"),
        )
    return MatchResult(index, MatchStatus.UNMATCHED)
