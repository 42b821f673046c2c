"""HubSpot OAuth 2.0: the consent stand-in, the token endpoint and bearer-token checks.

- ``GET /oauth/authorize?client_id&redirect_uri&scope&state`` stands for app.hubspot.com's
  consent screen: it grants at once and redirects (302) to ``redirect_uri?code=...&state=...``.
  Codes are single-use and expire after 10 minutes of sandbox-clock time.
- ``POST /oauth/v1/token`` (and ``/oauth/v3/token``), form-encoded only, grants
  ``authorization_code`` and ``refresh_token``. Access tokens live ``hubspot_token_ttl`` seconds
  (1800) by the sandbox clock, then answer 401 ``EXPIRED_AUTHENTICATION``.
- Refresh tokens ROTATE: each refresh returns a new refresh token and the old one stops
  working. HubSpot does not document whether its refresh tokens rotate (api-facts: "always
  persist the refresh_token each refresh returns"); rotating is the strictest reading, so a
  client that forgets to persist the new token fails here instead of in production.
"""

from __future__ import annotations

import math
import secrets
import threading
import uuid
from dataclasses import dataclass
from urllib.parse import urlencode

from sales_pipeline.sandbox.core.clock import Clock
from sales_pipeline.sandbox.core.vendor import Credentials

from .errors import api_error, oauth_error

CODE_TTL_SECONDS = 600
AUTH_NOT_FOUND_MESSAGE = (
    "Authentication credentials not found. This API supports OAuth 2.0 authentication and you "
    "can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview"
)


def _same_secret(given: str, expected: str) -> bool:
    """Constant-time comparison that also accepts non-ASCII input."""
    return secrets.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


@dataclass(frozen=True)
class _Grant:
    client_id: str
    redirect_uri: str
    scopes: frozenset[str]
    expires_at: float


@dataclass(frozen=True)
class _AccessToken:
    scopes: frozenset[str]
    expires_at: float


class OAuthServer:
    """Codes, access tokens and refresh tokens of the sandbox's one OAuth app (thread-safe)."""

    def __init__(self, credentials: Credentials, clock: Clock, token_ttl: int) -> None:
        self._credentials = credentials
        self._clock = clock
        self._ttl = token_ttl
        self._lock = threading.Lock()
        self._codes: dict[str, _Grant] = {}
        self._access: dict[str, _AccessToken] = {}
        self._refresh: dict[str, frozenset[str]] = {}
        self.issued = 0
        self.refreshed = 0

    # ------------------------------------------------------------- consent stand-in
    def authorize(
        self, client_id: str | None, redirect_uri: str | None, scope: str | None, state: str | None
    ) -> str:
        """Grant consent at once; the redirect location carrying a fresh code.

        Raises ``ValueError`` (shown as HubSpot's error page) for an unknown app, a missing
        redirect URI or no scopes.
        """
        if client_id != self._credentials.hubspot_client_id:
            raise ValueError("The app with this client_id does not exist.")
        if not redirect_uri:
            raise ValueError("A redirect_uri is required.")
        scopes = frozenset((scope or "").split())
        if not scopes:
            raise ValueError("At least one scope is required.")
        code = str(uuid.uuid4())
        with self._lock:
            self._codes[code] = _Grant(
                client_id, redirect_uri, scopes, self._clock.now() + CODE_TTL_SECONDS
            )
        query = {"code": code, **({"state": state} if state is not None else {})}
        separator = "&" if "?" in redirect_uri else "?"
        return f"{redirect_uri}{separator}{urlencode(query)}"

    # ------------------------------------------------------------- token endpoint
    def token(self, form: dict[str, str]) -> dict[str, object]:
        """Serve one token request; raises HubSpot's 400 OAuth errors."""
        grant_type = form.get("grant_type")
        if grant_type not in ("authorization_code", "refresh_token"):
            raise oauth_error(
                "BAD_GRANT_TYPE", "missing or unknown grant type", "unsupported_grant_type"
            )
        if form.get("client_id") != self._credentials.hubspot_client_id:
            raise oauth_error("BAD_CLIENT_ID", "missing or invalid client_id", "invalid_client")
        if not _same_secret(form.get("client_secret", ""), self._credentials.hubspot_client_secret):
            raise oauth_error(
                "BAD_CLIENT_SECRET", "missing or invalid client_secret", "invalid_client"
            )
        with self._lock:
            if grant_type == "authorization_code":
                scopes = self._redeem_code(form)
            else:
                scopes = self._redeem_refresh_token(form.get("refresh_token", ""))
            return self._issue(scopes)

    def _redeem_code(self, form: dict[str, str]) -> frozenset[str]:
        redirect_uri = form.get("redirect_uri")
        if not redirect_uri:
            raise oauth_error(
                "BAD_REDIRECT_URI", "missing or invalid redirect_uri", "invalid_request"
            )
        grant = self._codes.pop(form.get("code", ""), None)
        if grant is None or grant.expires_at <= self._clock.now():
            raise oauth_error("BAD_AUTH_CODE", "missing or invalid auth code", "invalid_grant")
        if grant.redirect_uri != redirect_uri:
            raise oauth_error(
                "MISMATCH_REDIRECT_URI_AUTH_CODE",
                "redirect_uri does not match initial auth code URL",
                "invalid_grant",
            )
        return grant.scopes

    def _redeem_refresh_token(self, refresh_token: str) -> frozenset[str]:
        scopes = self._refresh.pop(refresh_token, None)
        if scopes is None:
            raise oauth_error(
                "BAD_REFRESH_TOKEN", "missing or invalid refresh token", "invalid_grant"
            )
        self.refreshed += 1
        return scopes

    def _issue(self, scopes: frozenset[str]) -> dict[str, object]:
        access_token = "CL" + secrets.token_urlsafe(48)
        refresh_token = f"na1-{uuid.uuid4().hex[:4]}-{uuid.uuid4()}"
        self._access[access_token] = _AccessToken(scopes, self._clock.now() + self._ttl)
        self._refresh[refresh_token] = scopes
        self.issued += 1
        return {
            "access_token": access_token,
            "refresh_token": refresh_token,
            "expires_in": self._ttl,
            "token_type": "bearer",
        }

    # ------------------------------------------------------------- bearer checks
    def scopes_of(self, token: str | None) -> frozenset[str] | None:
        """The scopes a bearer token grants (``None``: all, for the private-app token).

        Raises 401 ``INVALID_AUTHENTICATION`` for an unknown token and 401
        ``EXPIRED_AUTHENTICATION`` for an expired OAuth access token.
        """
        if token and _same_secret(token, self._credentials.hubspot_token):
            return None
        with self._lock:
            access = self._access.get(token or "")
        if access is None:
            raise api_error(401, "INVALID_AUTHENTICATION", AUTH_NOT_FOUND_MESSAGE)
        overdue = self._clock.now() - access.expires_at
        if overdue >= 0:
            minutes = math.floor(overdue / 60)
            raise api_error(
                401,
                "EXPIRED_AUTHENTICATION",
                f"The OAuth token used to make this call expired {minutes} minute(s) ago.",
            )
        return access.scopes

    def summary(self) -> dict[str, int]:
        """Counts for the sandbox's state and stats."""
        now = self._clock.now()
        with self._lock:
            return {
                "active_access_tokens": sum(1 for a in self._access.values() if a.expires_at > now),
                "refresh_tokens": len(self._refresh),
                "pending_codes": len(self._codes),
                "access_tokens_issued": self.issued,
                "refreshes": self.refreshed,
            }
