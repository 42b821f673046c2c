"""The receiver over real HTTP: every refusal with its status and nothing stored, every valid
delivery stored once."""

import json
import logging
import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
import requests

from sales_pipeline.sandbox.hubspot.webhooks import sign_v3
from sales_pipeline.store.inbox import WebhookInbox, WebhookVendor
from sales_pipeline.store.pipeline_store import PipelineStore
from sales_pipeline.webhooks import ReceiverConfig, running_receiver
from sales_pipeline_tests.webhooks.conftest import (
    HUBSPOT_SECRET,
    LEMLIST_SECRET,
    MAX_BODY,
    NOW,
    NOW_MS,
    Receiver,
    contact_event,
    unsubscribe_activity,
)

FIVE_MINUTES_MS = 5 * 60 * 1000


def test_a_lemlist_delivery_is_stored_once_without_its_secret(receiver: Receiver) -> None:
    answer = receiver.lemlist(unsubscribe_activity())
    assert answer.status_code == 200
    assert receiver.stored() == [("lemlist", "act_unsub1")]
    [entry] = _pending_payloads(receiver)
    assert "secret" not in entry
    assert entry["leadEmail"] == "ana@acme.example"


def test_a_replayed_lemlist_delivery_is_acknowledged_and_not_stored_again(
    receiver: Receiver,
) -> None:
    for _ in range(3):
        assert receiver.lemlist(unsubscribe_activity()).status_code == 200
    assert receiver.stored() == [("lemlist", "act_unsub1")]


@pytest.mark.parametrize(
    "secret",
    [
        "lemlist-hook-secret-0123456780",  # same length, last character differs
        "lemlist",  # a prefix
        LEMLIST_SECRET + "-and-more",  # longer
        "",
        None,
        12345,
    ],
)
def test_a_forged_lemlist_secret_is_refused_and_nothing_stored(
    receiver: Receiver, secret: object
) -> None:
    payload = {**unsubscribe_activity(), "secret": secret}
    answer = receiver.lemlist(payload)
    assert answer.status_code == 401
    assert receiver.stored() == []


def test_a_lemlist_delivery_without_its_secret_is_refused(receiver: Receiver) -> None:
    payload = {k: v for k, v in unsubscribe_activity().items() if k != "secret"}
    assert receiver.lemlist(payload).status_code == 401
    assert receiver.stored() == []


def test_a_hubspot_batch_is_stored_once_per_event_across_retries(receiver: Receiver) -> None:
    assert receiver.hubspot([contact_event(1), contact_event(2, object_id=1002)]).status_code == 200
    # HubSpot retries with the next attemptNumber and a fresh signature: same event ids.
    retried = [contact_event(1, attempt=1), contact_event(2, object_id=1002, attempt=1)]
    assert receiver.hubspot(retried, timestamp_ms=NOW_MS + 60_000).status_code == 200
    assert receiver.stored() == [("hubspot", "1"), ("hubspot", "2")]


def test_a_hubspot_batch_signed_with_another_secret_is_refused(receiver: Receiver) -> None:
    answer = receiver.hubspot([contact_event(1)], secret="not-the-client-secret")
    assert answer.status_code == 401
    assert receiver.stored() == []


def test_a_hubspot_body_changed_after_signing_is_refused(receiver: Receiver) -> None:
    signed = receiver.hubspot([contact_event(1)])
    assert signed.status_code == 200
    body = json.dumps([contact_event(7)]).encode()
    replayed_headers = {
        "Content-Type": "application/json",
        "X-HubSpot-Request-Timestamp": str(NOW_MS),
        "X-HubSpot-Signature-v3": "a" * 44,
    }
    assert receiver.post("hubspot", body, replayed_headers).status_code == 401
    without_headers = {"Content-Type": "application/json"}
    assert receiver.post("hubspot", body, without_headers).status_code == 401
    assert receiver.stored() == [("hubspot", "1")]


def test_a_hubspot_signature_older_than_five_minutes_is_refused(receiver: Receiver) -> None:
    stale = receiver.hubspot([contact_event(1)], timestamp_ms=NOW_MS - FIVE_MINUTES_MS - 1)
    assert stale.status_code == 401
    assert receiver.stored() == []
    at_the_limit = receiver.hubspot([contact_event(2)], timestamp_ms=NOW_MS - FIVE_MINUTES_MS)
    assert at_the_limit.status_code == 200
    assert receiver.stored() == [("hubspot", "2")]


def test_a_declared_length_over_the_cap_is_refused_before_the_body_is_sent(
    receiver: Receiver,
) -> None:
    address = urlsplit(receiver.url)
    with socket.create_connection((address.hostname, address.port), timeout=30) as conn:
        conn.sendall(
            b"POST /webhooks/lemlist HTTP/1.1\r\nHost: receiver\r\n"
            b"Content-Type: application/json\r\n"
            + f"Content-Length: {100 * MAX_BODY}\r\n\r\n".encode()
        )
        status_line = conn.recv(4096).split(b"\r\n", 1)[0]
    assert status_line == b"HTTP/1.1 413 Request Entity Too Large"
    assert receiver.stored() == []


