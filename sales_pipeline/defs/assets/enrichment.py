"""Explorium enrichment of the day's contacts, cached and scored."""

import json
from collections.abc import Collection, Mapping

import pandas as pd
from dagster import AssetExecutionContext, MetadataValue, Output

from sales_pipeline.defs.assets._metadata import (
    api_metadata,
    counts_metadata,
    own_columns,
    rounded,
    sample_metadata,
    table_metadata,
)
from sales_pipeline.defs.assets._stage import daily_stage
from sales_pipeline.defs.failures import explained_failures
from sales_pipeline.defs.resources import ExploriumResource, PipelineStoreResource
from sales_pipeline.domain.outcomes import EnrichmentStatus
from sales_pipeline.domain.records import QuarantineRecord
from sales_pipeline.flows.enrich import EnrichmentOutcome, enrich_new_contacts
from sales_pipeline.store.backlog import Stage
from sales_pipeline.store.engine import utc_now
from sales_pipeline.store.pipeline_store import PipelineStore
from sales_pipeline.transforms.contacts import contact_records, contacts_from_records
from sales_pipeline.transforms.enrichment import enrich_contacts, enrichment_from_cache
from sales_pipeline.transforms.frames import is_in
from sales_pipeline.transforms.masking import mask_email
from sales_pipeline.transforms.schemas import EnrichedContacts, NormalizedContacts

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


def _with_owed(contacts: pd.DataFrame, owed: pd.DataFrame) -> pd.DataFrame:
    """The day's contacts and the owed ones, each email once; the day's frame itself when
    there is nothing to add or drop (a copy of a million rows is hundreds of MiB)."""
    if len(owed):
        contacts = pd.concat([contacts, owed], ignore_index=True)
    duplicated = contacts["email"].duplicated()
    return contacts[~duplicated] if duplicated.any() else contacts


def _without(contacts: pd.DataFrame, emails: Collection[str]) -> pd.DataFrame:
    """``contacts`` without the rows of ``emails``; the frame itself when none is there."""
    dropped = is_in(contacts["email"], emails)
    return contacts[~dropped] if dropped.any() else contacts


def _credit_metadata(outcome: EnrichmentOutcome, asked: int) -> dict[str, MetadataValue]:
    """Credits of the step as Explorium reported them, and entity purchases and cache hits."""
    credits = outcome.credits
    return {
        "credits_this_step": rounded(credits.total),
        "credits_per_contact": rounded(credits.total / asked if asked else 0.0),
        "credits_estimated": rounded(credits.estimated),
        "calls_without_credit_report": MetadataValue.int(credits.unreported_calls),
        **{f"bought_{kind}": MetadataValue.int(n) for kind, n in outcome.purchases.items()},
        **{f"cache_hits_{kind}": MetadataValue.int(n) for kind, n in outcome.cache_hits.items()},
    }


@daily_stage("enrich", "explorium")
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
    chunks side by side; each prospect and business is bought once per time-to-live across
    chunks, runs and partitions (the store's entity cache). The client reads every answer into
    typed records, so a changed vendor shape fails loudly. Each row gets a confidence score
    (email status, completeness, freshness).

    When Explorium cannot serve (breaker open, credits exhausted) the remaining contacts flow on
    marked `deferred`, the materialization says `degraded`, and the store keeps them as
    owed work: any later run, whatever its day, enriches them once they are due (with backoff,
    given up after the configured attempts or age) and carries them on to qualification. A
    contact Explorium refuses as invalid is quarantined with the reason; the others go on.

    Metadata: one count per enrichment status of the rows (`enriched` in this run, `cached`:
    matched earlier and served from the cache, `unmatched`, `deferred`); `from_cache` counts
    every contact the cache answered (the `cached` ones plus those known to be unmatched), and
    `asked_explorium` those sent to Explorium; `rejected` were quarantined. Credits as Explorium
    reported them: `credits_this_step` (the step's enrichment calls), `credits_per_contact` (per
    contact asked), `credits_estimated` and `calls_without_credit_report` (answers that carried
    no report, counted by the per-record estimate: a warning says so); per entity kind,
    `bought_<kind>` entities asked of Explorium and `cache_hits_<kind>` the purchases the
    entity cache avoided.
    """
    now = utc_now()
    partition = context.partition_key
    pipeline_store = store.get_store()
    backlog = store.get_backlog()
    owed = [item.payload for item in backlog.due(Stage.ENRICH, now)]
    contacts = _with_owed(hubspot_contacts, contacts_from_records(owed))
    cached = pipeline_store.get_enrichments(contacts["email"], now)
    new = _without(contacts, cached)
    with explained_failures(context), explorium.get_client() as client:
        outcome = enrich_new_contacts(client, new, pipeline_store, now)
        api = api_metadata(context.log, client)
    contacts = _without(contacts, outcome.rejected).reset_index(drop=True)
    _quarantine(pipeline_store, outcome.rejected, context.run.run_id, partition)
    deferred = contacts[is_in(contacts["email"], outcome.deferred)]
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
    counts = {
        "contacts": len(enriched),
        "owed_from_earlier_runs": len(owed),
        "from_cache": len(cached),
        "asked_explorium": len(new),
        "rejected": len(outcome.rejected),
        **enriched["enrichment_status"].value_counts().to_dict(),
    }
    if outcome.credits.unreported_calls:
        context.log.warning(
            f"Explorium reported no credits for {outcome.credits.unreported_calls} calls: "
            f"{outcome.credits.estimated:.0f} credits estimated per record"
        )
    confidence = enriched["confidence"].mean() if len(enriched) else 0.0
    return Output(
        enriched,
        metadata={
            **counts_metadata(counts, [EnrichmentStatus]),
            "degraded": MetadataValue.bool(outcome.deferred_reason is not None),
            "deferred_reason": MetadataValue.text(outcome.deferred_reason or ""),
            "mean_confidence": rounded(confidence),
            **_credit_metadata(outcome, len(new)),
            **table_metadata(enriched, EnrichedContacts),
            **api,
            **sample_metadata(enriched, own_columns(EnrichedContacts, NormalizedContacts)),
        },
    )
