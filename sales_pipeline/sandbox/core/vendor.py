"""What every emulated vendor is given and must provide."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

from .clock import Clock
from .deprecations import Notice
from .http import Response, Route
from .limits import LimitSettings
from .webhooks import Delivery
from .world import World


@dataclass(frozen=True)
class Credentials:
    """The secrets the sandbox accepts (all overridable from the command line)."""

    hubspot_token: str = "sandbox-hubspot-token"
    hubspot_client_id: str = "sandbox-client-id"
    hubspot_client_secret: str = "sandbox-client-secret"
    explorium_key: str = "sandbox-explorium-key"
    lemlist_key: str = "sandbox-lemlist-key"


@dataclass(frozen=True)
class SandboxOptions:
    """Knobs of the emulation that are not faults or rate limits."""

    explorium_credits: int = 1_000_000
    """Credits the Explorium account starts with; 403 once spent."""
    hubspot_token_ttl: int = 1800
    """Lifetime in seconds of HubSpot OAuth access tokens (HubSpot: 30 minutes)."""
    hubspot_daily_limit: int = 250_000
    hubspot_burst_limit: int = 100
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class VendorContext:
    """Shared services handed to each vendor at construction."""

    world: World
    clock: Clock
    limits: LimitSettings
    credentials: Credentials
    options: SandboxOptions


class Vendor(ABC):
    """One emulated API. The server strips ``/<name>`` from the path before routing."""

    name: str
    notices: tuple[Notice, ...] = ()
    """Deprecations the vendor itself announces on every answer under their path prefix."""

    def __init__(self, context: VendorContext) -> None:
        self.context = context

    @abstractmethod
    def routes(self) -> list[Route]:
        """Every endpoint, with its stats label."""

    @abstractmethod
    def fault_response(self, kind: str, status: int) -> Response:
        """The vendor's own answer for an injected ``rate_limit`` (429) or ``status`` (5xx)."""

    @abstractmethod
    def state(self) -> dict[str, Any]:
        """What the vendor holds now, for ``/_sandbox/state``."""

    def stats(self) -> dict[str, Any]:
        """Vendor-specific counters for ``/_sandbox/stats`` (credits, say)."""
        return {}

    def webhook_deliveries(self) -> list[Delivery]:
        """Webhooks that fell due since the last call (none unless the vendor sends any)."""
        return []

    @abstractmethod
    def reset(self) -> None:
        """Back to the world's initial state, windows and budgets cleared."""

    def configure(self, settings: dict[str, Any]) -> dict[str, Any]:
        """Apply run-time limit settings from ``PUT /_sandbox/limits``; return what is in force.

        Unknown keys raise ``ValueError``.
        """
        if settings:
            raise ValueError(f"{self.name} has no settings {sorted(settings)}")
        return {}
