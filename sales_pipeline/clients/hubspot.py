"""HubSpot CRM client: contact search, batch read/upsert, private-app and OAuth auth.

Dialect notes (see shared/api-facts/hubspot.md):

* Search (``POST /crm/{v}/objects/contacts/search``) serves at most 10,000
  results per query (paging past it answers 400) at 200 per page. Windows are
  walked by keyset: filter the time window AND ``hs_object_id > last id``,
  sort by ``hs_object_id`` ascending, follow ``paging.next.after``, and at the
  cap restart the query after the last id. Thousands of contacts sharing one
  ``lastmodifieddate`` are therefore walked like any others.
* Search has its own 5 requests/second limit. We count each search against
  both that limit and the 10-second burst limit: whether HubSpot counts it
  against the burst is not documented, and counting it twice can only make
  us slower, never a cause of 429s.
* Batch endpoints take at most 100 inputs; a 207 answer carries per-input errors.
* 429s name their policy: ``TEN_SECONDLY_ROLLING`` waits for the window to
  free, ``SECONDLY`` waits 1 s x the number of 429s so far, ``DAILY`` raises
  `QuotaExhausted` (the daily budget resets at midnight in the account's
  time zone).
* OAuth access tokens live 30 minutes; they are refreshed 5 minutes ahead of
  expiry, and once more on a 401 ``EXPIRED_AUTHENTICATION``. Every refresh
  answer's refresh token is persisted through the `TokenStore`. Clients that
  share a store (Dagster step processes) may refresh at the same moment: if
  HubSpot rotated the refresh token and refuses ours (400 ``invalid_grant``),
  the tokens the other client stored are used instead of failing.
* Custom contact properties are created with `HubSpotClient.ensure_contact_properties`
  before anything writes them (HubSpot refuses values of unknown properties).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import quote, urlencode

import requests

from sales_pipeline.clients.auth import Auth, BearerTokenAuth, NoAuth
from sales_pipeline.clients.base import HealthReport, VendorClient, run_batches
from sales_pipeline.clients.breaker import CircuitBreaker
from sales_pipeline.clients.errors import (
    AuthError,
    Conflict,
    InvalidRequest,
    QuotaExhausted,
    RateLimited,
    ServerError,
)
from sales_pipeline.clients.pagination import KeysetRestartPaginator, Page, iter_pages
from sales_pipeline.clients.ratelimit import QuotaReading, RateLimit, RateLimiter
from sales_pipeline.clients.redaction import redact
from sales_pipeline.clients.resolution import (
    Action,
    Exchange,
    ResolutionTable,
    Rule,
    WaitFunction,
    fixed_wait,
    retry_after_or,
    retry_after_seconds,
)
from sales_pipeline.clients.secret import Secret
from sales_pipeline.clients.transport import Operation, TransportConfig
from sales_pipeline.clients.validation import Validator, as_text

VENDOR = "hubspot"
DEFAULT_BASE_URL = "https://api.hubapi.com"
DEFAULT_AUTHORIZE_URL = "https://app.hubspot.com/oauth/authorize"
SEARCH_PAGE_SIZE = 200
"""HubSpot's maximum search page size."""
SEARCH_RESULT_CAP = 10_000
"""HubSpot serves at most this many results of one search query."""
BATCH_MAX = 100
"""HubSpot's maximum inputs per batch call."""
PROPERTY_VALUE_MAX = 65_536

_PROPERTY_NAME = re.compile(r"[a-z0-9_]{1,100}")
_NEW_PROPERTY_NAME = re.compile(r"[a-z][a-z0-9_]{0,99}")
_OPTION_VALUE = re.compile(r"[A-Za-z0-9_.-]{1,100}")
_LABEL_MAX = 100
_DESCRIPTION_MAX = 1000
_ALREADY_EXISTS = frozenset({"OBJECT_ALREADY_EXISTS", "CONFLICT"})

FIELD_TYPES: Mapping[str, frozenset[str]] = {
    "string": frozenset({"text", "textarea", "phonenumber", "html", "file"}),
    "number": frozenset({"number", "calculation_equation"}),
    "date": frozenset({"date"}),
    "datetime": frozenset({"date"}),
    "enumeration": frozenset({"select", "radio", "checkbox", "booleancheckbox"}),
    "bool": frozenset({"booleancheckbox"}),
}
"""HubSpot property types and the field types each may be shown with."""
_RECORD_ID = re.compile(r"[0-9]{1,20}")
_ALWAYS_FETCHED = ("hs_object_id", "lastmodifieddate")


