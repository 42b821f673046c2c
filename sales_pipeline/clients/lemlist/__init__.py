"""Lemlist: the client and what it takes and returns.

Modules: `client` (the `LemlistClient`), `endpoints` (every path and the API
version), `models` (settings and the typed records it returns), `answers` (Lemlist's JSON
read into those records), `leads` (lead body validation), `rules` (the resolution table rows).
"""

from sales_pipeline.clients.lemlist.client import LemlistClient
from sales_pipeline.clients.lemlist.endpoints import CAMPAIGN_STATUSES, DEFAULT_BASE_URL, PAGE_MAX
from sales_pipeline.clients.lemlist.leads import LEAD_FIELDS
from sales_pipeline.clients.lemlist.models import (
    Activity,
    AddLeadOutcome,
    AddLeadResult,
    Campaign,
    LeadMembership,
    LemlistSettings,
    Unsubscribe,
)
from sales_pipeline.clients.lemlist.rules import lemlist_quota_reader, lemlist_rules

__all__ = [
    "CAMPAIGN_STATUSES",
    "DEFAULT_BASE_URL",
    "LEAD_FIELDS",
    "PAGE_MAX",
    "Activity",
    "AddLeadOutcome",
    "AddLeadResult",
    "Campaign",
    "LeadMembership",
    "LemlistClient",
    "LemlistSettings",
    "Unsubscribe",
    "lemlist_quota_reader",
    "lemlist_rules",
]
