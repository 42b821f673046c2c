"""Emulation of HubSpot's CRM API (https://api.hubapi.com), served under ``/hubspot``.

What it answers (shapes field for field as in api-facts/hubspot.md):

- OAuth: ``GET /oauth/authorize`` (consent stand-in, 302 with a code), ``POST /oauth/v3/token``
  and the deprecated ``/oauth/v1/token`` (same form fields, tokens and rotation; v1 answers carry
  ``Deprecation``/``Sunset``/``Warning`` headers for its 2027-02-16 end; see :mod:`.oauth`).
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

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from sales_pipeline.sandbox.core.deprecations import Notice
from sales_pipeline.sandbox.core.http import Handler, Request, Response, Route, json_response
from sales_pipeline.sandbox.core.vendor import Vendor, VendorContext
from sales_pipeline.sandbox.core.webhooks import Delivery

from .batches import Batches
from .contacts import ContactStore
from .errors import (
    HubSpotError,
    api_error,
    missing_scopes,
    new_correlation_id,
    not_found,
    oauth_error,
    validation_error,
)
from .oauth import OAuthServer
from .parsing import (
    decode_cursor,
    encode_cursor,
    flag,
    id_property,
    json_body,
    properties_of,
    requested_properties,
)
from .properties import PropertyRegistry
from .rate_limits import OAUTH, SEARCH, STANDARD, RateLimits, rate_limited
from .records import ContactRecord
from .search import parse_search
from .webhooks import HubSpotWebhooks

CONTACTS_READ = "crm.objects.contacts.read"
CONTACTS_WRITE = "crm.objects.contacts.write"
SCHEMAS_READ = "crm.schemas.contacts.read"
SCHEMAS_WRITE = "crm.schemas.contacts.write"

MAX_URL_CHARS = 8192
MAX_LIST_LIMIT = 100
DEFAULT_LIST_LIMIT = 10
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


OAUTH_V1_SUNSET = datetime(2027, 2, 16, tzinfo=UTC).timestamp()
OAUTH_V1_NOTICE = Notice(
    vendor="hubspot",
    path_prefix="/oauth/v1/",
    deprecated_at=OAUTH_V1_SUNSET,
    sunset_at=OAUTH_V1_SUNSET,
    warning="/oauth/v1/token is deprecated on 2027-02-16: use /oauth/v3/token",
    link="https://developers.hubspot.com/docs/api/oauth/tokens",
)
"""HubSpot deprecates ``/oauth/v1/token`` on 2027-02-16 for ``/oauth/v3/token`` (same form
fields); the sandbox announces it on every v1 answer and counts the date as the sunset too."""


class HubSpotApi(Vendor):
    """HubSpot's CRM API for contacts and their properties, with OAuth and rate limits."""

    name = "hubspot"
    notices = (OAUTH_V1_NOTICE,)

    def __init__(self, context: VendorContext) -> None:
        super().__init__(context)
        self._build()
        self.batches = Batches(self, context.clock)

    def _build(self) -> None:
        """Everything from the world and the options: contacts, properties, tokens, limits,
        and webhook subscriptions without a target."""
        context = self.context
        options = context.options
        self.limits = RateLimits(
            options.hubspot_burst_limit, options.hubspot_daily_limit, context.limits
        )
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
            ("POST", contacts + "/batch/read", STANDARD, CONTACTS_READ, self.batches.read,
             "batch_read"),
            ("POST", contacts + "/batch/create", STANDARD, CONTACTS_WRITE, self.batches.create,
             "batch_create"),
            ("POST", contacts + "/batch/update", STANDARD, CONTACTS_WRITE, self.batches.update,
             "batch_update"),
            ("POST", contacts + "/batch/upsert", STANDARD, CONTACTS_WRITE, self.batches.upsert,
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
             self.batches.create_properties, "properties_batch_create"),
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
            return rate_limited("TEN_SECONDLY_ROLLING", {}, tag=None)
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
        return {
            "daily_used": self.limits.daily_used,
            **self._settings(),
            "contacts": self.contacts.count(),
            "oauth": self.oauth.summary(),
        }

    def webhook_deliveries(self) -> list[Delivery]:
        """Contact events since the last call, as signed batches (see :mod:`.webhooks`)."""
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
        if "burst_limit" in values:
            self.limits.set_burst_limit(int(values["burst_limit"]))
        if "search_per_second" in values:
            self.limits.set_search_per_second(int(values["search_per_second"]))
        if "daily_limit" in values:
            self.limits.set_daily_limit(int(values["daily_limit"]))
        if "search_lag_seconds" in values:
            self.contacts.set_lag(values["search_lag_seconds"])
        return self._settings()

    def _settings(self) -> dict[str, Any]:
        """The run-time settings in force."""
        return {
            "burst_limit": self.limits.burst_limit,
            "daily_limit": self.limits.daily_limit,
            "search_per_second": self.limits.search_per_second,
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
            headers, refused = self.limits.admit(kind)
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
        after_id = decode_cursor(after) if after else 0
        names = self.registry.returned_names(requested_properties(request))
        records, next_id = self.contacts.page(after_id, int(raw_limit), flag(request, "archived"))
        answer: dict[str, Any] = {"results": [record.to_json(names) for record in records]}
        if next_id is not None:
            cursor = encode_cursor(next_id)
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
            key, id_property(request.arg("idProperty")), flag(request, "archived")
        )
        return self._answer(record, self.registry.returned_names(requested_properties(request)))

    def _create(self, request: Request) -> Response:
        """201 with the new contact; 409 ``CONFLICT`` for an email already taken."""
        properties = properties_of(json_body(request), "SimplePublicObjectInputForCreate")
        record = self.contacts.create(properties)
        return self._answer(record, self.registry.returned_names(properties), status=201)

    def _update(self, request: Request, key: str) -> Response:
        """The updated contact (``lastmodifieddate`` now, unless nothing changed)."""
        properties = properties_of(json_body(request), "SimplePublicObjectInput")
        record = self.contacts.update(key, id_property(request.arg("idProperty")), properties)
        return self._answer(record, self.registry.returned_names(properties))

    def _archive(self, request: Request, key: str) -> Response:
        """204: the contact is archived, its email free again."""
        self.contacts.archive(key)
        return Response(204, b"")

    def _search(self, request: Request) -> Response:
        """``{"total","results","paging"?}``; ``paging.next.after`` is the next offset."""
        query = parse_search(json_body(request), self.registry)
        total, records = self.contacts.search(query)
        names = self.registry.returned_names(query.properties)
        answer: dict[str, Any] = {"total": total, "results": [r.to_json(names) for r in records]}
        following = query.offset + query.limit
        if following < total:
            answer["paging"] = {"next": {"after": str(following)}}
        return json_response(200, answer)

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
        definition = self.registry.create(json_body(request), self.context.clock.now())
        return json_response(201, definition.to_json())

    def _list_groups(self, request: Request) -> Response:
        """``{"results": [groups]}``."""
        return json_response(200, {"results": self.registry.groups()})

    def _create_group(self, request: Request) -> Response:
        """201 with the new group; 409 when it exists."""
        return json_response(201, self.registry.create_group(json_body(request)))