@dataclass(frozen=True)
class HubSpotSettings:
    """HubSpot tuning; defaults are the published values.

    Attributes:
        crm_version: CRM API version in paths (``v3``).
        oauth_version: OAuth API version in the token path (``v1``; ``v3`` from 2027).
        burst_limit: Requests per burst window (100 Free/Starter, 190 Pro/Enterprise).
        burst_interval_s: Burst window length.
        search_limit: Search requests per ``search_interval_s``.
        search_interval_s: Search window length.
        secondly_wait_s: Wait unit after a ``SECONDLY`` 429 (multiplied by the 429 count).
        migration_wait_s: Wait after a 477 without ``Retry-After``.
        batch_size: Inputs per batch call (1..100).
    """

    crm_version: str = "v3"
    oauth_version: str = "v1"
    burst_limit: int = 100
    burst_interval_s: float = 10.0
    search_limit: int = 5
    search_interval_s: float = 1.0
    secondly_wait_s: float = 1.0
    migration_wait_s: float = 30.0
    batch_size: int = BATCH_MAX

    def __post_init__(self) -> None:
        if not 1 <= self.batch_size <= BATCH_MAX:
            raise ValueError(f"batch_size must be within 1..{BATCH_MAX}")


@dataclass(frozen=True)
class OAuthTokens:
    """An OAuth token pair and when the access token expires (epoch seconds)."""

    access_token: Secret
    refresh_token: Secret
    expires_at: float


class TokenStore(Protocol):
    """Where OAuth tokens live between runs (the pipeline's SQL store implements this)."""

    def get(self, key: str) -> OAuthTokens | None:
        """The tokens saved under ``key``, if any."""

    def save(self, key: str, tokens: OAuthTokens) -> None:
        """Persist ``tokens`` under ``key``, replacing what was there."""


class InMemoryTokenStore:
    """A thread-safe `TokenStore` that lives as long as the process."""

    def __init__(self) -> None:
        self._tokens: dict[str, OAuthTokens] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> OAuthTokens | None:
        """The tokens saved under ``key``, if any."""
        with self._lock:
            return self._tokens.get(key)

    def save(self, key: str, tokens: OAuthTokens) -> None:
        """Keep ``tokens`` under ``key``."""
        with self._lock:
            self._tokens[key] = tokens


@dataclass(frozen=True)
class HubSpotOAuthConfig:
    """An OAuth app's credentials and where its tokens are kept.

    Attributes:
        client_id: The app's client id (not secret).
        client_secret: The app's client secret.
        redirect_uri: Redirect URI registered with the app.
        token_store: Persists the token pair after every exchange and refresh.
        authorize_url: Authorization page (configurable for the sandbox).
        refresh_margin_s: Refresh this long before the access token expires.
        store_key: Key in the token store (default ``"hubspot:<client_id>"``).
        bootstrap_refresh_token: Refresh token to start from while the store holds
            no tokens (e.g. ``HUBSPOT_REFRESH_TOKEN``); the tokens its first refresh
            answers are stored and used from then on.
        handover_wait_s: After HubSpot refuses our refresh token (``invalid_grant``),
            how long to watch the store for the newer tokens another process
            sharing it has just obtained (refresh tokens may rotate), before failing.
    """

    client_id: str
    client_secret: Secret
    redirect_uri: str
    token_store: TokenStore
    authorize_url: str = DEFAULT_AUTHORIZE_URL
    refresh_margin_s: float = 300.0
    store_key: str | None = None
    bootstrap_refresh_token: Secret | None = None
    handover_wait_s: float = 2.0

    @property
    def key(self) -> str:
        """The token store key."""
        return self.store_key or f"{VENDOR}:{self.client_id}"


@dataclass(frozen=True)
class ContactUpsert:
    """One contact to create or update, identified by email.

    Attributes:
        email: The contact's email (the upsert key).
        properties: HubSpot property internal names to values; values are sent
            as strings, ``None`` as an empty string (clears the property).
    """

    email: str
    properties: Mapping[str, str | int | float | bool | None]


@dataclass(frozen=True)
class UpsertResult:
    """The outcome of one `ContactUpsert`, in input order.

    Attributes:
        email: The input's (normalised) email.
        ok: HubSpot created or updated the contact.
        contact_id: HubSpot record id when ``ok``.
        created: True when the contact was new, False when updated, None if unknown.
        error: HubSpot's message (redacted) when not ``ok``.
        category: HubSpot's error category when not ``ok``.
    """

    email: str
    ok: bool
    contact_id: str | None = None
    created: bool | None = None
    error: str | None = None
    category: str | None = None


@dataclass(frozen=True)
class ContactReadResult:
    """The outcome of reading one contact id, in input order.

    ``contact`` is HubSpot's record (``id``, ``properties``, ...) or ``None``
    when HubSpot reported the id missing, with its message (redacted) in ``error``.
    """

    contact_id: str
    contact: Mapping[str, Any] | None
    error: str | None = None


