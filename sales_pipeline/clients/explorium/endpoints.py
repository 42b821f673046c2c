"""Every Explorium endpoint the client calls, and Explorium's published sizes, in one place."""

from __future__ import annotations

from sales_pipeline.clients.transport import Operation

VENDOR = "explorium"
DEFAULT_BASE_URL = "https://api.explorium.ai/v1"
BULK_MAX = 50
"""Explorium's maximum items per match or bulk-enrich call."""


class ExploriumEndpoints:
    """Every Explorium endpoint this client calls, in one place (below ``/v1``)."""

    match_prospects = Operation("match_prospects", "POST", "/prospects/match")
    match_businesses = Operation("match_businesses", "POST", "/businesses/match")
    enrich_contacts_information = Operation(
        "enrich_contacts_information",
        "POST",
        "/prospects/contacts_information/bulk_enrich",
        idempotency="read: a repeat returns the same data (credits may be charged again)",
    )
    enrich_profiles = Operation(
        "enrich_profiles",
        "POST",
        "/prospects/profiles/bulk_enrich",
        idempotency="read: a repeat returns the same data (credits may be charged again)",
    )
    enrich_firmographics = Operation(
        "enrich_firmographics",
        "POST",
        "/businesses/firmographics/bulk_enrich",
        idempotency="read: a repeat returns the same data (credits may be charged again)",
    )
    get_credits = Operation("get_credits", "GET", "/credits")
