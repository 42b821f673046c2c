"""Explorium client: entity matching and bulk enrichment with per-record outcomes.

Dialect notes (see shared/api-facts/explorium.md):

* Auth is the header ``api_key: <key>``. Limit: 200 requests per sliding
  minute per key, all endpoints together.
* Match and bulk-enrich endpoints take 1..50 items and answer in input order;
  the single-record ``.../enrich`` endpoints are never used.
* 403 means out of credits: `QuotaExhausted`, not retryable; stop enriching.
* Credits are estimated per returned record (2 for contact information with
  email only, 5 when phones are requested; profiles and firmographics only
  when a cost is configured) and added to the client's metrics.
  ``check_health`` reads the account's real remaining credits.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from enum import Enum
from typing import Any

import requests

from sales_pipeline.clients.auth import HeaderKeyAuth
from sales_pipeline.clients.base import HealthReport, VendorClient, run_batches
from sales_pipeline.clients.breaker import CircuitBreaker
from sales_pipeline.clients.errors import InvalidRequest, QuotaExhausted, RateLimited
from sales_pipeline.clients.ratelimit import QuotaReading, RateLimit, RateLimiter
from sales_pipeline.clients.redaction import redact
from sales_pipeline.clients.resolution import (
    Action,
    Exchange,
    ResolutionTable,
    Rule,
    retry_after_seconds,
)
from sales_pipeline.clients.secret import Secret
from sales_pipeline.clients.transport import Operation, TransportConfig
from sales_pipeline.clients.validation import Validator

VENDOR = "explorium"
DEFAULT_BASE_URL = "https://api.explorium.ai/v1"
BULK_MAX = 50
"""Explorium's maximum items per match or bulk-enrich call."""
CONTACT_TYPES = frozenset({"email", "phone"})

PROSPECT_QUERY_FIELDS = (
    "email",
    "full_name",
    "company_name",
    "phone_number",
    "linkedin",
    "business_id",
)
BUSINESS_QUERY_FIELDS = ("name", "domain", "url", "linkedin_url")

_PROSPECT_ID = re.compile(r"[0-9a-f]{40}")
_BUSINESS_ID = re.compile(r"[0-9a-f]{32}")
_PHONE = re.compile(r"\+?[0-9 ().-]{6,25}")
_NAME_MAX = 256


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


class _Endpoints:
    """Every Explorium endpoint this client calls, in one place (below ``/v1``)."""

    match_prospects = Operation("match_prospects", "POST", "/prospects/match")
    match_businesses = Operation("match_businesses", "POST", "/businesses/match")
    enrich_contacts_information = Operation(
        "enrich_contacts_information",
        "POST",
        "/prospects/contacts_information/bulk_enrich",
        idempotency="read: a repeat returns the same data (credits may be charged again)",
    )
    enrich_profiles = Operation(
        "enrich_profiles",
        "POST",
        "/prospects/profiles/bulk_enrich",
        idempotency="read: a repeat returns the same data (credits may be charged again)",
    )
    enrich_firmographics = Operation(
        "enrich_firmographics",
        "POST",
        "/businesses/firmographics/bulk_enrich",
        idempotency="read: a repeat returns the same data (credits may be charged again)",
    )
    get_credits = Operation("get_credits", "GET", "/credits")


def explorium_rules(settings: ExploriumSettings) -> tuple[Rule, ...]:
    """Explorium's rows of the resolution table (placed before the common rows)."""
    return (
        Rule(
            Action.FAIL,
            statuses={403},
            error=QuotaExhausted,
            reason="out of Explorium credits; stop enriching until credits are added",
        ),
        Rule(Action.FAIL, statuses={422}, error=InvalidRequest, reason="request failed validation"),
        Rule(
            Action.RATE_LIMITED,
            statuses={429},
            error=RateLimited,
            wait=_rate_limited_wait(settings.rate_limited_wait_s),
            write_safe=True,
            reason="rate limited (requests per minute)",
        ),
    )


