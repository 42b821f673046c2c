"""Explorium: the client and what it takes and returns.

Modules: `client` (the `ExploriumClient`), `endpoints` (every path and the API
version), `models` (settings and per-record results), `queries` (match query
validation and the person query), `answers` (Explorium's JSON read into typed
records), `rules` (the resolution table rows).
"""

from sales_pipeline.clients.explorium.client import ExploriumClient
from sales_pipeline.clients.explorium.endpoints import BULK_MAX, DEFAULT_BASE_URL
from sales_pipeline.clients.explorium.models import (
    CONTACT_TYPES,
    ContactInformation,
    CreditUsage,
    EnrichResult,
    EnrichStatus,
    ExploriumSettings,
    Firmographics,
    MatchResult,
    MatchStatus,
    ProspectProfile,
)
from sales_pipeline.clients.explorium.queries import (
    BUSINESS_QUERY_FIELDS,
    PROSPECT_QUERY_FIELDS,
    company_query,
    person_query,
)
from sales_pipeline.clients.explorium.rules import explorium_rules, read_explorium_quota

__all__ = [
    "BULK_MAX",
    "BUSINESS_QUERY_FIELDS",
    "CONTACT_TYPES",
    "DEFAULT_BASE_URL",
    "PROSPECT_QUERY_FIELDS",
    "ContactInformation",
    "CreditUsage",
    "EnrichResult",
    "EnrichStatus",
    "ExploriumClient",
    "ExploriumSettings",
    "Firmographics",
    "MatchResult",
    "MatchStatus",
    "ProspectProfile",
    "company_query",
    "explorium_rules",
    "person_query",
    "read_explorium_quota",
]
