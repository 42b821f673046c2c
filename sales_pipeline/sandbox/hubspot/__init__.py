"""HubSpot's CRM API (contacts, properties, OAuth) as the sandbox emulates it."""

from .api import HubSpotApi

__all__ = ["HubSpotApi"]