@dataclass(frozen=True)
class PropertyDefinition:
    """A custom contact property, as `HubSpotClient.ensure_contact_properties` creates it.

    Attributes:
        name: Internal name: lowercase letters, digits and ``_``, starting with a letter.
        label: Name shown in HubSpot.
        type: ``"string"``, ``"number"``, ``"date"``, ``"datetime"``, ``"enumeration"``
            or ``"bool"``.
        field_type: How HubSpot shows it, valid for ``type`` (see `FIELD_TYPES`):
            ``"text"``, ``"number"``, ``"date"``, ``"select"``...
        group_name: Property group (an existing one, default ``"contactinformation"``).
        description: Help text shown in HubSpot.
        options: ``(label, value)`` pairs; required for ``enumeration``, not allowed
            for other types (``bool`` gets HubSpot's Yes/No).
    """

    name: str
    label: str
    type: str
    field_type: str
    group_name: str = "contactinformation"
    description: str = ""
    options: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class _Endpoints:
    """Every HubSpot endpoint this client calls, in one place."""

    search_contacts: Operation
    list_contacts: Operation
    batch_read_contacts: Operation
    batch_upsert_contacts: Operation
    list_contact_properties: Operation
    create_contact_properties: Operation
    refresh_token: Operation
    exchange_code: Operation

    @classmethod
    def for_versions(cls, crm: str, oauth: str) -> _Endpoints:
        contacts = f"/crm/{crm}/objects/contacts"
        properties = f"/crm/{crm}/properties/contacts"
        token = f"/oauth/{oauth}/token"
        return cls(
            search_contacts=Operation(
                "search_contacts", "POST", f"{contacts}/search", limits=("burst", "search")
            ),
            list_contacts=Operation("list_contacts", "GET", contacts, limits=("burst",)),
            batch_read_contacts=Operation(
                "batch_read_contacts", "POST", f"{contacts}/batch/read", limits=("burst",)
            ),
            batch_upsert_contacts=Operation(
                "batch_upsert_contacts",
                "POST",
                f"{contacts}/batch/upsert",
                idempotency=(
                    "upsert keyed by email: sending the same inputs again sets the same "
                    "values on the same contacts and creates nothing new"
                ),
                limits=("burst",),
            ),
            list_contact_properties=Operation(
                "list_contact_properties", "GET", properties, limits=("burst",)
            ),
            create_contact_properties=Operation(
                "create_contact_properties",
                "POST",
                f"{properties}/batch/create",
                idempotency=(
                    "a resend answers 'already exists' for the properties an earlier "
                    "attempt created, which ensure_contact_properties accepts"
                ),
                limits=("burst",),
            ),
            refresh_token=Operation(
                "refresh_token",
                "POST",
                token,
                idempotency=(
                    "a refresh only mints a new access token; the refresh token it "
                    "answers with is persisted whichever attempt succeeds"
                ),
                limits=("burst",),
            ),
            exchange_code=Operation(
                "exchange_code", "POST", token, idempotency=None, limits=("burst",)
            ),
        )


def hubspot_rules(settings: HubSpotSettings) -> tuple[Rule, ...]:
    """HubSpot's rows of the resolution table (placed before the common rows)."""
    return (
        Rule(
            Action.FAIL,
            statuses={429},
            json_equals=("policyName", "DAILY"),
            error=QuotaExhausted,
            reason="daily API limit reached; it resets at midnight in the account's time zone",
        ),
        Rule(
            Action.RATE_LIMITED,
            statuses={429},
            json_equals=("policyName", "TEN_SECONDLY_ROLLING"),
            error=RateLimited,
            wait=_rolling_window_wait(settings.burst_interval_s),
            write_safe=True,
            reason="ten-secondly rolling limit reached",
        ),
        Rule(
            Action.RATE_LIMITED,
            statuses={429},
            json_equals=("policyName", "SECONDLY"),
            error=RateLimited,
            wait=_secondly_wait(settings.secondly_wait_s),
            write_safe=True,
            reason="secondly limit reached",
        ),
        Rule(
            Action.REFRESH_TOKEN,
            statuses={401},
            json_equals=("category", "EXPIRED_AUTHENTICATION"),
            error=AuthError,
            reason="access token expired",
        ),
        Rule(
            Action.FAIL,
            statuses={400},
            json_equals=("error", "invalid_grant"),
            error=AuthError,
            reason="OAuth grant rejected (bad, used or revoked code or refresh token)",
        ),
        Rule(
            Action.RETRY,
            statuses={423},
            error=Conflict,
            wait=fixed_wait(2.0),
            write_safe=True,
            reason="record locked",
        ),
        Rule(
            Action.RETRY,
            statuses={477},
            error=ServerError,
            wait=retry_after_or(settings.migration_wait_s),
            write_safe=True,
            reason="account migration in progress",
        ),
        Rule(
            Action.FAIL,
            statuses={522, 525, 526},
            error=ServerError,
            reason="edge error that is not transient",
        ),
        Rule(
            Action.RETRY,
            statuses={502, 503, 504, 521, 523, 524},
            error=ServerError,
            reason="transient edge or server error",
        ),
        Rule(
            Action.FAIL,
            statuses={414},
            error=InvalidRequest,
            reason="URI too long: request fewer properties at a time",
        ),
    )


def _rolling_window_wait(default_window_s: float) -> WaitFunction:
    """Until the rolling window frees: Retry-After, else the window the headers
    announce, else ``default_window_s``."""

    def wait(exchange: Exchange) -> float:
        told = retry_after_seconds(exchange)
        if told is not None:
            return told
        interval = exchange.header("X-HubSpot-RateLimit-Interval-Milliseconds")
        return int(interval) / 1000 if interval and interval.isdigit() else default_window_s

    return wait


