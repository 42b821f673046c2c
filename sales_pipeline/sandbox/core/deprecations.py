"""Deprecation signalling: the ``Deprecation``, ``Sunset`` and ``Warning`` response headers.

A :class:`Notice` says that the answers of one vendor under one path prefix come from a
deprecated API. Its headers follow RFC 9745 (``Deprecation: @<epoch seconds>``, a date that may
lie in the future), RFC 8594 (``Sunset: <HTTP-date>``), RFC 7234's ``Warning: 299 - "<text>"``
and RFC 8288's ``Link: <url>; rel="deprecation"``. The control plane adds notices at run time
(``POST /_sandbox/deprecations``); a vendor may also carry fixed ones (HubSpot's OAuth v1).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from email.utils import formatdate
from typing import Any

NOTICE_KEYS = frozenset({"vendor", "path_prefix", "deprecation", "sunset", "warning", "link"})


def _epoch(raw: Any, name: str) -> float:
    """An ISO 8601 date-time with a zone, as epoch seconds; ``ValueError`` otherwise."""
    try:
        moment = datetime.fromisoformat(str(raw))
    except ValueError:
        raise ValueError(f"{name} must be an ISO 8601 date-time, got {raw!r}") from None
    if moment.tzinfo is None:
        raise ValueError(f"{name} needs a time zone (for example 2027-02-16T00:00:00Z)")
    return moment.timestamp()


@dataclass(frozen=True)
class Notice:
    """One deprecated API surface and what its answers say about it.

    ``path_prefix`` is matched against the path after the vendor's sandbox prefix: ``/api/...``
    for Lemlist, ``/v1/...`` for Explorium, ``/crm/...`` or ``/oauth/...`` for HubSpot.
    """

    vendor: str
    path_prefix: str
    deprecated_at: float
    """Epoch seconds of the deprecation (past: deprecated; future: will be)."""
    sunset_at: float | None = None
    warning: str | None = None
    link: str | None = None

    @classmethod
    def from_json(cls, payload: dict[str, Any], now: float) -> Notice:
        """Parse a control-plane body; ``deprecation`` defaults to ``now``."""
        unknown = set(payload) - NOTICE_KEYS
        if unknown:
            raise ValueError(f"unknown deprecation keys: {sorted(unknown)}")
        if not isinstance(payload.get("vendor"), str):
            raise ValueError("a deprecation needs a vendor")
        prefix = str(payload.get("path_prefix") or "/")
        if not prefix.startswith("/"):
            raise ValueError("path_prefix must start with /")
        deprecation = payload.get("deprecation")
        sunset = payload.get("sunset")
        warning = payload.get("warning")
        link = payload.get("link")
        return cls(
            vendor=payload["vendor"],
            path_prefix=prefix,
            deprecated_at=now if deprecation is None else _epoch(deprecation, "deprecation"),
            sunset_at=None if sunset is None else _epoch(sunset, "sunset"),
            warning=None if warning is None else str(warning),
            link=None if link is None else str(link),
        )

    def applies_to(self, vendor: str, path: str) -> bool:
        """Whether an answer of ``vendor`` for ``path`` (vendor prefix stripped) carries it."""
        return vendor == self.vendor and path.startswith(self.path_prefix)

    def headers(self) -> dict[str, str]:
        """The response headers that announce this notice."""
        headers = {"Deprecation": f"@{int(self.deprecated_at)}"}
        if self.sunset_at is not None:
            headers["Sunset"] = formatdate(self.sunset_at, usegmt=True)
        if self.warning is not None:
            text = self.warning.replace("\\", "\\\\").replace('"', '\\"')
            headers["Warning"] = f'299 - "{text}"'
        if self.link is not None:
            headers["Link"] = f'<{self.link}>; rel="deprecation"'
        return headers

    def to_json(self) -> dict[str, Any]:
        """The notice as the control plane shows it."""
        return {
            "vendor": self.vendor,
            "path_prefix": self.path_prefix,
            "headers": self.headers(),
        }


class Notices:
    """The notices in force, added and cleared through the control plane (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._notices: list[Notice] = []

    def add(self, notice: Notice) -> None:
        """Put ``notice`` in force, replacing one for the same vendor and prefix."""
        with self._lock:
            self._notices = [
                kept
                for kept in self._notices
                if (kept.vendor, kept.path_prefix) != (notice.vendor, notice.path_prefix)
            ]
            self._notices.append(notice)

    def clear(self) -> None:
        """No notice in force any more."""
        with self._lock:
            self._notices = []

    def headers_for(
        self, vendor: str, path: str, standing: tuple[Notice, ...] = ()
    ) -> dict[str, str]:
        """The headers of the most specific notice covering ``vendor`` and ``path``, if any,
        among those in force and the vendor's ``standing`` ones."""
        with self._lock:
            candidates = [*standing, *self._notices]
        matching = [notice for notice in candidates if notice.applies_to(vendor, path)]
        if not matching:
            return {}
        return max(matching, key=lambda notice: len(notice.path_prefix)).headers()

    def to_json(self) -> list[dict[str, Any]]:
        """Every notice in force."""
        with self._lock:
            return [notice.to_json() for notice in self._notices]
