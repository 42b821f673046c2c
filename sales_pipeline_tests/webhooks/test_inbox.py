"""The webhook inbox on SQLite and PostgreSQL: one row per vendor event, however often and
however concurrently it is stored."""

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from sales_pipeline.store.inbox import InboxEvent, WebhookInbox, WebhookVendor
from sales_pipeline.store.pipeline_store import PipelineStore
from sales_pipeline_tests.test_store import database_url, postgres_database  # noqa: F401

RECEIVED = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def _event(vendor: WebhookVendor, event_id: str) -> InboxEvent:
    return InboxEvent(vendor, event_id, "contact.creation", {"eventId": event_id})


def test_an_event_is_stored_once_per_vendor(database_url: str) -> None:  # noqa: F811
    with PipelineStore(database_url) as store:
        inbox = WebhookInbox(store)
        batch = [_event(WebhookVendor.HUBSPOT, "1"), _event(WebhookVendor.HUBSPOT, "2")]
        assert inbox.add(batch, now=RECEIVED) == 2
        assert inbox.add(batch, now=RECEIVED) == 0
        assert inbox.add([_event(WebhookVendor.LEMLIST, "1")], now=RECEIVED) == 1
        assert inbox.pending_count() == 3


def test_concurrent_deliveries_of_one_event_store_one_row(database_url: str) -> None:  # noqa: F811
    with PipelineStore(database_url) as store:
        inbox = WebhookInbox(store)
        events = [[_event(WebhookVendor.HUBSPOT, str(n % 10))] for n in range(40)]
        with ThreadPoolExecutor(max_workers=8) as pool:
            new = sum(pool.map(inbox.add, events))
        assert new == 10
        assert inbox.pending_count() == 10


def test_processed_events_leave_the_pending_list(database_url: str) -> None:  # noqa: F811
    with PipelineStore(database_url) as store:
        inbox = WebhookInbox(store)
        inbox.add([_event(WebhookVendor.HUBSPOT, str(n)) for n in range(5)], now=RECEIVED)
        first, *rest = inbox.pending(WebhookVendor.HUBSPOT, limit=3)
        assert len(rest) == 2
        inbox.mark_processed([first.id])
        waiting = inbox.pending(WebhookVendor.HUBSPOT)
        assert [entry.event.event_id for entry in waiting] == ["1", "2", "3", "4"]
        assert inbox.pending(WebhookVendor.HUBSPOT, received_before=RECEIVED) == []