def _rate_limited_wait(default_s: float) -> Callable[[Exchange], float]:
    """Retry-After, else the body's ``retry_after``, else until X-RateLimit-Reset."""

    def wait(exchange: Exchange) -> float:
        told = retry_after_seconds(exchange)
        if told is not None:
            return told
        in_body = exchange.json_value("retry_after")
        if isinstance(in_body, int | float) and in_body >= 0:
            return float(in_body)
        reset = exchange.header("X-RateLimit-Reset") or ""
        if reset.isdigit() and 0 < int(reset) - time.time() <= default_s:
            return int(reset) - time.time()
        return default_s

    return wait


def read_explorium_quota(headers: Mapping[str, str]) -> QuotaReading | None:
    """The minute budget from ``X-RateLimit-*`` headers (Reset is a Unix timestamp)."""
    remaining = headers.get("X-RateLimit-Remaining", "")
    limit = headers.get("X-RateLimit-Limit", "")
    if not (remaining.isdigit() and limit.isdigit()):
        return None
    reset = headers.get("X-RateLimit-Reset", "")
    return QuotaReading(
        "default", int(remaining), int(limit), 60.0, float(reset) if reset.isdigit() else None
    )


class ExploriumClient(VendorClient):
    """Explorium matching and bulk enrichment.

    Args:
        base_url: ``https://api.explorium.ai/v1`` or the sandbox's
            ``http://HOST:PORT/explorium/v1`` (the API version is part of it).
        api_key: The API key, sent as the ``api_key`` header.
        settings: Limits, batch sizes, credit estimates.
        transport_config: Timeouts, retries, size bounds, breaker thresholds.
        limiter: Shared rate limiter (default: the process-wide in-memory one).
        breaker: Circuit breaker to share (default: one per client).
        session: HTTP session (default: a new one, closed by `close`).
    """

    vendor = VENDOR

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        *,
        api_key: Secret,
        settings: ExploriumSettings | None = None,
        transport_config: TransportConfig | None = None,
        limiter: RateLimiter | None = None,
        breaker: CircuitBreaker | None = None,
        session: requests.Session | None = None,
    ) -> None:
        self.settings = settings or ExploriumSettings()
        self._endpoints = _Endpoints()
        super().__init__(
            base_url=base_url,
            auth=HeaderKeyAuth("api_key", api_key),
            table=ResolutionTable(explorium_rules(self.settings)),
            limits={
                "default": RateLimit(
                    "default", self.settings.requests_per_window, self.settings.window_s
                )
            },
            quota_reader=read_explorium_quota,
            transport_config=transport_config,
            limiter=limiter,
            breaker=breaker,
            session=session,
        )

    def match_prospects(self, queries: Sequence[Mapping[str, Any]]) -> list[MatchResult]:
        """Resolve people to ``prospect_id``s; one `MatchResult` per query, in order.

        Each query may hold only ``email``, ``full_name``, ``company_name``,
        ``phone_number``, ``linkedin``, ``business_id`` (empty values dropped);
        it needs an email, phone, LinkedIn URL, or a full name with a company
        name (``full_name`` always needs ``company_name``).

        Raises:
            InputValidationError: A query failed validation (nothing sent).
            QuotaExhausted: Out of credits (``partial`` holds earlier batches).
            ApiError: A batch failed after retries (``partial`` likewise).
        """
        operation = self._endpoints.match_prospects
        check = Validator(VENDOR, operation.name)
        cleaned = [_prospect_query(check, query, i) for i, query in enumerate(queries)]
        return self._match(operation, "prospects_to_match", "matched_prospects", cleaned)

    def match_businesses(self, queries: Sequence[Mapping[str, Any]]) -> list[MatchResult]:
        """Resolve companies to ``business_id``s; one `MatchResult` per query, in order.

        Each query may hold only ``name``, ``domain``, ``url``, ``linkedin_url``
        (empty values dropped) and needs at least one of them.

        Raises:
            InputValidationError: A query failed validation (nothing sent).
            QuotaExhausted: Out of credits (``partial`` holds earlier batches).
            ApiError: A batch failed after retries (``partial`` likewise).
        """
        operation = self._endpoints.match_businesses
        check = Validator(VENDOR, operation.name)
        cleaned = [_business_query(check, query, i) for i, query in enumerate(queries)]
        return self._match(operation, "businesses_to_match", "matched_businesses", cleaned)

    def enrich_contacts_information(
        self, prospect_ids: Sequence[str], contact_types: Sequence[str] = ("email",)
    ) -> list[EnrichResult]:
        """Emails (and phones, if asked) of prospects; one `EnrichResult` per id, in order.

        Args:
            prospect_ids: 40-hex prospect ids; repeats are fetched once.
            contact_types: Any of ``"email"``, ``"phone"``.

        Raises:
            InputValidationError: A malformed id or contact type (nothing sent).
            QuotaExhausted: Out of credits (``partial`` holds earlier batches).
            ApiError: A batch failed after retries (``partial`` likewise).
        """
        operation = self._endpoints.enrich_contacts_information
        check = Validator(VENDOR, operation.name)
        types = list(dict.fromkeys(contact_types))
        for i, kind in enumerate(types):
            if kind not in CONTACT_TYPES:
                check.fail(f"contact_types[{i}]", "must be 'email' or 'phone'")
        if not types:
            check.fail("contact_types", "must not be empty")
        cost = (
            self.settings.credits_contact_phone
            if "phone" in types
            else self.settings.credits_contact_email
        )
        return self._enrich(
            operation,
            check,
            prospect_ids,
            id_key="prospect_id",
            id_pattern=_PROSPECT_ID,
            body_key="prospect_ids",
            extra={"parameters": {"contact_types": types}},
            cost=cost,
        )

    def enrich_profiles(self, prospect_ids: Sequence[str]) -> list[EnrichResult]:
        """Professional profiles of prospects; one `EnrichResult` per id, in order.

        Raises:
            InputValidationError: A malformed id (nothing sent).
            QuotaExhausted: Out of credits (``partial`` holds earlier batches).
            ApiError: A batch failed after retries (``partial`` likewise).
        """
        operation = self._endpoints.enrich_profiles
        return self._enrich(
            operation,
            Validator(VENDOR, operation.name),
            prospect_ids,
            id_key="prospect_id",
            id_pattern=_PROSPECT_ID,
            body_key="prospect_ids",
            extra={},
            cost=self.settings.credits_per_profile,
        )

    def enrich_firmographics(self, business_ids: Sequence[str]) -> list[EnrichResult]:
        """Firmographics of businesses; one `EnrichResult` per id, in order.

        Raises:
            InputValidationError: A malformed id (nothing sent).
            QuotaExhausted: Out of credits (``partial`` holds earlier batches).
            ApiError: A batch failed after retries (``partial`` likewise).
        """
        operation = self._endpoints.enrich_firmographics
        return self._enrich(
            operation,
            Validator(VENDOR, operation.name),
            business_ids,
            id_key="business_id",
            id_pattern=_BUSINESS_ID,
            body_key="business_ids",
            extra={},
            cost=self.settings.credits_per_firmographics,
        )

    def check_health(self) -> HealthReport:
        """Probe ``GET /credits``; ``extra`` carries allocated and remaining credits."""
        report, data = self._probe(self._endpoints.get_credits)
        if not isinstance(data, dict):
            return report
        credits = {
            key: data[key] for key in ("allocated_credits", "remaining_credits") if key in data
        }
        return replace(report, extra=credits)

    def _match(
        self,
        operation: Operation,
        body_key: str,
        answer_key: str,
        queries: list[dict[str, str]],
    ) -> list[MatchResult]:
        def match_batch(batch: list[tuple[int, dict[str, str]]]) -> list[MatchResult]:
            body = {body_key: [query for _, query in batch]}
            rows = self._call_object(operation, json_body=body).get(answer_key) or []
            return _match_results(batch, [row for row in rows if isinstance(row, dict)])

        return run_batches(list(enumerate(queries)), self.settings.match_batch_size, match_batch)

    def _enrich(
        self,
        operation: Operation,
        check: Validator,
        ids: Sequence[str],
        *,
        id_key: str,
        id_pattern: re.Pattern[str],
        body_key: str,
        extra: Mapping[str, Any],
        cost: float | None,
    ) -> list[EnrichResult]:
        wanted = [
            check.pattern(
                value, f"{body_key}[{i}]", id_pattern, f"a {id_key} ({id_pattern.pattern})"
            )
            for i, value in enumerate(ids)
        ]

        def enrich_batch(batch: list[str]) -> list[EnrichResult]:
            answer = self._call_object(operation, json_body={body_key: batch, **extra})
            rows = {
                str(row.get(id_key)): row.get("data")
                for row in answer.get("data") or []
                if isinstance(row, dict)
            }
            results = [_enrich_result(value, rows.get(value), cost) for value in batch]
            self.metrics.add_credits(sum(result.credits for result in results))
            return results

        unique = list(dict.fromkeys(wanted))
        by_id = {
            result.entity_id: result
            for result in run_batches(unique, self.settings.enrich_batch_size, enrich_batch)
        }
        return [by_id[value] for value in wanted]


