"""Pandera models: the contracts between the pipeline's stages.

Stage models (``strict``: no column more, none less)::

    NormalizedContacts  ->  EnrichedContacts (+ enrichment)  ->  QualifiedLeads (+ score, route)

Enrichment is assembled from rows per Explorium entity (the columns of :class:`ContactDetails`,
:class:`Profiles` and :class:`CompanyFacts`) built by ``transforms`` from the typed records the
Explorium client returns, and checked once per pass as :class:`EnrichmentRecords`. Vendor
answers are not checked here: each client reads and checks its vendor's JSON once, where the
answer arrives.
"""

from collections.abc import Mapping
from typing import Annotated, Any, TypeVar

import pandas as pd
import pandera.errors
import pandera.pandas as pa
from pandera.typing.pandas import DataFrame, Series

from sales_pipeline.domain.outcomes import (
    EXPLORIUM_EMAIL_STATUSES,
    EmailStatus,
    EnrichmentStatus,
    ExclusionReason,
)
from sales_pipeline.domain.sources import COMPANY_SIZES
from sales_pipeline.domain.text import DOMAIN_PATTERN, EMAIL_MAX_LENGTH, EMAIL_PATTERN, MAX_LENGTHS
from sales_pipeline.transforms.masking import mask_value

PROSPECT_ID_PATTERN = r"^[a-f0-9]{40}\Z"
BUSINESS_ID_PATTERN = r"^[a-f0-9]{32}\Z"

TEXT_MAX_LENGTHS: Mapping[str, int] = {"hubspot_id": 64, **MAX_LENGTHS}
"""Each text column's longest value: the text policy's limits (shared with the vendor clients,
so a value that fits here is never refused at send time), plus HubSpot's record id."""
"""The longest value each text column may hold (characters)."""

UTCTimestamp = Annotated[pd.DatetimeTZDtype, "us", "UTC"]
"""Timezone-aware UTC timestamps, microsecond resolution (pandas 3's default)."""


MATCH_STATUSES = ("matched", "unmatched")


def _text(column: str) -> Any:
    """A nullable text column capped at its :data:`TEXT_MAX_LENGTHS` entry."""
    return pa.Field(nullable=True, str_length={"max_value": TEXT_MAX_LENGTHS[column]})


def _prospect_id(*, nullable: bool) -> Any:
    """An Explorium prospect id (40 hex characters)."""
    return pa.Field(nullable=nullable, str_matches=PROSPECT_ID_PATTERN)


def _business_id(*, nullable: bool) -> Any:
    """An Explorium business id (32 hex characters)."""
    return pa.Field(nullable=nullable, str_matches=BUSINESS_ID_PATTERN)


def _domain() -> Any:
    """A nullable, lower-case company domain."""
    return pa.Field(nullable=True, str_matches=DOMAIN_PATTERN)


def _email_status() -> Any:
    """An :class:`EmailStatus` value, never null (unknown is a value)."""
    return pa.Field(isin=[s.value for s in EmailStatus])


def _share() -> Any:
    """A number between 0 and 1."""
    return pa.Field(ge=0.0, le=1.0)


def _utc_timestamp(*, nullable: bool) -> Any:
    """A UTC timestamp column: other zones and resolutions are converted, naive values are read
    as UTC."""
    return pa.Field(nullable=nullable, coerce=True)


# Stage contracts ------------------------------------------------------------------------------


class NormalizedContacts(pa.DataFrameModel):
    """HubSpot contacts after normalization: one row per person (unique email).

    Text is trimmed, free of markup and within :data:`TEXT_MAX_LENGTHS`. ``merged_ids`` lists the
    HubSpot ids of duplicates merged into this row (comma-separated), null when none.
    """

    hubspot_id: Series[str] = pa.Field(unique=True, str_length={"min_value": 1, "max_value": 64})
    email: Series[str] = pa.Field(
        unique=True, str_matches=EMAIL_PATTERN, str_length={"max_value": EMAIL_MAX_LENGTH}
    )
    first_name: Series[str] = _text("first_name")
    last_name: Series[str] = _text("last_name")
    company: Series[str] = _text("company")
    job_title: Series[str] = _text("job_title")
    phone: Series[str] = _text("phone")
    country: Series[str] = _text("country")
    opted_out: Series[bool]
    modified_at: Series[UTCTimestamp] = _utc_timestamp(nullable=False)
    merged_ids: Series[str] = pa.Field(nullable=True)

    class Config:
        """Exactly these columns."""

        strict = True

    @pa.check("first_name", "last_name", "company", "job_title", "country", name="clean_text")
    @classmethod
    def clean_text(cls, text: pd.Series) -> pd.Series:
        """Free text is trimmed, not empty and carries no markup."""
        return (text == text.str.strip()) & (text != "") & ~text.str.contains("[<>]", regex=True)


