"""Explorium: the client and what it takes and returns.

Modules: `client` (the `ExploriumClient`), `endpoints` (every path and the API
version), `models` (settings and per-record results), `queries` (match query
validation), `answers` (answers paired with their inputs), `rules` (the
resolution table rows).
"""

from sales_pipeline.clients.explorium.client import ExploriumClient
from sales_pipeline.clients.explorium.endpoints import BULK_MAX, DEFAULT_BASE_URL
from sales_pipeline.clients.explorium.models import (
    CONTACT_TYPES,
    EnrichResult,
    EnrichStatus,
    ExploriumSettings,
    MatchResult,
    MatchStatus,
)
from sales_pipeline.clients.explorium.queries import BUSINESS_QUERY_FIELDS, PROSPECT_QUERY_FIELDS
from sales_pipeline.clients.explorium.rules import explorium_rules, read_explorium_quota

__all__ = [
    "BULK_MAX",
    "BUSINESS_QUERY_FIELDS",
    "CONTACT_TYPES",
    "DEFAULT_BASE_URL",
    "PROSPECT_QUERY_FIELDS",
    "EnrichResult",
    "EnrichStatus",
    "ExploriumClient",
    "ExploriumSettings",
    "MatchResult",
    "MatchStatus",
    "explorium_rules",
    "read_explorium_quota",
]