def _secondly_wait(unit_s: float) -> WaitFunction:
    """``unit_s`` x the number of 429s this call has met (HubSpot SDK behaviour)."""

    def wait(exchange: Exchange) -> float:
        return unit_s * max(1, exchange.rate_limited_count)

    return wait


def read_hubspot_quota(headers: Mapping[str, str]) -> QuotaReading | None:
    """The burst budget from ``X-HubSpot-RateLimit-*`` headers, if present."""
    remaining = headers.get("X-HubSpot-RateLimit-Remaining", "")
    maximum = headers.get("X-HubSpot-RateLimit-Max", "")
    interval = headers.get("X-HubSpot-RateLimit-Interval-Milliseconds", "")
    if not (remaining.isdigit() and maximum.isdigit()):
        return None
    window_s = int(interval) / 1000 if interval.isdigit() else 10.0
    return QuotaReading("burst", int(remaining), int(maximum), window_s)


class _OAuthBearer:
    """Bearer auth from an OAuth token pair, refreshed ahead of expiry.

    The token store is read before every request, so several clients (threads
    or processes) sharing one store use whichever tokens were saved last. When
    two of them refresh at once and HubSpot rotates the refresh token, the
    loser's refresh answers ``invalid_grant``; it then takes the winner's
    tokens from the store instead of failing (see `_handover`).
    """

    _STORE_POLL_S = 0.1

    def __init__(
        self,
        config: HubSpotOAuthConfig,
        post_token_form: Callable[[Operation, Mapping[str, str]], Mapping[str, Any]],
        refresh_operation: Operation,
        clock: Callable[[], float],
    ) -> None:
        self._config = config
        self._post = post_token_form
        self._operation = refresh_operation
        self._clock = clock
        self._lock = threading.Lock()

    def apply(self, headers: MutableMapping[str, str]) -> None:
        """Set ``Authorization: Bearer``, refreshing first if expiry is near."""
        with self._lock:
            tokens = self._config.token_store.get(self._config.key)
            if tokens is None or self._expiring(tokens):
                tokens = self._refresh(tokens)
        headers["Authorization"] = f"Bearer {tokens.access_token.reveal()}"

    def identity(self) -> str:
        """The app's client id: the burst limit is per app."""
        return self._config.client_id

    def refresh(self) -> bool:
        """Refresh now (after a 401 EXPIRED_AUTHENTICATION)."""
        with self._lock:
            self._refresh(self._config.token_store.get(self._config.key))
        return True

    def _expiring(self, tokens: OAuthTokens) -> bool:
        return tokens.expires_at - self._config.refresh_margin_s <= self._clock()

    def _refresh(self, tokens: OAuthTokens | None) -> OAuthTokens:
        """Redeem the stored refresh token (or the bootstrap one) and store the answer."""
        if tokens is not None:
            refresh_token = tokens.refresh_token
        elif self._config.bootstrap_refresh_token is not None:
            refresh_token = self._config.bootstrap_refresh_token
        else:
            raise AuthError(
                "no OAuth tokens stored: complete the authorization flow (exchange_code) "
                "or configure a bootstrap refresh token",
                vendor=VENDOR,
                operation=self._operation.name,
            )
        try:
            return self._redeem(refresh_token)
        except AuthError as error:
            if error.status != 400:  # 400 is invalid_grant; 401/403 are not a rotation race
                raise
            newer = self._handover(refresh_token)
            if newer is None:
                raise
        return self._redeem(newer.refresh_token) if self._expiring(newer) else newer

    def _handover(self, refused: Secret) -> OAuthTokens | None:
        """Tokens another client stored in place of ``refused``, if any turn up
        within ``handover_wait_s`` (its save may land just after our refusal)."""
        deadline = time.monotonic() + self._config.handover_wait_s
        while True:
            stored = self._config.token_store.get(self._config.key)
            if stored is not None and stored.refresh_token != refused:
                return stored
            if time.monotonic() >= deadline:
                return None
            time.sleep(self._STORE_POLL_S)

    def _redeem(self, refresh_token: Secret) -> OAuthTokens:
        answer = self._post(
            self._operation,
            {
                "grant_type": "refresh_token",
                "client_id": self._config.client_id,
                "client_secret": self._config.client_secret.reveal(),
                "refresh_token": refresh_token.reveal(),
            },
        )
        fresh = _tokens_from(answer, self._clock(), refresh_token, self._operation.name)
        self._config.token_store.save(self._config.key, fresh)
        return fresh


