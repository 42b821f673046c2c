"""HubSpot CRM: the client and what it takes and returns.

Modules: `client` (the `HubSpotClient`), `endpoints` (every path and the API
versions), `models` (settings and records), `contacts` (HubSpot's contact
objects read into `Contact`), `search` (windows past the 10,000 cap), `batch`
(batch read and upsert), `properties` (custom properties), `oauth` (tokens
and their refresh), `rules` (the resolution table rows).
"""

from sales_pipeline.clients.hubspot.client import HubSpotClient
from sales_pipeline.clients.hubspot.contacts import CONTACT_PROPERTIES, read_contact
from sales_pipeline.clients.hubspot.endpoints import (
    BATCH_MAX,
    DEFAULT_AUTHORIZE_URL,
    DEFAULT_BASE_URL,
    SEARCH_PAGE_SIZE,
    SEARCH_RESULT_CAP,
)
from sales_pipeline.clients.hubspot.models import (
    FIELD_TYPES,
    Contact,
    ContactReadResult,
    ContactUpsert,
    HubSpotSettings,
    PropertyDefinition,
    UpsertResult,
)
from sales_pipeline.clients.hubspot.oauth import (
    HubSpotOAuthConfig,
    InMemoryTokenStore,
    OAuthTokens,
    TokenStore,
)
from sales_pipeline.clients.hubspot.rules import hubspot_rules, read_hubspot_quota

__all__ = [
    "BATCH_MAX",
    "CONTACT_PROPERTIES",
    "DEFAULT_AUTHORIZE_URL",
    "DEFAULT_BASE_URL",
    "FIELD_TYPES",
    "SEARCH_PAGE_SIZE",
    "SEARCH_RESULT_CAP",
    "Contact",
    "ContactReadResult",
    "ContactUpsert",
    "HubSpotClient",
    "HubSpotOAuthConfig",
    "HubSpotSettings",
    "InMemoryTokenStore",
    "OAuthTokens",
    "PropertyDefinition",
    "TokenStore",
    "UpsertResult",
    "hubspot_rules",
    "read_contact",
    "read_hubspot_quota",
]
