"""Emulation of Explorium's partner API (https://api.explorium.ai/v1) as ``api-facts`` describe it.

URLs: ``/explorium/v1/...`` stands for ``https://api.explorium.ai/v1/...``; the vendor's
unauthenticated health check ``GET https://api.explorium.ai/healthcheck/http`` is served at
``/explorium/healthcheck/http`` (it answers the JSON string ``"OK"``).

Endpoints (all ``POST`` unless said, header ``api_key: <key>``):

- ``/v1/prospects/match`` ``{"prospects_to_match": [...]}`` and ``/v1/businesses/match``
  ``{"businesses_to_match": [...]}``: 1-50 items, one result row per item in input order,
  ``prospect_id``/``business_id`` ``null`` when unmatched. Matching is free. Prospects match
  on email (any casing), LinkedIn URL, phone, or ``full_name`` + ``company_name``; an item with
  a name but no company (or the reverse), or with no identifier, gets a per-item ``error`` and
  ``error_type`` (``validation_error``), not a 422. Keys outside the documented six are a 422.
- ``/v1/prospects/contacts_information/bulk_enrich``, ``/v1/prospects/profiles/bulk_enrich``
  (``prospect_ids``) and ``/v1/businesses/firmographics/bulk_enrich`` (``business_ids``): 1-50
  ids; one ``data`` row per distinct id the vendor knows, in input order; unknown ids get no row.
- Single-record variants ``.../contacts_information/enrich``, ``.../profiles/enrich``
  (``prospect_id``) and ``/v1/businesses/firmographics/enrich`` (``business_id``): same data and
  price, one request each (``data`` is ``{}`` for an unknown id).
- ``GET /v1/credits``: ``{"allocated_credits", "remaining_credits"}``.

Credits, charged only for records that come back: contacts 2 per prospect returned with email
data only, 5 when phone data comes back (api-facts); profiles 1 and firmographics 1 per record
(the sandbox's choice: the vendor publishes no per-record price). An enrichment that costs more
than the balance, or any enrichment once the balance is spent, answers 403 "You have insufficient
credits..." and charges nothing. ``credit-usage: true`` adds the vendor's per-call
``credit_usage {"total_results", "total_credits"}`` to a 200 answer.

Limits: 200 requests per sliding 60 s for the key, all endpoints together (the health check
aside). Every authenticated answer carries ``X-RateLimit-Limit``, ``X-RateLimit-Remaining`` and
``X-RateLimit-Reset`` (Unix seconds by which the window has room); a 429 adds ``Retry-After``.

Answers: every JSON object carries ``response_context {correlation_id, request_status:
success|miss|failure, time_took_in_seconds}``. Errors: 401 bad or missing key and 403 out of
credits as ``{"details", "correlation_id"}``; 422 ``{"detail": [{"loc", "msg", "type"}]}``.

Deviations from the OpenAPI document (facts win, see the contract tests): unmatched match rows
carry ``prospect_id``/``business_id`` ``null`` where the schema types them as strings; 401, 403
and 429 are not in the document at all. Echoed match inputs leave out null fields.
"""

from __future__ import annotations

import math
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sales_pipeline.sandbox.core.http import Handler, Request, Response, Route, json_response
from sales_pipeline.sandbox.core.limits import Decision, SlidingWindow
from sales_pipeline.sandbox.core.vendor import Vendor, VendorContext

from .data import BUSINESS_MATCH_KEYS, PROSPECT_MATCH_KEYS, Directory
from .validation import (
    BUSINESS_ID,
    PROSPECT_ID,
    Problems,
    ValidationFailedError,
    batch,
    contact_types,
    identifier,
    identifiers,
    read_body,
    string_fields,
)

RATE_LIMIT = 200
RATE_WINDOW_SECONDS = 60.0
CONTACT_EMAIL_CREDITS = 2
CONTACT_PHONE_CREDITS = 5
PROFILE_CREDITS = 1
FIRMOGRAPHICS_CREDITS = 1
MAX_NAME_LENGTH = 256

INSUFFICIENT_CREDITS = (
    "You have insufficient credits to perform this operation. Please purchase additional credits."
)
BAD_KEY = "Invalid or missing API key. Please set a valid key in the api_key header."
SERVER_ERRORS = {
    500: "An internal server error occurred",
    502: "Bad gateway",
    503: "Service temporarily unavailable",
    504: "Gateway timeout",
}