def test_a_body_streamed_past_the_cap_is_refused(receiver: Receiver) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"_id": "act_big", "type": "emailsSent", "pad": "'
        for _ in range(2 * MAX_BODY // 1024):
            yield b"x" * 1024
        yield b'"}'

    answer = requests.post(
        f"{receiver.url}/webhooks/lemlist",
        data=chunks(),
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    assert answer.status_code == 413
    assert receiver.stored() == []


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "application/jsonp", None]
)
def test_a_content_type_other_than_json_is_refused(
    receiver: Receiver, content_type: str | None
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    body = json.dumps(unsubscribe_activity()).encode()
    assert receiver.post("lemlist", body, headers).status_code == 415
    assert receiver.stored() == []


def test_json_with_a_charset_is_accepted(receiver: Receiver) -> None:
    body = json.dumps(unsubscribe_activity()).encode()
    headers = {"Content-Type": "application/json; charset=utf-8"}
    assert receiver.post("lemlist", body, headers).status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        b'{"_id": "act_1", ',
        b'{"_id": "act_1", "type": "emailsSent", "score": NaN, "secret": "x"}',
        b"\xff\xfe not utf-8",
        b"",
    ],
)
def test_malformed_json_is_refused(receiver: Receiver, body: bytes) -> None:
    headers = {"Content-Type": "application/json"}
    assert receiver.post("lemlist", body, headers).status_code == 400
    assert receiver.stored() == []


@pytest.mark.parametrize(
    "payload",
    [
        [unsubscribe_activity()],  # an array, not one activity
        {k: v for k, v in unsubscribe_activity().items() if k != "_id"},  # no activity id
    ],
)
def test_a_lemlist_payload_that_is_not_an_activity_is_refused(
    receiver: Receiver, payload: object
) -> None:
    assert receiver.lemlist(payload).status_code == 400
    assert receiver.stored() == []


@pytest.mark.parametrize(
    "events",
    [
        [],
        [{"subscriptionType": "contact.creation", "objectId": 1}],  # no eventId
        [{"eventId": 3, "objectId": 1}],  # no subscriptionType
        ["not an event"],
    ],
)
def test_a_hubspot_payload_that_is_not_a_batch_of_events_is_refused(
    receiver: Receiver, events: list[object]
) -> None:
    answer = receiver.hubspot(events)  # type: ignore[arg-type]
    assert answer.status_code == 400
    assert receiver.stored() == []


def test_hubspot_signs_the_public_url_the_tls_proxy_serves(store: PipelineStore) -> None:
    public = "https://hooks.example.com/intake"
    config = ReceiverConfig(
        hubspot_client_secret=HUBSPOT_SECRET, public_url=public, clock=lambda: NOW
    )
    with running_receiver(config, store) as url:
        behind_proxy = Receiver(url, store)
        # Signed for the URL the receiver sees itself: not what HubSpot called.
        assert behind_proxy.hubspot([contact_event(1)]).status_code == 401
        body = json.dumps([contact_event(2)]).encode()
        signature = sign_v3(HUBSPOT_SECRET, f"{public}/webhooks/hubspot", body, str(NOW_MS))
        headers = {
            "Content-Type": "application/json",
            "X-HubSpot-Request-Timestamp": str(NOW_MS),
            "X-HubSpot-Signature-v3": signature,
        }
        assert behind_proxy.post("hubspot", body, headers).status_code == 200
        assert behind_proxy.stored() == [("hubspot", "2")]


def test_a_vendor_without_a_configured_secret_is_unavailable(store: PipelineStore) -> None:
    config = ReceiverConfig(hubspot_client_secret=HUBSPOT_SECRET, clock=lambda: NOW)
    with running_receiver(config, store) as url:
        answer = Receiver(url, store).lemlist(unsubscribe_activity())
    assert answer.status_code == 503
    assert Receiver(url, store).stored() == []


def test_the_health_check_answers_for_the_store(receiver: Receiver) -> None:
    healthy = requests.get(f"{receiver.url}/healthz", timeout=30)
    assert healthy.status_code == 200
    assert healthy.json()["status"] == "ok"
    with receiver.store.engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE schema_version")
    broken = requests.get(f"{receiver.url}/healthz", timeout=30)
    assert broken.status_code == 503


def test_refusals_are_logged_with_status_and_reason_only(
    receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="sales_pipeline.webhooks")
    forged = {**unsubscribe_activity(email="private.person@acme.example"), "secret": "guess"}
    assert receiver.lemlist(forged).status_code == 401
    assert receiver.lemlist(unsubscribe_activity(email="private.person@acme.example")).ok
    text = caplog.text
    assert "refused lemlist webhook: 401 Lemlist secret does not match" in text
    for leaked in ("private.person", "acme.example", "guess", LEMLIST_SECRET, "act_unsub1"):
        assert leaked not in text


def _pending_payloads(receiver: Receiver) -> list[dict[str, object]]:
    entries = WebhookInbox(receiver.store).pending(WebhookVendor.LEMLIST)
    return [dict(entry.event.payload) for entry in entries]
