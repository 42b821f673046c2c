"""`Secret`: a credential that never shows itself.

A `Secret` holds an API key, token or client secret. Its ``repr`` and ``str``
are a fixed mask, it compares by value in constant time, and creating one
registers the value with `redaction`, so the value is masked in every
redacted log record and error message even if it leaks into one by another
route. Only `Secret.reveal` gives the value, and the clients call it only
while building the headers of a request about to be sent.
"""

from __future__ import annotations

import hashlib
import hmac

from sales_pipeline.clients.redaction import register_secret_value


class Secret:
    """A credential value hidden from repr, str, logs and error messages.

    Args:
        value: The credential. Must not be empty.

    Raises:
        ValueError: ``value`` is empty.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if not value:
            raise ValueError("a Secret needs a non-empty value")
        self._value = value
        register_secret_value(value)

    def reveal(self) -> str:
        """Return the value. Call only where the value leaves for its vendor."""
        return self._value

    def fingerprint(self) -> str:
        """A short, stable, non-reversible id for this value (for limiter keys)."""
        return hashlib.sha256(self._value.encode()).hexdigest()[:12]

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        return hash(self.fingerprint())