def _enrich_result(entity_id: str, data: Any, cost: float | None) -> EnrichResult:
    if not isinstance(data, dict) or not any(data.values()):
        return EnrichResult(entity_id, EnrichStatus.NOT_FOUND)
    return EnrichResult(entity_id, EnrichStatus.FOUND, data, cost or 0.0)


def _match_results(
    batch: list[tuple[int, dict[str, str]]], rows: list[dict[str, Any]]
) -> list[MatchResult]:
    """Pair answer rows with queries: by position when counts agree, else by echoed input."""
    paired: list[tuple[int, dict[str, Any] | None]]
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
    return [_match_result(index, row) for index, row in paired]


def _echoed(row: Mapping[str, Any]) -> dict[str, str]:
    echoed = row.get("input") or {}
    return (
        {k: v for k, v in echoed.items() if v not in (None, "")} if isinstance(echoed, dict) else {}
    )


def _match_result(index: int, row: Mapping[str, Any] | None) -> MatchResult:
    if row is None:
        return MatchResult(index, MatchStatus.FAILED, reason="no result returned for this query")
    entity_id = row.get("prospect_id") or row.get("business_id")
    if entity_id:
        return MatchResult(index, MatchStatus.MATCHED, entity_id=str(entity_id))
    if row.get("error"):
        return MatchResult(
            index,
            MatchStatus.FAILED,
            reason=redact(f"{row.get('error_type', 'error')}: {row['error']}"),
        )
    return MatchResult(index, MatchStatus.UNMATCHED)


def _present(check: Validator, query: Any, field: str, allowed: Sequence[str]) -> dict[str, Any]:
    """The query's non-empty values, after rejecting unknown keys."""
    mapping = check.mapping(query, field)
    check.known_keys(mapping, allowed, field)
    return {k: v for k, v in mapping.items() if v is not None and v != ""}


def _prospect_query(check: Validator, query: Any, index: int) -> dict[str, str]:
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
            cleaned[key] = check.pattern(value, path, _BUSINESS_ID, "a 32-hex business id")
        elif key == "phone_number":
            cleaned[key] = check.pattern(value, path, _PHONE, "a phone number")
        else:
            cleaned[key] = check.required_text(value, path, max_length=_NAME_MAX)
    if "full_name" in cleaned and "company_name" not in cleaned:
        check.fail(f"{field}.company_name", "is required with full_name")
    if not cleaned.keys() & {"email", "phone_number", "linkedin", "full_name"}:
        check.fail(field, "needs email, phone_number, linkedin, or full_name with company_name")
    return cleaned


def _business_query(check: Validator, query: Any, index: int) -> dict[str, str]:
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