class EnrichmentFields(pa.DataFrameModel):
    """What Explorium tells about a person and their company (all nullable but email_status).

    ``email_status`` is the verification status of the contact's own email: Explorium's
    verification of its professional email when that is the contact's address, else unknown.
    """

    job_title: Series[str] = _text("job_title")
    job_level: Series[str] = _text("job_level")
    job_department: Series[str] = _text("job_department")
    company_name: Series[str] = _text("company_name")
    company_domain: Series[str] = _domain()
    company_size: Series[str] = pa.Field(nullable=True, isin=COMPANY_SIZES)
    yearly_revenue_range: Series[str] = _text("yearly_revenue_range")
    industry: Series[str] = _text("industry")
    country: Series[str] = _text("country")
    linkedin_url: Series[str] = _text("linkedin_url")
    phone: Series[str] = _text("phone")
    email_status: Series[str] = _email_status()


class EnrichmentRecords(EnrichmentFields):
    """Explorium's answer for one email, as cached: matched (with ids) or unmatched."""

    email: Series[str] = pa.Field(unique=True, str_matches=EMAIL_PATTERN)
    match_status: Series[str] = pa.Field(isin=MATCH_STATUSES)
    prospect_id: Series[str] = _prospect_id(nullable=True)
    business_id: Series[str] = _business_id(nullable=True)
    enriched_at: Series[UTCTimestamp] = _utc_timestamp(nullable=False)

    class Config:
        """Exactly these columns."""

        strict = True

    @pa.dataframe_check(name="matched_rows_have_prospect_id")
    @classmethod
    def matched_rows_have_prospect_id(cls, df: pd.DataFrame) -> pd.Series:
        """A prospect id exactly on the matched rows."""
        return (df["match_status"] == "matched") == df["prospect_id"].notna()


class EnrichedContacts(NormalizedContacts, EnrichmentFields):
    """Normalized contacts with their enrichment and a confidence in it (0..1).

    ``job_title``, ``country`` and ``company_name`` prefer Explorium's value and fall back to
    HubSpot's; ``phone`` prefers HubSpot's. ``enriched_at`` is when Explorium answered (null when
    deferred).
    """

    enrichment_status: Series[str] = pa.Field(isin=[s.value for s in EnrichmentStatus])
    prospect_id: Series[str] = _prospect_id(nullable=True)
    business_id: Series[str] = _business_id(nullable=True)
    confidence: Series[float] = _share()
    enriched_at: Series[UTCTimestamp] = _utc_timestamp(nullable=True)

    @pa.dataframe_check(name="matched_rows_have_prospect_id")
    @classmethod
    def matched_rows_have_prospect_id(cls, df: pd.DataFrame) -> pd.Series:
        """Enriched and cached rows have a prospect id; unmatched and deferred rows have none."""
        matched = df["enrichment_status"].isin([EnrichmentStatus.ENRICHED, EnrichmentStatus.CACHED])
        return matched == df["prospect_id"].notna()

    @pa.dataframe_check(name="deferred_rows_have_no_enrichment_time")
    @classmethod
    def deferred_rows_have_no_enrichment_time(cls, df: pd.DataFrame) -> pd.Series:
        """Only deferred rows lack ``enriched_at``."""
        return (df["enrichment_status"] == EnrichmentStatus.DEFERRED) == df["enriched_at"].isna()


class QualifiedLeads(EnrichedContacts):
    """Enriched contacts scored against the ICP and routed to a Lemlist campaign.

    Every contact stays in the frame: ``excluded`` rows carry their first
    :class:`ExclusionReason`; the others carry the segment and campaign they go to.
    """

    icp_score: Series[float] = _share()
    segment: Series[str] = pa.Field(nullable=True)
    campaign_id: Series[str] = pa.Field(nullable=True)
    excluded: Series[bool]
    exclusion_reason: Series[str] = pa.Field(nullable=True, isin=[r.value for r in ExclusionReason])

    @pa.dataframe_check(name="exclusions_have_a_reason")
    @classmethod
    def exclusions_have_a_reason(cls, df: pd.DataFrame) -> pd.Series:
        """A reason exactly on the excluded rows."""
        return df["excluded"] == df["exclusion_reason"].notna()

    @pa.dataframe_check(name="included_rows_have_a_campaign")
    @classmethod
    def included_rows_have_a_campaign(cls, df: pd.DataFrame) -> pd.Series:
        """Every lead to push has a segment and a campaign."""
        return df["excluded"] | (df["campaign_id"].notna() & df["segment"].notna())


