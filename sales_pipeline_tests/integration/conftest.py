"""Clients against the sandbox over real HTTP: the shared sandbox, its control plane, clients.

One sandbox serves the session, with custom credentials every test knows (so the log tests
can look for them). Each test that asks for ``sandbox`` gets it reset (world, windows, stats,
clock, fault draws), with faults off and the real limits; each client gets a private in-memory
rate limiter, so no test inherits another's buckets.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import urllib3

from sales_pipeline.clients import (
    ExploriumClient,
    HubSpotClient,
    HubSpotOAuthConfig,
    LemlistClient,
    RateLimiter,
    RetryPolicy,
    Secret,
    Timeouts,
    TokenStore,
    TransportConfig,
    VendorClient,
)
from sales_pipeline.sandbox import Credentials, SandboxConfig, SandboxHandle, run_sandbox

CREDENTIALS = Credentials(
    hubspot_token="pat-na1-integration-0f1e2d3c4b5a",
    hubspot_client_id="integration-client-id",
    hubspot_client_secret="integration-client-secret-7a6b5c",
    explorium_key="expl-integration-key-1234abcd",
    lemlist_key="lemlist-integration-key-5678efgh",
)
SECRETS = (
    CREDENTIALS.hubspot_token,
    CREDENTIALS.hubspot_client_secret,
    CREDENTIALS.explorium_key,
    CREDENTIALS.lemlist_key,
)
REDIRECT_URI = "https://pipeline.example.test/oauth/callback"
SCOPES = ("crm.objects.contacts.read", "crm.objects.contacts.write", "oauth")


@dataclass(frozen=True)
class Sent:
    """A request a client sent, as it went to the connection pool."""

    method: str
    url: str
    headers: dict[str, str]
    body: bytes | None

    @property
    def path(self) -> str:
        """The URL's path, without the query."""
        return urlsplit(self.url).path


class Wiretap(urllib3.PoolManager):
    """A pool manager that keeps every request sent through it (answers go to the client)."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[Sent] = []

    def urlopen(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        body = kwargs.get("body")
        headers = dict(kwargs.get("headers") or {})
        self.sent.append(Sent(method, url, headers, body if isinstance(body, bytes) else None))
        return super().urlopen(method, url, *args, **kwargs)


def transport_config(read_s: float = 10.0) -> TransportConfig:
    """Production retry budgets with short backoffs, so fault-heavy tests stay quick."""
    return TransportConfig(
        timeouts=Timeouts(connect_s=2.0, read_s=read_s, total_s=read_s + 5.0),
        retry=RetryPolicy(backoff_initial_s=0.05, backoff_max_s=0.5, max_elapsed_s=60.0),
    )


def authorize(client: HubSpotClient) -> str:
    """Give consent on the sandbox's authorize page; the code its redirect carries."""
    state = "csrf-state-1"
    url = client.authorization_url(state, SCOPES)
    response = requests.get(url, allow_redirects=False, timeout=10)
    assert response.status_code == 302
    query = parse_qs(urlsplit(response.headers["Location"]).query)
    assert query["state"] == [state]
    return query["code"][0]


@dataclass
class SandboxControl:
    """The ``/_sandbox`` control plane of one running sandbox."""

    handle: SandboxHandle
    session: requests.Session = field(default_factory=requests.Session)

    def _call(self, method: str, action: str, **kwargs: Any) -> Any:
        response = self.session.request(
            method, f"{self.handle.control_url}/{action}", timeout=60, **kwargs
        )
        response.raise_for_status()
        return response.json()

    def reset(self) -> None:
        """World, windows, stats, clock and fault draws back to the start; no faults, real
        limits."""
        self._call("POST", "reset")
        self.set_faults("none")
        self.set_limits(enabled=True, rate_scale=1.0)

    def set_faults(self, profile: str | dict[str, Any]) -> dict[str, Any]:
        """Put a built-in profile, a file or an inline mapping in force; returns the profile."""
        result: dict[str, Any] = self._call("PUT", "faults", json={"profile": profile})
        return result

    def set_limits(self, **settings: Any) -> dict[str, Any]:
        """``PUT /_sandbox/limits`` with ``settings``; returns the limits in force."""
        result: dict[str, Any] = self._call("PUT", "limits", json=settings)
        return result

    def stats(self, vendor: str) -> dict[str, Any]:
        """One vendor's request counts, limit 429s and faults injected."""
        result: dict[str, Any] = self._call("GET", "stats")[vendor]
        return result

    def state(self, vendor: str) -> dict[str, Any]:
        """What one vendor holds now."""
        result: dict[str, Any] = self._call("GET", "state", params={"vendor": vendor})[vendor]
        return result

    def add_deprecation(self, **notice: Any) -> dict[str, Any]:
        """``POST /_sandbox/deprecations``: answers under a path prefix carry notices."""
        result: dict[str, Any] = self._call("POST", "deprecations", json=notice)
        return result

    def held_requests(self) -> int:
        """How many requests a ``hang`` fault is holding now."""
        return int(self._call("GET", "hangs")["held"])

    def wait_until_held(self, count: int) -> None:
        """Poll until at least ``count`` requests are held (a readiness wait; nothing is
        timed)."""
        self._wait_for_held(lambda held: held >= count, f"the sandbox never held {count}")

    def wait_until_none_held(self) -> None:
        """Poll until no request is held (a released request leaves on the sandbox's own
        thread, a moment after the release answers)."""
        self._wait_for_held(lambda held: held == 0, "the sandbox still holds requests")

    def _wait_for_held(self, done: Callable[[int], bool], failure: str) -> None:
        for _ in range(500):
            if done(self.held_requests()):
                return
            time.sleep(0.02)
        raise AssertionError(failure)

    def release_hangs(self) -> int:
        """Let every held request go (their connections close unanswered)."""
        return int(self._call("POST", "hangs/release")["released"])

    def advance_clock(self, seconds: float) -> float:
        """Move the sandbox's time forward; returns its new epoch time."""
        return float(self._call("POST", "clock", json={"advance_seconds": seconds})["now"])


