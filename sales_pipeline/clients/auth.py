"""How each vendor's credential is put on a request, at send time only.

An `Auth` adds its header to the outgoing request's headers just before the
request is sent and nowhere else: credentials never go into URLs, query
strings, logs or errors. `Auth.identity` gives the non-secret id used to key
rate-limiter buckets per credential.
"""

from __future__ import annotations

import base64
from collections.abc import MutableMapping
from typing import Protocol

from sales_pipeline.clients.secret import Secret


class Auth(Protocol):
    """A way to authenticate requests."""

    def apply(self, headers: MutableMapping[str, str]) -> None:
        """Add the credential to ``headers`` of a request about to be sent."""

    def identity(self) -> str:
        """A stable, non-secret id of the credential (for limiter keys)."""

    def refresh(self) -> bool:
        """Obtain a fresh credential; return False when this auth cannot refresh."""


class NoAuth:
    """Sends no credential (e.g. for OAuth token endpoints, which take form fields)."""

    def apply(self, headers: MutableMapping[str, str]) -> None:
        """Add nothing."""

    def identity(self) -> str:
        """Always ``"anonymous"``."""
        return "anonymous"

    def refresh(self) -> bool:
        """Nothing to refresh."""
        return False


class BearerTokenAuth:
    """``Authorization: Bearer <token>`` (HubSpot private-app tokens)."""

    def __init__(self, token: Secret) -> None:
        self._token = token

    def apply(self, headers: MutableMapping[str, str]) -> None:
        """Set the Authorization header."""
        headers["Authorization"] = f"Bearer {self._token.reveal()}"

    def identity(self) -> str:
        """Fingerprint of the token."""
        return self._token.fingerprint()

    def refresh(self) -> bool:
        """Static tokens cannot refresh."""
        return False


class HeaderKeyAuth:
    """An API key in a named header (Explorium: ``api_key: <key>``)."""

    def __init__(self, header: str, key: Secret) -> None:
        self._header = header
        self._key = key

    def apply(self, headers: MutableMapping[str, str]) -> None:
        """Set the key header."""
        headers[self._header] = self._key.reveal()

    def identity(self) -> str:
        """Fingerprint of the key."""
        return self._key.fingerprint()

    def refresh(self) -> bool:
        """Static keys cannot refresh."""
        return False


class BasicPasswordAuth:
    """HTTP Basic with a fixed user name and the key as password.

    Lemlist uses an empty user name: ``Authorization: Basic base64(":" + key)``.
    The encoded credential is itself registered as a secret, so it is masked
    in redacted text like the key.
    """

    def __init__(self, password: Secret, username: str = "") -> None:
        raw = f"{username}:{password.reveal()}".encode()
        self._encoded = Secret(base64.b64encode(raw).decode("ascii"))
        self._password = password

    def apply(self, headers: MutableMapping[str, str]) -> None:
        """Set the Authorization header."""
        headers["Authorization"] = f"Basic {self._encoded.reveal()}"

    def identity(self) -> str:
        """Fingerprint of the key."""
        return self._password.fingerprint()

    def refresh(self) -> bool:
        """Static keys cannot refresh."""
        return False
