"""Explorium enrichment of the day's contacts, cached and scored."""

import json
from collections.abc import Mapping

import pandas as pd
from dagster import AssetExecutionContext, MetadataValue, Output

from sales_pipeline.defs.assets._metadata import api_metadata, counts_metadata, sample_metadata
from sales_pipeline.defs.assets._stage import daily_stage
from sales_pipeline.defs.resources import ExploriumResource, PipelineStoreResource
from sales_pipeline.domain.records import QuarantineRecord
from sales_pipeline.flows.enrich import enrich_new_contacts
from sales_pipeline.store.backlog import Stage
from sales_pipeline.store.engine import utc_now
from sales_pipeline.store.pipeline_store import PipelineStore
from sales_pipeline.transforms.contacts import contact_records, contacts_from_records
from sales_pipeline.transforms.enrichment import enrich_contacts, enrichment_from_cache
from sales_pipeline.transforms.masking import mask_email

QUARANTINE_SOURCE = "enriched_contacts"


def _quarantine(
    store: PipelineStore, rejected: Mapping[str, str], run_id: str, partition: str
) -> None:
    """Record the contacts Explorium refused, with the reason and a masked key."""
    store.clear_quarantine(QUARANTINE_SOURCE, partition)
    store.quarantine(
        QuarantineRecord(
            QUARANTINE_SOURCE,
            email,
            "email",
            reason,
            json.dumps({"email": mask_email(email)}),
            run_id,
            partition,
        )
        for email, reason in rejected.items()
    )


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
    marked ``deferred``, the materialization says ``degraded``, and the store keeps them as
    owed work: any later run, whatever its day, enriches them once they are due (with backoff,
    given up after the configured attempts or age) and carries them on to qualification. A
    contact Explorium refuses as invalid is quarantined with the reason; the others go on.
    """
    now = utc_now()
    partition = context.partition_key
    pipeline_store = store.get_store()
    backlog = store.get_backlog()
    owed = [item.payload for item in backlog.due(Stage.ENRICH, now)]
    contacts = pd.concat(
        [hubspot_contacts, contacts_from_records(owed)], ignore_index=True
    ).drop_duplicates("email")
    cached = pipeline_store.get_enrichments(contacts["email"], now)
    new = contacts[~contacts["email"].isin(list(cached))]
    with explorium.get_client() as client:
        outcome = enrich_new_contacts(client, new, pipeline_store, now)
        api = api_metadata(client)
    contacts = contacts[~contacts["email"].isin(list(outcome.rejected))].reset_index(drop=True)
    _quarantine(pipeline_store, outcome.rejected, context.run.run_id, partition)
    deferred = contacts[contacts["email"].isin(outcome.deferred)]
    backlog.defer(
        Stage.ENRICH,
        ((r["email"], partition, r) for r in contact_records(deferred)),
        outcome.deferred_reason or "not enriched",
        now,
    )
    backlog.done(
        Stage.ENRICH, (set(contacts["email"]) | set(outcome.rejected)) - set(outcome.deferred), now
    )
    enriched = enrich_contacts(
        contacts, now, fresh=outcome.records, cached=enrichment_from_cache(cached.values())
    )
    if outcome.deferred_reason:
        context.log.warning(
            f"Explorium degraded: {len(outcome.deferred)} contacts deferred "
            f"({outcome.deferred_reason})"
        )
    statuses = enriched["enrichment_status"].value_counts().to_dict()
    counts = {
        "contacts": len(enriched),
        "owed_from_earlier_runs": len(owed),
        "cache_hits": len(cached),
        "rejected": len(outcome.rejected),
        **statuses,
    }
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
