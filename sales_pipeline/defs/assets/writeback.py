"""Enrichment, score and campaign written back to HubSpot."""

from collections.abc import Mapping

import pandas as pd
from dagster import AssetExecutionContext, Output

from sales_pipeline.clients import ContactUpsert, PropertyDefinition
from sales_pipeline.defs.assets._metadata import api_metadata, counts_metadata
from sales_pipeline.defs.assets._stage import daily_stage
from sales_pipeline.defs.assets.outreach import lemlist_leads
from sales_pipeline.defs.resources import HubSpotResource, PipelineStoreResource
from sales_pipeline.domain.outcomes import EnrichmentStatus
from sales_pipeline.domain.records import PushRecord

PREFIX = "sp_"
"""Every property the pipeline writes starts with this, so HubSpot users see whose it is."""

WRITEBACK_PROPERTIES: dict[str, tuple[str, str, str]] = {
    # property: (source column, HubSpot type, field type)
    "sp_enrichment_status": ("enrichment_status", "string", "text"),
    "sp_confidence": ("confidence", "number", "number"),
    "sp_icp_score": ("icp_score", "number", "number"),
    "sp_segment": ("segment", "string", "text"),
    "sp_lemlist_campaign": ("campaign_id", "string", "text"),
    "sp_push_status": ("push_status", "string", "text"),
    "sp_exclusion_reason": ("exclusion_reason", "string", "text"),
    "sp_email_status": ("email_status", "string", "text"),
    "sp_job_level": ("job_level", "string", "text"),
    "sp_department": ("job_department", "string", "text"),
    "sp_company_size": ("company_size", "string", "text"),
    "sp_industry": ("industry", "string", "text"),
}
"""The contact properties the writeback sets, and where their values come from."""


def property_definitions() -> list[PropertyDefinition]:
    """The HubSpot property definitions of :data:`WRITEBACK_PROPERTIES`."""
    return [
        PropertyDefinition(
            name=name,
            label=f"Sales pipeline: {column.replace('_', ' ')}",
            type=kind,
            field_type=field_type,
            description="Written by sales_pipeline; overwritten on each run.",
        )
        for name, (column, kind, field_type) in WRITEBACK_PROPERTIES.items()
    ]


def _as_property(value: object) -> str:
    """A value as HubSpot stores it: text, numbers to two decimals, nothing as ``""``."""
    if value is None or value is pd.NA or (isinstance(value, float) and pd.isna(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def writeback_values(leads: pd.DataFrame, pushes: Mapping[str, PushRecord]) -> pd.DataFrame:
    """Per lead (by email), the value of each writeback property.

    Campaign and push status come from the push ledger when the lead is in a campaign (so a
    later run that excludes the lead as already pushed does not blank them), else from this
    run: the planned campaign and ``not_pushed``, or ``excluded`` with the reason. Data served
    from the enrichment cache is written as ``enriched``, as it was when first fetched. A value
    left missing leaves the property as it is (the segment of a lead this run excluded as
    already pushed); ``""`` clears it.
    """
    frame = leads.set_index("email")
    settled = frame.index.map(lambda email: pushes.get(email))
    in_campaign = pd.Series([p is not None for p in settled], index=frame.index)
    frame = frame.assign(
        campaign_id=frame["campaign_id"].where(
            ~in_campaign, [p.campaign_id if p else None for p in settled]
        ),
        push_status=pd.Series(
            [
                p.outcome.value if p else "excluded" if excluded else "not_pushed"
                for p, excluded in zip(settled, frame["excluded"], strict=True)
            ],
            index=frame.index,
        ),
        exclusion_reason=frame["exclusion_reason"].where(~in_campaign),
        enrichment_status=frame["enrichment_status"].replace(
            {EnrichmentStatus.CACHED.value: EnrichmentStatus.ENRICHED.value}
        ),
    )
    values = pd.DataFrame(
        {
            name: frame[column].map(_as_property)
            for name, (column, _, _) in WRITEBACK_PROPERTIES.items()
        },
        index=frame.index,
    )
    values.loc[in_campaign & frame["segment"].isna(), "sp_segment"] = None
    return values


def changed_records(
    values: pd.DataFrame, current: Mapping[str, Mapping[str, str | None]]
) -> list[ContactUpsert]:
    """Upserts for the leads whose properties differ from what HubSpot holds (``current``, by
    email): writing unchanged values would bump ``lastmodifieddate`` and bring the contact back
    into the next run for nothing."""
    records = []
    for email, row in values.iterrows():
        held = current.get(str(email), {})
        wanted = {str(name): str(value) for name, value in row.items() if not pd.isna(value)}
        if any((held.get(name) or "") != value for name, value in wanted.items()):
            records.append(ContactUpsert(email=str(email), properties=wanted))
    return records


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
    missing. Campaign and push status come from the push ledger, so they stay true on later
    runs; contacts whose values HubSpot already holds are not written again. Runs after
    ``lemlist_leads`` so the push outcomes are known.
    """
    values = writeback_values(
        qualified_leads, store.get_store().settled_pushes(qualified_leads["email"])
    )
    with hubspot.get_client() as client:
        created = client.ensure_contact_properties(property_definitions())
        current = {
            str(result.contact["properties"].get("email") or "").lower(): result.contact[
                "properties"
            ]
            for result in client.batch_read_contacts(
                qualified_leads["hubspot_id"].tolist(), ["email", *WRITEBACK_PROPERTIES]
            )
            if result.contact is not None
        }
        results = client.batch_upsert_contacts(changed_records(values, current))
        api = api_metadata(client)
    if created:
        context.log.info(f"created HubSpot properties: {', '.join(created)}")
    frame = pd.DataFrame(
        [
            {"email": r.email, "ok": r.ok, "contact_id": r.contact_id, "error": r.error}
            for r in results
        ],
        columns=["email", "ok", "contact_id", "error"],
    )
    counts = {
        "contacts": len(values),
        "unchanged": len(values) - len(results),
        "written": int(frame["ok"].sum()),
        "failed": int((~frame["ok"]).sum()),
    }
    return Output(frame, metadata={**counts_metadata(counts), **api})
