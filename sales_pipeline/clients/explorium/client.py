"""Explorium client: entity matching and bulk enrichment with per-record outcomes.

Dialect notes (see shared/api-facts/explorium.md):

* Auth is the header ``api_key: <key>``. Limit: 200 requests per sliding
  minute per key, all endpoints together.
* Match and bulk-enrich endpoints take 1..50 items and answer in input order;
  the single-record ``.../enrich`` endpoints are never used.
* 403 means out of credits: `QuotaExhausted`, not retryable; stop enriching.
* Credits are what Explorium reports: every request carries ``credit-usage: true``,
  which adds ``credit_usage {total_results, total_credits}`` to a successful answer (the
  vendor's own per-call report, emulated by the sandbox; the OpenAPI document and the facts
  do not describe it, so its absence is tolerated). An enrichment answer without a report
  is counted by the per-record estimate instead (2 for contact information with email
  only, 5 when phones are requested; profiles and firmographics only when a cost is
  configured) and `credit_usage` says how many calls were estimated. Both go to the
  client's metrics. ``check_health`` reads the account's real remaining credits.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from dataclasses import replace
from typing import Any, TypeVar

import urllib3

from sales_pipeline.clients.auth import HeaderKeyAuth
from sales_pipeline.clients.base import HealthReport, VendorClient, run_batches
from sales_pipeline.clients.breaker import CircuitBreaker
from sales_pipeline.clients.explorium.answers import (
    AnswerReader,
    contact_information,
    enrich_results,
    firmographics,
    match_results,
    prospect_profile,
    reported_credits,
)
from sales_pipeline.clients.explorium.endpoints import (
    API_VERSION,
    DEFAULT_BASE_URL,
    VENDOR,
    ExploriumEndpoints,
    api_root,
)
from sales_pipeline.clients.explorium.models import (
    CONTACT_TYPES,
    ContactInformation,
    CreditUsage,
    EnrichResult,
    ExploriumSettings,
    Firmographics,
    MatchResult,
    ProspectProfile,
)
from sales_pipeline.clients.explorium.queries import (
    BUSINESS_ID,
    PROSPECT_ID,
    business_query,
    prospect_query,
)
from sales_pipeline.clients.explorium.rules import explorium_rules, read_explorium_quota
from sales_pipeline.clients.ratelimit import RateLimit, RateLimiter
from sales_pipeline.clients.resolution import (
    ResolutionTable,
)
from sales_pipeline.clients.secret import Secret
from sales_pipeline.clients.transport import Operation, TransportConfig
from sales_pipeline.clients.validation import Validator

Record = TypeVar("Record")

CREDIT_USAGE_HEADER = "credit-usage"
"""Request header asking Explorium to report each call's credits in its answer."""


class _KeyAskingForCredits(HeaderKeyAuth):
    """The ``api_key`` header, and ``credit-usage: true`` beside it.

    The transport sends its credential's headers on every request and has no other per-client
    header, so the credit report is asked for here: every call then says what it cost.
    """

    def apply(self, headers: MutableMapping[str, str]) -> None:
        """Set the key header and ask for the credit report."""
        super().apply(headers)
        headers[CREDIT_USAGE_HEADER] = "true"


