"""The sandbox delivers webhooks as the vendors do, and the receiver stores each event once."""

from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest

from sales_pipeline.cli.webhooks import register_lemlist_hook
from sales_pipeline.clients import LemlistClient, Secret
from sales_pipeline.sandbox.core.clock import Clock
from sales_pipeline.sandbox.core.webhooks import HUBSPOT_RETRY_DELAYS, Delivery, WebhookDispatcher
from sales_pipeline.settings import Settings
from sales_pipeline.store.inbox import WebhookInbox, WebhookVendor
from sales_pipeline.store.pipeline_store import PipelineStore
from sales_pipeline.webhooks import ReceiverConfig, running_receiver
from sales_pipeline_tests.webhooks.conftest import (
    LEMLIST_SECRET,
    Receiver,
    Vendors,
    free_port,
    wait_for,
)


@pytest.fixture
def intake(vendors: Vendors, store: PipelineStore) -> Iterator[Receiver]:
    """The receiver with the sandbox's HubSpot client secret and the Lemlist hook secret."""
    config = ReceiverConfig(
        lemlist_secret=LEMLIST_SECRET,
        hubspot_client_secret=vendors.handle.credentials.hubspot_client_secret,
    )
    with running_receiver(config, store) as url:
        yield Receiver(url, store)


def test_lemlist_hooks_fire_as_activities_unfold_and_each_is_stored_once(
    vendors: Vendors, intake: Receiver
) -> None:
    settings = Settings.from_env(
        {
            "LEMLIST_BASE_URL": vendors.handle.lemlist_url,
            "LEMLIST_API_KEY": vendors.handle.credentials.lemlist_key,
            "LEMLIST_WEBHOOK_SECRET": LEMLIST_SECRET,
        }
    )
    target = f"{intake.url}/webhooks/lemlist"
    assert register_lemlist_hook(settings, target, out=lambda _: None) == 0
    assert register_lemlist_hook(settings, target, out=lambda _: None) == 0
    assert len(vendors.control("GET", "state?vendor=lemlist")["lemlist"]["hooks"]) == 1

    vendors.add_leads([f"lead{n}@unfold{n}.example.com" for n in range(12)])
    assert vendors.webhook_stats("lemlist")["queued"] == 0, "nothing has happened yet"
    vendors.advance_clock(5 * 86_400)
    with LemlistClient(
        vendors.handle.lemlist_url, api_key=Secret(vendors.handle.credentials.lemlist_key)
    ) as client:
        happened = {
            str(a.id) for a in client.iter_activities(since=datetime.now(UTC) - timedelta(days=1))
        }
    assert len(happened) >= 24
    wait_for(lambda: len(intake.stored()) >= len(happened), "every activity's webhook")
    assert sorted(event_id for _, event_id in intake.stored()) == sorted(happened)
    stats = vendors.webhook_stats("lemlist")
    assert stats["delivered"] == stats["queued"] == len(happened)


def test_a_lemlist_hook_for_one_type_receives_only_that_type(
    vendors: Vendors, intake: Receiver
) -> None:
    vendors.call(
        "POST",
        f"{vendors.handle.lemlist_url}/hooks",
        json={
            "targetUrl": f"{intake.url}/webhooks/lemlist",
            "type": "emailsOpened",
            "secret": LEMLIST_SECRET,
        },
        auth=vendors.lemlist_auth,
    )
    vendors.add_leads([f"lead{n}@opens{n}.example.com" for n in range(12)])
    vendors.advance_clock(5 * 86_400)
    with LemlistClient(
        vendors.handle.lemlist_url, api_key=Secret(vendors.handle.credentials.lemlist_key)
    ) as client:
        since = datetime.now(UTC) - timedelta(days=1)
        opens = {str(a.id) for a in client.iter_activities(since=since, type="emailsOpened")}
    assert opens
    wait_for(lambda: vendors.webhook_stats("lemlist")["queued"] >= len(opens), "the opens")
    wait_for(lambda: len(intake.stored()) >= len(opens), "the opens stored")
    assert {event_id for _, event_id in intake.stored()} == opens
    assert vendors.webhook_stats("lemlist")["queued"] == len(opens)


