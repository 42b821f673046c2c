"""Enrichment, score, campaign and push status written back to HubSpot."""

import pandas as pd
from dagster import AssetExecutionContext, Output

from sales_pipeline.clients import AuthError
from sales_pipeline.defs.assets._metadata import api_metadata, counts_metadata
from sales_pipeline.defs.assets._stage import daily_stage
from sales_pipeline.defs.assets.outreach import lemlist_leads
from sales_pipeline.defs.resources import HubSpotResource, PipelineStoreResource
from sales_pipeline.flows.write_back import current_values, write_back
from sales_pipeline.store.engine import utc_now
from sales_pipeline.store.fingerprints import ContactFingerprints
from sales_pipeline.transforms.contacts import source_fingerprints
from sales_pipeline.transforms.writeback import changed_values, writeback_values


@daily_stage("hubspot", "crm", deps=[lemlist_leads])
def hubspot_enrichment_writeback(
    context: AssetExecutionContext,
    qualified_leads: pd.DataFrame,
    hubspot: HubSpotResource,
    store: PipelineStoreResource,
) -> Output[pd.DataFrame]:
    """Enrichment fields, confidence, ICP score, segment, campaign and push status written back
    to each HubSpot contact, upserted by email in batches of 100 with a result per contact.

    The properties are the pipeline's own (prefixed ``sp_``) and are created in HubSpot when
    missing. Campaign, push status and its reason come from the push ledger, so they stay true
    on later runs; contacts whose values HubSpot already holds are not written again. Owed
    writebacks of earlier runs are finished too; a contact HubSpot refuses is rejected with its
    message and a transient failure is deferred to a later run. Each contact's source
    fingerprint is then recorded, so the pipeline's own write does not bring it back as new
    work. Runs after ``lemlist_leads`` so the push outcomes are known.
    """
    now = utc_now()
    values = writeback_values(
        qualified_leads, store.get_ledger().settled_pushes(qualified_leads["email"])
    )
    with hubspot.get_client() as client:
        current = current_values(client, qualified_leads["hubspot_id"].tolist())
        changes = changed_values(values, current)
        report = write_back(client, changes, store.get_backlog(), context.partition_key, now)
        api = api_metadata(client)
    if report.created_properties:
        context.log.info(f"created HubSpot properties: {', '.join(report.created_properties)}")
    if isinstance(report.stopped_by, AuthError):
        raise report.stopped_by
    ContactFingerprints(store.get_store()).record(
        dict(zip(qualified_leads["email"], source_fingerprints(qualified_leads), strict=True)), now
    )
    rows = [
        *({"email": e, "outcome": "written", "reason": None} for e in report.written),
        *({"email": e, "outcome": "rejected", "reason": r} for e, r in report.rejected.items()),
        *({"email": e, "outcome": "deferred", "reason": r} for e, r in report.deferred.items()),
    ]
    frame = pd.DataFrame(rows, columns=["email", "outcome", "reason"])
    counts = {
        "contacts": len(values),
        "unchanged": len(values) - len(changes),
        "written": len(report.written),
        "owed_written": report.owed_written,
        "rejected": len(report.rejected),
        "deferred": len(report.deferred),
    }
    return Output(frame, metadata={**counts_metadata(counts), **api})