class _CreditTally:
    """Credits reported (or estimated) so far, safe to add to from concurrent calls."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._usage = CreditUsage()

    def add(self, usage: CreditUsage) -> None:
        with self._lock:
            self._usage += usage

    def snapshot(self) -> CreditUsage:
        with self._lock:
            return self._usage


class ExploriumClient(VendorClient):
    """Explorium matching and bulk enrichment.

    Args:
        base_url: ``https://api.explorium.ai/v1`` or the sandbox's
            ``http://HOST:PORT/explorium/v1``; the trailing ``/v1`` may be left out
            (the endpoint table writes the API version into each path).
        api_key: The API key, sent as the ``api_key`` header.
        settings: Limits, batch sizes, credit estimates.
        transport_config: Timeouts, retries, size bounds, breaker thresholds.
        limiter: Shared rate limiter (default: the process-wide in-memory one).
        breaker: Circuit breaker to share (default: one per client).
        http: urllib3 pool manager to send through (default: a new one, cleared by `close`).
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
        http: urllib3.PoolManager | None = None,
    ) -> None:
        self.settings = settings or ExploriumSettings()
        self._endpoints = ExploriumEndpoints()
        self._credits = _CreditTally()
        super().__init__(
            api_versions={"api": API_VERSION},
            base_url=api_root(base_url),
            auth=_KeyAskingForCredits("api_key", api_key),
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
            http=http,
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
        cleaned = [prospect_query(check, query, i) for i, query in enumerate(queries)]
        return self._match(
            operation,
            "prospects_to_match",
            "matched_prospects",
            cleaned,
            "prospect_id",
            PROSPECT_ID,
        )

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
        cleaned = [business_query(check, query, i) for i, query in enumerate(queries)]
        return self._match(
            operation,
            "businesses_to_match",
            "matched_businesses",
            cleaned,
            "business_id",
            BUSINESS_ID,
        )

    def enrich_contacts_information(
        self, prospect_ids: Sequence[str], contact_types: Sequence[str] = ("email",)
    ) -> list[EnrichResult[ContactInformation]]:
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
            id_pattern=PROSPECT_ID,
            body_key="prospect_ids",
            extra={"parameters": {"contact_types": types}},
            parse=contact_information,
            cost=cost,
        )

    def enrich_profiles(self, prospect_ids: Sequence[str]) -> list[EnrichResult[ProspectProfile]]:
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
            id_pattern=PROSPECT_ID,
            body_key="prospect_ids",
            extra={},
            parse=prospect_profile,
            cost=self.settings.credits_per_profile,
        )

    def enrich_firmographics(
        self, business_ids: Sequence[str]
    ) -> list[EnrichResult[Firmographics]]:
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
            id_pattern=BUSINESS_ID,
            body_key="business_ids",
            extra={},
            parse=firmographics,
            cost=self.settings.credits_per_firmographics,
        )

    def credit_usage(self) -> CreditUsage:
        """Credits of every enrichment call this client made so far: reported by Explorium,
        or estimated for the calls whose answer reported none."""
        return self._credits.snapshot()

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
        id_key: str,
        id_pattern: re.Pattern[str],
    ) -> list[MatchResult]:
        read = AnswerReader(operation.name)

        def match_batch(batch: list[tuple[int, dict[str, str]]]) -> list[MatchResult]:
            body = {body_key: [query for _, query in batch]}
            answer = self._call_object(operation, json_body=body)
            rows = read.objects(answer.get(answer_key), answer_key)
            return match_results(read, batch, rows, id_key, id_pattern)

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
        parse: Callable[[AnswerReader, Mapping[str, Any]], Record],
        cost: float | None,
    ) -> list[EnrichResult[Record]]:
        wanted = [
            check.pattern(
                value, f"{body_key}[{i}]", id_pattern, f"a {id_key} ({id_pattern.pattern})"
            )
            for i, value in enumerate(ids)
        ]

        read = AnswerReader(operation.name)

        def enrich_batch(batch: list[str]) -> list[EnrichResult[Record]]:
            answer = self._call_object(operation, json_body={body_key: batch, **extra})
            results = enrich_results(read, answer, batch, id_key, id_pattern, parse, cost)
            reported = reported_credits(read, answer)
            usage = (
                CreditUsage(reported=reported)
                if reported is not None
                else CreditUsage(
                    estimated=sum(result.credits for result in results), unreported_calls=1
                )
            )
            self._credits.add(usage)
            self.metrics.add_credits(usage.total)
            return results

        unique = list(dict.fromkeys(wanted))
        by_id = {
            result.entity_id: result
            for result in run_batches(unique, self.settings.enrich_batch_size, enrich_batch)
        }
        return [by_id[value] for value in wanted]
