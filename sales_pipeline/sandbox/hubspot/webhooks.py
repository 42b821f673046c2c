"""HubSpot's webhooks: contact events of the app's subscriptions, posted in signed batches.

An app subscribes in its settings to ``contact.creation`` and to ``contact.propertyChange`` of
named properties; the sandbox subscribes to creations and to changes of every property but
``lastmodifieddate`` (or of ``properties`` when set through ``PUT /_sandbox/webhooks``).
Every write of the contact store reports here; the events wait in a buffer and leave in
batches of at most ``batch_size`` (HubSpot: 100) to ``target_url``, which is unset until the
``--hubspot-webhook-url`` flag or the control plane sets it (no target, no events).

Each event carries ``eventId`` (unique, the same on every retry), ``subscriptionId``,
``portalId``, ``appId``, ``occurredAt`` (epoch ms), ``subscriptionType``, ``attemptNumber``
(0 first), ``objectId``, ``changeSource`` and, for property changes, ``propertyName`` and
``propertyValue``. Every attempt is signed anew (v3): ``X-HubSpot-Request-Timestamp`` is the
sandbox time in epoch ms and ``X-HubSpot-Signature-v3`` the base64 HMAC-SHA256, keyed with the
app's client secret, of ``POST`` + the target URL + the body + that timestamp.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import threading
from collections.abc import Mapping
from typing import Any

from sales_pipeline.sandbox.core.clock import Clock
from sales_pipeline.sandbox.core.webhooks import HUBSPOT_RETRY_DELAYS, Delivery, Renderer

from .records import ContactRecord

PORTAL_ID = 62_515
APP_ID = 1_000_001
SUBSCRIPTION_IDS = {"contact.creation": 3_101, "contact.propertyChange": 3_102}
MAX_BATCH = 100
NOT_SUBSCRIBED = frozenset({"lastmodifieddate"})
"""Properties whose changes are never sent by default (every write moves them)."""


def sign_v3(secret: str, url: str, body: bytes, timestamp: str) -> str:
    """HubSpot's v3 signature of a POST to ``url``."""
    message = b"POST" + url.encode("utf-8") + body + timestamp.encode("utf-8")
    return base64.b64encode(
        hmac.new(secret.encode("utf-8"), message, hashlib.sha256).digest()
    ).decode()


class HubSpotWebhooks:
    """The subscriptions of one app, its event buffer and its batching."""

    def __init__(self, clock: Clock, client_secret: str) -> None:
        self._clock = clock
        self._secret = client_secret
        self._lock = threading.Lock()
        self._buffer: list[dict[str, Any]] = []
        self._event_ids = itertools.count(1)
        self.target_url: str | None = None
        self.properties: frozenset[str] | None = None
        """Properties whose changes are subscribed; None: all but :data:`NOT_SUBSCRIBED`."""
        self.batch_size = MAX_BATCH

    def contact_written(self, record: ContactRecord, previous: ContactRecord | None) -> None:
        """Buffer the events of one write: a creation, or a change per subscribed property."""
        if self.target_url is None or record.archived:
            return
        occurred = round(self._clock.now() * 1000)
        with self._lock:
            if previous is None:
                self._add("contact.creation", record.id, occurred, {})
                return
            for name, value in record.properties.items():
                if value != previous.properties.get(name) and self._subscribed(name):
                    change = {"propertyName": name, "propertyValue": value or ""}
                    self._add("contact.propertyChange", record.id, occurred, change)

    def _subscribed(self, name: str) -> bool:
        return name not in NOT_SUBSCRIBED if self.properties is None else name in self.properties

    def _add(self, kind: str, object_id: int, occurred: int, extra: Mapping[str, str]) -> None:
        self._buffer.append(
            {
                "eventId": next(self._event_ids),
                "subscriptionId": SUBSCRIPTION_IDS[kind],
                "portalId": PORTAL_ID,
                "appId": APP_ID,
                "occurredAt": occurred,
                "subscriptionType": kind,
                "objectId": object_id,
                "changeSource": "API",
                **extra,
            }
        )

    def deliveries(self) -> list[Delivery]:
        """The buffered events as signed batches to the target URL; the buffer empties."""
        with self._lock:
            events, self._buffer = self._buffer, []
            target = self.target_url
        if target is None:
            return []
        batches = [events[i : i + self.batch_size] for i in range(0, len(events), self.batch_size)]
        return [
            Delivery("hubspot", target, self._renderer(target, batch), HUBSPOT_RETRY_DELAYS)
            for batch in batches
        ]

    def _renderer(self, url: str, events: list[dict[str, Any]]) -> Renderer:
        def render(attempt: int, now: float) -> tuple[bytes, dict[str, str]]:
            body = json.dumps([{**event, "attemptNumber": attempt} for event in events]).encode()
            timestamp = str(round(now * 1000))
            return body, {
                "Content-Type": "application/json",
                "X-HubSpot-Request-Timestamp": timestamp,
                "X-HubSpot-Signature-v3": sign_v3(self._secret, url, body, timestamp),
            }

        return render

    def configure(self, settings: Mapping[str, Any]) -> dict[str, Any]:
        """Apply ``hubspot_target_url`` (a URL or null), ``hubspot_properties`` (names or
        null) and ``hubspot_batch_size`` (1..100); return what is in force."""
        if "hubspot_target_url" in settings:
            target = settings["hubspot_target_url"]
            if target is not None and not (
                isinstance(target, str) and target.startswith(("http://", "https://"))
            ):
                raise ValueError("hubspot_target_url must be an http(s) URL or null")
            self.target_url = target
        if "hubspot_properties" in settings:
            names = settings["hubspot_properties"]
            if names is not None and not (
                isinstance(names, list) and all(isinstance(n, str) for n in names)
            ):
                raise ValueError("hubspot_properties must be a list of names or null")
            self.properties = None if names is None else frozenset(names)
        if "hubspot_batch_size" in settings:
            size = int(settings["hubspot_batch_size"])
            if not 1 <= size <= MAX_BATCH:
                raise ValueError(f"hubspot_batch_size must be within 1..{MAX_BATCH}")
            self.batch_size = size
        return {
            "hubspot_target_url": self.target_url,
            "hubspot_properties": None if self.properties is None else sorted(self.properties),
            "hubspot_batch_size": self.batch_size,
        }
