"""Lemlist engagement written back to HubSpot as each contact's lead status."""

from collections import defaultdict

import pandas as pd
from dagster import AssetExecutionContext, MetadataValue, Output, asset

from sales_pipeline.clients import ContactUpsert, PropertyDefinition, UpsertResult
from sales_pipeline.defs.assets._metadata import api_metadata, counts_metadata, table_metadata
from sales_pipeline.defs.assets._stage import (
    CODE_VERSION,
    ENGAGEMENT_GROUP,
    OWNERS,
    stage_tags,
    traced,
)
from sales_pipeline.defs.failures import explained_failures
from sales_pipeline.defs.resources import HubSpotResource, PipelineStoreResource
from sales_pipeline.domain.outcomes import EngagementState
from sales_pipeline.domain.records import Engagement
from sales_pipeline.flows.engagement import latest_per_email
from sales_pipeline.store.engagement import EngagementQueue
from sales_pipeline.transforms.masking import masked_sample

ENGAGEMENT_PROPERTY = PropertyDefinition(
    name="sp_lemlist_engagement",
    label="Sales pipeline: Lemlist engagement",
    type="string",
    field_type="text",
    description="The Lemlist activity that last set the lead status; written by sales_pipeline.",
)
"""The contact property that keeps the exact engagement next to `hs_lead_status`."""

NOT_PUSHED = "not a lead the pipeline pushed"
"""Why an engagement is skipped: upserting it would create a HubSpot contact."""

OUTCOME_ROWS = 100
"""Contacts listed in the `outcomes` metadata table (the output frame holds them all)."""

_COLUMNS = ["email", "activity_type", "lead_status", "outcome", "contact_id", "detail"]


def _row(
    engagement: Engagement, outcome: EngagementState, contact_id: str | None, detail: str | None
) -> dict[str, str | None]:
    return {
        "email": engagement.email,
        "activity_type": engagement.activity_type,
        "lead_status": engagement.lead_status,
        "outcome": outcome.value,
        "contact_id": contact_id,
        "detail": detail,
    }


def _outcomes(frame: pd.DataFrame) -> dict[str, MetadataValue]:
    """The per-contact outcomes, failures first, emails masked (at most :data:`OUTCOME_ROWS`)."""
    if frame.empty:
        return {"outcomes": MetadataValue.md("(no engagement waiting)")}
    shown = masked_sample(frame.sort_values(["outcome", "email"]), OUTCOME_ROWS)
    return {"outcomes": MetadataValue.md(shown.to_markdown(index=False))}


def _outcome(result: UpsertResult) -> EngagementState:
    return EngagementState.WRITTEN if result.ok else EngagementState.FAILED


@asset(
    group_name=ENGAGEMENT_GROUP,
    kinds={"hubspot", "lemlist", "pandas"},
    owners=OWNERS,
    code_version=CODE_VERSION,
    tags=stage_tags("engagement", "hubspot"),
    pool="hubspot",
)
@traced
def hubspot_engagement_writeback(
    context: AssetExecutionContext, hubspot: HubSpotResource, store: PipelineStoreResource
) -> Output[pd.DataFrame]:
    """Each engaged lead's HubSpot `hs_lead_status` set from its latest Lemlist engagement.

    The Lemlist activity sensor queues replies, interest, bounces and unsubscribes in the
    store (never in run config, which the UI shows) and requests this asset. Each contact gets
    its latest engagement's status (replied: `CONNECTED`, interested: `IN_PROGRESS`, not
    interested or unsubscribed: `UNQUALIFIED`, bounced: `ATTEMPTED_TO_CONTACT`) and the
    activity itself in `sp_lemlist_engagement`, upserted by email in batches of 100 with a
    result per contact. Only leads the pipeline pushed are written, so no contact is created;
    a contact HubSpot refuses is recorded as failed with HubSpot's message.

    Metadata: `engagements` queued, `contacts`, and one count per engagement state (`written`,
    `failed`, `skipped`, `pending`; 0 when none).
    """
    pipeline_store = store.get_store()
    queue = EngagementQueue(pipeline_store)
    pending = queue.pending()
    ids_by_email: defaultdict[str, list[str]] = defaultdict(list)
    for engagement in pending:
        ids_by_email[engagement.email].append(engagement.activity_id)
    latest = latest_per_email(pending)
    pushed = store.get_ledger().pushed_emails()
    ours = [e for email, e in latest.items() if email in pushed]
    others = [e for email, e in latest.items() if email not in pushed]

    metadata: dict[str, MetadataValue] = {}
    results: list[UpsertResult] = []
    if ours:
        with explained_failures(context), hubspot.get_client() as client:
            created = client.ensure_contact_properties([ENGAGEMENT_PROPERTY])
            results = client.batch_upsert_contacts(
                [
                    ContactUpsert(
                        e.email,
                        {
                            "hs_lead_status": e.lead_status,
                            ENGAGEMENT_PROPERTY.name: e.activity_type,
                        },
                    )
                    for e in ours
                ]
            )
            metadata.update(api_metadata(context.log, client))
        if created:
            context.log.info(f"created HubSpot properties: {', '.join(created)}")

    outcomes = [
        *((e, EngagementState.SKIPPED, None, NOT_PUSHED) for e in others),
        *((e, _outcome(r), r.contact_id, r.error) for e, r in zip(ours, results, strict=True)),
    ]
    settled: defaultdict[tuple[EngagementState, str | None], list[str]] = defaultdict(list)
    for engagement, outcome, _, detail in outcomes:
        settled[(outcome, detail)].extend(ids_by_email[engagement.email])
    for (outcome, detail), activity_ids in settled.items():
        queue.settle(activity_ids, outcome, detail)

    frame = pd.DataFrame([_row(*outcome) for outcome in outcomes], columns=_COLUMNS)
    counts = {
        "engagements": len(pending),
        "contacts": len(frame),
        **frame["outcome"].value_counts().to_dict(),
    }
    return Output(
        frame,
        metadata={
            **counts_metadata(counts, [EngagementState]),
            **table_metadata(frame),
            **metadata,
            **_outcomes(frame),
        },
    )
