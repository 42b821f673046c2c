"""Every HubSpot endpoint the client calls, its API versions and HubSpot's published sizes.

HubSpot versions two APIs this client uses, and both are configuration
(`HubSpotSettings.crm_version`, `HubSpotSettings.oauth_version`):

* the CRM API (contacts, search, batch, properties): ``v3`` is the only version
  HubSpot publishes for these endpoints, so it is the only one accepted;
* the OAuth token endpoint: ``v3`` (``/oauth/v3/token``, the default) and
  ``v1`` (``/oauth/v1/token``, same form fields), which HubSpot retires on
  2027-02-16 (`OAUTH_V1_SUNSET`); `oauth_version_warning` says so for ``doctor``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sales_pipeline.clients.transport import Operation

VENDOR = "hubspot"
DEFAULT_BASE_URL = "https://api.hubapi.com"
DEFAULT_AUTHORIZE_URL = "https://app.hubspot.com/oauth/authorize"
SEARCH_PAGE_SIZE = 200
"""HubSpot's maximum search page size."""
SEARCH_RESULT_CAP = 10_000
"""HubSpot serves at most this many results of one search query."""
BATCH_MAX = 100
"""HubSpot's maximum inputs per batch call."""
PROPERTY_VALUE_MAX = 65_536
"""Longest property value HubSpot stores."""
RECORDS_CAP = 16 * 1024 * 1024
"""Largest answer carrying records (a search page, a batch, the property list)."""
TOKEN_CAP = 64 * 1024
"""Largest OAuth token answer."""

CRM_VERSIONS = ("v3",)
"""CRM API versions this client speaks, the default first."""
OAUTH_VERSIONS = ("v3", "v1")
"""OAuth token endpoint versions this client speaks, the default first."""
OAUTH_V1_SUNSET = date(2027, 2, 16)
"""The day HubSpot retires ``/oauth/v1/token``."""


def oauth_version_warning(version: str) -> str | None:
    """What an operator must hear about OAuth API ``version``, or ``None`` when it is current."""
    if version == "v1":
        return (
            f"HubSpot OAuth v1 (/oauth/v1/token) is deprecated and retired on "
            f"{OAUTH_V1_SUNSET.isoformat()}: set the OAuth version to v3"
        )
    return None


@dataclass(frozen=True)
class HubSpotEndpoints:
    """Every HubSpot endpoint this client calls, for one CRM and one OAuth version."""

    crm_version: str
    oauth_version: str
    search_contacts: Operation
    list_contacts: Operation
    batch_read_contacts: Operation
    batch_upsert_contacts: Operation
    list_contact_properties: Operation
    create_contact_properties: Operation
    refresh_token: Operation
    exchange_code: Operation

    @classmethod
    def for_versions(cls, crm: str, oauth: str) -> HubSpotEndpoints:
        """The endpoints of CRM API ``crm`` and OAuth API ``oauth`` (see `HubSpotSettings`)."""
        contacts = f"/crm/{crm}/objects/contacts"
        properties = f"/crm/{crm}/properties/contacts"
        token = f"/oauth/{oauth}/token"
        return cls(
            crm_version=crm,
            oauth_version=oauth,
            search_contacts=Operation(
                "search_contacts",
                "POST",
                f"{contacts}/search",
                limits=("burst", "search"),
                max_response_bytes=RECORDS_CAP,
            ),
            list_contacts=Operation(
                "list_contacts",
                "GET",
                contacts,
                limits=("burst",),
                max_response_bytes=RECORDS_CAP,
            ),
            batch_read_contacts=Operation(
                "batch_read_contacts",
                "POST",
                f"{contacts}/batch/read",
                limits=("burst",),
                max_response_bytes=RECORDS_CAP,
                max_inputs=BATCH_MAX,
            ),
            batch_upsert_contacts=Operation(
                "batch_upsert_contacts",
                "POST",
                f"{contacts}/batch/upsert",
                idempotency=(
                    "upsert keyed by email: sending the same inputs again sets the same "
                    "values on the same contacts and creates nothing new"
                ),
                limits=("burst",),
                max_response_bytes=RECORDS_CAP,
                max_inputs=BATCH_MAX,
            ),
            list_contact_properties=Operation(
                "list_contact_properties",
                "GET",
                properties,
                limits=("burst",),
                max_response_bytes=RECORDS_CAP,
            ),
            create_contact_properties=Operation(
                "create_contact_properties",
                "POST",
                f"{properties}/batch/create",
                idempotency=(
                    "a resend answers 'already exists' for the properties an earlier "
                    "attempt created, which ensure_contact_properties accepts"
                ),
                limits=("burst",),
                max_response_bytes=RECORDS_CAP,
                max_inputs=BATCH_MAX,
            ),
            refresh_token=Operation(
                "refresh_token",
                "POST",
                token,
                idempotency=(
                    "a refresh only mints a new access token; the refresh token it "
                    "answers with is persisted whichever attempt succeeds"
                ),
                limits=("burst",),
                max_response_bytes=TOKEN_CAP,
            ),
            exchange_code=Operation(
                "exchange_code",
                "POST",
                token,
                idempotency=None,
                limits=("burst",),
                max_response_bytes=TOKEN_CAP,
            ),
        )
