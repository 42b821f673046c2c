"""The contracts between stages: what they accept and refuse (vendor answers are checked by
the clients, see clients/test_explorium_answers.py)."""

from datetime import UTC, datetime
from typing import Any

import pandas as pd
import pytest
from pandera.errors import SchemaError, SchemaErrors

from sales_pipeline.transforms.schemas import (
    ContractViolation,
    EnrichedContacts,
    EnrichmentRecords,
    NormalizedContacts,
    QualifiedLeads,
    validated,
)

NOW = pd.Timestamp(datetime(2025, 7, 7, 12, 0, tzinfo=UTC))
PID = "a" * 40
BROKEN_CONTRACT = (SchemaError, SchemaErrors)
"""Pandera raises SchemaErrors (plural) for unexpected columns and failed coercions."""


def normalized(**overrides: Any) -> dict[str, Any]:
    """One valid NormalizedContacts row."""
    return {
        "hubspot_id": "101",
        "email": "ana@acme.com",
        "first_name": "Ana",
        "last_name": "Silva",
        "company": "Acme",
        "job_title": "VP Sales",
        "phone": None,
        "country": "Germany",
        "opted_out": False,
        "modified_at": NOW,
        "merged_ids": None,
        **overrides,
    }


def enriched(**overrides: Any) -> dict[str, Any]:
    """One valid EnrichedContacts row (enriched by Explorium)."""
    return {
        **normalized(),
        "job_level": "vice president",
        "job_department": "sales",
        "company_name": "Acme GmbH",
        "company_domain": "acme.com",
        "company_size": "201-500",
        "yearly_revenue_range": "25M-75M",
        "industry": "Software Development",
        "linkedin_url": None,
        "email_status": "valid",
        "enrichment_status": "enriched",
        "prospect_id": PID,
        "business_id": "c" * 32,
        "confidence": 0.9,
        "enriched_at": NOW,
        **overrides,
    }


def qualified(**overrides: Any) -> dict[str, Any]:
    """One valid QualifiedLeads row, routed to a campaign."""
    row = enriched(
        icp_score=0.8, segment="default", campaign_id="cam_1", excluded=False, exclusion_reason=None
    )
    return {**row, **overrides}


def frame(*rows: dict[str, Any]) -> pd.DataFrame:
    return pd.DataFrame(list(rows))


# Stage contracts -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "moment",
    [NOW, pd.Timestamp("2025-07-07T14:00:00+02:00"), pd.Timestamp("2025-07-07T12:00:00")],
    ids=["utc", "other-zone", "naive-read-as-utc"],
)
def test_contact_timestamps_come_out_in_utc(moment: pd.Timestamp) -> None:
    checked = NormalizedContacts.validate(frame(normalized(modified_at=moment)))
    assert checked["modified_at"].tolist() == [NOW]
    assert str(checked["modified_at"].dtype) == "datetime64[us, UTC]"


@pytest.mark.parametrize(
    "row",
    [
        normalized(email="Ana@acme.com"),
        normalized(email="ana@acme"),
        normalized(email=None),
        normalized(first_name="<b>Ana</b>"),
        normalized(last_name=" Silva"),
        normalized(company=""),
        normalized(job_title="A" * 256),
        normalized(hubspot_id=""),
        normalized(opted_out=None),
        normalized(modified_at="yesterday"),
        normalized(modified_at=None),
    ],
    ids=[
        "upper-case-email",
        "invalid-email",
        "no-email",
        "markup",
        "untrimmed",
        "empty-text",
        "too-long",
        "empty-id",
        "null-opt-out",
        "not-a-time",
        "no-time",
    ],
)
def test_a_contact_breaking_the_contract_is_refused(row: dict[str, Any]) -> None:
    with pytest.raises(BROKEN_CONTRACT):
        NormalizedContacts.validate(frame(row))


def test_two_contacts_with_one_email_are_refused() -> None:
    with pytest.raises(BROKEN_CONTRACT, match="email"):
        NormalizedContacts.validate(frame(normalized(), normalized(hubspot_id="102")))


def test_contact_frames_have_exactly_the_contract_columns() -> None:
    with pytest.raises(BROKEN_CONTRACT, match="surprise"):
        NormalizedContacts.validate(frame(normalized(surprise=1)))
    with pytest.raises(BROKEN_CONTRACT, match="merged_ids"):
        NormalizedContacts.validate(frame(normalized()).drop(columns="merged_ids"))


