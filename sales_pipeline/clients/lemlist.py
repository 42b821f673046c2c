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

import re
import zoneinfo
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Any

import requests

from sales_pipeline.clients.auth import BasicPasswordAuth
from sales_pipeline.clients.base import HealthReport, VendorClient
from sales_pipeline.clients.breaker import CircuitBreaker
from sales_pipeline.clients.errors import AuthError, RateLimited
from sales_pipeline.clients.pagination import OffsetPaginator, Page, iter_pages
from sales_pipeline.clients.ratelimit import QuotaReading, RateLimit, RateLimiter
from sales_pipeline.clients.redaction import redact
from sales_pipeline.clients.resolution import Action, ResolutionTable, Rule, retry_after_or
from sales_pipeline.clients.secret import Secret
from sales_pipeline.clients.transport import Operation, QueryValue, QuotaReader, TransportConfig
from sales_pipeline.clients.validation import Validator, as_text

VENDOR = "lemlist"
DEFAULT_BASE_URL = "https://api.lemlist.com/api"
PAGE_MAX = 100
CAMPAIGN_STATUSES = frozenset({"running", "draft", "archived", "ended", "paused", "errors"})

_CAMPAIGN_ID = re.compile(r"cam_[A-Za-z0-9]{1,64}")
_PHONE = re.compile(r"\+?[0-9 ().-]{6,25}")
_VARIABLE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")
_ACTIVITY_TYPE = re.compile(r"[A-Za-z]{1,64}")
_VARIABLE_MAX = 1000
_REASON_MAX = 200

LEAD_FIELDS = (
    "email",
    "firstName",
    "lastName",
    "companyName",
    "jobTitle",
    "linkedinUrl",
    "picture",
    "phone",
    "companyDomain",
    "icebreaker",
    "timezone",
    "contactOwner",
)
"""Standard lead fields; custom variables go under the ``variables`` key."""


@dataclass(frozen=True)
class LemlistSettings:
    """Lemlist tuning; defaults are the published values.

    Attributes:
        api_version: Value of the ``version`` query parameter (``v2``).
        requests_per_window: Requests allowed per window (20).
        window_s: Window length (2 s).
        page_size: Items per list page (1..100).
        rate_limited_wait_s: Wait after a 429 without ``Retry-After``.
    """

    api_version: str = "v2"
    requests_per_window: int = 20
    window_s: float = 2.0
    page_size: int = PAGE_MAX
    rate_limited_wait_s: float = 2.0

    def __post_init__(self) -> None:
        if not 1 <= self.page_size <= PAGE_MAX:
            raise ValueError(f"page_size must be within 1..{PAGE_MAX}")


class AddLeadOutcome(Enum):
    """What adding a lead to a campaign did."""

    ADDED = "added"
    ALREADY_IN_CAMPAIGN = "already_in_campaign"
    IN_OTHER_CAMPAIGN = "in_other_campaign"
    REJECTED = "rejected"


@dataclass(frozen=True)
class AddLeadResult:
    """The outcome of `LemlistClient.add_lead_to_campaign`.

    Attributes:
        outcome: See `AddLeadOutcome`.
        lead_id: Lemlist's ``lea_...`` id when ``ADDED``.
        reason: Lemlist's text (redacted, bounded) when ``REJECTED``.
    """

    outcome: AddLeadOutcome
    lead_id: str | None = None
    reason: str | None = None


class _Endpoints:
    """Every Lemlist endpoint this client calls, in one place (below ``/api``)."""

    list_campaigns = Operation("list_campaigns", "GET", "/campaigns")
    add_lead_to_campaign = Operation(
        "add_lead_to_campaign",
        "POST",
        "/campaigns/{campaign_id}/leads/",
        idempotency=(
            "a resend after the lead was added answers 400 'Lead already in the campaign', "
            "which resolves to ALREADY_IN_CAMPAIGN: no duplicate lead"
        ),
    )
    get_lead = Operation("get_lead", "GET", "/leads/{email}")
    list_unsubscribes = Operation("list_unsubscribes", "GET", "/unsubscribes")
    list_activities = Operation("list_activities", "GET", "/activities")
    list_hooks = Operation("list_hooks", "GET", "/hooks")
    create_hook = Operation("create_hook", "POST", "/hooks", idempotency=None)


