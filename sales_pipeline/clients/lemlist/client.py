"""Lemlist client: campaigns, adding leads idempotently, unsubscribes, activities.

Dialect notes (see shared/api-facts/lemlist.md):

* Auth is HTTP Basic with an empty user name and the key as password; the
  ``?access_token=`` form is never used.
* Errors are ``text/plain``. Adding a lead that is already in the campaign
  answers 400 "Lead already in the campaign": that is the
  ``ALREADY_IN_CAMPAIGN`` outcome, which is what makes a resent add safe.
  409 "Lead already in other campaign" (``deduplicate=true``) and 400
  "Invalid email address" / graveyard / invalid LinkedIn are outcomes too.
* Limit: 20 requests per 2 s per key. ``X-RateLimit-Reset`` is a
  human-readable date and is never parsed; ``Retry-After`` and the
  Remaining/Limit pair are.
* Lists page by ``offset``/``limit`` (<= 100); campaigns come either as a bare
  array or, with ``version=v2``, as ``{"campaigns": [...], "pagination": {...}}``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import urllib3

from sales_pipeline.clients.auth import BasicPasswordAuth
from sales_pipeline.clients.base import HealthReport, VendorClient
from sales_pipeline.clients.breaker import CircuitBreaker
from sales_pipeline.clients.lemlist.answers import activity, campaign, lead_membership, unsubscribe
from sales_pipeline.clients.lemlist.endpoints import (
    CAMPAIGN_STATUSES,
    DEFAULT_BASE_URL,
    VENDOR,
    LemlistEndpoints,
)
from sales_pipeline.clients.lemlist.leads import ACTIVITY_TYPE, CAMPAIGN_ID, lead_body
from sales_pipeline.clients.lemlist.models import (
    Activity,
    AddLeadOutcome,
    AddLeadResult,
    Campaign,
    Hook,
    LeadMembership,
    LemlistSettings,
    Unsubscribe,
)
from sales_pipeline.clients.lemlist.rules import lemlist_quota_reader, lemlist_rules
from sales_pipeline.clients.pagination import OffsetPaginator, Page, iter_pages
from sales_pipeline.clients.ratelimit import RateLimit, RateLimiter
from sales_pipeline.clients.redaction import redact
from sales_pipeline.clients.resolution import ResolutionTable
from sales_pipeline.clients.secret import Secret
from sales_pipeline.clients.transport import Operation, QueryValue, TransportConfig
from sales_pipeline.clients.validation import Validator

_REASON_MAX = 200


class LemlistClient(VendorClient):
    """Lemlist campaigns, leads, unsubscribes and activities.

    Args:
        base_url: ``https://api.lemlist.com/api`` or the sandbox's ``http://HOST:PORT/lemlist/api``.
        api_key: The API key (sent as the Basic-auth password with an empty user).
        settings: API version, limits, page size.
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
        settings: LemlistSettings | None = None,
        transport_config: TransportConfig | None = None,
        limiter: RateLimiter | None = None,
        breaker: CircuitBreaker | None = None,
        http: urllib3.PoolManager | None = None,
    ) -> None:
        self.settings = settings or LemlistSettings()
        self._endpoints = LemlistEndpoints.for_version(self.settings.api_version)
        super().__init__(
            api_versions={"api": self._endpoints.version},
            base_url=base_url,
            auth=BasicPasswordAuth(api_key),
            table=ResolutionTable(lemlist_rules(self.settings)),
            limits={
                "default": RateLimit(
                    "default", self.settings.requests_per_window, self.settings.window_s
                )
            },
            quota_reader=lemlist_quota_reader(self.settings.window_s),
            transport_config=transport_config,
            limiter=limiter,
            breaker=breaker,
            http=http,
        )

    def list_campaigns(self, status: str | None = None) -> list[Campaign]:
        """Every campaign (all pages), optionally only those in ``status``; records without an
        id are left out.

        Raises:
            InputValidationError: Unknown ``status`` (nothing sent).
            ApiError: A page failed after retries.
        """
        params: dict[str, QueryValue] = {}
        if status is not None:
            if status not in CAMPAIGN_STATUSES:
                Validator(VENDOR, "list_campaigns").fail(
                    "status", f"must be one of {', '.join(sorted(CAMPAIGN_STATUSES))}"
                )
            params["status"] = status
        records = self._iter_offset(self._endpoints.list_campaigns, params, page_key="page")
        return [found for record in records if (found := campaign(record)) is not None]

    def add_lead_to_campaign(
        self, campaign_id: str, lead: Mapping[str, Any], deduplicate: bool = False
    ) -> AddLeadResult:
        """Add one lead to a campaign; resending the same lead is safe.

        Args:
            campaign_id: ``cam_...`` id.
            lead: Standard fields (``email`` required; see `LEAD_FIELDS`) and an
                optional ``variables`` mapping of custom variables, whose values
                are sent as strings. Any other key is rejected.
            deduplicate: Do not add a lead present in another campaign
                (answers ``IN_OTHER_CAMPAIGN``).

        Returns:
            ``ADDED`` (with the lead id), ``ALREADY_IN_CAMPAIGN``,
            ``IN_OTHER_CAMPAIGN`` or ``REJECTED`` (with Lemlist's reason).

        Raises:
            InputValidationError: The lead failed validation (nothing sent).
            NotFound: The campaign does not exist.
            ApiError: Any other failure after retries.
        """
        operation = self._endpoints.add_lead_to_campaign
        check = Validator(VENDOR, operation.name)
        campaign = check.pattern(campaign_id, "campaign_id", CAMPAIGN_ID, "a cam_... id")
        body = lead_body(check, lead)
        reply = self._transport.call(
            operation,
            path_params={"campaign_id": campaign},
            params={"deduplicate": "true" if deduplicate else "false"},
            json_body=body,
        )
        if reply.outcome is None:
            lead_id = reply.data.get("_id") if isinstance(reply.data, dict) else None
            return AddLeadResult(AddLeadOutcome.ADDED, lead_id=lead_id)
        outcome = AddLeadOutcome(reply.outcome)
        reason = (
            redact(reply.text.strip()[:_REASON_MAX]) if outcome is AddLeadOutcome.REJECTED else None
        )
        lost = outcome is AddLeadOutcome.ALREADY_IN_CAMPAIGN and reply.after_uncertain_attempt
        return AddLeadResult(outcome, reason=reason, after_lost_attempt=lost)

    def get_lead(self, email: str) -> list[LeadMembership] | None:
        """The lead's campaign memberships, or ``None`` if Lemlist has no such lead.

        Raises:
            InputValidationError: ``email`` is not a valid address (nothing sent).
            ApiError: The call failed after retries.
        """
        operation = self._endpoints.get_lead
        address = Validator(VENDOR, operation.name).email(email, "email")
        reply = self._transport.call(
            operation,
            path_params={"email": address},
        )
        if reply.outcome == "not_found":
            return None
        data = reply.data
        rows = [data] if isinstance(data, dict) else [r for r in data or [] if isinstance(r, dict)]
        return [lead_membership(row) for row in rows]

    def lead_id_in_campaign(self, email: str, campaign_id: str) -> str | None:
        """Lemlist's ``lea_...`` id of the lead ``email`` in ``campaign_id``, or ``None`` when
        the lead is not in that campaign."""
        for membership in self.get_lead(email) or []:
            if membership.campaign_id == campaign_id and membership.lead_id is not None:
                return membership.lead_id
        return None

    def iter_unsubscribes(self) -> Iterator[Unsubscribe]:
        """Every unsubscribe entry (an email or ``@domain``); all pages. Entries whose value is
        neither are left out (Lemlist validates them, so none are expected)."""
        for record in self._iter_offset(self._endpoints.list_unsubscribes, {}):
            found = unsubscribe(record)
            if found is not None:
                yield found

    def iter_activities(
        self,
        since: datetime,
        type: str | None = None,
        campaign_id: str | None = None,
    ) -> Iterator[Activity]:
        """Every activity created at or after ``since``; all pages (``version=v2``).

        Args:
            since: Timezone-aware lower bound, sent as ``minDate``.
            type: Activity type filter, e.g. ``"emailsReplied"``.
            campaign_id: ``cam_...`` filter.

        Raises:
            InputValidationError: Naive ``since`` or malformed filter (nothing sent).
            ApiError: A page failed after retries.
        """
        check = Validator(VENDOR, self._endpoints.list_activities.name)
        if since.tzinfo is None or since.utcoffset() is None:
            check.fail("since", "must be timezone-aware")
        params: dict[str, QueryValue] = {
            "minDate": since.astimezone(UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
        }
        if type is not None:
            params["type"] = check.pattern(type, "type", ACTIVITY_TYPE, "an activity type")
        if campaign_id is not None:
            params["campaignId"] = check.pattern(
                campaign_id, "campaign_id", CAMPAIGN_ID, "a cam_... id"
            )
        return map(activity, self._iter_offset(self._endpoints.list_activities, params))

    def list_hooks(self) -> list[Hook]:
        """Every webhook of the team."""
        data = self._transport.call(self._endpoints.list_hooks).data
        return [hook for row in data or [] if (hook := _hook(row)) is not None]

    def create_hook(self, target_url: str, secret: Secret) -> Hook | None:
        """Register a webhook for every event, which Lemlist sends with ``secret`` in its
        payload; the new hook (None if the answer does not describe it). Not idempotent:
        look for the URL in `list_hooks` first."""
        reply = self._transport.call(
            self._endpoints.create_hook,
            json_body={"targetUrl": target_url, "secret": secret.reveal()},
        )
        return _hook(reply.data)

    def check_health(self) -> HealthReport:
        """Probe ``GET /campaigns?version=v2&limit=1`` with our key."""
        report, _ = self._probe(self._endpoints.list_campaigns, {"limit": 1})
        return report

    def _iter_offset(
        self,
        operation: Operation,
        params: Mapping[str, QueryValue],
        page_key: str | None = None,
    ) -> Iterator[Mapping[str, Any]]:
        """Items of every offset page, reading bare arrays and ``v2`` envelopes.

        A page that brings no item not seen before ends the walk, so a server
        ignoring ``offset`` cannot make it loop.
        """
        seen: set[str] = set()

        def fetch(fields: Mapping[str, Any]) -> Page:
            data = self._transport.call(operation, params={**params, **fields}).data
            items, has_more = _page_items(data)
            ids = {str(item.get("_id")) for item in items if item.get("_id") is not None}
            if ids and ids <= seen:
                return Page(items=[], has_more=False)
            seen.update(ids)
            return Page(items=items, has_more=has_more)

        paginator = OffsetPaginator(self.settings.page_size, page_key=page_key)
        for page in iter_pages(fetch, paginator, vendor=VENDOR, operation=operation.name):
            yield from page.items


def _page_items(data: Any) -> tuple[list[Mapping[str, Any]], bool | None]:
    """``(items, has_more)`` from a bare array or a ``{"<name>": [...], "pagination"}`` object."""
    if isinstance(data, list):
        return [row for row in data if isinstance(row, dict)], None
    if not isinstance(data, dict):
        return [], False
    rows = next((value for value in data.values() if isinstance(value, list)), [])
    pagination = data.get("pagination")
    has_more: bool | None = None
    if isinstance(pagination, dict):
        current, total = pagination.get("currentPage"), pagination.get("totalPage")
        if isinstance(current, int) and isinstance(total, int):
            has_more = current < total
    return [row for row in rows if isinstance(row, dict)], has_more


def _hook(row: Any) -> Hook | None:
    """A hook as Lemlist lists it (``_id``, ``targetUrl``), or None for anything else."""
    if not isinstance(row, dict):
        return None
    hook_id, target = row.get("_id"), row.get("targetUrl")
    return Hook(hook_id, target) if isinstance(hook_id, str) and isinstance(target, str) else None