def _tokens_from(
    answer: Mapping[str, Any], now: float, previous: Secret | None, operation: str
) -> OAuthTokens:
    """Parse a token endpoint answer; keep ``previous`` refresh token if none came back.

    Raises:
        ServerError: The answer lacks a token (not retryable).
    """
    access = answer.get("access_token")
    refresh = answer.get("refresh_token")
    if isinstance(refresh, str) and refresh:
        refresh_secret: Secret | None = Secret(refresh)
    else:
        refresh_secret = previous
    if not isinstance(access, str) or not access or refresh_secret is None:
        raise ServerError(
            "token answer without access_token or refresh_token",
            vendor=VENDOR,
            operation=operation,
            retryable=False,
        )
    expires_in = answer.get("expires_in")
    lifetime = float(expires_in) if isinstance(expires_in, int | float) else 1800.0
    return OAuthTokens(Secret(access), refresh_secret, now + lifetime)


class HubSpotClient(VendorClient):
    """HubSpot CRM contacts over a private-app token or OAuth.

    Args:
        base_url: ``https://api.hubapi.com`` or the sandbox's ``http://HOST:PORT/hubspot``.
        access_token: Private-app token (``pat-...``); exclusive with ``oauth``.
        oauth: OAuth app configuration; exclusive with ``access_token``.
        settings: Versions, limits and batch size.
        transport_config: Timeouts, retries, size bounds, breaker thresholds.
        limiter: Shared rate limiter (default: the process-wide in-memory one).
        breaker: Circuit breaker to share (default: one per client).
        session: HTTP session (default: a new one, closed by `close`).
        clock: Epoch-seconds clock for token expiry (injectable for tests).

    Raises:
        ValueError: Neither or both of ``access_token`` and ``oauth`` given.
    """

    vendor = VENDOR

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        *,
        access_token: Secret | None = None,
        oauth: HubSpotOAuthConfig | None = None,
        settings: HubSpotSettings | None = None,
        transport_config: TransportConfig | None = None,
        limiter: RateLimiter | None = None,
        breaker: CircuitBreaker | None = None,
        session: requests.Session | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if (access_token is None) == (oauth is None):
            raise ValueError("pass exactly one of access_token or oauth")
        self.settings = settings or HubSpotSettings()
        self._endpoints = _Endpoints.for_versions(
            self.settings.crm_version, self.settings.oauth_version
        )
        self._oauth = oauth
        self._clock = clock
        auth: Auth
        if oauth is not None:
            auth = _OAuthBearer(oauth, self._post_token_form, self._endpoints.refresh_token, clock)
        else:
            assert access_token is not None
            auth = BearerTokenAuth(access_token)
        super().__init__(
            base_url=base_url,
            auth=auth,
            table=ResolutionTable(hubspot_rules(self.settings)),
            limits={
                "burst": RateLimit(
                    "burst", self.settings.burst_limit, self.settings.burst_interval_s
                ),
                "search": RateLimit(
                    "search", self.settings.search_limit, self.settings.search_interval_s
                ),
            },
            quota_reader=read_hubspot_quota,
            transport_config=transport_config,
            limiter=limiter,
            breaker=breaker,
            session=session,
        )
        config = self._transport.config
        self._token_transport = self._transport.with_breaker(
            CircuitBreaker(
                f"{VENDOR}-oauth",
                failure_threshold=config.breaker_failure_threshold,
                reset_timeout_s=config.breaker_reset_timeout_s,
            )
        )

    def iter_contacts_modified(
        self, start: datetime, end: datetime, properties: Sequence[str]
    ) -> Iterator[Mapping[str, Any]]:
        """Yield every contact whose ``lastmodifieddate`` is in ``[start, end)``, once.

        Contacts come in ascending ``hs_object_id`` order, as HubSpot's records
        (``id``, ``properties``, ``createdAt``, ``updatedAt``, ``archived``);
        ``hs_object_id`` and ``lastmodifieddate`` are always among the properties.
        Any number of contacts, including more than 10,000 sharing one
        timestamp, is walked without loss, repetition or looping.

        Args:
            start: Inclusive lower bound, timezone-aware.
            end: Exclusive upper bound, timezone-aware, after ``start``.
            properties: Property internal names to fetch.

        Raises:
            InputValidationError: Naive or empty window, bad property name.
            ApiError: The search failed after retries.
        """
        check = Validator(VENDOR, self._endpoints.search_contacts.name)
        start_ms, end_ms = _window_ms(check, start, end)
        names = _property_names(check, [*_ALWAYS_FETCHED, *properties])
        return self._walk_window(start_ms, end_ms, names)

    def _walk_window(
        self, start_ms: int, end_ms: int, names: list[str]
    ) -> Iterator[Mapping[str, Any]]:
        window = [
            {"propertyName": "lastmodifieddate", "operator": "GTE", "value": str(start_ms)},
            {"propertyName": "lastmodifieddate", "operator": "LT", "value": str(end_ms)},
        ]

        def fetch(fields: Mapping[str, Any]) -> Page:
            filters = list(window)
            if fields["after_key"] is not None:
                filters.append(
                    {
                        "propertyName": "hs_object_id",
                        "operator": "GT",
                        "value": str(fields["after_key"]),
                    }
                )
            body: dict[str, Any] = {
                "filterGroups": [{"filters": filters}],
                "sorts": [{"propertyName": "hs_object_id", "direction": "ASCENDING"}],
                "properties": names,
                "limit": SEARCH_PAGE_SIZE,
            }
            if fields["cursor"] is not None:
                body["after"] = fields["cursor"]
            data = self._call_object(self._endpoints.search_contacts, json_body=body)
            return Page(items=list(data.get("results") or []), next_cursor=_next_after(data))

        paginator = KeysetRestartPaginator(SEARCH_PAGE_SIZE, SEARCH_RESULT_CAP, key=_record_id)
        last_id = -1
        pages = iter_pages(fetch, paginator, vendor=VENDOR, operation="search_contacts")
        for page in pages:
            for contact in page.items:
                if _record_id(contact) > last_id:
                    last_id = _record_id(contact)
                    yield contact

    def count_contacts_modified_since(self, since: datetime) -> int:
        """How many contacts have ``lastmodifieddate >= since`` (one cheap search).

        Raises:
            InputValidationError: ``since`` is naive.
            ApiError: The search failed after retries.
        """
        check = Validator(VENDOR, self._endpoints.search_contacts.name)
        since_ms = _epoch_ms(check, since, "since")
        body = {
            "filterGroups": [
                {
                    "filters": [
                        {
                            "propertyName": "lastmodifieddate",
                            "operator": "GTE",
                            "value": str(since_ms),
                        }
                    ]
                }
            ],
            "properties": ["hs_object_id"],
            "limit": 1,
        }
        data = self._call_object(self._endpoints.search_contacts, json_body=body)
        return int(data.get("total") or 0)

    def batch_read_contacts(
        self, ids: Sequence[str], properties: Sequence[str]
    ) -> list[ContactReadResult]:
        """Read contacts by record id, ``batch_size`` per call; one result per input id.

        Repeated ids are read once. Ids HubSpot reports missing (207) get
        ``contact=None`` and its message.

        Raises:
            InputValidationError: A malformed id or property name (nothing sent).
            ApiError: A batch call failed as a whole after retries (``partial``
                holds the results of the batches before it).
        """
        operation = self._endpoints.batch_read_contacts
        check = Validator(VENDOR, operation.name)
        wanted = [
            check.pattern(value, f"ids[{i}]", _RECORD_ID, "a numeric record id")
            for i, value in enumerate(ids)
        ]
        names = _property_names(check, properties)

        def read_batch(batch: list[str]) -> list[ContactReadResult]:
            body = {
                "properties": names,
                "propertiesWithHistory": [],
                "inputs": [{"id": value} for value in batch],
            }
            data = self._call_object(operation, json_body=body)
            found = {str(record.get("id")): record for record in data.get("results") or []}
            missing = {
                value: redact(str(error.get("message") or error.get("category")))
                for error in data.get("errors") or []
                for value in _context_values(error)
            }
            return [
                ContactReadResult(
                    value,
                    found.get(value),
                    None if value in found else missing.get(value, "not returned"),
                )
                for value in batch
            ]

        unique = list(dict.fromkeys(wanted))
        results = run_batches(unique, self.settings.batch_size, read_batch)
        by_id = {result.contact_id: result for result in results}
        return [by_id[value] for value in wanted]

    def batch_upsert_contacts(self, records: Sequence[ContactUpsert]) -> list[UpsertResult]:
        """Create or update contacts by email, ``batch_size`` per call; one result per input.

        Safe to retry: the upsert is keyed by email, so a resent batch sets the
        same values on the same contacts and never duplicates one. A batch
        HubSpot rejects as a whole (400) is split in halves until the rejected
        inputs are isolated; they get ``ok=False`` with HubSpot's message and
        the others are written.

        Raises:
            InputValidationError: A record failed validation, or two share an
                email (nothing sent).
            ApiError: A batch call failed as a whole for another reason
                (``partial`` holds the results of the batches before it).
        """
        check = Validator(VENDOR, self._endpoints.batch_upsert_contacts.name)
        inputs = [_upsert_input(check, record, i) for i, record in enumerate(records)]
        seen: dict[str, int] = {}
        for i, item in enumerate(inputs):
            if item["id"] in seen:
                check.fail(f"records[{i}].email", f"same email as records[{seen[item['id']]}]")
            seen[item["id"]] = i
        return run_batches(inputs, self.settings.batch_size, self._upsert_chunk)

    def _upsert_chunk(self, chunk: list[dict[str, Any]]) -> list[UpsertResult]:
        try:
            data = self._call_object(
                self._endpoints.batch_upsert_contacts, json_body={"inputs": chunk}
            )
        except InvalidRequest as error:
            if len(chunk) == 1:
                return [UpsertResult(chunk[0]["id"], ok=False, error=error.message)]
            middle = len(chunk) // 2
            return self._upsert_chunk(chunk[:middle]) + self._upsert_chunk(chunk[middle:])
        return _upsert_results([item["id"] for item in chunk], data)

    def ensure_contact_properties(self, definitions: Sequence[PropertyDefinition]) -> list[str]:
        """Create the contact properties among ``definitions`` that do not exist yet.

        Idempotent: properties that exist (whatever their definition) are left
        alone, and one that another process creates meanwhile (HubSpot answers
        "already exists") counts as existing.

        Returns:
            The names this call created, in input order.

        Raises:
            InputValidationError: A definition is malformed or two share a name
                (nothing sent).
            InvalidRequest: HubSpot refused to create some properties for another
                reason (its messages name them).
            ApiError: Listing or creating failed after retries.
        """
        operation = self._endpoints.create_contact_properties
        check = Validator(VENDOR, operation.name)
        inputs = [_property_input(check, definition, i) for i, definition in enumerate(definitions)]
        seen: dict[str, int] = {}
        for i, item in enumerate(inputs):
            if item["name"] in seen:
                check.fail(
                    f"definitions[{i}].name", f"same name as definitions[{seen[item['name']]}]"
                )
            seen[item["name"]] = i
        existing = self._contact_property_names()
        missing = [item for item in inputs if item["name"] not in existing]
        return run_batches(missing, BATCH_MAX, self._create_properties)

    def _contact_property_names(self) -> set[str]:
        data = self._call_object(self._endpoints.list_contact_properties)
        return {
            str(item.get("name")) for item in data.get("results") or [] if isinstance(item, dict)
        }

    def _create_properties(self, batch: list[dict[str, Any]]) -> list[str]:
        """Create ``batch``; a whole-batch 409 (some exist by now) is retried once
        with only the properties still missing."""
        operation = self._endpoints.create_contact_properties
        try:
            data = self._call_object(operation, json_body={"inputs": batch})
        except Conflict:
            existing = self._contact_property_names()
            batch = [item for item in batch if item["name"] not in existing]
            if not batch:
                return []
            data = self._call_object(operation, json_body={"inputs": batch})
        created = {
            str(item.get("name")) for item in data.get("results") or [] if isinstance(item, dict)
        }
        refused = [
            error
            for error in data.get("errors") or []
            if isinstance(error, dict) and error.get("category") not in _ALREADY_EXISTS
        ]
        if refused:
            raise InvalidRequest(
                "properties not created: "
                + "; ".join(
                    str(error.get("message") or error.get("category")) for error in refused
                ),
                vendor=VENDOR,
                operation=operation.name,
            )
        return [item["name"] for item in batch if item["name"] in created]

    def authorization_url(
        self, state: str, scopes: Sequence[str], redirect_uri: str | None = None
    ) -> str:
        """The URL to send a user to for granting ``scopes`` (OAuth clients only).

        Args:
            state: Unguessable CSRF token, checked on the redirect back.
            scopes: Scopes requested, e.g. ``["crm.objects.contacts.read"]``.
            redirect_uri: Overrides the configured redirect URI.
        """
        oauth = self._require_oauth("authorization_url")
        if not state:
            raise ValueError("state must be a non-empty CSRF token")
        query = urlencode(
            {
                "client_id": oauth.client_id,
                "redirect_uri": redirect_uri or oauth.redirect_uri,
                "scope": " ".join(scopes),
                "state": state,
            },
            quote_via=quote,
        )
        return f"{oauth.authorize_url}?{query}"

    def exchange_code(self, code: str, redirect_uri: str | None = None) -> OAuthTokens:
        """Trade an authorization code for tokens, persist them and return them.

        Not retried after an ambiguous failure: a code works once.

        Raises:
            AuthError: The code was rejected (``invalid_grant``) or OAuth is not configured.
            ApiError: The token endpoint failed.
        """
        oauth = self._require_oauth("exchange_code")
        answer = self._post_token_form(
            self._endpoints.exchange_code,
            {
                "grant_type": "authorization_code",
                "client_id": oauth.client_id,
                "client_secret": oauth.client_secret.reveal(),
                "redirect_uri": redirect_uri or oauth.redirect_uri,
                "code": code,
            },
        )
        tokens = _tokens_from(answer, self._clock(), None, self._endpoints.exchange_code.name)
        oauth.token_store.save(oauth.key, tokens)
        return tokens

    def check_health(self) -> HealthReport:
        """Probe ``GET /crm/{v}/objects/contacts?limit=1`` with our credential."""
        report, _ = self._probe(self._endpoints.list_contacts, {"limit": 1, "archived": "false"})
        return report

    def _post_token_form(self, operation: Operation, form: Mapping[str, str]) -> Mapping[str, Any]:
        return self._call_object(
            operation, transport=self._token_transport, form=form, auth=NoAuth()
        )

    def _require_oauth(self, operation: str) -> HubSpotOAuthConfig:
        if self._oauth is None:
            raise AuthError(
                "OAuth is not configured for this client", vendor=VENDOR, operation=operation
            )
        return self._oauth


