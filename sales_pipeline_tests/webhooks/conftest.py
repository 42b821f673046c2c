"""Fixtures for the webhook tests: a store, the receiver on a free port, signed deliveries."""

import json
import socket
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
import sqlalchemy as sa

from sales_pipeline.sandbox import SandboxConfig, SandboxHandle, run_sandbox
from sales_pipeline.sandbox.hubspot.webhooks import sign_v3
from sales_pipeline.store.pipeline_store import PipelineStore
from sales_pipeline.store.tables import webhook_inbox
from sales_pipeline.webhooks import ReceiverConfig, running_receiver

NOW = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
"""The receiver's clock in these tests."""
NOW_MS = int(NOW.timestamp() * 1000)
LEMLIST_SECRET = "lemlist-hook-secret-0123456789"
HUBSPOT_SECRET = "hubspot-app-client-secret"
MAX_BODY = 64 * 1024


def unsubscribe_activity(
    activity_id: str = "act_unsub1", email: str = "ana@acme.example"
) -> dict[str, Any]:
    """A Lemlist ``emailsUnsubscribed`` activity record as its webhook posts it."""
    return {
        "_id": activity_id,
        "type": "emailsUnsubscribed",
        "createdAt": "2026-11-20T09:29:58.000Z",
        "leadEmail": email,
        "leadId": "lea_1",
        "campaignId": "cam_1",
        "secret": LEMLIST_SECRET,
    }


def contact_event(event_id: int, object_id: int = 1001, attempt: int = 0) -> dict[str, Any]:
    """One HubSpot ``contact.propertyChange`` event."""
    return {
        "eventId": event_id,
        "subscriptionId": 3102,
        "portalId": 62515,
        "appId": 1000001,
        "occurredAt": NOW_MS - 2000,
        "subscriptionType": "contact.propertyChange",
        "attemptNumber": attempt,
        "objectId": object_id,
        "propertyName": "jobtitle",
        "propertyValue": "CTO",
        "changeSource": "API",
    }


@dataclass
class Receiver:
    """The receiver under test, its store and helpers to deliver to it."""

    url: str
    store: PipelineStore

    def post(self, vendor: str, body: bytes, headers: Mapping[str, str]) -> requests.Response:
        """POST raw ``body`` to ``/webhooks/<vendor>``."""
        return requests.post(
            f"{self.url}/webhooks/{vendor}", data=body, headers=dict(headers), timeout=30
        )

    def lemlist(self, payload: Any) -> requests.Response:
        """Deliver ``payload`` as Lemlist does (JSON)."""
        return self.post(
            "lemlist", json.dumps(payload).encode(), {"Content-Type": "application/json"}
        )

    def hubspot(
        self,
        events: Sequence[Mapping[str, Any]],
        *,
        timestamp_ms: int = NOW_MS,
        secret: str = HUBSPOT_SECRET,
    ) -> requests.Response:
        """Deliver ``events`` as HubSpot does: a JSON array, v3-signed at ``timestamp_ms``."""
        body = json.dumps(list(events)).encode()
        timestamp = str(timestamp_ms)
        url = f"{self.url}/webhooks/hubspot"
        return self.post(
            "hubspot",
            body,
            {
                "Content-Type": "application/json",
                "X-HubSpot-Request-Timestamp": timestamp,
                "X-HubSpot-Signature-v3": sign_v3(secret, url, body, timestamp),
            },
        )

    def stored(self) -> list[tuple[str, str]]:
        """(vendor, event id) of every inbox row, in arrival order."""
        with self.store.engine.begin() as conn:
            rows = conn.execute(
                sa.select(webhook_inbox.c.vendor, webhook_inbox.c.event_id).order_by(
                    webhook_inbox.c.id
                )
            )
            return [(row.vendor, row.event_id) for row in rows]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[PipelineStore]:
    """A fresh SQLite store."""
    with PipelineStore(f"sqlite:///{tmp_path / 'store.sqlite'}") as opened:
        yield opened


@pytest.fixture
def receiver(store: PipelineStore) -> Iterator[Receiver]:
    """The receiver on a free port, its clock at :data:`NOW`, a 64 KiB body cap."""
    config = ReceiverConfig(
        lemlist_secret=LEMLIST_SECRET,
        hubspot_client_secret=HUBSPOT_SECRET,
        max_body_bytes=MAX_BODY,
        clock=lambda: NOW,
    )
    with running_receiver(config, store) as url:
        yield Receiver(url, store)


DEADLINE_SECONDS = 60.0
"""How long a test waits for deliveries before it gives up (a guard, not a measurement)."""


def wait_for(condition: Callable[[], bool], what: str) -> None:
    """Poll ``condition`` until it holds; fail after :data:`DEADLINE_SECONDS`."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


def free_port() -> int:
    """A port nothing listens on (the OS's pick for port 0, released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Vendors:
    """The sandbox's APIs and control plane, as a test drives them."""

    def __init__(self, handle: SandboxHandle) -> None:
        self.handle = handle
        creds = handle.credentials
        self.hubspot_headers = {"Authorization": f"Bearer {creds.hubspot_token}"}
        self.lemlist_auth = ("", creds.lemlist_key)

    @staticmethod
    def call(method: str, url: str, **options: Any) -> requests.Response:
        """Any request to the sandbox; raises on an error status."""
        answer = requests.request(method, url, timeout=30, **options)
        answer.raise_for_status()
        return answer

    def control(self, method: str, action: str, payload: dict[str, Any] | None = None) -> Any:
        return self.call(method, f"{self.handle.control_url}/{action}", json=payload).json()

    def webhook_stats(self, vendor: str) -> dict[str, int]:
        return dict(self.control("GET", "stats")[vendor]["webhooks"])

    def advance_clock(self, seconds: float) -> None:
        self.control("POST", "clock", {"advance_seconds": seconds})

    def create_contacts(self, count: int, prefix: str = "new") -> None:
        url = f"{self.handle.hubspot_url}/crm/v3/objects/contacts/batch/create"
        for start in range(0, count, 100):
            emails = [
                f"{prefix}{n}@webhooks.example.com" for n in range(start, min(count, start + 100))
            ]
            inputs = [{"properties": {"email": email}} for email in emails]
            self.call("POST", url, json={"inputs": inputs}, headers=self.hubspot_headers)

    def update_contact(self, contact_id: str, properties: dict[str, str]) -> None:
        url = f"{self.handle.hubspot_url}/crm/v3/objects/contacts/{contact_id}"
        self.call("PATCH", url, json={"properties": properties}, headers=self.hubspot_headers)

    def add_leads(self, emails: list[str]) -> None:
        base = self.handle.lemlist_url
        campaigns = self.call("GET", f"{base}/campaigns?version=v2", auth=self.lemlist_auth)
        running = next(c["_id"] for c in campaigns.json()["campaigns"] if c["status"] == "running")
        for email in emails:
            url = f"{base}/campaigns/{running}/leads/"
            self.call("POST", url, json={"email": email}, auth=self.lemlist_auth)


@pytest.fixture
def vendors() -> Iterator[Vendors]:
    """A small sandbox without rate limits (the tests send bursts)."""
    with run_sandbox(SandboxConfig(contacts=200, limits_enabled=False)) as handle:
        yield Vendors(handle)
