"""Emulation of HubSpot's CRM API (https://api.hubapi.com), served under ``/hubspot``.

What it answers (shapes field for field as in api-facts/hubspot.md):

- OAuth: ``GET /oauth/authorize`` (consent stand-in, 302 with a code), ``POST /oauth/v1/token``
  and ``/oauth/v3/token`` (see :mod:`.hubspot_oauth`; refresh tokens rotate).
- Contacts: ``GET|POST /crm/v3/objects/contacts``, ``GET|PATCH|DELETE
  /crm/v3/objects/contacts/{id}`` (``idProperty=email`` allowed), ``POST .../search``,
  ``POST .../batch/{read,create,update,upsert}`` (100 inputs at most, 207 on partial failure).
- Properties: ``GET|POST /crm/v3/properties/contacts``, ``GET .../{name}``,
  ``POST .../batch/create``, ``GET|POST .../groups``.

Auth: ``Authorization: Bearer`` with the private-app token (every scope) or a live OAuth access
token (the scopes it was granted; a missing one answers 403 ``MISSING_SCOPES``). A ``hapikey``
query parameter never authenticates (sunset in 2022): 401.

Rate limits: a rolling 10-second burst per app (``hubspot_burst_limit``, 100) and a daily
budget (``hubspot_daily_limit``) with the ``X-HubSpot-RateLimit-*`` headers on every non-search
answer; search has its own 5 requests per second and its answers carry no rate headers; OAuth
answers omit the daily pair. 429 bodies name the ``policyName`` and never come with
``Retry-After`` (only an injected 477 "migration in progress" carries one).
URLs longer than 8 KB answer 414 before anything else.

Run-time settings (``PUT /_sandbox/limits {"hubspot": {...}}``): ``burst_limit``,
``daily_limit``, ``search_per_second``, ``search_lag_seconds`` (search index lag, default 0).
"""

from __future__ import annotations

import base64
import binascii
import json
import threading
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from .http import Handler, Request, Response, Route, json_response
from .hubspot_contacts import ContactStore
from .hubspot_errors import (
    HubSpotError,
    api_error,
    missing_scopes,
    new_correlation_id,
    not_found,
    oauth_error,
    validation_error,
)
from .hubspot_oauth import OAuthServer
from .hubspot_properties import PropertyRegistry
from .hubspot_records import ContactRecord, iso_from_seconds
from .hubspot_search import parse_search
from .hubspot_webhooks import HubSpotWebhooks
from .limits import Budget, Decision, SlidingWindow
from .vendor import Vendor, VendorContext
from .webhooks import Delivery

STANDARD, SEARCH, OAUTH = "standard", "search", "oauth"
"""How a route is rate limited: the burst window and daily budget, search's own window and the
daily budget, or the burst window alone."""

CONTACTS_READ = "crm.objects.contacts.read"
CONTACTS_WRITE = "crm.objects.contacts.write"
SCHEMAS_READ = "crm.schemas.contacts.read"
SCHEMAS_WRITE = "crm.schemas.contacts.write"

MAX_URL_CHARS = 8192
MAX_BATCH_INPUTS = 100
MAX_LIST_LIMIT = 100
DEFAULT_LIST_LIMIT = 10
BURST_WINDOW_SECONDS = 10.0
SEARCH_PER_SECOND = 5

RATE_LIMIT_MESSAGES = {
    "TEN_SECONDLY_ROLLING": "You have reached your ten_secondly_rolling limit.",
    "SECONDLY": "You have reached your secondly limit.",
    "DAILY": "You have reached your daily limit.",
}
NOT_FOUND_IN_BATCH = (
    "Could not get some CONTACT objects, they may be deleted or not exist. "
    "Check that ids are valid."
)
INJECTED_ERRORS: dict[int, tuple[str, str, dict[str, str]]] = {
    423: ("The resource is locked. Please wait and try again.", "LOCKED", {}),
    477: ("A migration is in progress for this account.", "MIGRATION_IN_PROGRESS",
          {"Retry-After": "3"}),
    500: ("internal error", "INTERNAL_ERROR", {}),
    503: ("Service Unavailable. Please try again later.", "SERVICE_UNAVAILABLE", {}),
    504: ("The request timed out. Please try again later.", "GATEWAY_TIMEOUT", {}),
}  # fmt: skip
"""Injected JSON errors: message, category, extra headers (477 is the one with Retry-After)."""
EDGE_PAGE = (
    "<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n"
    "<center><h1>{status} {reason}</h1></center>\r\n</body>\r\n</html>\r\n"
)
SETTINGS = ("burst_limit", "daily_limit", "search_per_second", "search_lag_seconds")