def _record_id(record: Mapping[str, Any]) -> int:
    return int(record["id"])


def _next_after(data: Mapping[str, Any]) -> str | None:
    after = ((data.get("paging") or {}).get("next") or {}).get("after")
    return str(after) if after is not None else None


def _epoch_ms(check: Validator, moment: datetime, field: str) -> int:
    if moment.tzinfo is None or moment.utcoffset() is None:
        check.fail(field, "must be timezone-aware")
    return int(moment.timestamp() * 1000)


def _window_ms(check: Validator, start: datetime, end: datetime) -> tuple[int, int]:
    start_ms, end_ms = _epoch_ms(check, start, "start"), _epoch_ms(check, end, "end")
    if end_ms <= start_ms:
        check.fail("end", "must be after start")
    return start_ms, end_ms


def _property_names(check: Validator, names: Sequence[str]) -> list[str]:
    for i, name in enumerate(names):
        check.pattern(name, f"properties[{i}]", _PROPERTY_NAME, "a property internal name")
    return list(dict.fromkeys(names))


def _upsert_input(check: Validator, record: ContactUpsert, index: int) -> dict[str, Any]:
    field = f"records[{index}]"
    email = check.email(record.email, f"{field}.email")
    properties: dict[str, str] = {}
    for name, value in check.mapping(record.properties, f"{field}.properties").items():
        check.pattern(name, f"{field}.properties", _PROPERTY_NAME, "property internal names")
        properties[name] = check.text(
            as_text(value),
            f"{field}.properties.{name}",
            max_length=PROPERTY_VALUE_MAX,
            multiline=True,
        )
    properties["email"] = email
    return {"id": email, "idProperty": "email", "properties": properties}


