"""HubSpot search walks with several pages in flight, against a scripted search: the planned
walk yields each contact once in id order with no extra request, an opaque cursor is followed
one page at a time, and contacts that join the window during the walk are still walked; calls in
flight that meet an expired OAuth token refresh it once."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from sales_pipeline.clients import HubSpotClient, HubSpotSettings, InMemoryTokenStore, Secret
from sales_pipeline.clients.ratelimit import RateLimiter
from sales_pipeline_tests.clients.conftest import (
    HUBSPOT_TOKEN,
    Recorded,
    Scripted,
    ScriptedServer,
    fast_config,
)
from sales_pipeline_tests.clients.test_hubspot import (
    END,
    START,
    TOKEN_PATH,
    SearchEmulation,
    expired,
    oauth_client,
    search_page,
    token_answer,
)

SAME_MOMENT = int(START.timestamp() * 1000) + 5_000


def bulk(count: int, first_id: int = 100) -> list[dict[str, Any]]:
    """``count`` contacts sharing one modification moment, ids spaced by 3."""
    return [{"id": str(first_id + 3 * i), "ts": SAME_MOMENT} for i in range(count)]


@pytest.fixture
def concurrent_hubspot(server: ScriptedServer, limiter: RateLimiter) -> Iterator[HubSpotClient]:
    """A private-app client with four calls in flight (limits lifted for speed)."""
    with HubSpotClient(
        f"{server.url}/hubspot",
        access_token=Secret(HUBSPOT_TOKEN),
        settings=HubSpotSettings(burst_limit=10_000, search_limit=10_000),
        transport_config=replace(fast_config(), concurrency=4),
        limiter=limiter,
    ) as client:
        yield client


class OpaqueCursorSearch(SearchEmulation):
    """The emulation, but ``after`` is a token that is not the offset."""

    def __call__(self, request: Recorded) -> Scripted:
        body = request.json
        if "after" in body:
            body["after"] = body["after"].removeprefix("page-")
        answer = super().__call__(replace(request, body=json.dumps(body).encode()))
        paging = (answer.json or {}).get("paging")
        if paging:
            paging["next"]["after"] = f"page-{paging['next']['after']}"
        return answer


class GrowingSearch(SearchEmulation):
    """The emulation, whose window gains ``late`` contacts after the first request."""

    def __init__(self, contacts: list[dict[str, Any]], late: list[dict[str, Any]]) -> None:
        super().__init__(contacts)
        self._late = late

    def __call__(self, request: Recorded) -> Scripted:
        answer = super().__call__(request)
        if self._late:
            self.contacts = sorted(self.contacts + self._late, key=lambda c: int(c["id"]))
            self._late = []
        return answer


def walked_ids(client: HubSpotClient) -> list[int]:
    return [int(c["id"]) for c in client.iter_contacts_modified(START, END, ["email"])]


def test_a_planned_walk_yields_each_contact_once_in_id_order_with_one_request_per_page(
    server: ScriptedServer, concurrent_hubspot: HubSpotClient
):
    contacts = bulk(20_450)
    server.handler = SearchEmulation(contacts)

    ids = walked_ids(concurrent_hubspot)

    assert ids == [int(c["id"]) for c in contacts]
    assert len(server.requests) == -(-len(contacts) // 200)
    restarts = [r for r in server.requests if "after" not in r.json]
    assert len(restarts) == 3


def test_an_opaque_cursor_is_followed_page_by_page_past_the_cap(
    server: ScriptedServer, concurrent_hubspot: HubSpotClient
):
    contacts = bulk(10_450)
    server.handler = OpaqueCursorSearch(contacts)

    ids = walked_ids(concurrent_hubspot)

    assert ids == [int(c["id"]) for c in contacts]
    cursors = [r.json["after"] for r in server.requests if "after" in r.json]
    assert cursors
    assert all(cursor.startswith("page-") for cursor in cursors)


def test_contacts_joining_the_window_during_a_planned_walk_are_walked_too(
    server: ScriptedServer, concurrent_hubspot: HubSpotClient
):
    contacts, late = bulk(1_000), bulk(250, first_id=1_000_000)
    server.handler = GrowingSearch(contacts, late)

    ids = walked_ids(concurrent_hubspot)

    assert ids == [int(c["id"]) for c in contacts + late]


def test_calls_in_flight_that_meet_an_expired_token_refresh_it_once(server, limiter):
    def answer(request: Recorded) -> Scripted:
        if request.path == TOKEN_PATH:
            return token_answer("fresh", "rotated")
        if request.headers["Authorization"] == "Bearer fresh":
            return search_page(9)
        return replace(expired(), delay_s=0.2)

    server.handler = answer
    with oauth_client(server, limiter, InMemoryTokenStore(), expires_in_s=3600) as client:
        counts = list(
            client.concurrently(lambda _: client.count_contacts_modified_since(START), range(4))
        )

    assert counts == [9, 9, 9, 9]
    assert [r.path for r in server.requests].count(TOKEN_PATH) == 1
