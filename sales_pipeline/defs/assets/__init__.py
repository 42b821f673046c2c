"""The pipeline's software-defined assets, one module per stage."""

from sales_pipeline.defs.assets.contacts import hubspot_contacts
from sales_pipeline.defs.assets.engagement import hubspot_engagement_writeback
from sales_pipeline.defs.assets.enrichment import enriched_contacts
from sales_pipeline.defs.assets.outreach import lemlist_leads
from sales_pipeline.defs.assets.qualification import qualified_leads
from sales_pipeline.defs.assets.writeback import hubspot_enrichment_writeback

PIPELINE_ASSETS = [
    hubspot_contacts,
    enriched_contacts,
    qualified_leads,
    lemlist_leads,
    hubspot_enrichment_writeback,
]
"""The daily-partitioned stages, in order: what the ``lead_pipeline`` job materializes."""

ENGAGEMENT_ASSETS = [hubspot_engagement_writeback]
"""Unpartitioned assets driven by the Lemlist activity sensor."""

__all__ = [
    "ENGAGEMENT_ASSETS",
    "PIPELINE_ASSETS",
    "enriched_contacts",
    "hubspot_contacts",
    "hubspot_engagement_writeback",
    "hubspot_enrichment_writeback",
    "lemlist_leads",
    "qualified_leads",
]
