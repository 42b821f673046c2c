"""Explorium answers validated and parsed into frames."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import pandas as pd
import pandera.pandas as pa
from pandera.typing.pandas import DataFrame

from sales_pipeline.domain.records import normalize_email
from sales_pipeline.transforms.contacts import clean_column, domain_from_url
from sales_pipeline.transforms.schemas import (
    BulkEnrichAnswer,
    BusinessEnrichItem,
    BusinessMatchAnswer,
    BusinessMatches,
    BusinessMatchItem,
    ContactInformation,
    ContactInformationData,
    Firmographics,
    FirmographicsData,
    MatchAlignment,
    ProfileData,
    Profiles,
    ProspectEnrichItem,
    ProspectMatchAnswer,
    ProspectMatches,
    ProspectMatchItem,
    validated,
)


def _records_frame(
    records: Sequence[Mapping[str, Any]], model: type[pa.DataFrameModel], index: Any = None
) -> pd.DataFrame:
    """JSON objects as a frame validated by ``model``, one row each.

    Optional columns of ``model`` that no record has are added as nulls; no records at all
    give an empty frame with the model's columns.
    """
    columns = list(model.to_schema().columns)
    if not records:
        return pd.DataFrame(columns=columns, index=index if index is not None else [])
    frame = model.validate(pd.DataFrame.from_records(list(records), index=index))
    return frame.reindex(columns=[*frame.columns, *(c for c in columns if c not in frame.columns)])


def _answer_items(
    answer: Mapping[str, Any],
    envelope: type[pa.DataFrameModel],
    list_key: str,
    item_model: type[pa.DataFrameModel],
) -> pd.DataFrame:
    """The validated items of the answer's list ``list_key``, one row each, in answer order."""
    checked = envelope.validate(pd.DataFrame([dict(answer)]))
    return _records_frame(checked[list_key].iloc[0], item_model)


def _item_data(
    items: pd.DataFrame, id_column: str, data_model: type[pa.DataFrameModel]
) -> pd.DataFrame:
    """The validated ``data`` objects of bulk-enrich items, with the item's id as a column (the
    item's, where ``data`` repeats it).

    Items whose ``data`` is null or ``{}`` (the vendor knows nothing) are left out.
    """
    with_data = items[items["data"].map(bool, na_action="ignore").eq(True)]
    data = _records_frame(with_data["data"].tolist(), data_model, index=with_data.index)
    return data.drop(columns=id_column, errors="ignore").assign(**{id_column: with_data[id_column]})


def _first_of(values: pd.Series) -> pd.Series:
    """The first item of each list value; null for empty lists and nulls."""
    return values.map(lambda v: v[0] if isinstance(v, list) and v else None)


def first_present(*candidates: pd.Series) -> pd.Series:
    """Element-wise, the first candidate that is not null (as objects: candidates may differ in
    dtype, an all-null column being float)."""
    result = candidates[0].astype(object)
    for candidate in candidates[1:]:
        result = result.where(result.notna(), candidate)
    return result


def _lower_text(values: pd.Series, column: str) -> pd.Series:
    """Cleaned, lower-cased vendor text (taxonomy values such as job levels)."""
    return clean_column(values, column).str.lower()


@dataclass(frozen=True)
class _MatchAnswer:
    """How one Explorium match endpoint answers."""

    envelope: type[pa.DataFrameModel]
    list_key: str
    item_model: type[pa.DataFrameModel]
    id_column: str
    input_key: str
    key_column: str
    output: type[pa.DataFrameModel]


_PROSPECT_MATCH = _MatchAnswer(
    ProspectMatchAnswer,
    "matched_prospects",
    ProspectMatchItem,
    "prospect_id",
    "email",
    "email",
    ProspectMatches,
)
_BUSINESS_MATCH = _MatchAnswer(
    BusinessMatchAnswer,
    "matched_businesses",
    BusinessMatchItem,
    "business_id",
    "domain",
    "company_domain",
    BusinessMatches,
)


def _parse_matches(
    answer: Mapping[str, Any], keys: Sequence[str], kind: _MatchAnswer
) -> pd.DataFrame:
    """Pair each key sent (trimmed, lower-cased) with the id matched for it.

    Raises SchemaError when the items do not line up one for one with the keys sent.
    """
    items = _answer_items(answer, kind.envelope, kind.list_key, kind.item_model)
    echoed = items["input"].map(
        lambda echo: echo.get(kind.input_key) if isinstance(echo, Mapping) else None
    )
    positions = pd.RangeIndex(max(len(keys), len(items)))
    sent = pd.Series(list(keys), dtype="str").map(normalize_email)
    MatchAlignment.validate(
        pd.DataFrame(
            {
                "sent": sent.reindex(positions),
                "answered": positions.isin(items.index),
                "echoed": echoed.astype("str").reindex(positions),
            },
            index=positions,
        )
    )
    frame = pd.DataFrame(
        {
            kind.key_column: sent,
            kind.id_column: items[kind.id_column],
            "match_error": items["error"],
        }
    )
    return validated(kind.output, frame)


