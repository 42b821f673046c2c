"""The contracts between stages and the vendor-answer models: what they accept and refuse."""

from datetime import UTC, datetime
from typing import Any

import pandas as pd
import pytest
from pandera.errors import SchemaError, SchemaErrors

from sales_pipeline.transforms.schemas import (
    ContactInformationData,
    ContractViolation,
    EnrichedContacts,
    EnrichmentRecords,
    FirmographicsData,
    MatchAlignment,
    NormalizedContacts,
    ProfileData,
    ProspectEnrichItem,
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
        "lastmodifieddate": NOW,
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
    checked = NormalizedContacts.validate(frame(normalized(lastmodifieddate=moment)))
    assert checked["lastmodifieddate"].tolist() == [NOW]
    assert str(checked["lastmodifieddate"].dtype) == "datetime64[us, UTC]"


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
        normalized(lastmodifieddate="yesterday"),
        normalized(lastmodifieddate=None),
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


# Vendor answers --------------------------------------------------------------------------------


def test_vendor_rows_tolerate_nulls_and_keys_only_some_rows_have() -> None:
    rows: list[dict[str, Any]] = [
        {
            "emails": [{"address": "ana@acme.com", "type": "professional"}],
            "professions_email": "ana@acme.com",
            "professional_email_status": "catch-all",
            "mobile_phone": "+4915112345678",
        },
        {"emails": None, "professions_email": None, "professional_email_status": None},
    ]
    checked = ContactInformationData.validate(pd.DataFrame.from_records(rows))
    assert checked["professional_email_status"].isna().tolist() == [False, True]


@pytest.mark.parametrize(
    ("row", "complaint"),
    [
        ({"emails": [], "professional_email_status": "valid"}, "professions_email"),
        (
            {"emails": [], "professions_email": 42, "professional_email_status": "valid"},
            "professions_email",
        ),
        (
            {"emails": [], "professions_email": None, "professional_email_status": "VALID"},
            "professional_email_status",
        ),
        (
            {
                "emails": [{"mail": "a@b.io"}],
                "professions_email": None,
                "professional_email_status": None,
            },
            "is_json_list",
        ),
        (
            {
                "emails": [],
                "professions_email": None,
                "professional_email_status": None,
                "phone_numbers": [{"number": "+1555"}],
            },
            "is_json_list",
        ),
    ],
    ids=["key-missing", "wrong-type", "unknown-status", "email-item-shape", "phone-item-shape"],
)
def test_a_changed_contact_information_shape_is_refused(
    row: dict[str, Any], complaint: str
) -> None:
    with pytest.raises(SchemaError, match=complaint):
        ContactInformationData.validate(pd.DataFrame.from_records([row]))


def test_profile_arrays_must_be_lists_of_text() -> None:
    base = {
        "job_title": "CTO",
        "job_level_main": None,
        "job_department_main": None,
        "company_name": None,
        "company_website": None,
        "country_name": None,
    }
    ProfileData.validate(pd.DataFrame.from_records([{**base, "job_level_array": ["c-suite"]}]))
    with pytest.raises(SchemaError, match="is_json_list"):
        ProfileData.validate(pd.DataFrame.from_records([{**base, "job_level_array": [1]}]))


def test_company_sizes_are_explorium_ranges_or_null() -> None:
    base = {"name": "Acme", "website": None, "country_name": None, "yearly_revenue_range": None}
    rows = [{**base, "number_of_employees_range": size} for size in ["10001+", None]]
    FirmographicsData.validate(pd.DataFrame.from_records(rows))
    with pytest.raises(SchemaError, match="isin"):
        FirmographicsData.validate(
            pd.DataFrame.from_records([{**base, "number_of_employees_range": "10000+"}])
        )


def test_bulk_items_need_an_id_and_an_object_as_data() -> None:
    ProspectEnrichItem.validate(pd.DataFrame.from_records([{"prospect_id": PID, "data": None}]))
    with pytest.raises(SchemaError):
        ProspectEnrichItem.validate(pd.DataFrame.from_records([{"prospect_id": None, "data": {}}]))
    with pytest.raises(SchemaError, match="is_json_object"):
        ProspectEnrichItem.validate(
            pd.DataFrame.from_records([{"prospect_id": PID, "data": ["not", "an", "object"]}])
        )


@pytest.mark.parametrize(
    ("sent", "answered", "echoed", "fits"),
    [
        (["a@x.io", "b@x.io"], [True, True], ["A@x.io", None], True),
        (["a@x.io", None], [True, True], [None, None], False),
        (["a@x.io", "b@x.io"], [True, False], [None, None], False),
        (["a@x.io", "b@x.io"], [True, True], ["b@x.io", "a@x.io"], False),
    ],
    ids=["aligned", "extra-item", "missing-item", "swapped"],
)
def test_match_answers_must_line_up_with_the_inputs(
    sent: list[str | None], answered: list[bool], echoed: list[str | None], fits: bool
) -> None:
    alignment = pd.DataFrame({"sent": sent, "answered": answered, "echoed": echoed})
    if fits:
        MatchAlignment.validate(alignment)
    else:
        with pytest.raises(SchemaError):
            MatchAlignment.validate(alignment)


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
