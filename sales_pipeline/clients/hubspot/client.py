"""HubSpot CRM client: contact search, batch read/upsert, properties, private-app and OAuth auth.

Dialect notes (see shared/api-facts/hubspot.md); the details live next to the
code that handles them:

* search walks windows past HubSpot's 10,000-result cap by keyset (`search`);
* search has its own 5 requests/second limit. We count each search against
  both that limit and the 10-second burst limit: whether HubSpot counts it
  against the burst is not documented, and counting it twice can only make
  us slower, never a cause of 429s;
* batch endpoints take at most 100 inputs and a 207 carries per-input errors (`batch`);
* 429s name their policy, and each policy has its own wait (`rules`);
* OAuth tokens are refreshed ahead of expiry and persisted (`oauth`);
* custom contact properties are created with `HubSpotClient.ensure_contact_properties`
  before anything writes them (`properties`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

import urllib3

from sales_pipeline.clients.auth import Auth, BearerTokenAuth, NoAuth
from sales_pipeline.clients.base import HealthReport, VendorClient, run_batches
from sales_pipeline.clients.breaker import CircuitBreaker
from sales_pipeline.clients.errors import AuthError, Conflict, InvalidRequest
from sales_pipeline.clients.hubspot import batch, search
from sales_pipeline.clients.hubspot import properties as contact_properties
from sales_pipeline.clients.hubspot.contacts import CONTACT_PROPERTIES, read_contact
from sales_pipeline.clients.hubspot.endpoints import (
    BATCH_MAX,
    DEFAULT_BASE_URL,
    VENDOR,
    HubSpotEndpoints,
    oauth_version_warning,
)
from sales_pipeline.clients.hubspot.models import (
    ContactReadResult,
    ContactUpsert,
    HubSpotSettings,
    PropertyDefinition,
    UpsertResult,
)
from sales_pipeline.clients.hubspot.oauth import (
    HubSpotOAuthConfig,
    OAuthBearer,
    OAuthTokens,
    authorization_url,
    tokens_from,
)
from sales_pipeline.clients.hubspot.rules import hubspot_rules, read_hubspot_quota
from sales_pipeline.clients.ratelimit import RateLimit, RateLimiter
from sales_pipeline.clients.resolution import ResolutionTable
from sales_pipeline.clients.secret import Secret
from sales_pipeline.clients.transport import Operation, TransportConfig
from sales_pipeline.clients.validation import Validator
from sales_pipeline.domain.sources import Contact


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
        http: urllib3 pool manager to send through (default: a new one, cleared by `close`).
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
        http: urllib3.PoolManager | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if (access_token is None) == (oauth is None):
            raise ValueError("pass exactly one of access_token or oauth")
        self.settings = settings or HubSpotSettings()
        self._endpoints = HubSpotEndpoints.for_versions(
            self.settings.crm_version, self.settings.oauth_version
        )
        self._oauth = oauth
        self._clock = clock
        auth: Auth
        if oauth is not None:
            auth = OAuthBearer(oauth, self._post_token_form, self._endpoints.refresh_token, clock)
        else:
            assert access_token is not None
            auth = BearerTokenAuth(access_token)
        super().__init__(
            api_versions={
                "crm": self._endpoints.crm_version,
                "oauth": self._endpoints.oauth_version,
            },
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
            http=http,
        )
        config = self._transport.config
        self._token_transport = self._transport.with_breaker(
            CircuitBreaker(
                f"{VENDOR}-oauth",
                failure_threshold=config.breaker_failure_threshold,
                reset_timeout_s=config.breaker_reset_timeout_s,
            )
        )

    def version_warnings(self) -> list[str]:
        """A warning when this OAuth client uses a deprecated OAuth version (see
        `oauth_version_warning`); private-app clients never call the token endpoint."""
        warning = oauth_version_warning(self._endpoints.oauth_version)
        return [warning] if warning is not None and self._oauth is not None else []

    def iter_contacts_modified(
        self, start: datetime, end: datetime, properties: Sequence[str]
    ) -> Iterator[Mapping[str, Any]]:
        """Yield every contact whose ``lastmodifieddate`` is in ``[start, end)``, once.

        Contacts come in ascending ``hs_object_id`` order, as HubSpot's records
        (``id``, ``properties``, ``createdAt``, ``updatedAt``, ``archived``);
        ``hs_object_id`` and ``lastmodifieddate`` are always among the properties.
        Any number of contacts, including more than 10,000 sharing one
        timestamp, is walked without loss, repetition or looping, with up to
        `concurrency` search pages in flight (see `search`).

        Args:
            start: Inclusive lower bound, timezone-aware.
            end: Exclusive upper bound, timezone-aware, after ``start``.
            properties: Property internal names to fetch.

        Raises:
            InputValidationError: Naive or empty window, bad property name.
            ApiError: The search failed after retries.
        """
        check = Validator(VENDOR, self._endpoints.search_contacts.name)
        start_ms, end_ms = search.window_ms(check, start, end)
        names = search.property_names(check, [*search.ALWAYS_FETCHED, *properties])
        return search.walk_window(self._search, start_ms, end_ms, names, self.concurrently)

    def iter_contacts(self, start: datetime, end: datetime) -> Iterator[Contact]:
        """Every contact modified in ``[start, end)``, once, as a `Contact`
        (see `iter_contacts_modified` for the walk and `read_contact` for the reading).

        Raises:
            InputValidationError: Naive or empty window.
            ApiError: The search failed after retries.
        """
        return map(read_contact, self.iter_contacts_modified(start, end, CONTACT_PROPERTIES))

    def count_contacts_modified_since(self, since: datetime) -> int:
        """How many contacts have ``lastmodifieddate >= since`` (one cheap search).

        Raises:
            InputValidationError: ``since`` is naive.
            ApiError: The search failed after retries.
        """
        check = Validator(VENDOR, self._endpoints.search_contacts.name)
        since_ms = search.epoch_ms(check, since, "since")
        data = self._search(search.count_body(since_ms))
        return int(data.get("total") or 0)

    def batch_read_contacts(
        self, ids: Sequence[str], properties: Sequence[str]
    ) -> list[ContactReadResult]:
        """Read contacts by record id, ``batch_size`` per call; one result per input id.

        Repeated ids are read once. Ids HubSpot reports missing (207) get
        ``properties=None`` and its message.

        Raises:
            InputValidationError: A malformed id or property name (nothing sent).
            ApiError: A batch call failed as a whole after retries (``partial``
                holds the results of the batches before it).
        """
        operation = self._endpoints.batch_read_contacts
        check = Validator(VENDOR, operation.name)
        wanted = [
            check.pattern(value, f"ids[{i}]", batch.RECORD_ID, "a numeric record id")
            for i, value in enumerate(ids)
        ]
        names = search.property_names(check, properties)

        def read_batch(ids_batch: list[str]) -> list[ContactReadResult]:
            data = self._call_object(operation, json_body=batch.read_body(ids_batch, names))
            return batch.read_results(ids_batch, data)

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
        inputs = [batch.upsert_input(check, record, i) for i, record in enumerate(records)]
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
        missing = batch.unkeyed_ids(data)
        read_back = self._emails_by_id(missing) if missing else {}
        return batch.upsert_results([item["id"] for item in chunk], data, read_back)

    def _emails_by_id(self, ids: list[str]) -> dict[str, str]:
        """The emails of contacts ``ids`` (one batch read: they are at most one batch)."""
        body = batch.read_body(ids, ["email"])
        return batch.emails_by_id(
            self._call_object(self._endpoints.batch_read_contacts, json_body=body)
        )

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
        inputs = [
            contact_properties.property_input(check, definition, i)
            for i, definition in enumerate(definitions)
        ]
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
        return contact_properties.names_in(
            self._call_object(self._endpoints.list_contact_properties)
        )

    def _create_properties(self, inputs: list[dict[str, Any]]) -> list[str]:
        """Create ``inputs``; a whole-batch 409 (some exist by now) is retried once
        with only the properties still missing."""
        operation = self._endpoints.create_contact_properties
        try:
            data = self._call_object(operation, json_body={"inputs": inputs})
        except Conflict:
            existing = self._contact_property_names()
            inputs = [item for item in inputs if item["name"] not in existing]
            if not inputs:
                return []
            data = self._call_object(operation, json_body={"inputs": inputs})
        created = contact_properties.names_in(data)
        refused = contact_properties.refused(data)
        if refused:
            raise InvalidRequest(
                "properties not created: "
                + "; ".join(
                    str(error.get("message") or error.get("category")) for error in refused
                ),
                vendor=VENDOR,
                operation=operation.name,
            )
        return [item["name"] for item in inputs if item["name"] in created]

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
        return authorization_url(oauth, state, scopes, redirect_uri)

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
        tokens = tokens_from(answer, self._clock(), None, self._endpoints.exchange_code.name)
        oauth.token_store.save(oauth.key, tokens)
        return tokens

    def check_health(self) -> HealthReport:
        """Probe ``GET /crm/{v}/objects/contacts?limit=1`` with our credential."""
        report, _ = self._probe(self._endpoints.list_contacts, {"limit": 1, "archived": "false"})
        return report

    def _search(self, body: dict[str, Any]) -> Mapping[str, Any]:
        return self._call_object(self._endpoints.search_contacts, json_body=body)

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
