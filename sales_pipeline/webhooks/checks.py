"""What a webhook must pass before it is stored: pure functions over headers and bytes.

Every check raises :class:`RefusedError` with the HTTP status to answer and a fixed reason. Reasons
are constants written here, never built from the request, so logging one can leak no payload,
personal data or secret.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from sales_pipeline.store.inbox import InboxEvent, WebhookVendor

HUBSPOT_SIGNATURE_WINDOW = timedelta(minutes=5)
"""HubSpot's v3 signatures older than this are refused (a captured request replayed later)."""

MAX_HUBSPOT_EVENTS = 1000
"""Events per HubSpot delivery accepted at most (HubSpot sends up to 100); the byte cap bounds
the rest."""


class RefusedError(Exception):
    """A request the receiver turns away: the status to answer and a fixed, safe reason."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"{status} {reason}")
        self.status = status
        self.reason = reason


def same_secret(given: str, expected: str) -> bool:
    """Whether ``given`` equals ``expected``, in time independent of where they differ.

    Both are hashed first, so :func:`hmac.compare_digest` compares two 32-byte digests: a
    guess of the wrong length takes as long as one of the right length.
    """
    return hmac.compare_digest(
        hashlib.sha256(given.encode("utf-8")).digest(),
        hashlib.sha256(expected.encode("utf-8")).digest(),
    )


def check_json_content_type(content_type: str | None) -> None:
    """Refuse (415) any media type but ``application/json`` (parameters such as a charset are
    allowed)."""
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if media_type != "application/json":
        raise RefusedError(415, "content type is not application/json")


def check_declared_length(content_length: str | None, limit: int) -> None:
    """Refuse (413) a body whose declared length exceeds ``limit`` before any of it is read;
    400 for a ``Content-Length`` that is not a number."""
    if content_length is None:
        return
    if not content_length.strip().isdigit():
        raise RefusedError(400, "Content-Length is not a number")
    if int(content_length) > limit:
        raise RefusedError(413, "body larger than the limit")


def _refuse_constant(name: str) -> Any:
    """``json.loads`` reads ``NaN`` and ``Infinity``, which are not JSON: refuse them."""
    raise ValueError(f"{name} is not JSON")


def parse_json(body: bytes) -> Any:
    """The body as strict JSON (UTF-8, no ``NaN``); 400 otherwise."""
    try:
        return json.loads(body.decode("utf-8"), parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise RefusedError(400, "body is not valid JSON") from None


def hubspot_v3_signature(
    client_secret: str, method: str, uri: str, body: bytes, timestamp: str
) -> str:
    """HubSpot's v3 signature: base64 of HMAC-SHA256 with the app's client secret over
    ``method + uri + body + timestamp`` (UTF-8)."""
    message = method.encode("utf-8") + uri.encode("utf-8") + body + timestamp.encode("utf-8")
    digest = hmac.new(client_secret.encode("utf-8"), message, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def check_hubspot_signature(
    client_secret: str,
    method: str,
    uri: str,
    body: bytes,
    headers: Mapping[str, str],
    now: datetime,
) -> None:
    """Refuse (401) a request without a valid, fresh ``X-HubSpot-Signature-v3``.

    The timestamp (``X-HubSpot-Request-Timestamp``, epoch ms) must be at most
    :data:`HUBSPOT_SIGNATURE_WINDOW` old at ``now``. A timestamp ahead of ``now`` is accepted:
    HubSpot prescribes only the age check, and only the secret's holder can sign one.
    """
    signature = headers.get("x-hubspot-signature-v3")
    timestamp = headers.get("x-hubspot-request-timestamp")
    if not signature or not timestamp:
        raise RefusedError(401, "missing HubSpot signature headers")
    if not timestamp.isdigit():
        raise RefusedError(401, "HubSpot timestamp is not epoch milliseconds")
    age_ms = now.timestamp() * 1000 - int(timestamp)
    if age_ms > HUBSPOT_SIGNATURE_WINDOW.total_seconds() * 1000:
        raise RefusedError(401, "HubSpot timestamp older than 5 minutes")
    expected = hubspot_v3_signature(client_secret, method, uri, body, timestamp)
    if not same_secret(signature, expected):
        raise RefusedError(401, "HubSpot signature does not match")


def lemlist_event(payload: Any, secret: str) -> InboxEvent:
    """The inbox event of one Lemlist delivery, after checking the ``secret`` it carries.

    Lemlist signs nothing: it echoes the hook's secret in every payload (401 when it is absent
    or wrong). The payload mirrors an activity record, whose ``_id`` identifies the event, so
    every delivery of one activity is stored once (400 without it). The secret is not stored.
    """
    if not isinstance(payload, dict):
        raise RefusedError(400, "Lemlist payload is not an object")
    given = payload.get("secret")
    if not isinstance(given, str) or not same_secret(given, secret):
        raise RefusedError(401, "Lemlist secret does not match")
    activity_id, activity_type = payload.get("_id"), payload.get("type")
    if not isinstance(activity_id, str) or not activity_id or len(activity_id) > 128:
        raise RefusedError(400, "Lemlist payload has no activity id")
    if not isinstance(activity_type, str) or not activity_type or len(activity_type) > 64:
        raise RefusedError(400, "Lemlist payload has no activity type")
    stored = {key: value for key, value in payload.items() if key != "secret"}
    return InboxEvent(WebhookVendor.LEMLIST, activity_id, activity_type, stored)


def hubspot_events(payload: Any) -> list[InboxEvent]:
    """The inbox events of one HubSpot delivery: a JSON array of event objects, each with an
    ``eventId`` (which identifies it across retries), a ``subscriptionType`` and an
    ``objectId``; 400 otherwise."""
    if not isinstance(payload, list) or not payload or len(payload) > MAX_HUBSPOT_EVENTS:
        raise RefusedError(400, "HubSpot payload is not a non-empty array of events")
    events = []
    for item in payload:
        if not isinstance(item, dict):
            raise RefusedError(400, "HubSpot event is not an object")
        event_id, kind = item.get("eventId"), item.get("subscriptionType")
        if isinstance(event_id, bool) or not isinstance(event_id, int | str):
            raise RefusedError(400, "HubSpot event has no eventId")
        key = str(event_id)
        if not key or len(key) > 128:
            raise RefusedError(400, "HubSpot event has no eventId")
        if not isinstance(kind, str) or not kind or len(kind) > 64:
            raise RefusedError(400, "HubSpot event has no subscriptionType")
        if "objectId" not in item:
            raise RefusedError(400, "HubSpot event has no objectId")
        events.append(InboxEvent(WebhookVendor.HUBSPOT, key, kind, item))
    return events


def hubspot_event_day(payload: Mapping[str, Any], received_at: datetime) -> str:
    """The daily partition a HubSpot contact event moves its contact into: the UTC day it
    occurred (a creation or a property change sets the contact's modification date to that
    moment), or the day it was received when the event does not say."""
    occurred = payload.get("occurredAt")
    if isinstance(occurred, int) and not isinstance(occurred, bool):
        return datetime.fromtimestamp(occurred / 1000, UTC).date().isoformat()
    return received_at.astimezone(UTC).date().isoformat()
