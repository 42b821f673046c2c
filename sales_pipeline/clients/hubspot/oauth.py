"""HubSpot OAuth 2.0: token persistence and a bearer auth refreshed ahead of expiry.

Access tokens live 30 minutes; they are refreshed 5 minutes ahead of expiry,
and once more on a 401 ``EXPIRED_AUTHENTICATION``. Every refresh answer's
refresh token is persisted through the `TokenStore`. Clients that share a
store (Dagster step processes) may refresh at the same moment: if HubSpot
rotated the refresh token and refuses ours (400 ``invalid_grant``), the tokens
the other client stored are used instead of failing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import quote, urlencode

from sales_pipeline.clients.errors import AuthError, ServerError
from sales_pipeline.clients.hubspot.endpoints import DEFAULT_AUTHORIZE_URL, VENDOR
from sales_pipeline.clients.secret import Secret
from sales_pipeline.clients.transport import Operation


@dataclass(frozen=True)
class OAuthTokens:
    """An OAuth token pair and when the access token expires (epoch seconds)."""

    access_token: Secret
    refresh_token: Secret
    expires_at: float


class TokenStore(Protocol):
    """Where OAuth tokens live between runs (the pipeline's SQL store implements this)."""

    def get(self, key: str) -> OAuthTokens | None:
        """The tokens saved under ``key``, if any."""

    def save(self, key: str, tokens: OAuthTokens) -> None:
        """Persist ``tokens`` under ``key``, replacing what was there."""


class InMemoryTokenStore:
    """A thread-safe `TokenStore` that lives as long as the process."""

    def __init__(self) -> None:
        self._tokens: dict[str, OAuthTokens] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> OAuthTokens | None:
        """The tokens saved under ``key``, if any."""
        with self._lock:
            return self._tokens.get(key)

    def save(self, key: str, tokens: OAuthTokens) -> None:
        """Keep ``tokens`` under ``key``."""
        with self._lock:
            self._tokens[key] = tokens


@dataclass(frozen=True)
class HubSpotOAuthConfig:
    """An OAuth app's credentials and where its tokens are kept.

    Attributes:
        client_id: The app's client id (not secret).
        client_secret: The app's client secret.
        redirect_uri: Redirect URI registered with the app.
        token_store: Persists the token pair after every exchange and refresh.
        authorize_url: Authorization page (configurable for the sandbox).
        refresh_margin_s: Refresh this long before the access token expires.
        store_key: Key in the token store (default ``"hubspot:<client_id>"``).
        bootstrap_refresh_token: Refresh token to start from while the store holds
            no tokens (e.g. ``HUBSPOT_REFRESH_TOKEN``); the tokens its first refresh
            answers are stored and used from then on.
        handover_wait_s: After HubSpot refuses our refresh token (``invalid_grant``),
            how long to watch the store for the newer tokens another process
            sharing it has just obtained (refresh tokens may rotate), before failing.
    """

    client_id: str
    client_secret: Secret
    redirect_uri: str
    token_store: TokenStore
    authorize_url: str = DEFAULT_AUTHORIZE_URL
    refresh_margin_s: float = 300.0
    store_key: str | None = None
    bootstrap_refresh_token: Secret | None = None
    handover_wait_s: float = 2.0

    @property
    def key(self) -> str:
        """The token store key."""
        return self.store_key or f"{VENDOR}:{self.client_id}"


class OAuthBearer:
    """Bearer auth from an OAuth token pair, refreshed ahead of expiry.

    The token store is read before every request, so several clients (threads
    or processes) sharing one store use whichever tokens were saved last. When
    two of them refresh at once and HubSpot rotates the refresh token, the
    loser's refresh answers ``invalid_grant``; it then takes the winner's
    tokens from the store instead of failing (see `_handover`).

    Within one process, the lock makes concurrent calls refresh once, not once each: a call
    that finds the tokens expiring refreshes while the others wait and then use the new ones,
    and a call whose token was refused (401) refreshes only if no other call has replaced that
    token since it was sent (each thread remembers the token it sent).
    """

    _STORE_POLL_S = 0.1

    def __init__(
        self,
        config: HubSpotOAuthConfig,
        post_token_form: Callable[[Operation, Mapping[str, str]], Mapping[str, Any]],
        refresh_operation: Operation,
        clock: Callable[[], float],
    ) -> None:
        self._config = config
        self._post = post_token_form
        self._operation = refresh_operation
        self._clock = clock
        self._lock = threading.Lock()
        self._sent = threading.local()

    def apply(self, headers: MutableMapping[str, str]) -> None:
        """Set ``Authorization: Bearer``, refreshing first if expiry is near."""
        with self._lock:
            tokens = self._config.token_store.get(self._config.key)
            if tokens is None or self._expiring(tokens):
                tokens = self._refresh(tokens)
        self._sent.access_token = tokens.access_token
        headers["Authorization"] = f"Bearer {tokens.access_token.reveal()}"

    def identity(self) -> str:
        """The app's client id: the burst limit is per app."""
        return self._config.client_id

    def refresh(self) -> bool:
        """Refresh now (after a 401 EXPIRED_AUTHENTICATION), unless another call already
        replaced the token this thread sent."""
        with self._lock:
            tokens = self._config.token_store.get(self._config.key)
            sent = getattr(self._sent, "access_token", None)
            if tokens is None or sent is None or tokens.access_token == sent:
                self._refresh(tokens)
        return True

    def _expiring(self, tokens: OAuthTokens) -> bool:
        return tokens.expires_at - self._config.refresh_margin_s <= self._clock()

    def _refresh(self, tokens: OAuthTokens | None) -> OAuthTokens:
        """Redeem the stored refresh token (or the bootstrap one) and store the answer."""
        if tokens is not None:
            refresh_token = tokens.refresh_token
        elif self._config.bootstrap_refresh_token is not None:
            refresh_token = self._config.bootstrap_refresh_token
        else:
            raise AuthError(
                "no OAuth tokens stored: complete the authorization flow (exchange_code) "
                "or configure a bootstrap refresh token",
                vendor=VENDOR,
                operation=self._operation.name,
            )
        try:
            return self._redeem(refresh_token)
        except AuthError as error:
            if error.status != 400:  # 400 is invalid_grant; 401/403 are not a rotation race
                raise
            newer = self._handover(refresh_token)
            if newer is None:
                raise
        return self._redeem(newer.refresh_token) if self._expiring(newer) else newer

    def _handover(self, refused: Secret) -> OAuthTokens | None:
        """Tokens another client stored in place of ``refused``, if any turn up
        within ``handover_wait_s`` (its save may land just after our refusal)."""
        deadline = time.monotonic() + self._config.handover_wait_s
        while True:
            stored = self._config.token_store.get(self._config.key)
            if stored is not None and stored.refresh_token != refused:
                return stored
            if time.monotonic() >= deadline:
                return None
            time.sleep(self._STORE_POLL_S)

    def _redeem(self, refresh_token: Secret) -> OAuthTokens:
        answer = self._post(
            self._operation,
            {
                "grant_type": "refresh_token",
                "client_id": self._config.client_id,
                "client_secret": self._config.client_secret.reveal(),
                "refresh_token": refresh_token.reveal(),
            },
        )
        fresh = tokens_from(answer, self._clock(), refresh_token, self._operation.name)
        self._config.token_store.save(self._config.key, fresh)
        return fresh


def tokens_from(
    answer: Mapping[str, Any], now: float, previous: Secret | None, operation: str
) -> OAuthTokens:
    """Parse a token endpoint answer; keep ``previous`` refresh token if none came back.

    Raises:
        ServerError: The answer lacks a token (not retryable).
    """
    access = answer.get("access_token")
    refresh = answer.get("refresh_token")
    if isinstance(refresh, str) and refresh:
        refresh_secret: Secret | None = Secret(refresh)
    else:
        refresh_secret = previous
    if not isinstance(access, str) or not access or refresh_secret is None:
        raise ServerError(
            "token answer without access_token or refresh_token",
            vendor=VENDOR,
            operation=operation,
            retryable=False,
        )
    expires_in = answer.get("expires_in")
    lifetime = float(expires_in) if isinstance(expires_in, int | float) else 1800.0
    return OAuthTokens(Secret(access), refresh_secret, now + lifetime)


def authorization_url(
    config: HubSpotOAuthConfig, state: str, scopes: Sequence[str], redirect_uri: str | None
) -> str:
    """The consent page URL for ``scopes``, carrying ``state`` as the CSRF guard."""
    if not state:
        raise ValueError("state must be a non-empty CSRF token")
    query = urlencode(
        {
            "client_id": config.client_id,
            "redirect_uri": redirect_uri or config.redirect_uri,
            "scope": " ".join(scopes),
            "state": state,
        },
        quote_via=quote,
    )
    return f"{config.authorize_url}?{query}"
