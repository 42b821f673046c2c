"""The webhook inbox sensor: Lemlist suppressions within one tick, HubSpot days requested once."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from dagster import DagsterInstance, build_sensor_context
from dagster._core.definitions.sensor_definition import SensorExecutionData

from sales_pipeline.definitions import build_definitions
from sales_pipeline.defs.jobs import pipeline_job
from sales_pipeline.defs.resources import PipelineStoreResource
from sales_pipeline.defs.sensors import webhook_inbox_sensor
from sales_pipeline.store.engagement import EngagementQueue
from sales_pipeline.store.inbox import InboxEvent, WebhookInbox, WebhookVendor
from sales_pipeline.store.pipeline_store import PipelineStore
from sales_pipeline_tests.webhooks.conftest import contact_event, unsubscribe_activity

RECEIVED = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


@pytest.fixture
def instance() -> Iterator[DagsterInstance]:
    with DagsterInstance.ephemeral() as ephemeral:
        yield ephemeral


def tick(instance: DagsterInstance, store: PipelineStore) -> SensorExecutionData:
    """One evaluation of the sensor, as the daemon runs it."""
    url = store.engine.url.render_as_string(hide_password=False)
    with build_sensor_context(
        instance=instance,
        resources={"store": PipelineStoreResource(database_url=url)},
        definitions=build_definitions(),
    ) as context:
        return webhook_inbox_sensor.evaluate_tick(context)


def lemlist(payload: dict[str, Any]) -> InboxEvent:
    stored = {key: value for key, value in payload.items() if key != "secret"}
    return InboxEvent(WebhookVendor.LEMLIST, str(payload["_id"]), str(payload["type"]), stored)


def hubspot(event: dict[str, Any]) -> InboxEvent:
    return InboxEvent(
        WebhookVendor.HUBSPOT, str(event["eventId"]), str(event["subscriptionType"]), event
    )


def at(day: str) -> int:
    """Epoch milliseconds of noon UTC on ``day``."""
    return int(datetime.fromisoformat(f"{day}T12:00:00+00:00").timestamp() * 1000)


def test_a_lemlist_unsubscribe_is_suppressed_within_one_tick(
    instance: DagsterInstance, store: PipelineStore
) -> None:
    inbox = WebhookInbox(store)
    inbox.add([lemlist(unsubscribe_activity(email="Ana@Acme.example"))], now=RECEIVED)
    assert not store.is_suppressed("ana@acme.example")

    first = tick(instance, store)
    assert store.is_suppressed("ana@acme.example")
    assert inbox.pending_count() == 0
    assert not first.run_requests, "the Lemlist polling sensor requests the writeback"
    [queued] = EngagementQueue(store).pending()
    assert (queued.email, queued.lead_status) == ("ana@acme.example", "UNQUALIFIED")

    again = tick(instance, store)
    assert not again.run_requests
    assert EngagementQueue(store).pending_count() == 1


def test_sends_and_opens_suppress_nobody_and_request_nothing(
    instance: DagsterInstance, store: PipelineStore
) -> None:
    opened = {**unsubscribe_activity("act_open"), "type": "emailsOpened"}
    WebhookInbox(store).add([lemlist(opened)], now=RECEIVED)
    result = tick(instance, store)
    assert not result.run_requests
    assert not store.is_suppressed("ana@acme.example")
    assert WebhookInbox(store).pending_count() == 0


def test_hubspot_events_request_each_day_once_after_the_search_lag(
    instance: DagsterInstance, store: PipelineStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox = WebhookInbox(store)
    settled = datetime.now(UTC) - timedelta(minutes=10)
    inbox.add(
        [
            hubspot({**contact_event(1), "occurredAt": at("2026-11-18")}),
            hubspot({**contact_event(2, object_id=1002), "occurredAt": at("2026-11-18")}),
            hubspot({**contact_event(3, object_id=1003), "occurredAt": at("2026-11-19")}),
        ],
        now=settled,
    )
    inbox.add([hubspot({**contact_event(4), "occurredAt": at("2026-11-19")})])  # just now

    first = tick(instance, store)
    requests = first.run_requests or []
    assert [(r.job_name or pipeline_job.name, r.partition_key) for r in requests] == [
        (pipeline_job.name, "2026-11-18"),
        (pipeline_job.name, "2026-11-19"),
    ]
    assert all(str(r.run_key).startswith(f"hubspot-webhook:{r.partition_key}:") for r in requests)
    assert inbox.pending_count() == 1, "the event received just now waits for the search lag"

    monkeypatch.setenv("SALES_PIPELINE_HUBSPOT_SEARCH_LAG_SECONDS", "0")
    second = tick(instance, store)
    [late] = second.run_requests or []
    assert late.partition_key == "2026-11-19"
    assert late.run_key not in {r.run_key for r in requests}
    assert not tick(instance, store).run_requests
