"""What a vendor's answer says about itself: its error text and its correlation id.

`vendor_error_text` keeps the vendor's own words for every error body shape the
three vendors have been seen to send (see shared/api-facts/):

==============================================  ==========================================
HubSpot ``{"message", "errors": [{message}]}``  the message, then each distinct sub-message
OAuth ``{"error", "error_description"}``        the description (else the error code)
Explorium ``{"details": "..."}``                the text
Explorium 422 ``{"detail": [{loc, msg}]}``      ``loc: msg`` per item
Explorium 422 ``[{loc, msg}]`` (top-level)      ``loc: msg`` per item
Lemlist ``text/plain``                          the text
==============================================  ==========================================

The text is bounded and never includes the request; `ApiError` masks it
(emails, phones, secrets) when the error is built.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sales_pipeline.clients.resolution import Exchange

MAX_MESSAGE_CHARS = 300
"""Longest vendor text kept in an error."""

_CORRELATION_HEADERS = ("X-HubSpot-Correlation-Id", "X-Request-Id", "X-Correlation-Id")
_TEXT_KEYS = ("message", "details", "error_description", "detail", "error")


def vendor_error_text(exchange: Exchange) -> str | None:
    """The vendor's own error text (bounded), or ``None`` when the answer carries none."""
    data = exchange.data
    parts: list[str] = []
    if isinstance(data, dict):
        parts = _object_texts(data)
    elif isinstance(data, list):
        parts = _item_texts(data)
    elif data is None and exchange.text.strip():
        parts = [exchange.text.strip()]
    text = "; ".join(dict.fromkeys(part for part in parts if part))
    return text[:MAX_MESSAGE_CHARS] or None


def correlation_id(exchange: Exchange) -> str | None:
    """The vendor's id of the request: from the body (HubSpot ``correlationId``,
    Explorium ``correlation_id`` or ``response_context.correlation_id``), else a header."""
    data = exchange.data
    if isinstance(data, dict):
        for key in ("correlationId", "correlation_id"):
            if isinstance(data.get(key), str):
                return str(data[key])
        context = data.get("response_context")
        if isinstance(context, dict) and isinstance(context.get("correlation_id"), str):
            return str(context["correlation_id"])
    return next((value for name in _CORRELATION_HEADERS if (value := exchange.header(name))), None)


def _object_texts(data: Mapping[str, Any]) -> list[str]:
    """The first text-bearing key of an error object, then its ``errors[]`` messages."""
    parts: list[str] = []
    for key in _TEXT_KEYS:
        value = data.get(key)
        if isinstance(value, str) and value:
            parts.append(value)
            break
        if isinstance(value, list) and value:
            parts.extend(_item_texts(value))
            break
    errors = data.get("errors")
    if isinstance(errors, list):
        parts.extend(_item_texts(errors))
    return parts


def _item_texts(items: list[Any]) -> list[str]:
    """Each item of a list of errors: ``loc: msg`` (validation items), ``message``, or a string."""
    texts: list[str] = []
    for item in items:
        if isinstance(item, str):
            texts.append(item)
        elif isinstance(item, dict):
            message = item.get("msg") or item.get("message")
            if not isinstance(message, str) or not message:
                continue
            location = item.get("loc")
            if isinstance(location, list) and location:
                message = f"{'.'.join(str(step) for step in location)}: {message}"
            texts.append(message)
    return texts