def test_enriched_contacts_add_enrichment_to_the_contact_columns() -> None:
    contact_columns = set(NormalizedContacts.to_schema().columns)
    enriched_columns = set(EnrichedContacts.to_schema().columns)
    assert contact_columns < enriched_columns
    deferred = enriched(
        hubspot_id="102",
        email="bob@acme.com",
        enrichment_status="deferred",
        prospect_id=None,
        business_id=None,
        email_status="unknown",
        enriched_at=None,
    )
    checked = EnrichedContacts.validate(frame(enriched(), deferred))
    assert checked["enrichment_status"].tolist() == ["enriched", "deferred"]


@pytest.mark.parametrize(
    "row",
    [
        enriched(enrichment_status="pending"),
        enriched(email_status="deliverable"),
        enriched(email_status=None),
        enriched(confidence=1.2),
        enriched(company_size="200-500"),
        enriched(company_domain="https://acme.com"),
        enriched(prospect_id=None),
        enriched(prospect_id="42"),
        enriched(enrichment_status="unmatched"),
        enriched(enriched_at=None),
        enriched(enrichment_status="deferred", prospect_id=None),
    ],
    ids=[
        "unknown-status",
        "unknown-email-status",
        "null-email-status",
        "confidence>1",
        "unknown-size",
        "url-as-domain",
        "enriched-without-prospect",
        "malformed-prospect-id",
        "unmatched-with-prospect",
        "enriched-without-time",
        "deferred-with-time",
    ],
)
def test_an_enriched_contact_breaking_the_contract_is_refused(row: dict[str, Any]) -> None:
    with pytest.raises(BROKEN_CONTRACT):
        EnrichedContacts.validate(frame(row))


def test_cached_enrichment_records_carry_ids_only_when_matched() -> None:
    fields = {k: v for k, v in enriched().items() if k in EnrichmentRecords.to_schema().columns}
    unmatched = {**fields, "email": "x@y.io", "prospect_id": None, "match_status": "unmatched"}
    EnrichmentRecords.validate(frame({**fields, "match_status": "matched"}, unmatched))
    with pytest.raises(BROKEN_CONTRACT, match="matched_rows_have_prospect_id"):
        EnrichmentRecords.validate(frame({**fields, "match_status": "unmatched"}))


def test_a_qualified_lead_is_either_routed_or_excluded_with_a_reason() -> None:
    excluded = qualified(
        hubspot_id="102",
        email="bob@acme.com",
        segment=None,
        campaign_id=None,
        excluded=True,
        exclusion_reason="opted_out",
    )
    QualifiedLeads.validate(frame(qualified(), excluded))


@pytest.mark.parametrize(
    "row",
    [
        qualified(excluded=True),
        qualified(exclusion_reason="opted_out"),
        qualified(campaign_id=None),
        qualified(segment=None),
        qualified(excluded=True, exclusion_reason="not_in_the_mood"),
        qualified(icp_score=-0.1),
    ],
    ids=[
        "excluded-without-reason",
        "reason-but-included",
        "included-without-campaign",
        "included-without-segment",
        "unknown-reason",
        "negative-score",
    ],
)
def test_a_qualified_lead_breaking_the_contract_is_refused(row: dict[str, Any]) -> None:
    with pytest.raises(BROKEN_CONTRACT):
        QualifiedLeads.validate(frame(row))


def test_a_broken_contract_is_told_without_the_values_that_broke_it() -> None:
    rows = frame(
        normalized(hubspot_id="1", email="ana.silva@acme.com", first_name=" Ana"),
        normalized(hubspot_id="2", email="ana.silva@acme.com", first_name="Bo\u202e"),
    )
    with pytest.raises(ContractViolation) as refused:
        validated(NormalizedContacts, rows)
    told = str(refused.value) + repr(refused.value.failures)
    assert "NormalizedContacts contract broken" in told
    assert "email" in told
    assert "first_name" in told
    for secret in ("ana.silva", "acme.com", " Ana", "Bo\u202e"):
        assert secret not in told
    assert refused.value.__cause__ is None
    assert refused.value.__suppress_context__