@dataclass
class Clients:
    """Builds clients for one sandbox with its credentials.

    Every client shares the factory's private limiter and transport config unless the
    call passes its own ``limiter=``/``transport_config=``; other keyword arguments
    (``settings=``, ``session=``, ``clock=``...) go to the client as given.
    """

    handle: SandboxHandle
    limiter: RateLimiter
    config: TransportConfig = field(default_factory=transport_config)
    opened: list[VendorClient] = field(default_factory=list)

    def _options(self, overrides: dict[str, Any]) -> dict[str, Any]:
        return {"transport_config": self.config, "limiter": self.limiter, **overrides}

    def hubspot(self, *, token: str | None = None, **overrides: Any) -> HubSpotClient:
        """A private-app client (``token`` overrides the accepted one)."""
        client = HubSpotClient(
            self.handle.hubspot_url,
            access_token=Secret(token or CREDENTIALS.hubspot_token),
            **self._options(overrides),
        )
        self.opened.append(client)
        return client

    def hubspot_oauth(self, store: TokenStore, **overrides: Any) -> HubSpotClient:
        """An OAuth client of the sandbox's app; its clock is the sandbox's clock."""
        oauth = HubSpotOAuthConfig(
            client_id=CREDENTIALS.hubspot_client_id,
            client_secret=Secret(CREDENTIALS.hubspot_client_secret),
            redirect_uri=REDIRECT_URI,
            token_store=store,
            authorize_url=f"{self.handle.hubspot_url}/oauth/authorize",
        )
        client = HubSpotClient(
            self.handle.hubspot_url,
            oauth=oauth,
            **self._options({"clock": self.handle.sandbox.clock.now, **overrides}),
        )
        self.opened.append(client)
        return client

    def explorium(self, *, key: str | None = None, **overrides: Any) -> ExploriumClient:
        """An Explorium client (``key`` overrides the accepted one)."""
        client = ExploriumClient(
            self.handle.explorium_url,
            api_key=Secret(key or CREDENTIALS.explorium_key),
            **self._options(overrides),
        )
        self.opened.append(client)
        return client

    def lemlist(self, *, key: str | None = None, **overrides: Any) -> LemlistClient:
        """A Lemlist client (``key`` overrides the accepted one)."""
        client = LemlistClient(
            self.handle.lemlist_url,
            api_key=Secret(key or CREDENTIALS.lemlist_key),
            **self._options(overrides),
        )
        self.opened.append(client)
        return client

    def close(self) -> None:
        """Close every client this factory built."""
        for client in self.opened:
            client.close()


@pytest.fixture(scope="session")
def shared_sandbox() -> Iterator[SandboxHandle]:
    """One sandbox (2,000 contacts, the test credentials) for the whole session."""
    with run_sandbox(SandboxConfig(contacts=2000, credentials=CREDENTIALS)) as handle:
        yield handle


@pytest.fixture
def sandbox(shared_sandbox: SandboxHandle) -> Iterator[SandboxControl]:
    """The shared sandbox's control plane, reset, with faults off and the real limits."""
    control = SandboxControl(shared_sandbox)
    control.reset()
    yield control
    control.session.close()


@pytest.fixture
def wiretap() -> Iterator[Wiretap]:
    with Wiretap() as tap:
        yield tap


@pytest.fixture
def limiter() -> Iterator[RateLimiter]:
    """A private in-memory limiter, so tests never share buckets."""
    private = RateLimiter("memory://")
    yield private
    private.close()


@pytest.fixture
def clients(sandbox: SandboxControl, limiter: RateLimiter) -> Iterator[Clients]:
    """Client factory for the shared sandbox; every client is closed after the test."""
    factory = Clients(sandbox.handle, limiter)
    yield factory
    factory.close()
