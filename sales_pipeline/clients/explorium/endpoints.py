"""Every Explorium endpoint the client calls, its API version and Explorium's published sizes.

Explorium publishes one API version, ``v1`` (`API_VERSION`), as the first
segment of every path; there is nothing to select, so it is not configuration.
The table below writes the version into each path, and `api_root` accepts a
base URL given with or without it (``https://api.explorium.ai/v1``, as
Explorium documents its base, or ``https://api.explorium.ai``).
"""

from __future__ import annotations

from sales_pipeline.clients.transport import Operation

VENDOR = "explorium"
API_VERSION = "v1"
"""The only API version Explorium publishes."""
DEFAULT_BASE_URL = f"https://api.explorium.ai/{API_VERSION}"
BULK_MAX = 50
"""Explorium's maximum items per match or bulk-enrich call."""

RECORDS_CAP = 16 * 1024 * 1024
"""Largest answer of a match or bulk-enrich call (50 profiles with their histories)."""
SMALL_CAP = 64 * 1024
"""Largest answer of the credits probe."""

_V = f"/{API_VERSION}"
_PAID_READ = "read: a repeat returns the same data (credits may be charged again)"


def api_root(base_url: str) -> str:
    """``base_url`` without a trailing ``/v1``: the table's paths carry the version."""
    trimmed = base_url.rstrip("/")
    return trimmed.removesuffix(_V)


class ExploriumEndpoints:
    """Every Explorium endpoint this client calls, in one place, with its size limits."""

    match_prospects = Operation(
        "match_prospects",
        "POST",
        f"{_V}/prospects/match",
        max_response_bytes=RECORDS_CAP,
        max_inputs=BULK_MAX,
        inputs_key="prospects_to_match",
    )
    match_businesses = Operation(
        "match_businesses",
        "POST",
        f"{_V}/businesses/match",
        max_response_bytes=RECORDS_CAP,
        max_inputs=BULK_MAX,
        inputs_key="businesses_to_match",
    )
    enrich_contacts_information = Operation(
        "enrich_contacts_information",
        "POST",
        f"{_V}/prospects/contacts_information/bulk_enrich",
        idempotency=_PAID_READ,
        max_response_bytes=RECORDS_CAP,
        max_inputs=BULK_MAX,
        inputs_key="prospect_ids",
    )
    enrich_profiles = Operation(
        "enrich_profiles",
        "POST",
        f"{_V}/prospects/profiles/bulk_enrich",
        idempotency=_PAID_READ,
        max_response_bytes=RECORDS_CAP,
        max_inputs=BULK_MAX,
        inputs_key="prospect_ids",
    )
    enrich_firmographics = Operation(
        "enrich_firmographics",
        "POST",
        f"{_V}/businesses/firmographics/bulk_enrich",
        idempotency=_PAID_READ,
        max_response_bytes=RECORDS_CAP,
        max_inputs=BULK_MAX,
        inputs_key="business_ids",
    )
    get_credits = Operation("get_credits", "GET", f"{_V}/credits", max_response_bytes=SMALL_CAP)