_ADD = frozenset({_Endpoints.add_lead_to_campaign.name})


def lemlist_rules(settings: LemlistSettings) -> tuple[Rule, ...]:
    """Lemlist's rows of the resolution table (placed before the common rows)."""
    return (
        Rule(
            Action.FAIL,
            statuses={400, 401, 403, 404},
            text_contains=(
                "no api key provided",
                "authentication you supplied is incorrect",
                "user linked to this api key is blocked",
                "no user found for this api key",
            ),
            error=AuthError,
            reason="API key rejected",
        ),
        Rule(
            Action.OK,
            statuses={400},
            operations=_ADD,
            text_contains=("already in the campaign",),
            outcome=AddLeadOutcome.ALREADY_IN_CAMPAIGN.value,
        ),
        Rule(
            Action.OK,
            statuses={409},
            operations=_ADD,
            outcome=AddLeadOutcome.IN_OTHER_CAMPAIGN.value,
        ),
        Rule(
            Action.OK,
            statuses={400},
            operations=_ADD,
            text_contains=("invalid email", "graveyard", "invalid linkedin"),
            outcome=AddLeadOutcome.REJECTED.value,
        ),
        Rule(
            Action.OK,
            statuses={404},
            operations=frozenset({_Endpoints.get_lead.name}),
            outcome="not_found",
        ),
        Rule(
            Action.RATE_LIMITED,
            statuses={429},
            error=RateLimited,
            wait=retry_after_or(settings.rate_limited_wait_s),
            write_safe=True,
            reason="rate limited (requests per 2 s)",
        ),
    )


def lemlist_quota_reader(window_s: float) -> QuotaReader:
    """Reads ``X-RateLimit-Remaining``/``-Limit``; the Reset date string is ignored."""

    def read(headers: Mapping[str, str]) -> QuotaReading | None:
        remaining = headers.get("X-RateLimit-Remaining", "")
        limit = headers.get("X-RateLimit-Limit", "")
        if not (remaining.isdigit() and limit.isdigit()):
            return None
        return QuotaReading("default", int(remaining), int(limit), window_s)

    return read