def _property_input(check: Validator, definition: PropertyDefinition, index: int) -> dict[str, Any]:
    """HubSpot's create body for ``definition``, validated."""
    field = f"definitions[{index}]"
    name = check.pattern(
        definition.name,
        f"{field}.name",
        _NEW_PROPERTY_NAME,
        "lowercase letters, digits and _, starting with a letter",
    )
    if definition.type not in FIELD_TYPES:
        check.fail(f"{field}.type", f"must be one of {', '.join(FIELD_TYPES)}")
    if definition.field_type not in FIELD_TYPES[definition.type]:
        allowed = ", ".join(sorted(FIELD_TYPES[definition.type]))
        check.fail(f"{field}.field_type", f"must be one of {allowed} for {definition.type}")
    body: dict[str, Any] = {
        "name": name,
        "label": check.required_text(definition.label, f"{field}.label", max_length=_LABEL_MAX),
        "type": definition.type,
        "fieldType": definition.field_type,
        "groupName": check.pattern(
            definition.group_name, f"{field}.group_name", _NEW_PROPERTY_NAME, "a group name"
        ),
    }
    if definition.description:
        body["description"] = check.text(
            definition.description, f"{field}.description", max_length=_DESCRIPTION_MAX
        )
    if (definition.type == "enumeration") != bool(definition.options):
        check.fail(f"{field}.options", "are required for enumerations and only for them")
    if definition.options:
        body["options"] = [
            {
                "label": check.required_text(
                    label, f"{field}.options[{order}].label", max_length=_LABEL_MAX
                ),
                "value": check.pattern(
                    value, f"{field}.options[{order}].value", _OPTION_VALUE, "an option value"
                ),
                "displayOrder": order,
                "hidden": False,
            }
            for order, (label, value) in enumerate(definition.options)
        ]
    return body