def parse_prospect_matches(
    answer: Mapping[str, Any], emails: Sequence[str]
) -> DataFrame[ProspectMatches]:
    """``/v1/prospects/match`` answer for ``emails`` (in the order sent, no duplicates).

    Raises SchemaError when the answer's items do not line up with the emails sent.
    """
    return cast(DataFrame[ProspectMatches], _parse_matches(answer, emails, _PROSPECT_MATCH))


def parse_business_matches(
    answer: Mapping[str, Any], domains: Sequence[str]
) -> DataFrame[BusinessMatches]:
    """``/v1/businesses/match`` answer for ``domains`` sent as ``{"domain": ...}`` items."""
    return cast(DataFrame[BusinessMatches], _parse_matches(answer, domains, _BUSINESS_MATCH))


def parse_contact_information(answer: Mapping[str, Any]) -> DataFrame[ContactInformation]:
    """``/v1/prospects/contacts_information/bulk_enrich`` answer.

    Professional email: ``professions_email``, else the first ``emails[]`` entry of type
    ``professional`` or ``current_professional``. Phone: ``mobile_phone``, else the first
    ``phone_numbers[]`` entry.
    """
    items = _answer_items(answer, BulkEnrichAnswer, "data", ProspectEnrichItem)
    data = _item_data(items, "prospect_id", ContactInformationData)
    professional_listed = data["emails"].map(_professional_address)
    email = first_present(data["professions_email"], professional_listed)
    phones = _first_of(data["phone_numbers"]).map(
        lambda entry: entry.get("phone_number"), na_action="ignore"
    )
    frame = pd.DataFrame(
        {
            "prospect_id": data["prospect_id"],
            "professional_email": email.map(normalize_email, na_action="ignore"),
            "professional_email_status": data["professional_email_status"],
            "phone": clean_column(first_present(data["mobile_phone"], phones), "phone"),
        }
    )
    return validated(ContactInformation, frame)


def _professional_address(emails: object) -> str | None:
    """The first professional address of an ``emails[]`` list."""
    if not isinstance(emails, list):
        return None
    for entry in emails:
        if entry.get("type") in {"professional", "current_professional"} and entry.get("address"):
            return str(entry["address"])
    return None


def parse_profiles(answer: Mapping[str, Any]) -> DataFrame[Profiles]:
    """``/v1/prospects/profiles/bulk_enrich`` answer.

    Job level: ``job_level_main``, else the first of ``job_level_array``, else
    ``job_seniority_level``; department likewise from ``job_department_main`` and
    ``job_department_array``. Levels and departments are lower-cased; the company domain
    comes from ``company_website``.
    """
    items = _answer_items(answer, BulkEnrichAnswer, "data", ProspectEnrichItem)
    data = _item_data(items, "prospect_id", ProfileData)
    level = first_present(
        data["job_level_main"], _first_of(data["job_level_array"]), data["job_seniority_level"]
    )
    department = first_present(data["job_department_main"], _first_of(data["job_department_array"]))
    frame = pd.DataFrame(
        {
            "prospect_id": data["prospect_id"],
            "job_title": clean_column(data["job_title"], "job_title"),
            "job_level": _lower_text(level, "job_level"),
            "job_department": _lower_text(department, "job_department"),
            "company_name": clean_column(data["company_name"], "company_name"),
            "company_domain": domain_from_url(data["company_website"]),
            "country": clean_column(data["country_name"], "country"),
            "linkedin_url": clean_column(data["linkedin"], "linkedin_url"),
        }
    )
    return validated(Profiles, frame)


def parse_firmographics(answer: Mapping[str, Any]) -> DataFrame[Firmographics]:
    """``/v1/businesses/firmographics/bulk_enrich`` answer (``number_of_employees_range`` is
    the company size, ``linkedin_industry_category`` the industry)."""
    items = _answer_items(answer, BulkEnrichAnswer, "data", BusinessEnrichItem)
    data = _item_data(items, "business_id", FirmographicsData)
    frame = pd.DataFrame(
        {
            "business_id": data["business_id"],
            "company_name": clean_column(data["name"], "company_name"),
            "company_domain": domain_from_url(data["website"]),
            "company_size": data["number_of_employees_range"],
            "yearly_revenue_range": clean_column(
                data["yearly_revenue_range"], "yearly_revenue_range"
            ),
            "industry": clean_column(data["linkedin_industry_category"], "industry"),
            "country": clean_column(data["country_name"], "country"),
        }
    )
    return validated(Firmographics, frame)


# Enrichment -------------------------------------------------------------------------------------