def _html(status: int, text: str, headers: dict[str, str] | None = None) -> Response:
    """An HTML answer, as HubSpot's edge and consent pages send them."""
    return Response(status, text.encode("utf-8"), "text/html; charset=utf-8", headers or {})


def _json_body(request: Request) -> dict[str, Any]:
    """The request body as a JSON object; HubSpot's 400 otherwise."""
    try:
        body = request.json()
    except json.JSONDecodeError as bad:
        raise validation_error(
            f"Invalid input JSON on line {bad.lineno}, column {bad.colno}: {bad.msg}"
        ) from None
    except UnicodeDecodeError:
        raise validation_error("Invalid input JSON: the body is not UTF-8") from None
    if not isinstance(body, dict):
        raise validation_error("Invalid input JSON: expected an object")
    return body


def _properties_of(body: dict[str, Any]) -> dict[str, Any]:
    """The ``properties`` object of a write body; 400 when it is not an object."""
    properties = body.get("properties")
    if not isinstance(properties, dict):
        raise validation_error("Invalid input JSON: properties must be an object")
    return properties


def _requested_properties(request: Request) -> list[str] | None:
    """``properties`` query values, repeated and/or comma-separated; ``None`` when absent."""
    values = request.query.get("properties")
    if values is None:
        return None
    return [name.strip() for value in values for name in value.split(",") if name.strip()]


def _flag(request: Request, name: str) -> bool:
    """A ``true``/``false`` query parameter (false when absent)."""
    return (request.arg(name) or "false").lower() == "true"