def _upsert_results(emails: list[str], data: Mapping[str, Any]) -> list[UpsertResult]:
    """Map a 200/207 batch upsert answer back to its inputs by email."""
    by_email: dict[str, UpsertResult] = {}
    for record in data.get("results") or []:
        email = str((record.get("properties") or {}).get("email") or "").lower()
        if email:
            by_email[email] = UpsertResult(
                email, ok=True, contact_id=str(record.get("id")), created=record.get("new")
            )
    for error in data.get("errors") or []:
        message = redact(str(error.get("message") or "rejected"))
        keys = {value.lower() for value in _context_values(error)}
        keys |= {email for email in emails if email in message.lower()}
        for email in keys & set(emails):
            by_email.setdefault(
                email,
                UpsertResult(email, ok=False, error=message, category=error.get("category")),
            )
    return [
        by_email.get(email, UpsertResult(email, ok=False, error="no per-record result returned"))
        for email in emails
    ]


def _context_values(error: Mapping[str, Any]) -> list[str]:
    """All string values listed in a batch error's ``context`` (ids or emails)."""
    context = error.get("context") or {}
    values: list[str] = []
    for listed in context.values() if isinstance(context, dict) else []:
        if isinstance(listed, list):
            values.extend(str(v) for v in listed)
        elif isinstance(listed, str):
            values.append(listed)
    return values


__all__ = [
    "BATCH_MAX",
    "DEFAULT_AUTHORIZE_URL",
    "DEFAULT_BASE_URL",
    "FIELD_TYPES",
    "SEARCH_PAGE_SIZE",
    "SEARCH_RESULT_CAP",
    "ContactReadResult",
    "ContactUpsert",
    "HubSpotClient",
    "HubSpotOAuthConfig",
    "HubSpotSettings",
    "InMemoryTokenStore",
    "OAuthTokens",
    "PropertyDefinition",
    "TokenStore",
    "UpsertResult",
    "hubspot_rules",
    "read_hubspot_quota",
]
