"""What HubSpot should hold for each contact the pipeline processed: pure functions.

The values come from the qualified leads of a run and, for campaign, segment and push status,
from the push ledger, which stays true across runs (a later run that excludes a lead as already
pushed never blanks what HubSpot shows).
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from sales_pipeline.domain.outcomes import IN_CAMPAIGN_OUTCOMES, EnrichmentStatus
from sales_pipeline.domain.records import PushRecord

PREFIX = "sp_"
"""Every property the pipeline writes starts with this, so HubSpot users see whose it is."""

REASON_MAX = 100
"""Characters of a push's reason written to HubSpot: enough to say why, short to read."""

WRITEBACK_PROPERTIES: dict[str, tuple[str, str, str]] = {
    # property: (source column, HubSpot type, field type)
    "sp_enrichment_status": ("enrichment_status", "string", "text"),
    "sp_confidence": ("confidence", "number", "number"),
    "sp_icp_score": ("icp_score", "number", "number"),
    "sp_segment": ("segment", "string", "text"),
    "sp_lemlist_campaign": ("campaign_id", "string", "text"),
    "sp_push_status": ("push_status", "string", "text"),
    "sp_push_reason": ("push_reason", "string", "text"),
    "sp_exclusion_reason": ("exclusion_reason", "string", "text"),
    "sp_email_status": ("email_status", "string", "text"),
    "sp_job_level": ("job_level", "string", "text"),
    "sp_department": ("job_department", "string", "text"),
    "sp_company_size": ("company_size", "string", "text"),
    "sp_industry": ("industry", "string", "text"),
}
"""The contact properties the writeback sets, and where their values come from."""


def as_property(value: object) -> str:
    """A value as HubSpot stores it: text, numbers to two decimals, nothing as ``""``."""
    if value is None or value is pd.NA or (isinstance(value, float) and pd.isna(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def short_reason(reason: str | None) -> str:
    """A push's reason cut to :data:`REASON_MAX` characters for HubSpot."""
    text = reason or ""
    return text if len(text) <= REASON_MAX else text[: REASON_MAX - 1] + "…"


def ledger_values(record: PushRecord) -> dict[str, str]:
    """The properties a settled push sets, from its ledger row alone (for pushes an earlier
    run owed, whose leads are in no frame of this run)."""
    in_campaign = record.outcome in IN_CAMPAIGN_OUTCOMES
    values = {
        "sp_push_status": record.outcome.value,
        "sp_lemlist_campaign": record.campaign_id if in_campaign else "",
        "sp_push_reason": "" if record.outcome.value == "added" else short_reason(record.reason),
    }
    if record.segment:
        values["sp_segment"] = record.segment
    return values


def writeback_values(leads: pd.DataFrame, pushes: Mapping[str, PushRecord]) -> pd.DataFrame:
    """Per lead (by email), the value of each writeback property.

    Campaign, push status and its reason come from the push ledger when the push is settled
    (so a later run that excludes the lead as already pushed does not blank them; a rejected
    lead shows ``rejected`` and why), else from this run: the planned campaign and
    ``not_pushed``, or ``excluded`` with the reason. Data served from the enrichment cache is
    written as ``enriched``, as it was when first fetched. A value left missing leaves the
    property as it is (the segment of a lead this run excluded as already pushed); ``""``
    clears it.
    """
    frame = leads.set_index("email")
    settled = [pushes.get(str(email)) for email in frame.index]
    in_campaign = pd.Series(
        [p is not None and p.outcome in IN_CAMPAIGN_OUTCOMES for p in settled], index=frame.index
    )
    has_outcome = pd.Series([p is not None for p in settled], index=frame.index)
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
        push_reason=pd.Series(
            [short_reason(p.reason) if p and p.outcome.value != "added" else "" for p in settled],
            index=frame.index,
        ),
        exclusion_reason=frame["exclusion_reason"].where(~has_outcome),
        enrichment_status=frame["enrichment_status"].replace(
            {EnrichmentStatus.CACHED.value: EnrichmentStatus.ENRICHED.value}
        ),
    )
    values = pd.DataFrame(
        {
            name: frame[column].map(as_property)
            for name, (column, _, _) in WRITEBACK_PROPERTIES.items()
        },
        index=frame.index,
    )
    values.loc[in_campaign & frame["segment"].isna(), "sp_segment"] = None
    return values


def changed_values(
    values: pd.DataFrame,
    current: Mapping[str, Mapping[str, str | None]],
    shared: dict[str, str] | None = None,
) -> dict[str, dict[str, str]]:
    """The properties to write per email, for the leads whose properties differ from what
    HubSpot holds (``current``, by email): writing unchanged values would bump
    its modification date and bring the contact back into the next run for nothing.

    Equal values are one string object (kept in ``shared``, which a caller passes to every
    slice of a partition): the properties repeat a great deal (statuses, segments, campaigns,
    scores to two decimals), and each cell read out of an Arrow column is a new Python string,
    which for a million contacts held every value once per contact, about 700 MiB."""
    shared = {} if shared is None else shared
    changed: dict[str, dict[str, str]] = {}
    for email, row in zip(values.index, values.to_dict("records"), strict=True):
        held = current.get(str(email), {})
        wanted = {
            str(name): shared.setdefault(value, value)
            for name, value in row.items()
            if isinstance(value, str)
        }
        if any((held.get(name) or "") != value for name, value in wanted.items()):
            changed[str(email)] = wanted
    return changed