Record = tuple[dict[str, Any], int]
"""An enriched record and the credits it costs."""
Kinds = frozenset[str]
"""Contact kinds asked for: ``email``, ``phone``."""


class _OutOfCreditsError(Exception):
    """The balance cannot pay for the request."""


@dataclass(frozen=True)
class _Outcome:
    """A successful operation: its payload, whether it found anything, what it cost."""

    payload: dict[str, Any]
    found: bool
    results: int = 0
    credits: int = 0


Operation = Callable[[Request], _Outcome]


def _context(correlation_id: str, status: str, started: float) -> dict[str, Any]:
    return {
        "correlation_id": correlation_id,
        "request_status": status,
        "time_took_in_seconds": round(time.perf_counter() - started, 4),
    }


class ExploriumApi(Vendor):
    """Explorium: prospect and business matching, bulk enrichment, credits and a rate window."""

    name = "explorium"

    def __init__(self, context: VendorContext) -> None:
        super().__init__(context)
        self._directory = Directory(context.world)
        self._window = SlidingWindow(RATE_LIMIT, RATE_WINDOW_SECONDS, context.limits)
        self._lock = threading.Lock()
        self._credits_remaining = context.options.explorium_credits
        self._credits_used = 0
        self._records_enriched = 0
        self._enrich_calls: Counter[str] = Counter()
        self._bursts = 0

    def routes(self) -> list[Route]:
        """Matching, the three enrichments (bulk and single), credits and the health check."""
        prospects, businesses = "/v1/prospects", "/v1/businesses"
        return [
            Route("GET", r"/healthcheck/http", self._healthcheck, "healthcheck"),
            Route("GET", r"/v1/credits", self._endpoint(self._credits), "credits"),
            Route(
                "POST",
                f"{prospects}/match",
                self._endpoint(self._match_prospects),
                "prospects_match",
            ),
            Route(
                "POST",
                f"{businesses}/match",
                self._endpoint(self._match_businesses),
                "businesses_match",
            ),
            Route(
                "POST",
                f"{prospects}/contacts_information/bulk_enrich",
                self._endpoint(self._contacts_bulk, enrich="bulk"),
                "contacts_bulk_enrich",
            ),
            Route(
                "POST",
                f"{prospects}/profiles/bulk_enrich",
                self._endpoint(self._profiles_bulk, enrich="bulk"),
                "profiles_bulk_enrich",
            ),
            Route(
                "POST",
                f"{businesses}/firmographics/bulk_enrich",
                self._endpoint(self._firmographics_bulk, enrich="bulk"),
                "firmographics_bulk_enrich",
            ),
            Route(
                "POST",
                f"{prospects}/contacts_information/enrich",
                self._endpoint(self._contacts_single, enrich="single"),
                "contacts_enrich",
            ),
            Route(
                "POST",
                f"{prospects}/profiles/enrich",
                self._endpoint(self._profiles_single, enrich="single"),
                "profiles_enrich",
            ),
            Route(
                "POST",
                f"{businesses}/firmographics/enrich",
                self._endpoint(self._firmographics_single, enrich="single"),
                "firmographics_enrich",
            ),
        ]

    # -- the envelope every endpoint shares: auth, rate window, errors, response_context --------

    def _endpoint(self, operation: Operation, enrich: str | None = None) -> Handler:
        """Wrap ``operation`` in auth, the rate window, error mapping and ``response_context``."""

        def handle(request: Request) -> Response:
            started = time.perf_counter()
            correlation_id = uuid.uuid4().hex
            if request.header("api_key") != self.context.credentials.explorium_key:
                return self._details(401, BAD_KEY, correlation_id, started, {})
            decision = self._window.acquire()
            headers = self._rate_headers(decision)
            if not decision.allowed:
                return self._rate_limited(decision, headers, correlation_id, started)
            if enrich:
                with self._lock:
                    self._enrich_calls[enrich] += 1
            try:
                outcome = operation(request)
            except ValidationFailedError as invalid:
                body = {
                    "detail": invalid.errors,
                    "correlation_id": correlation_id,
                    "response_context": _context(correlation_id, "failure", started),
                }
                return json_response(422, body, headers)
            except _OutOfCreditsError:
                return self._details(403, INSUFFICIENT_CREDITS, correlation_id, started, headers)
            status = "success" if outcome.found else "miss"
            payload = {"response_context": _context(correlation_id, status, started)}
            payload.update(outcome.payload)
            if (request.header("credit-usage") or "").lower() == "true":
                payload["credit_usage"] = {
                    "total_results": outcome.results,
                    "total_credits": outcome.credits,
                }
            return json_response(200, payload, headers)

        return handle

    def _details(
        self,
        status: int,
        details: str,
        correlation_id: str,
        started: float,
        headers: dict[str, str],
    ) -> Response:
        """The vendor's error body: ``{"details", "correlation_id", "response_context"}``."""
        body = {
            "details": details,
            "correlation_id": correlation_id,
            "response_context": _context(correlation_id, "failure", started),
        }
        return json_response(status, body, headers)

    def _rate_headers(self, decision: Decision) -> dict[str, str]:
        """``X-RateLimit-*`` for ``decision``.

        ``Reset`` is exact on a refusal (the oldest request leaves the window) and otherwise the
        conservative bound ``now + 60 s`` (every request now counted has left by then): the core
        window does not expose its oldest entry to an allowed request.
        """
        wait = decision.retry_after if not decision.allowed else self._window.window
        return {
            "X-RateLimit-Limit": str(decision.limit),
            "X-RateLimit-Remaining": str(decision.remaining),
            "X-RateLimit-Reset": str(math.ceil(self.context.clock.now() + wait)),
        }

    def _rate_limited(
        self, decision: Decision, headers: dict[str, str], correlation_id: str, started: float
    ) -> Response:
        """429 from the real window: ``Retry-After`` is the wait rounded up to whole seconds."""
        wait = max(1, math.ceil(decision.retry_after))
        body = {
            "error": "rate_limit_exceeded",
            "message": (
                f"Rate limit exceeded: {decision.limit} requests per minute per API key. "
                f"Retry after {wait} seconds."
            ),
            "retry_after": wait,
            "correlation_id": correlation_id,
            "response_context": _context(correlation_id, "failure", started),
        }
        return json_response(429, body, {**headers, "Retry-After": str(wait)}, tag="rate_limited")

    def fault_response(self, kind: str, status: int) -> Response:
        """An injected 429 burst or 5xx, shaped as Explorium's own.

        Injected 429s cycle deterministically through ``Retry-After`` 1, 2, 1, 0 (a zero a client
        must not turn into a hot loop) and alternate the two 429 bodies the vendor is known to
        send, so only the status and ``Retry-After`` can be relied on. 5xx answers carry
        ``{"details", "correlation_id", "response_context"}``.
        """
        started = time.perf_counter()
        correlation_id = uuid.uuid4().hex
        if kind != "rate_limit":
            details = SERVER_ERRORS.get(status, "An internal server error occurred")
            return self._details(status, details, correlation_id, started, {})
        with self._lock:
            burst = self._bursts
            self._bursts += 1
        wait = 0 if burst % 4 == 3 else 1 + burst % 2
        message = "Rate limit exceeded. Please retry after the specified time."
        body: dict[str, Any] = (
            {"error": "rate_limit_exceeded", "message": message, "retry_after": wait}
            if burst % 2 == 0
            else {"code": 429, "message": message, "retry_after": wait}
        )
        headers = {
            "X-RateLimit-Limit": str(self._window.limit),
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": str(math.ceil(self.context.clock.now() + wait)),
            "Retry-After": str(wait),
        }
        return json_response(429, body, headers)

    def _healthcheck(self, request: Request) -> Response:
        """``GET /healthcheck/http``: no key needed, not counted against the rate window."""
        return json_response(200, "OK")

    # -- credits -----------------------------------------------------------------------------

    def _charge(self, credits: int, records: int) -> None:
        """Charge ``credits`` for ``records`` returned, or raise :class:`_OutOfCreditsError`.

        Nothing is charged on refusal; an enrichment is refused once the balance is spent, even
        when it would have cost nothing.
        """
        with self._lock:
            if self._credits_remaining <= 0 or credits > self._credits_remaining:
                raise _OutOfCreditsError
            self._credits_remaining -= credits
            self._credits_used += credits
            self._records_enriched += records

    def _credits(self, request: Request) -> _Outcome:
        with self._lock:
            remaining, used = self._credits_remaining, self._credits_used
        return _Outcome(
            {"allocated_credits": used + remaining, "remaining_credits": remaining}, True
        )

    # -- matching ----------------------------------------------------------------------------

    def _match_prospects(self, request: Request) -> _Outcome:
        """Resolve each item to a ``prospect_id`` (or ``null``), in input order."""
        problems = Problems()
        body = read_body(request, ("prospects_to_match",), ("prospects_to_match",), problems)
        items = batch(body, "prospects_to_match", problems)
        inputs = [
            string_fields(
                item, ("body", "prospects_to_match", index), PROSPECT_MATCH_KEYS, True, problems
            )
            for index, item in enumerate(items)
        ]
        problems.raise_if_any()
        rows = [self._prospect_row(fields) for fields in inputs]
        matches = sum(row["prospect_id"] is not None for row in rows)
        payload = {"total_results": len(rows), "total_matches": matches, "matched_prospects": rows}
        return _Outcome(payload, matches > 0, results=matches)

    def _prospect_row(self, fields: dict[str, str]) -> dict[str, Any]:
        """One ``matched_prospects`` row; a per-item error when the identifiers are unusable.

        ``full_name`` and ``company_name`` must come together (the vendor's docs); the item is
        refused even when it also carries an email, so a client learns to drop a lone name.
        """
        error = None
        if bool(fields.get("full_name")) != bool(fields.get("company_name")):
            error = "full_name must be accompanied by company_name"
        elif not any(fields.get(key) for key in ("email", "phone_number", "linkedin", "full_name")):
            error = (
                "one of email, phone_number, linkedin or full_name with company_name is required"
            )
        if error:
            return {
                "input": fields,
                "prospect_id": None,
                "error": error,
                "error_type": "validation_error",
            }
        person = self._directory.match_prospect(fields)
        return {"input": fields, "prospect_id": person.prospect_id if person else None}

    def _match_businesses(self, request: Request) -> _Outcome:
        """Resolve each item to a ``business_id`` (or ``null``), in input order."""
        problems = Problems()
        body = read_body(request, ("businesses_to_match",), ("businesses_to_match",), problems)
        items = batch(body, "businesses_to_match", problems)
        inputs = []
        for index, item in enumerate(items):
            loc = ("body", "businesses_to_match", index)
            fields = string_fields(item, loc, BUSINESS_MATCH_KEYS, False, problems)
            if len(fields.get("name", "")) > MAX_NAME_LENGTH:
                problems.add(
                    (*loc, "name"),
                    f"ensure this value has at most {MAX_NAME_LENGTH} characters",
                    "value_error.any_str.max_length",
                )
            inputs.append(fields)
        problems.raise_if_any()
        rows: list[dict[str, Any]] = []
        for fields in inputs:
            if not any(fields.values()):
                rows.append(
                    {
                        "input": fields,
                        "business_id": None,
                        "error": "at least one of name, domain, url or linkedin_url is required",
                        "error_type": "validation_error",
                    }
                )
                continue
            company = self._directory.match_business(fields)
            rows.append({"input": fields, "business_id": company.business_id if company else None})
        matches = sum(row["business_id"] is not None for row in rows)
        payload = {"total_results": len(rows), "total_matches": matches, "matched_businesses": rows}
        return _Outcome(payload, matches > 0, results=matches)

    # -- enrichment --------------------------------------------------------------------------

    def _contact_record(self, prospect_id: str, kinds: Kinds) -> Record | None:
        person = self._directory.prospects.get(prospect_id)
        record = self._directory.contacts(person, kinds) if person else {}
        if not record:
            return None
        cost = CONTACT_PHONE_CREDITS if "phone_numbers" in record else CONTACT_EMAIL_CREDITS
        return record, cost

    def _profile_record(self, prospect_id: str) -> Record | None:
        person = self._directory.prospects.get(prospect_id)
        return (self._directory.profile(person), PROFILE_CREDITS) if person else None

    def _firmographics_record(self, business_id: str) -> Record | None:
        company = self._directory.businesses.get(business_id)
        return (self._directory.firmographics(company), FIRMOGRAPHICS_CREDITS) if company else None

    def _bulk(
        self, id_key: str, ids: list[str], record_of: Callable[[str], Record | None]
    ) -> _Outcome:
        """Rows for the distinct known ``ids`` in input order, charged before they are sent."""
        rows, credits = [], 0
        for entity_id in dict.fromkeys(ids):
            found = record_of(entity_id)
            if found:
                record, cost = found
                rows.append({id_key: entity_id, "data": record})
                credits += cost
        self._charge(credits, len(rows))
        payload = {"data": rows, "total_results": len(rows)}
        return _Outcome(payload, bool(rows), results=len(rows), credits=credits)

    def _single(self, entity_id: str, record_of: Callable[[str], Record | None]) -> _Outcome:
        """``{"data", "entity_id"}`` for one id; ``data`` is ``{}`` (and free) when unknown."""
        found = record_of(entity_id)
        record, credits = found or ({}, 0)
        self._charge(credits, 1 if found else 0)
        payload = {"data": record, "entity_id": entity_id}
        return _Outcome(payload, found is not None, results=1 if found else 0, credits=credits)

    def _ids(self, request: Request, field: str, contacts: bool = False) -> tuple[list[str], Kinds]:
        """The validated ids of an enrichment body and, for contacts, the kinds asked for.

        ``field`` is ``prospect_ids``/``business_ids`` (a batch) or ``prospect_id``/``business_id``
        (one id, returned as a one-item list).
        """
        problems = Problems()
        body = read_body(request, ("parameters", field), (field,), problems)
        pattern = PROSPECT_ID if field.startswith("prospect") else BUSINESS_ID
        if field.endswith("_ids"):
            ids = identifiers(body, field, pattern, problems)
        else:
            ids = [identifier(body.get(field), ("body", field), pattern, problems)]
        kinds = contact_types(body, problems) if contacts else frozenset()
        problems.raise_if_any()
        return ids, kinds

    def _contacts_bulk(self, request: Request) -> _Outcome:
        ids, kinds = self._ids(request, "prospect_ids", contacts=True)
        return self._bulk("prospect_id", ids, lambda pid: self._contact_record(pid, kinds))

    def _profiles_bulk(self, request: Request) -> _Outcome:
        ids, _ = self._ids(request, "prospect_ids")
        return self._bulk("prospect_id", ids, self._profile_record)

    def _firmographics_bulk(self, request: Request) -> _Outcome:
        ids, _ = self._ids(request, "business_ids")
        return self._bulk("business_id", ids, self._firmographics_record)

    def _contacts_single(self, request: Request) -> _Outcome:
        (prospect_id,), kinds = self._ids(request, "prospect_id", contacts=True)
        return self._single(prospect_id, lambda pid: self._contact_record(pid, kinds))

    def _profiles_single(self, request: Request) -> _Outcome:
        (prospect_id,), _ = self._ids(request, "prospect_id")
        return self._single(prospect_id, self._profile_record)

    def _firmographics_single(self, request: Request) -> _Outcome:
        (business_id,), _ = self._ids(request, "business_id")
        return self._single(business_id, self._firmographics_record)

    # -- control plane -----------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        """``{"credits_remaining", "credits_used", "known_prospects", "known_businesses"}``."""
        with self._lock:
            return {
                "credits_remaining": self._credits_remaining,
                "credits_used": self._credits_used,
                "known_prospects": len(self._directory.prospects),
                "known_businesses": len(self._directory.businesses),
            }

    def stats(self) -> dict[str, Any]:
        """Credits, enrichment calls by kind (``bulk``/``single``) and records returned."""
        with self._lock:
            return {
                "credits_used": self._credits_used,
                "credits_remaining": self._credits_remaining,
                "enrich_calls": {
                    "bulk": self._enrich_calls["bulk"],
                    "single": self._enrich_calls["single"],
                },
                "records_enriched": self._records_enriched,
            }

    def reset(self) -> None:
        """Full balance, no usage, an empty rate window, injected bursts counted from zero."""
        self._window.reset()
        with self._lock:
            self._credits_remaining = self.context.options.explorium_credits
            self._credits_used = 0
            self._records_enriched = 0
            self._enrich_calls.clear()
            self._bursts = 0

    def configure(self, settings: dict[str, Any]) -> dict[str, Any]:
        """``{"credits": n}`` sets the remaining balance (tests exhaust it cheaply).

        Returns ``{"credits": remaining}``; unknown keys or a negative or non-integer balance
        raise ``ValueError``.
        """
        unknown = set(settings) - {"credits"}
        if unknown:
            raise ValueError(f"explorium has no settings {sorted(unknown)}")
        with self._lock:
            if "credits" in settings:
                credits = settings["credits"]
                if isinstance(credits, bool) or not isinstance(credits, int) or credits < 0:
                    raise ValueError("explorium credits must be a non-negative integer")
                self._credits_remaining = credits
            return {"credits": self._credits_remaining}