class LemlistClient(VendorClient):
    """Lemlist campaigns, leads, unsubscribes and activities.

    Args:
        base_url: ``https://api.lemlist.com/api`` or the sandbox's ``http://HOST:PORT/lemlist/api``.
        api_key: The API key (sent as the Basic-auth password with an empty user).
        settings: API version, limits, page size.
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
        settings: LemlistSettings | None = None,
        transport_config: TransportConfig | None = None,
        limiter: RateLimiter | None = None,
        breaker: CircuitBreaker | None = None,
        session: requests.Session | None = None,
    ) -> None:
        self.settings = settings or LemlistSettings()
        self._endpoints = _Endpoints()
        super().__init__(
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
            session=session,
        )

    def list_campaigns(self, status: str | None = None) -> list[Mapping[str, Any]]:
        """Every campaign (all pages), optionally only those in ``status``.

        Raises:
            InputValidationError: Unknown ``status`` (nothing sent).
            ApiError: A page failed after retries.
        """
        params: dict[str, QueryValue] = {"version": self.settings.api_version}
        if status is not None:
            if status not in CAMPAIGN_STATUSES:
                Validator(VENDOR, "list_campaigns").fail(
                    "status", f"must be one of {', '.join(sorted(CAMPAIGN_STATUSES))}"
                )
            params["status"] = status
        return list(self._iter_offset(self._endpoints.list_campaigns, params, page_key="page"))

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
        campaign = check.pattern(campaign_id, "campaign_id", _CAMPAIGN_ID, "a cam_... id")
        body = _lead_body(check, lead)
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
        return AddLeadResult(outcome, reason=reason)

    def get_lead(self, email: str) -> list[Mapping[str, Any]] | None:
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
            params={"version": self.settings.api_version},
        )
        if reply.outcome == "not_found":
            return None
        data = reply.data
        return (
            [data]
            if isinstance(data, dict)
            else [row for row in data or [] if isinstance(row, dict)]
        )

    def iter_unsubscribes(self) -> Iterator[Mapping[str, Any]]:
        """Every unsubscribe record (``value`` is an email or ``@domain``); all pages."""
        return self._iter_offset(self._endpoints.list_unsubscribes, {})

    def iter_activities(
        self,
        since: datetime,
        type: str | None = None,
        campaign_id: str | None = None,
    ) -> Iterator[Mapping[str, Any]]:
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
            "version": self.settings.api_version,
            "minDate": since.astimezone(UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
        }
        if type is not None:
            params["type"] = check.pattern(type, "type", _ACTIVITY_TYPE, "an activity type")
        if campaign_id is not None:
            params["campaignId"] = check.pattern(
                campaign_id, "campaign_id", _CAMPAIGN_ID, "a cam_... id"
            )
        return self._iter_offset(self._endpoints.list_activities, params)

    def list_hooks(self) -> list[Mapping[str, Any]]:
        """Every webhook of the team (``_id``, ``targetUrl``, ...; Lemlist never returns
        secrets)."""
        data = self._transport.call(self._endpoints.list_hooks).data
        return [hook for hook in data or [] if isinstance(hook, dict)]

    def create_hook(self, target_url: str, secret: Secret) -> Mapping[str, Any]:
        """Register a webhook for every event, which Lemlist sends with ``secret`` in its
        payload; answers the new hook. Not idempotent: look for the URL in `list_hooks` first.
        """
        reply = self._transport.call(
            self._endpoints.create_hook,
            json_body={"targetUrl": target_url, "secret": secret.reveal()},
        )
        return reply.data if isinstance(reply.data, dict) else {}

    def check_health(self) -> HealthReport:
        """Probe ``GET /campaigns?version=v2&limit=1`` with our key."""
        report, _ = self._probe(
            self._endpoints.list_campaigns, {"version": self.settings.api_version, "limit": 1}
        )
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


def _lead_body(check: Validator, lead: Any) -> dict[str, str]:
    """Validated, sanitised JSON body for adding ``lead``; custom variables as strings."""
    record = check.mapping(lead, "lead")
    check.known_keys(record, (*LEAD_FIELDS, "variables"), "lead")
    if "email" not in record:
        check.fail("lead.email", "is required")
    body: dict[str, str] = {}
    for key, value in record.items():
        if key == "variables" or value is None:
            continue
        body[key] = _LEAD_CHECKS.get(key, _short_text)(check, value, f"lead.{key}")
    variables = check.mapping(record.get("variables") or {}, "lead.variables")
    for name, value in variables.items():
        field = f"lead.variables.{name}"
        check.pattern(name, field, _VARIABLE_NAME, "a variable name (letters, digits, _)")
        if name in LEAD_FIELDS:
            check.fail(field, "collides with a standard lead field")
        if not isinstance(value, str | int | float | bool):
            check.fail(field, "must be a string, number or boolean")
        body[name] = check.text(as_text(value), field, max_length=_VARIABLE_MAX)
    return body


def _short_text(check: Validator, value: Any, field: str) -> str:
    return check.text(value, field, max_length=200)


def _icebreaker(check: Validator, value: Any, field: str) -> str:
    return check.text(value, field, max_length=2000, multiline=True)


def _phone(check: Validator, value: Any, field: str) -> str:
    return check.pattern(value, field, _PHONE, "a phone number")


def _timezone(check: Validator, value: Any, field: str) -> str:
    name = check.text(value, field, max_length=64)
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        check.fail(field, "is not an IANA time zone")
    return name


_LEAD_CHECKS: dict[str, Callable[[Validator, Any, str], str]] = {
    "email": lambda check, value, field: check.email(value, field),
    "linkedinUrl": lambda check, value, field: check.url(value, field, host_suffix="linkedin.com"),
    "picture": lambda check, value, field: check.url(value, field),
    "companyDomain": lambda check, value, field: check.domain(value, field),
    "phone": _phone,
    "timezone": _timezone,
    "icebreaker": _icebreaker,
}
"""Checks of standard lead fields other than short text (the default)."""
