"""Emulation of the Lemlist API (https://api.lemlist.com/api), served under ``/lemlist/api``.

What a client meets here, as the real service does it (see shared/api-facts/lemlist.md):

* HTTP Basic auth with an empty user name and the API key as password. Failures are
  ``text/plain``: 400 "No API key provided", 401 "The authentication you supplied is incorrect".
  The legacy ``?access_token=`` query form is refused as if no key were given: it puts the key
  into URLs, proxies and logs, and the pipeline must never rely on it.
* 20 requests per 2 seconds per API key over all routes. Every authenticated answer carries
  ``X-RateLimit-Limit``, ``X-RateLimit-Remaining``, ``X-RateLimit-Reset`` (a JavaScript date
  string, not a number) and ``Retry-After`` (seconds); a 429 says "Too Many Requests".
* Errors are ``text/plain`` sentences; success bodies are JSON.

Leads added to a running campaign get a deterministic timeline of activities (see
:func:`.model.plan_timeline`) that becomes visible as the sandbox clock advances; an
``emailsUnsubscribed`` activity puts the address on the unsubscribe list at the same moment.
Registered webhooks receive each activity as it happens (the activity record, with the hook's
``secret`` in the payload); Lemlist documents no retries, so a failed delivery is not retried.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import math
from collections.abc import Callable
from http import HTTPStatus
from typing import Any
from urllib.parse import unquote

from sales_pipeline.sandbox.core.http import (
    Handler,
    Request,
    Response,
    Route,
    json_response,
    text_response,
)
from sales_pipeline.sandbox.core.limits import Decision, SlidingWindow
from sales_pipeline.sandbox.core.vendor import Vendor, VendorContext
from sales_pipeline.sandbox.core.webhooks import Delivery, Renderer

from .model import (
    HOOK_TYPES,
    JsonDict,
    LemlistError,
    is_valid_unsubscribe_value,
    js_date,
    parse_date,
)
from .store import ActivityQuery, LemlistStore

RATE_LIMIT = 20
RATE_WINDOW = 2.0
NO_KEY = "No API key provided"
BAD_KEY = "The authentication you supplied is incorrect"
V2_REQUIRED = "This route only exists in version v2: add version=v2 to the query"
BAD_BODY = "Body of your request must be an object"
BAD_UNSUBSCRIBE = "Invalid email address or domain. Domains must start with @"

_CAMPAIGN = r"/api/campaigns/(?P<campaign_id>[^/]+)"


def _int_arg(request: Request, name: str, default: int, maximum: int) -> int:
    """A non-negative integer query parameter, capped at ``maximum`` (as Lemlist caps pages)."""
    raw = request.arg(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise LemlistError(400, f"{name} must be a number") from None
    if value < 0:
        raise LemlistError(400, f"{name} must be a positive number")
    return min(value, maximum)


def _flag(request: Request, name: str) -> bool:
    """A boolean query flag; absent means false."""
    return (request.arg(name) or "").lower() in ("true", "1")


def _optional(request: Request, name: str) -> str | None:
    """A query parameter, with an empty value read as absent."""
    return request.arg(name) or None


def _date_arg(request: Request, name: str, alias: str) -> float | None:
    """``minDate``/``maxDate`` (or their aliases): Unix seconds or ISO 8601."""
    raw = _optional(request, name) or _optional(request, alias)
    if raw is None:
        return None
    try:
        return parse_date(raw)
    except ValueError:
        raise LemlistError(400, f"Invalid {name}") from None


def _body_object(request: Request) -> dict[str, Any]:
    """The JSON body as an object; an empty body is an empty object."""
    if not request.body.strip():
        return {}
    try:
        payload = request.json()
    except ValueError:
        raise LemlistError(400, BAD_BODY) from None
    if not isinstance(payload, dict):
        raise LemlistError(400, BAD_BODY)
    return payload


def _json_renderer(payload: JsonDict) -> Renderer:
    """The same JSON body on every attempt."""
    body = json.dumps(payload, separators=(",", ":")).encode("utf-8")

    def render(attempt: int, now: float) -> tuple[bytes, dict[str, str]]:
        return body, {"Content-Type": "application/json"}

    return render


class LemlistApi(Vendor):
    """The Lemlist API of one team whose single API key is ``credentials.lemlist_key``."""

    name = "lemlist"

    def __init__(self, context: VendorContext) -> None:
        super().__init__(context)
        self._window = SlidingWindow(RATE_LIMIT, RATE_WINDOW, context.limits)
        self._store = LemlistStore(context.world, context.clock)

    def routes(self) -> list[Route]:
        """Campaigns, leads, unsubscribes, activities and hooks (no bulk add: Lemlist has none)."""
        table: list[tuple[str, str, Callable[..., Response], str]] = [
            ("GET", r"/api/campaigns/?", self._list_campaigns, "campaigns"),
            ("GET", _CAMPAIGN + r"/?", self._get_campaign, "campaign"),
            ("GET", _CAMPAIGN + r"/leads/?", self._campaign_leads, "campaign_leads"),
            ("POST", _CAMPAIGN + r"/leads/?", self._add_lead, "add_lead"),
            ("POST", _CAMPAIGN + r"/leads/(?P<email>[^/]+)/?", self._add_lead_legacy, "add_lead"),
            ("DELETE", _CAMPAIGN + r"/leads/(?P<lead>[^/]+)/?", self._delete_lead, "delete_lead"),
            ("GET", r"/api/leads/(?P<email>[^/]+)/?", self._get_lead, "lead"),
            ("GET", r"/api/unsubscribes/?", self._list_unsubscribes, "unsubscribes"),
            ("GET", r"/api/unsubscribes/(?P<value>[^/]+)/?", self._get_unsubscribe, "unsubscribe"),
            ("POST", r"/api/unsubscribes/(?P<value>[^/]+)/?", self._unsubscribe, "unsubscribe"),
            ("GET", r"/api/activities/?", self._list_activities, "activities"),
            ("GET", r"/api/hooks/?", self._list_hooks, "hooks"),
            ("POST", r"/api/hooks/?", self._add_hook, "hooks"),
            ("DELETE", r"/api/hooks/(?P<hook_id>[^/]+)/?", self._delete_hook, "hooks"),
        ]
        return [
            Route(method, pattern, self._guarded(handler), label)
            for method, pattern, handler, label in table
        ]

    # -- the gate every route passes ------------------------------------------------------

    def _guarded(self, handler: Callable[..., Response]) -> Handler:
        """Wrap ``handler`` in auth, the rate limit, text/plain refusals and rate headers."""

        def serve(request: Request, **params: str) -> Response:
            refusal = self._authenticate(request)
            if refusal is not None:
                return refusal
            decision = self._window.acquire()
            if not decision.allowed:
                headers = self._rate_headers(decision)
                return text_response(429, "Too Many Requests", headers, tag="rate_limited")
            try:
                response = handler(request, **params)
            except LemlistError as error:
                response = text_response(error.status, error.message)
            response.headers.update(self._rate_headers(decision))
            return response

        return serve

    def _authenticate(self, request: Request) -> Response | None:
        """``None`` when the request carries ``Basic base64(":" + key)``, else the refusal.

        ``?access_token=`` is ignored on purpose (so it reads as "No API key provided").
        """
        header = request.header("Authorization")
        if not header:
            return text_response(400, NO_KEY)
        scheme, _, encoded = header.strip().partition(" ")
        if scheme.lower() != "basic":
            return text_response(401, BAD_KEY)
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            return text_response(401, BAD_KEY)
        user, colon, password = decoded.partition(":")
        if colon and not user and not password:
            return text_response(400, NO_KEY)
        expected = self.context.credentials.lemlist_key
        if not colon or user or not hmac.compare_digest(password.encode(), expected.encode()):
            return text_response(401, BAD_KEY)
        return None

    def _rate_headers(self, decision: Decision) -> dict[str, str]:
        """The four headers Lemlist puts on every answer; ``Retry-After`` is never 0."""
        wait = decision.retry_after if not decision.allowed else self._window.window
        return {
            "X-RateLimit-Limit": str(decision.limit),
            "X-RateLimit-Remaining": str(decision.remaining),
            "X-RateLimit-Reset": js_date(self.context.clock.now() + wait),
            "Retry-After": str(max(1, math.ceil(wait))),
        }

    def fault_response(self, kind: str, status: int) -> Response:
        """An injected 429 looks like a real one; an injected 5xx is a bare status phrase."""
        if kind == "rate_limit":
            decision = Decision(False, self._window.limit, 0, self._window.window)
            return text_response(429, "Too Many Requests", self._rate_headers(decision))
        return text_response(status, HTTPStatus(status).phrase)

    # -- campaigns ------------------------------------------------------------------------

    def _list_campaigns(self, request: Request) -> Response:
        """A bare array, or with ``version=v2`` ``{"campaigns": [...], "pagination": {...}}``.

        Newest first unless ``sortBy=createdAt`` (then ascending, or ``sortOrder=desc``);
        ``status`` (``errors`` means campaigns with errors) and ``createdBy`` filter;
        ``limit`` (at most 100) with ``offset`` or a 1-based ``page``.
        """
        status = _optional(request, "status")
        creator = _optional(request, "createdBy")
        everything = self._store.campaigns(
            lambda c: (
                (status is None or c.status == status or (status == "errors" and bool(c.errors)))
                and (creator is None or c.created_by == creator)
            )
        )
        ascending = request.arg("sortBy") == "createdAt" and request.arg("sortOrder") != "desc"
        if not ascending:
            everything.reverse()
        limit = _int_arg(request, "limit", 100, 100) or 100
        page = _int_arg(request, "page", 0, 1_000_000)
        offset = (page - 1) * limit if page else _int_arg(request, "offset", 0, 1_000_000)
        chosen = everything[offset : offset + limit]
        if request.arg("version") != "v2":
            return json_response(200, chosen)
        current = offset // limit + 1
        total_pages = math.ceil(len(everything) / limit)
        pagination = {
            "totalRecords": len(everything),
            "currentPage": current,
            "nextPage": current + 1 if current < total_pages else None,
            "totalPage": total_pages,
        }
        return json_response(200, {"campaigns": chosen, "pagination": pagination})

    def _get_campaign(self, request: Request, campaign_id: str) -> Response:
        """One campaign; 404 "Campaign not found"."""
        return json_response(200, self._store.campaign(campaign_id))

    # -- leads ----------------------------------------------------------------------------

    def _add_lead(self, request: Request, campaign_id: str) -> Response:
        """``POST /campaigns/{id}/leads/`` with the lead as a JSON object."""
        body = _body_object(request)
        return json_response(
            200, self._store.add_lead(campaign_id, body, _flag(request, "deduplicate"))
        )

    def _add_lead_legacy(self, request: Request, campaign_id: str, email: str) -> Response:
        """``POST /campaigns/{id}/leads/{email}``: the path's email wins over the body's."""
        body = {**_body_object(request), "email": unquote(email)}
        return json_response(
            200, self._store.add_lead(campaign_id, body, _flag(request, "deduplicate"))
        )

    def _delete_lead(self, request: Request, campaign_id: str, lead: str) -> Response:
        """Unsubscribe the lead (id or email) from the campaign; ``action=remove`` deletes it."""
        remove = request.arg("action") == "remove"
        return json_response(200, self._store.delete_lead(campaign_id, unquote(lead), remove))

    def _campaign_leads(self, request: Request, campaign_id: str) -> Response:
        """``[{_id, contactId, state}]``; ``limit`` defaults to 100 and is capped at 500."""
        limit = _int_arg(request, "limit", 100, 500)
        state = _optional(request, "state")
        return json_response(200, self._store.campaign_leads(campaign_id, state, limit))

    def _get_lead(self, request: Request, email: str) -> Response:
        """v2: the array of the address's campaign memberships; v1: the latest one alone."""
        if request.arg("version") == "v2":
            return json_response(200, self._store.lead_memberships(unquote(email)))
        return json_response(200, self._store.latest_lead(unquote(email)))

    # -- unsubscribes ---------------------------------------------------------------------

    def _list_unsubscribes(self, request: Request) -> Response:
        """``[{_id, createdAt, value, source}]`` oldest first; ``limit`` (<= 100) and ``offset``."""
        offset = _int_arg(request, "offset", 0, 1_000_000_000)
        limit = _int_arg(request, "limit", 100, 100)
        return json_response(200, self._store.unsubscribes(offset, limit))

    def _unsubscribe_value(self, raw: str) -> str:
        """The path's email or ``@domain``, lower-cased; Lemlist answers a bad one with a 500."""
        value = unquote(raw).strip().lower()
        if not is_valid_unsubscribe_value(value):
            raise LemlistError(500, BAD_UNSUBSCRIBE)
        return value

    def _get_unsubscribe(self, request: Request, value: str) -> Response:
        """The entry for an email or ``@domain``; 404 "Unsubscriber not found"."""
        return json_response(200, self._store.find_unsubscribe(self._unsubscribe_value(value)))

    def _unsubscribe(self, request: Request, value: str) -> Response:
        """Add an email or ``@domain`` (source ``api``); ``{_id, value, email?}``, idempotent."""
        return json_response(200, self._store.unsubscribe(self._unsubscribe_value(value)))

    # -- activities -----------------------------------------------------------------------

    def _list_activities(self, request: Request) -> Response:
        """Visible activities, oldest first; ``version=v2`` is mandatory, ``limit`` <= 100."""
        if request.arg("version") != "v2":
            raise LemlistError(400, V2_REQUIRED)
        min_date = _date_arg(request, "minDate", "startDate")
        max_date = _date_arg(request, "maxDate", "endDate")
        if min_date is not None and max_date is not None and max_date <= min_date:
            raise LemlistError(400, "maxDate must be greater than minDate")
        is_first = request.arg("isFirst")
        query = ActivityQuery(
            type=_optional(request, "type"),
            campaign_id=_optional(request, "campaignId"),
            lead_id=_optional(request, "leadId"),
            is_first=None if is_first in (None, "") else is_first.lower() == "true",
            min_date=min_date,
            max_date=max_date,
            offset=_int_arg(request, "offset", 0, 1_000_000_000),
            limit=_int_arg(request, "limit", 100, 100) or 100,
        )
        return json_response(200, self._store.activities(query))

    # -- hooks ----------------------------------------------------------------------------

    def _list_hooks(self, request: Request) -> Response:
        """Every registered webhook, without secrets."""
        return json_response(200, self._store.hooks())

    def _add_hook(self, request: Request) -> Response:
        """``{targetUrl, type?, campaignId?, secret?}``; ``campaignId``/``isFirst`` may be query
        parameters too. 400 "Invalid targetUrl" / "Invalid type"; 404 unknown campaign."""
        body = _body_object(request)
        target = body.get("targetUrl")
        if not isinstance(target, str) or not target.startswith(("https://", "http://")):
            raise LemlistError(400, "Invalid targetUrl")
        hook_type = body.get("type")
        if hook_type is not None and hook_type not in HOOK_TYPES:
            raise LemlistError(400, "Invalid type")
        secret = body.get("secret")
        if secret is not None and not isinstance(secret, str):
            raise LemlistError(400, '"secret" must be a string')
        campaign_id = body.get("campaignId") or _optional(request, "campaignId")
        if campaign_id is not None and not isinstance(campaign_id, str):
            raise LemlistError(400, '"campaignId" must be a string')
        is_first = body.get("isFirst") is True or _flag(request, "isFirst")
        answer = self._store.add_hook(target, hook_type, campaign_id, is_first, secret)
        return json_response(200, answer)

    def _delete_hook(self, request: Request, hook_id: str) -> Response:
        """Forget a webhook and answer it; 404 "Webhook not found"."""
        return json_response(200, self._store.delete_hook(hook_id))

    def webhook_deliveries(self) -> list[Delivery]:
        """One delivery per hook and activity that happened since the last call."""
        return [
            Delivery(self.name, target, _json_renderer(payload))
            for target, payload in self._store.unfolded_hooks()
        ]

    # -- control plane --------------------------------------------------------------------

    def state(self) -> JsonDict:
        """``{"campaigns": [{_id, name, status, leads: [...]}], "unsubscribes", "hooks"}``."""
        return self._store.state()

    def stats(self) -> JsonDict:
        """``leads_added``, ``leads_removed``, ``leads_refused`` (by message), and counts."""
        return self._store.stats()

    def reset(self) -> None:
        """A fresh team from the world; the rate window forgets every request."""
        self._store = LemlistStore(self.context.world, self.context.clock)
        self._window.reset()