def test_hubspot_posts_signed_batches_of_contact_creations_and_changes(
    vendors: Vendors, intake: Receiver
) -> None:
    vendors.control(
        "PUT",
        "webhooks",
        {"hubspot_target_url": f"{intake.url}/webhooks/hubspot", "hubspot_batch_size": 10},
    )
    vendors.create_contacts(25)
    vendors.update_contact("1001", {"jobtitle": "Chief Webhook Officer"})
    wait_for(lambda: len(intake.stored()) >= 26, "26 contact events")
    inbox = WebhookInbox(intake.store)
    payloads = [entry.event for entry in inbox.pending(WebhookVendor.HUBSPOT, limit=100)]
    kinds = Counter(event.event_type for event in payloads)
    assert kinds == {"contact.creation": 25, "contact.propertyChange": 1}
    [change] = [e.payload for e in payloads if e.event_type == "contact.propertyChange"]
    assert (change["objectId"], change["propertyName"]) == (1001, "jobtitle")
    stats = vendors.webhook_stats("hubspot")
    assert stats["failed_attempts"] == 0
    assert stats["delivered"] >= 3, "25 creations leave in batches of at most 10"


def test_a_failed_hubspot_delivery_is_retried_on_the_sandbox_clock(
    vendors: Vendors, store: PipelineStore
) -> None:
    port = free_port()
    vendors.control(
        "PUT", "webhooks", {"hubspot_target_url": f"http://127.0.0.1:{port}/webhooks/hubspot"}
    )
    vendors.create_contacts(1)
    wait_for(lambda: vendors.webhook_stats("hubspot")["retries"] == 1, "a retry scheduled")
    config = ReceiverConfig(hubspot_client_secret=vendors.handle.credentials.hubspot_client_secret)
    with running_receiver(config, store, port=port) as url:
        # The first retry is a minute away: moving the sandbox clock makes it due now.
        vendors.advance_clock(HUBSPOT_RETRY_DELAYS[0])
        wait_for(lambda: vendors.webhook_stats("hubspot")["delivered"] == 1, "the retry")
        assert Receiver(url, store).stored() == [("hubspot", "1")]
    assert vendors.webhook_stats("hubspot")["failed_attempts"] == 1


def test_hubspot_gives_up_after_ten_retries(vendors: Vendors) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}/webhooks/hubspot"
    vendors.control("PUT", "webhooks", {"hubspot_target_url": nowhere})
    vendors.create_contacts(1)

    def failed(count: int) -> Callable[[], bool]:
        return lambda: vendors.webhook_stats("hubspot")["failed_attempts"] == count

    for attempt in range(1, len(HUBSPOT_RETRY_DELAYS) + 1):
        wait_for(failed(attempt), f"attempt {attempt}")
        vendors.advance_clock(HUBSPOT_RETRY_DELAYS[attempt - 1])
    wait_for(lambda: vendors.webhook_stats("hubspot")["gave_up"] == 1, "giving up")
    stats = vendors.webhook_stats("hubspot")
    assert (stats["failed_attempts"], stats["retries"], stats["pending"]) == (11, 10, 0)
    assert sum(HUBSPOT_RETRY_DELAYS) <= 24 * 3600


def test_a_full_queue_drops_new_deliveries_and_counts_them() -> None:
    dispatcher = WebhookDispatcher(Clock(), max_pending=2)

    def render(attempt: int, now: float) -> tuple[bytes, dict[str, str]]:
        return b"{}", {"Content-Type": "application/json"}

    accepted = [
        dispatcher.submit(Delivery("lemlist", "http://127.0.0.1:9/", render)) for _ in range(3)
    ]
    assert accepted == [True, True, False]
    stats = dispatcher.stats("lemlist")
    assert (stats["queued"], stats["dropped"], stats["pending"]) == (2, 1, 2)
