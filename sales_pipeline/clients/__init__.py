"""Resilient API clients for HubSpot, Explorium and Lemlist.

Plain Python (no Dagster), usable from a notebook or a script. One HTTP core
(`Transport`: timeouts, ``backoff`` retries, proactive rate limiting, circuit
breaker, one resolution table per vendor, redacted structured logs, metrics)
and one small client per vendor:

    from sales_pipeline.clients import HubSpotClient, Secret

    with HubSpotClient(access_token=Secret(token)) as hubspot:
        for contact in hubspot.iter_contacts_modified(start, end, ["email"]):
            ...
        print(hubspot.metrics_snapshot())

Every failure raises a subclass of `ApiError`; per-record outcomes of batch
calls are returned as data. ``client.cancel()`` stops a client from another
thread; ``client.deprecation_notices()`` and ``client.version_warnings()`` are
for ``doctor``; `step_span` traces one pipeline step (see `tracing`).
"""

from sales_pipeline.clients.auth import Auth, BasicPasswordAuth, BearerTokenAuth, HeaderKeyAuth
from sales_pipeline.clients.base import HealthReport, VendorClient
from sales_pipeline.clients.breaker import BreakerState, CircuitBreaker
from sales_pipeline.clients.cancellation import Cancellation
from sales_pipeline.clients.deprecation import DeprecationNotice
from sales_pipeline.clients.errors import (
    ApiError,
    ApiTimeout,
    AuthError,
    Cancelled,
    CircuitOpen,
    Conflict,
    InputValidationError,
    InvalidRequest,
    NotFound,
    QuotaExhausted,
    RateLimited,
    RequestTooLarge,
    ResponseTooLarge,
    ServerError,
)
from sales_pipeline.clients.explorium import (
    ContactInformation,
    EnrichResult,
    EnrichStatus,
    ExploriumClient,
    ExploriumSettings,
    Firmographics,
    MatchResult,
    MatchStatus,
    ProspectProfile,
    company_query,
    person_query,
)
from sales_pipeline.clients.hubspot import (
    Contact,
    ContactReadResult,
    ContactUpsert,
    HubSpotClient,
    HubSpotOAuthConfig,
    HubSpotSettings,
    InMemoryTokenStore,
    OAuthTokens,
    PropertyDefinition,
    TokenStore,
    UpsertResult,
)
from sales_pipeline.clients.lemlist import (
    Activity,
    AddLeadOutcome,
    AddLeadResult,
    Campaign,
    LeadMembership,
    LemlistClient,
    LemlistSettings,
    Unsubscribe,
)
from sales_pipeline.clients.observability import VendorMetrics, current_run_id, run_context
from sales_pipeline.clients.ratelimit import RateLimit, RateLimiter, shared_limiter
from sales_pipeline.clients.redaction import RedactingFilter, install_redaction, redact
from sales_pipeline.clients.secret import Secret
from sales_pipeline.clients.tracing import configure_tracing_from_env, step_span
from sales_pipeline.clients.transport import RetryPolicy, Timeouts, TransportConfig

__all__ = [
    "Activity",
    "AddLeadOutcome",
    "AddLeadResult",
    "ApiError",
    "ApiTimeout",
    "Auth",
    "AuthError",
    "BasicPasswordAuth",
    "BearerTokenAuth",
    "BreakerState",
    "Campaign",
    "Cancellation",
    "Cancelled",
    "CircuitBreaker",
    "CircuitOpen",
    "Conflict",
    "Contact",
    "ContactInformation",
    "ContactReadResult",
    "ContactUpsert",
    "DeprecationNotice",
    "EnrichResult",
    "EnrichStatus",
    "ExploriumClient",
    "ExploriumSettings",
    "Firmographics",
    "HeaderKeyAuth",
    "HealthReport",
    "HubSpotClient",
    "HubSpotOAuthConfig",
    "HubSpotSettings",
    "InMemoryTokenStore",
    "InputValidationError",
    "InvalidRequest",
    "LeadMembership",
    "LemlistClient",
    "LemlistSettings",
    "MatchResult",
    "MatchStatus",
    "NotFound",
    "OAuthTokens",
    "PropertyDefinition",
    "ProspectProfile",
    "QuotaExhausted",
    "RateLimit",
    "RateLimited",
    "RateLimiter",
    "RedactingFilter",
    "RequestTooLarge",
    "ResponseTooLarge",
    "RetryPolicy",
    "Secret",
    "ServerError",
    "Timeouts",
    "TokenStore",
    "TransportConfig",
    "Unsubscribe",
    "UpsertResult",
    "VendorClient",
    "VendorMetrics",
    "company_query",
    "configure_tracing_from_env",
    "current_run_id",
    "install_redaction",
    "person_query",
    "redact",
    "run_context",
    "shared_limiter",
    "step_span",
]
