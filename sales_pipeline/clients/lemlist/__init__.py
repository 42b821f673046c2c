"""Lemlist: the client and what it takes and returns.

Modules: `client` (the `LemlistClient`), `endpoints` (every path and the API
version), `models` (settings and outcomes), `leads` (lead body validation),
`rules` (the resolution table rows).
"""

from sales_pipeline.clients.lemlist.client import LemlistClient
from sales_pipeline.clients.lemlist.endpoints import CAMPAIGN_STATUSES, DEFAULT_BASE_URL, PAGE_MAX
from sales_pipeline.clients.lemlist.leads import LEAD_FIELDS
from sales_pipeline.clients.lemlist.models import AddLeadOutcome, AddLeadResult, LemlistSettings
from sales_pipeline.clients.lemlist.rules import lemlist_quota_reader, lemlist_rules

__all__ = [
    "CAMPAIGN_STATUSES",
    "DEFAULT_BASE_URL",
    "LEAD_FIELDS",
    "PAGE_MAX",
    "AddLeadOutcome",
    "AddLeadResult",
    "LemlistClient",
    "LemlistSettings",
    "lemlist_quota_reader",
    "lemlist_rules",
]
