"""Vendors' deprecation notices: noticed on every answer, logged once per endpoint per process.

An answer carrying any of the ``Deprecation`` (RFC 9745), ``Sunset`` (RFC 8594)
or ``Warning`` headers is a `DeprecationNotice` for the endpoint that answered
(method and path template, never the filled path). The transport counts every
such answer in the vendor's metrics (``deprecation_notices``, and the endpoints
in ``deprecated_endpoints``), keeps the latest notice per endpoint for
``doctor`` (`VendorClient.deprecation_notices`), and logs a warning the first
time this process sees a notice for an endpoint (`log_once`), so a long run is
not flooded.

None of the three vendors documents a body form of deprecation notice in
shared/api-facts, so only headers are read.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from sales_pipeline.clients.resolution import Exchange

DEPRECATION_HEADERS = ("Deprecation", "Sunset", "Warning")

_logged_lock = threading.Lock()
_logged: set[tuple[str, str]] = set()


@dataclass(frozen=True)
class DeprecationNotice:
    """What a vendor said about an endpoint's retirement.

    Attributes:
        vendor: The vendor.
        operation: The client operation that met it.
        endpoint: ``METHOD /path/template``.
        headers: ``(header, value)`` pairs as the vendor sent them.
    """

    vendor: str
    operation: str
    endpoint: str
    headers: tuple[tuple[str, str], ...]

    def describe(self) -> str:
        """One line for logs and ``doctor``."""
        said = "; ".join(f"{name}: {value}" for name, value in self.headers)
        return f"{self.vendor} {self.endpoint} is deprecated ({said})"


def notice_in(exchange: Exchange, vendor: str, method: str, path: str) -> DeprecationNotice | None:
    """The notice ``exchange``'s headers carry, if any."""
    found = tuple((name, value) for name in DEPRECATION_HEADERS if (value := exchange.header(name)))
    if not found:
        return None
    return DeprecationNotice(vendor, exchange.operation, f"{method} {path}", found)


def log_once(logger: logging.Logger, notice: DeprecationNotice) -> None:
    """Warn about ``notice`` unless this process already warned about its endpoint."""
    key = (notice.vendor, notice.endpoint)
    with _logged_lock:
        if key in _logged:
            return
        _logged.add(key)
    logger.warning(
        "%s",
        notice.describe(),
        extra={"vendor": notice.vendor, "operation": notice.operation},
    )
