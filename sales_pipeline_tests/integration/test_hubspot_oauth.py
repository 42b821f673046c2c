"""HubSpot OAuth against the sandbox: code flow, runs outliving a token, rotation races."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import requests

from sales_pipeline.clients import InMemoryTokenStore, OAuthTokens
from sales_pipeline_tests.integration.conftest import (
    CREDENTIALS,
    Clients,
    SandboxControl,
    authorize,
)

KEY = f"hubspot:{CREDENTIALS.hubspot_client_id}"
EVER = datetime(2000, 1, 1, tzinfo=UTC)
TOKEN_LIFETIME_S = 1800


def stored(store: InMemoryTokenStore) -> OAuthTokens:
    tokens = store.get(KEY)
    assert tokens is not None
    return tokens


def refresh_is_refused(sandbox: SandboxControl, tokens: OAuthTokens) -> bool:
    """Whether the sandbox answers ``invalid_grant`` to a refresh with ``tokens``."""
    response = requests.post(
        f"{sandbox.handle.hubspot_url}/oauth/v3/token",
        data={
            "grant_type": "refresh_token",
            "client_id": CREDENTIALS.hubspot_client_id,
            "client_secret": CREDENTIALS.hubspot_client_secret,
            "refresh_token": tokens.refresh_token.reveal(),
        },
        timeout=10,
    )
    return response.status_code == 400 and response.json()["error"] == "invalid_grant"


def test_a_run_longer_than_the_token_lifetime_refreshes_ahead_and_keeps_the_rotated_token(
    sandbox, clients: Clients
):
    store = InMemoryTokenStore()
    client = clients.hubspot_oauth(store)
    client.exchange_code(authorize(client))
    issued = [stored(store)]

    counts = [client.count_contacts_modified_since(EVER)]
    for advance_s in (TOKEN_LIFETIME_S - 100, TOKEN_LIFETIME_S + 100):
        sandbox.advance_clock(advance_s)
        counts.append(client.count_contacts_modified_since(EVER))
        issued.append(stored(store))

    assert counts == [2000, 2000, 2000]
    stats = sandbox.stats("hubspot")
    assert stats["by_endpoint"]["oauth_token"] == {"200": 3}
    assert stats["by_endpoint"]["search"] == {"200": 3}
    assert client.metrics_snapshot()["failed_calls"] == 0
    assert len({tokens.refresh_token.reveal() for tokens in issued}) == 3
    assert refresh_is_refused(sandbox, issued[0])
    assert refresh_is_refused(sandbox, issued[1])


def test_a_client_whose_clock_lags_the_vendor_recovers_through_the_expired_token_401(
    sandbox, clients: Clients
):
    store = InMemoryTokenStore()
    client = clients.hubspot_oauth(store, clock=time.time)
    client.exchange_code(authorize(client))
    first = stored(store)

    sandbox.advance_clock(TOKEN_LIFETIME_S + 60)
    count = client.count_contacts_modified_since(EVER)

    assert count == 2000
    assert stored(store).refresh_token != first.refresh_token
    assert sandbox.stats("hubspot")["by_endpoint"]["search"] == {"401": 1, "200": 1}


class RacingStoreView:
    """A client's view of a shared token store whose first read waits until every racer
    has read, so all of them start from the same expiring tokens, as step processes do."""

    def __init__(self, shared: InMemoryTokenStore, start: threading.Barrier) -> None:
        self._shared = shared
        self._start = start
        self._first = True

    def get(self, key: str) -> OAuthTokens | None:
        tokens = self._shared.get(key)
        if self._first:
            self._first = False
            self._start.wait(timeout=10)
        return tokens

    def save(self, key: str, tokens: OAuthTokens) -> None:
        self._shared.save(key, tokens)


def test_clients_sharing_a_store_survive_refreshing_at_the_same_moment(sandbox, clients: Clients):
    shared = InMemoryTokenStore()
    setup = clients.hubspot_oauth(shared)
    setup.exchange_code(authorize(setup))
    sandbox.advance_clock(TOKEN_LIFETIME_S - 60)
    start = threading.Barrier(2)
    racers = [clients.hubspot_oauth(RacingStoreView(shared, start)) for _ in range(2)]

    with ThreadPoolExecutor(max_workers=2) as pool:
        counts = list(pool.map(lambda c: c.count_contacts_modified_since(EVER), racers))

    assert counts == [2000, 2000]
    stats = sandbox.stats("hubspot")
    assert stats["by_endpoint"]["oauth_token"] == {"200": 2, "400": 1}
    assert stats["oauth"]["refreshes"] == 1
    sandbox.advance_clock(TOKEN_LIFETIME_S)
    assert setup.count_contacts_modified_since(EVER) == 2000