def _encode_cursor(record_id: int) -> str:
    """The opaque list cursor for "continue from ``record_id``"."""
    return base64.urlsafe_b64encode(str(record_id).encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> int:
    """The record id inside a list cursor; 400 for a cursor the sandbox did not issue."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        text = ""
    if not text.isdigit():
        raise validation_error(f"Invalid paging cursor: {cursor}")
    return int(text)


def _id_property(raw: Any) -> str | None:
    """``None`` for the record id, ``email``; 400 for any other (non-unique) property."""
    if raw in (None, "", "hs_object_id"):
        return None
    if raw != "email":
        raise validation_error(f"{raw} is not a unique property of contacts")
    return "email"


def _batch_error(error: HubSpotError, context: dict[str, list[str]]) -> dict[str, Any]:
    """One entry of a 207 answer's ``errors``, made from the error a single call would give."""
    entry: dict[str, Any] = {
        "status": "error",
        "category": error.body.get("category", "VALIDATION_ERROR"),
        "message": error.body.get("message", ""),
        "context": context,
    }
    if "errors" in error.body:
        entry["errors"] = error.body["errors"]
    return entry


class HubSpotApi(Vendor):
    """HubSpot's CRM API for contacts and their properties, with OAuth and rate limits."""

    name = "hubspot"

    def __init__(self, context: VendorContext) -> None:
        super().__init__(context)
        self._lock = threading.Lock()
        self._build()

    def _build(self) -> None:
        """Everything from the world and the options: contacts, properties, tokens, limits,
        and webhook subscriptions without a target."""
        context = self.context
        options = context.options
        self._burst_limit = options.hubspot_burst_limit
        self._search_per_second = SEARCH_PER_SECOND
        self._burst = SlidingWindow(self._burst_limit, BURST_WINDOW_SECONDS, context.limits)
        self._search_window = SlidingWindow(self._search_per_second, 1.0, context.limits)
        self._daily = Budget(options.hubspot_daily_limit, context.limits)
        self._daily_used = 0
        now = context.clock.now()
        world_properties = dict.fromkeys(
            name for contact in context.world.contacts for name in contact.properties
        )
        self.registry = PropertyRegistry(world_properties, now)
        self.contacts = ContactStore(self.registry, context.clock, context.world.contacts)
        self.webhooks = HubSpotWebhooks(context.clock, context.credentials.hubspot_client_secret)
        self.contacts.on_write = self.webhooks.contact_written
        self.oauth = OAuthServer(context.credentials, context.clock, options.hubspot_token_ttl)

    # ================================================================ Vendor contract
    def routes(self) -> list[Route]:
        """Every endpoint; specific paths come before the ``{id}`` patterns they overlap."""
        contacts = "/crm/v3/objects/contacts"
        properties = "/crm/v3/properties/contacts"
        one = r"/(?P<key>[^/]+)"
        table: list[tuple[str, str, str, str | None, Callable[..., Response], str]] = [
            ("POST", "/oauth/v[13]/token", OAUTH, None, self._token, "oauth_token"),
            ("POST", contacts + "/search", SEARCH, CONTACTS_READ, self._search, "search"),
            ("POST", contacts + "/batch/read", STANDARD, CONTACTS_READ, self._batch_read,
             "batch_read"),
            ("POST", contacts + "/batch/create", STANDARD, CONTACTS_WRITE, self._batch_create,
             "batch_create"),
            ("POST", contacts + "/batch/update", STANDARD, CONTACTS_WRITE, self._batch_update,
             "batch_update"),
            ("POST", contacts + "/batch/upsert", STANDARD, CONTACTS_WRITE, self._batch_upsert,
             "batch_upsert"),
            ("GET", contacts, STANDARD, CONTACTS_READ, self._list, "contacts_list"),
            ("POST", contacts, STANDARD, CONTACTS_WRITE, self._create, "contacts_create"),
            ("GET", contacts + one, STANDARD, CONTACTS_READ, self._get, "contacts_get"),
            ("PATCH", contacts + one, STANDARD, CONTACTS_WRITE, self._update, "contacts_update"),
            ("DELETE", contacts + one, STANDARD, CONTACTS_WRITE, self._archive, "contacts_archive"),
            ("GET", properties + "/groups", STANDARD, SCHEMAS_READ, self._list_groups,
             "property_groups_list"),
            ("POST", properties + "/groups", STANDARD, SCHEMAS_WRITE, self._create_group,
             "property_groups_create"),
            ("POST", properties + "/batch/create", STANDARD, SCHEMAS_WRITE,
             self._batch_create_properties, "properties_batch_create"),
            ("GET", properties, STANDARD, SCHEMAS_READ, self._list_properties, "properties_list"),
            ("POST", properties, STANDARD, SCHEMAS_WRITE, self._create_property,
             "properties_create"),
            ("GET", properties + one, STANDARD, SCHEMAS_READ, self._get_property, "properties_get"),
        ]  # fmt: skip
        consent = Route("GET", "/oauth/authorize", self._authorize, "oauth_authorize")
        return [consent] + [
            Route(method, path, self._guard(kind, scope, handler), name)
            for method, path, kind, scope, handler, name in table
        ]

    def fault_response(self, kind: str, status: int) -> Response:
        """An injected 429 (the ten-secondly body) or error as HubSpot and its edge send it:
        an nginx-style HTML page for 502, Cloudflare's text for 520-527, JSON otherwise (423
        locked and 477 migration, the one answer with ``Retry-After``, included)."""
        if kind == "rate_limit" or status == 429:
            return self._rate_limited("TEN_SECONDLY_ROLLING", {}, tag=None)
        if status == 502:
            return _html(502, EDGE_PAGE.format(status=502, reason="Bad Gateway"))
        if 520 <= status <= 527:
            return _html(status, f"error code: {status}")
        message, category, headers = INJECTED_ERRORS.get(
            status, ("internal error", "INTERNAL_ERROR", {})
        )
        response = self._error_response(api_error(status, category, message))
        response.headers.update(headers)
        return response

    def state(self) -> dict[str, Any]:
        """``{"contacts":[{"id","properties"}],"count","archived":[ids],"properties":[names],
        "oauth":{"active_access_tokens",...}}``."""
        return {
            **self.contacts.snapshot(),
            "properties": self.registry.names(),
            "oauth": self.oauth.summary(),
        }

    def stats(self) -> dict[str, Any]:
        """Daily budget use, the limits in force, live contacts and OAuth counters."""
        with self._lock:
            daily_used = self._daily_used
        return {
            "daily_used": daily_used,
            **self._settings(),
            "contacts": self.contacts.count(),
            "oauth": self.oauth.summary(),
        }

    def webhook_deliveries(self) -> list[Delivery]:
        """Contact events since the last call, as signed batches (see :mod:`.hubspot_webhooks`)."""
        return self.webhooks.deliveries()

    def reset(self) -> None:
        """The world's contacts and the default properties again; tokens, windows, budget and
        run-time settings back to their initial values."""
        self._build()

    def configure(self, settings: dict[str, Any]) -> dict[str, Any]:
        """Apply ``burst_limit``, ``daily_limit``, ``search_per_second`` (positive integers,
        daily may be 0) and ``search_lag_seconds`` (>= 0); a new window starts empty."""
        unknown = set(settings) - set(SETTINGS)
        if unknown:
            raise ValueError(f"hubspot has no settings {sorted(unknown)}")
        values = {key: float(value) for key, value in settings.items()}
        for key, value in values.items():
            floor = 0 if key in ("daily_limit", "search_lag_seconds") else 1
            if value < floor or (key != "search_lag_seconds" and not value.is_integer()):
                raise ValueError(f"hubspot {key} must be an integer >= {floor}, got {value}")
        limits = self.context.limits
        if "burst_limit" in values:
            self._burst_limit = int(values["burst_limit"])
            self._burst = SlidingWindow(self._burst_limit, BURST_WINDOW_SECONDS, limits)
        if "search_per_second" in values:
            self._search_per_second = int(values["search_per_second"])
            self._search_window = SlidingWindow(self._search_per_second, 1.0, limits)
        if "daily_limit" in values:
            self._daily.limit = int(values["daily_limit"])
        if "search_lag_seconds" in values:
            self.contacts.set_lag(values["search_lag_seconds"])
        return self._settings()

    def _settings(self) -> dict[str, Any]:
        """The run-time settings in force."""
        return {
            "burst_limit": self._burst_limit,
            "daily_limit": self._daily.limit,
            "search_per_second": self._search_per_second,
            "search_lag_seconds": self.contacts.lag,
        }

    # ================================================================ the gate
    def _guard(self, kind: str, scope: str | None, handler: Callable[..., Response]) -> Handler:
        """Wrap ``handler`` in what HubSpot does first: URL length, auth, limits, scopes,
        then its error rendering and the rate headers."""

        def guarded(request: Request, **params: str) -> Response:
            if self._url_too_long(request):
                return _html(414, EDGE_PAGE.format(status=414, reason="Request-URI Too Large"))
            scopes: frozenset[str] | None = None
            if kind != OAUTH:
                try:
                    scopes = self._authenticate(request)
                except HubSpotError as error:
                    return self._error_response(error)
            headers, refused = self._admit(kind)
            if refused is not None:
                return refused
            try:
                if scope is not None and scopes is not None and scope not in scopes:
                    raise missing_scopes(scope)
                response = handler(request, **params)
            except HubSpotError as error:
                response = self._error_response(error)
            response.headers.update(headers)
            response.headers.setdefault("X-HubSpot-Correlation-Id", new_correlation_id())
            return response

        return guarded

    def _url_too_long(self, request: Request) -> bool:
        """Whether the URL as sent (``/hubspot`` included) is longer than 8 KB."""
        query = urlencode([(k, v) for k, values in request.query.items() for v in values])
        return len(self.name) + 1 + len(request.path) + 1 + len(query) > MAX_URL_CHARS

    def _authenticate(self, request: Request) -> frozenset[str] | None:
        """The scopes of the request's bearer token; 401 otherwise (a ``hapikey`` never works)."""
        header = request.header("Authorization") or ""
        scheme, _, token = header.partition(" ")
        bearer = token.strip() if scheme.lower() == "bearer" else ""
        if request.arg("hapikey") is not None:
            bearer = ""
        return self.oauth.scopes_of(bearer)

    def _admit(self, kind: str) -> tuple[dict[str, str], Response | None]:
        """Count the request against its windows: the headers to send, or the 429 to answer."""
        if kind == SEARCH:
            if not self._search_window.acquire().allowed:
                return {}, self._rate_limited("SECONDLY", {})
            if not self._take_daily():
                return {}, self._rate_limited("DAILY", {})
            return {}, None
        burst = self._burst.acquire()
        headers = {
            "X-HubSpot-RateLimit-Max": str(burst.limit),
            "X-HubSpot-RateLimit-Remaining": str(burst.remaining),
            "X-HubSpot-RateLimit-Interval-Milliseconds": str(int(BURST_WINDOW_SECONDS * 1000)),
        }
        if kind == OAUTH:
            return headers, None if burst.allowed else self._rate_limited(
                "TEN_SECONDLY_ROLLING", headers
            )
        if not burst.allowed:
            return headers, self._rate_limited(
                "TEN_SECONDLY_ROLLING", {**headers, **self._daily_headers()}
            )
        allowed = self._take_daily()
        headers.update(self._daily_headers())
        return headers, None if allowed else self._rate_limited("DAILY", headers)

    def _take_daily(self) -> bool:
        """Spend one request of the daily budget, if any is left."""
        decision: Decision = self._daily.acquire()
        if decision.allowed:
            with self._lock:
                self._daily_used += 1
        return decision.allowed

    def _daily_headers(self) -> dict[str, str]:
        """The daily pair of rate headers, as things stand."""
        limit = self._daily.limit
        with self._lock:
            remaining = max(limit - self._daily_used, 0)
        return {
            "X-HubSpot-RateLimit-Daily": str(limit),
            "X-HubSpot-RateLimit-Daily-Remaining": str(remaining),
        }

    def _rate_limited(
        self, policy: str, headers: dict[str, str], tag: str | None = "rate_limited"
    ) -> Response:
        """HubSpot's 429 for ``policy`` (never with ``Retry-After``); ``tag`` marks limit 429s."""
        correlation_id = new_correlation_id()
        body = {
            "status": "error",
            "message": RATE_LIMIT_MESSAGES[policy],
            "errorType": "RATE_LIMIT",
            "correlationId": correlation_id,
            "policyName": policy,
            "requestId": str(uuid.uuid4()),
        }
        headers = {**headers, "X-HubSpot-Correlation-Id": correlation_id}
        return json_response(429, body, headers, tag=tag)

    def _error_response(self, error: HubSpotError) -> Response:
        """``error`` as JSON, its correlation id also in ``X-HubSpot-Correlation-Id``."""
        correlation_id = new_correlation_id()
        return json_response(
            error.status,
            error.payload(correlation_id),
            {"X-HubSpot-Correlation-Id": correlation_id},
        )

    # ================================================================ OAuth
    def _authorize(self, request: Request) -> Response:
        """The consent stand-in: 302 to ``redirect_uri?code=...&state=...`` or a 400 page."""
        try:
            location = self.oauth.authorize(
                request.arg("client_id"),
                request.arg("redirect_uri"),
                request.arg("scope"),
                request.arg("state"),
            )
        except ValueError as refused:
            return _html(
                400, f"<html><body><h1>Authorization failed</h1><p>{refused}</p></body></html>"
            )
        return _html(302, "", {"Location": location})

    def _token(self, request: Request) -> Response:
        """Exchange a code or a refresh token; the body must be form-encoded."""
        content_type = (request.header("Content-Type") or "").lower()
        if not content_type.startswith("application/x-www-form-urlencoded"):
            raise oauth_error(
                "BAD_GRANT_TYPE", "missing or unknown grant type", "unsupported_grant_type"
            )
        try:
            form = request.form()
        except UnicodeDecodeError:
            raise oauth_error(
                "BAD_GRANT_TYPE", "missing or unknown grant type", "unsupported_grant_type"
            ) from None
        return json_response(200, self.oauth.token(form))

    # ================================================================ contacts
    def _answer(self, record: ContactRecord, names: list[str], status: int = 200) -> Response:
        """One contact with the properties ``names``."""
        return json_response(status, record.to_json(names))

    def _list(self, request: Request) -> Response:
        """One page of contacts by id; ``paging.next`` (opaque ``after`` + ``link``) unless last."""
        raw_limit = request.arg("limit", str(DEFAULT_LIST_LIMIT)) or ""
        if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= MAX_LIST_LIMIT:
            raise validation_error(
                f"limit must be an integer between 1 and {MAX_LIST_LIMIT}, got {raw_limit}"
            )
        after = request.arg("after")
        after_id = _decode_cursor(after) if after else 0
        names = self.registry.returned_names(_requested_properties(request))
        records, next_id = self.contacts.page(after_id, int(raw_limit), _flag(request, "archived"))
        answer: dict[str, Any] = {"results": [record.to_json(names) for record in records]}
        if next_id is not None:
            cursor = _encode_cursor(next_id)
            query = [(k, v) for k, values in request.query.items() if k != "after" for v in values]
            host = request.header("Host") or "api.hubapi.com"
            link = (
                f"http://{host}/{self.name}{request.path}?{urlencode([*query, ('after', cursor)])}"
            )
            answer["paging"] = {"next": {"after": cursor, "link": link}}
        return json_response(200, answer)

    def _get(self, request: Request, key: str) -> Response:
        """One contact by id (or ``idProperty=email``); 404 when unknown or archived."""
        record = self.contacts.get(
            key, _id_property(request.arg("idProperty")), _flag(request, "archived")
        )
        return self._answer(record, self.registry.returned_names(_requested_properties(request)))

    def _create(self, request: Request) -> Response:
        """201 with the new contact; 409 ``CONFLICT`` for an email already taken."""
        properties = _properties_of(_json_body(request))
        record = self.contacts.create(properties)
        return self._answer(record, self.registry.returned_names(properties), status=201)

    def _update(self, request: Request, key: str) -> Response:
        """The updated contact (``lastmodifieddate`` now, unless nothing changed)."""
        properties = _properties_of(_json_body(request))
        record = self.contacts.update(key, _id_property(request.arg("idProperty")), properties)
        return self._answer(record, self.registry.returned_names(properties))

    def _archive(self, request: Request, key: str) -> Response:
        """204: the contact is archived, its email free again."""
        self.contacts.archive(key)
        return Response(204, b"")

    def _search(self, request: Request) -> Response:
        """``{"total","results","paging"?}``; ``paging.next.after`` is the next offset."""
        query = parse_search(_json_body(request), self.registry)
        total, records = self.contacts.search(query)
        names = self.registry.returned_names(query.properties)
        answer: dict[str, Any] = {"total": total, "results": [r.to_json(names) for r in records]}
        following = query.offset + query.limit
        if following < total:
            answer["paging"] = {"next": {"after": str(following)}}
        return json_response(200, answer)

    # ================================================================ batches
    def _inputs(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        inputs = body.get("inputs")
        if not isinstance(inputs, list) or not all(isinstance(item, dict) for item in inputs):
            raise validation_error("Invalid input JSON: inputs must be an array of objects")
        if len(inputs) > MAX_BATCH_INPUTS:
            raise validation_error(
                f"Too many inputs: {len(inputs)}. A batch takes at most {MAX_BATCH_INPUTS} inputs."
            )
        return inputs

    @staticmethod
    def _unique_ids(inputs: list[dict[str, Any]], fold_case: bool) -> None:
        keys = [str(item.get("id", "")) for item in inputs]
        seen = [key.lower() if fold_case else key for key in keys]
        duplicates = sorted(
            {key for key, folded in zip(keys, seen, strict=True) if seen.count(folded) > 1}
        )
        if duplicates:
            raise validation_error(
                f"Duplicate IDs found in batch input: [{', '.join(duplicates)}]. IDs must be unique"
            )

    def _batch_answer(
        self,
        started: float,
        results: list[dict[str, Any]],
        errors: list[dict[str, Any]],
        ok: int = 200,
    ) -> Response:
        body: dict[str, Any] = {"status": "COMPLETE", "results": results}
        if errors:
            body["numErrors"] = len(errors)
            body["errors"] = errors
        body["startedAt"] = iso_from_seconds(started)
        body["completedAt"] = iso_from_seconds(self.context.clock.now())
        return json_response(207 if errors else ok, body)

    def _batch_read(self, request: Request) -> Response:
        """Contacts by id or by ``idProperty: email``; unknown ones in one OBJECT_NOT_FOUND."""
        started = self.context.clock.now()
        body = _json_body(request)
        inputs = self._inputs(body)
        id_property = _id_property(body.get("idProperty"))
        requested = body.get("properties")
        names = self.registry.returned_names(
            requested if isinstance(requested, list) and requested else None
        )
        found: dict[int, dict[str, Any]] = {}
        missing: list[str] = []
        for item in inputs:
            key = str(item.get("id", ""))
            record = self.contacts.find(key, id_property)
            if record is None:
                missing.append(key)
            else:
                found.setdefault(record.id, record.to_json(names))
        errors = []
        if missing:
            errors.append(
                _batch_error(
                    api_error(404, "OBJECT_NOT_FOUND", NOT_FOUND_IN_BATCH), {"ids": missing}
                )
            )
        return self._batch_answer(started, list(found.values()), errors)

    def _batch_create(self, request: Request) -> Response:
        """201 with every created contact, or 207 with an error per refused input
        (a duplicate email is a CONFLICT entry)."""
        started = self.context.clock.now()
        results, errors = [], []
        for index, item in enumerate(self._inputs(_json_body(request))):
            given = item.get("properties")
            email = given.get("email") if isinstance(given, dict) else None
            context = {"emails": [str(email)]} if email else {"inputIndex": [str(index)]}
            try:
                properties = _properties_of(item)
                record = self.contacts.create(properties)
                results.append(record.to_json(self.registry.returned_names(properties)))
            except HubSpotError as error:
                errors.append(_batch_error(error, context))
        return self._batch_answer(started, results, errors, ok=201)

    def _batch_update(self, request: Request) -> Response:
        """Updates by id (or per-input ``idProperty: email``); an error entry per refused input."""
        started = self.context.clock.now()
        inputs = self._inputs(_json_body(request))
        self._unique_ids(inputs, fold_case=False)
        results, errors = [], []
        for item in inputs:
            key = str(item.get("id", ""))
            try:
                properties = _properties_of(item)
                record = self.contacts.update(key, _id_property(item.get("idProperty")), properties)
                results.append(record.to_json(self.registry.returned_names(properties)))
            except HubSpotError as error:
                errors.append(_batch_error(error, {"ids": [key]}))
        return self._batch_answer(started, results, errors)

    def _batch_upsert(self, request: Request) -> Response:
        """Create-or-update by ``idProperty: email``; each result says whether it is ``new``."""
        started = self.context.clock.now()
        inputs = self._inputs(_json_body(request))
        self._unique_ids(inputs, fold_case=True)
        results, errors = [], []
        for item in inputs:
            key = str(item.get("id", ""))
            try:
                if item.get("idProperty") != "email":
                    raise validation_error(
                        "Upsert needs idProperty email, the unique contact property"
                    )
                properties = _properties_of(item)
                record, created = self.contacts.upsert_by_email(key, properties)
                names = self.registry.returned_names([*properties, "email"])
                results.append({**record.to_json(names), "new": created})
            except HubSpotError as error:
                errors.append(_batch_error(error, {"ids": [key]}))
        return self._batch_answer(started, results, errors)

    # ================================================================ properties
    def _list_properties(self, request: Request) -> Response:
        """``{"results": [definitions]}``."""
        return json_response(200, {"results": [d.to_json() for d in self.registry.definitions()]})

    def _get_property(self, request: Request, key: str) -> Response:
        """One definition; 404 when the property does not exist."""
        definition = self.registry.get(key)
        if definition is None:
            raise not_found()
        return json_response(200, definition.to_json())

    def _create_property(self, request: Request) -> Response:
        """201 with the new definition; 409 when the name exists, 400 when malformed."""
        definition = self.registry.create(_json_body(request), self.context.clock.now())
        return json_response(201, definition.to_json())

    def _batch_create_properties(self, request: Request) -> Response:
        """201 with the new definitions, or 207 with an error per refused input."""
        started = self.context.clock.now()
        results, errors = [], []
        for item in self._inputs(_json_body(request)):
            try:
                results.append(self.registry.create(item, self.context.clock.now()).to_json())
            except HubSpotError as error:
                errors.append(_batch_error(error, {"name": [str(item.get("name", ""))]}))
        return self._batch_answer(started, results, errors, ok=201)

    def _list_groups(self, request: Request) -> Response:
        """``{"results": [groups]}``."""
        return json_response(200, {"results": self.registry.groups()})

    def _create_group(self, request: Request) -> Response:
        """201 with the new group; 409 when it exists."""
        return json_response(201, self.registry.create_group(_json_body(request)))
