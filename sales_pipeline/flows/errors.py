"""How the flows tell one record's failure from the pipeline's, and describe either."""

from __future__ import annotations

from sales_pipeline.clients import ApiError, AuthError, CircuitOpen, QuotaExhausted

STOPPING: tuple[type[ApiError], ...] = (AuthError, QuotaExhausted, CircuitOpen)
"""Errors no other record would escape (a refused credential, a spent quota, a vendor the
breaker has given up on): the flow stops calling the vendor and defers the rest."""

POISON: tuple[type[Exception], ...] = (ValueError, TypeError, UnicodeError)
"""Errors one record's content raises while it is prepared or encoded: that record is refused,
the others go on."""


def describe(error: Exception) -> str:
    """A one-line, PII-free account of an error: its class and, for API errors, the message
    (already redacted by the client); the text of other errors can hold the record's values,
    so only their class is kept."""
    if isinstance(error, ApiError):
        return f"{type(error).__name__}: {error.message}"
    return f"could not encode the record: {type(error).__name__}"