class QuarantinedRecords(pa.DataFrameModel):
    """Records a stage refused: one row per faulty field, with a masked copy of the record.

    ``field`` names the record's field as the pipeline calls it (``job_title``, ``opted_out``).
    """

    record_key: Series[str]
    field: Series[str]
    reason: Series[str]
    masked_record_json: Series[str]

    class Config:
        """Exactly these columns."""

        strict = True


# Enrichment per call ---------------------------------------------------------------------


class ContactDetails(pa.DataFrameModel):
    """Contact details per prospect: professional email, its verification status, a phone."""

    prospect_id: Series[str] = pa.Field(unique=True, str_matches=PROSPECT_ID_PATTERN)
    professional_email: Series[str] = pa.Field(nullable=True)
    professional_email_verification: Series[str] = pa.Field(
        nullable=True, isin=[s.value for s in EXPLORIUM_EMAIL_STATUSES]
    )
    phone: Series[str] = _text("phone")

    class Config:
        """Exactly these columns."""

        strict = True


class Profiles(pa.DataFrameModel):
    """Professional profile per prospect."""

    prospect_id: Series[str] = pa.Field(unique=True, str_matches=PROSPECT_ID_PATTERN)
    job_title: Series[str] = _text("job_title")
    job_level: Series[str] = _text("job_level")
    job_department: Series[str] = _text("job_department")
    company_name: Series[str] = _text("company_name")
    company_domain: Series[str] = _domain()
    country: Series[str] = _text("country")
    linkedin_url: Series[str] = _text("linkedin_url")

    class Config:
        """Exactly these columns."""

        strict = True


class CompanyFacts(pa.DataFrameModel):
    """Company facts per business."""

    business_id: Series[str] = pa.Field(unique=True, str_matches=BUSINESS_ID_PATTERN)
    company_name: Series[str] = _text("company_name")
    company_domain: Series[str] = _domain()
    company_size: Series[str] = pa.Field(nullable=True, isin=COMPANY_SIZES)
    yearly_revenue_range: Series[str] = _text("yearly_revenue_range")
    industry: Series[str] = _text("industry")
    country: Series[str] = _text("country")

    class Config:
        """Exactly these columns."""

        strict = True


Model = TypeVar("Model", bound=pa.DataFrameModel)


class ContractViolation(ValueError):  # noqa: N818 - a violation, not an error of the code
    """A frame broke its stage contract. The message names the model and, per column and check,
    how many rows failed, with masked examples: never a raw value (the failure cases of a
    personal column are personal data, and this text reaches logs and Dagster's event log)."""

    def __init__(self, model: str, failures: list[dict[str, Any]]) -> None:
        self.model = model
        self.failures = failures
        parts = [f"{f['column']} {f['check']} ({f['count']} rows)" for f in failures[:10]]
        super().__init__(f"{model} contract broken: {'; '.join(parts) or 'see the schema'}")


def failure_summary(
    error: pandera.errors.SchemaError | pandera.errors.SchemaErrors,
) -> list[dict[str, Any]]:
    """The failures of ``error`` per (column, check): the count and up to three examples,
    masked as :func:`~sales_pipeline.transforms.masking.mask_value` masks that column."""
    cases = getattr(error, "failure_cases", None)
    if not isinstance(cases, pd.DataFrame) or cases.empty or "failure_case" not in cases:
        return [{"column": str(getattr(error, "schema", "") or ""), "check": "schema", "count": 0}]
    cases = cases.assign(
        column=cases["column"].astype("string").fillna("(frame)") if "column" in cases else "?",
        check=cases["check"].astype("string").fillna("?") if "check" in cases else "?",
    )
    return [
        {
            "column": column,
            "check": check,
            "count": len(group),
            "examples": [mask_value(str(column), v) for v in group["failure_case"].head(3)],
        }
        for (column, check), group in cases.groupby(["column", "check"], sort=True)
    ]


def validated(model: type[Model], frame: pd.DataFrame) -> DataFrame[Model]:
    """``frame`` as ``model``: its columns in the model's order, text columns in pandas' str
    dtype (merges leave them as objects), then validated; a broken contract raises
    :class:`ContractViolation`, whose text holds no value of the frame."""
    columns = model.to_schema().columns
    text = [
        name for name, column in columns.items() if isinstance(column.dtype.type, pd.StringDtype)
    ]
    try:
        return model.validate(frame[list(columns)].astype(dict.fromkeys(text, "str")), lazy=True)
    except (pandera.errors.SchemaError, pandera.errors.SchemaErrors) as broken:
        raise ContractViolation(model.__name__, failure_summary(broken)) from None
