"""Explorium enrichment of the day's contacts, cached and scored."""

from datetime import UTC, datetime

import pandas as pd
from dagster import AssetExecutionContext, MetadataValue, Output

from sales_pipeline.defs.assets._metadata import api_metadata, counts_metadata, sample_metadata
from sales_pipeline.defs.assets._stage import daily_stage
from sales_pipeline.defs.resources import ExploriumResource, PipelineStoreResource
from sales_pipeline.flows.enrich import enrich_new_contacts
from sales_pipeline.transforms.enrichment import enrich_contacts, enrichment_from_cache


@daily_stage("explorium", "enrichment")
def enriched_contacts(
    context: AssetExecutionContext,
    hubspot_contacts: pd.DataFrame,
    explorium: ExploriumResource,
    store: PipelineStoreResource,
) -> Output[pd.DataFrame]:
    """The day's contacts with Explorium's view of each person and company.

    Contacts enriched within the cache's time-to-live (30 days by default) cost no request and
    no credit. The others are matched to prospects and bulk-enriched (contact information,
    profile, and firmographics through a business match on the company's domain), 50 per call,
    with every answer parsed through a schema so a changed vendor shape fails loudly. Each row
    gets a confidence score (email status, completeness, freshness).

    When Explorium cannot serve (breaker open, credits exhausted) the remaining contacts flow on
    marked ``deferred`` and the materialization says ``degraded``: a later run enriches them.
    """
    now = datetime.now(UTC)
    pipeline_store = store.get_store()
    cached = pipeline_store.get_enrichments(hubspot_contacts["email"], now)
    new = hubspot_contacts[~hubspot_contacts["email"].isin(list(cached))]
    with explorium.get_client() as client:
        outcome = enrich_new_contacts(client, new, pipeline_store, now)
        api = api_metadata(client)
    enriched = enrich_contacts(
        hubspot_contacts, now, fresh=outcome.records, cached=enrichment_from_cache(cached.values())
    )
    if outcome.deferred_reason:
        context.log.warning(
            f"Explorium degraded: {len(outcome.deferred)} contacts deferred "
            f"({outcome.deferred_reason})"
        )
    statuses = enriched["enrichment_status"].value_counts().to_dict()
    counts = {"contacts": len(enriched), "cache_hits": len(cached), **statuses}
    return Output(
        enriched,
        metadata={
            **counts_metadata(counts),
            "degraded": MetadataValue.bool(outcome.deferred_reason is not None),
            "deferred_reason": MetadataValue.text(outcome.deferred_reason or ""),
            "mean_confidence": MetadataValue.float(float(enriched["confidence"].mean() or 0.0)),
            **api,
            **sample_metadata(enriched),
        },
    )
