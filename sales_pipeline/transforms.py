"""The pipeline's pure pandas steps: no I/O and no clock (``now`` is always passed in).

HubSpot contacts
    :func:`normalize_contacts` turns contact objects into :class:`NormalizedContacts` and
    :class:`QuarantinedRecords`. Policy, so nothing is dropped silently:

    * Text is NFC-normalized, HTML-unescaped, stripped of tags (``<script>``/``<style>`` with
      their content), control characters and repeated whitespace, then trimmed; empty is null.
    * Emails are trimmed and lower-cased, then must match :data:`EMAIL_PATTERN` (ASCII, at most
      254 characters). A missing or invalid email quarantines the contact.
    * A text value longer than :data:`TEXT_MAX_LENGTHS` *after* cleaning quarantines the contact
      rather than being truncated: a 10 KB job title is a broken record a person should look at,
      and a truncated one would still end up in a personalized email.
    * ``hs_email_optout`` must be ``true``, ``false`` or unset; anything else is quarantined
      (we cannot tell whether the person opted out). ``lastmodifieddate`` (falling back to the
      object's ``updatedAt``) must be an ISO 8601 timestamp.
    * Contacts with the same email in different casing are merged into one row: the most
      recently modified wins, ties go to the lowest HubSpot id (numerically); its empty fields
      are filled from the others in the same order; ``opted_out`` is true if any of them opted
      out; ``merged_ids`` lists the other ids.

    Every input record is in exactly one place: a valid row, a valid row's ``merged_ids``, or
    the quarantine (one row per faulty field).

Explorium answers
    ``parse_*`` validate an answer against the vendor models in :mod:`sales_pipeline.schemas`
    (raising :class:`pandera.errors.SchemaError` on a changed shape) and extract fields with
    fallbacks. :func:`combine_enrichment` joins them per email, :func:`enrich_contacts` joins
    that (fresh or cached) onto contacts and scores the :func:`confidence_score`.

Qualification
    :class:`QualificationRules` (from YAML or a dict) scores the ICP fit and routes to Lemlist
    campaigns; :func:`qualify` adds the score, route and first :class:`ExclusionReason`.

Metadata
    :func:`mask_email` and :func:`masked_sample` keep raw PII out of logs and the Dagster UI.
"""

import html
import json
import re
import unicodedata
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Self, TypeVar, cast

import numpy as np
import pandas as pd
import pandera.pandas as pa
import yaml
from pandera.typing.pandas import DataFrame
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from sales_pipeline.schemas import (
    DOMAIN_PATTERN,
    EMAIL_MAX_LENGTH,
    EMAIL_PATTERN,
    TEXT_MAX_LENGTHS,
    BulkEnrichAnswer,
    BusinessEnrichItem,
    BusinessMatchAnswer,
    BusinessMatches,
    BusinessMatchItem,
    ContactInformation,
    ContactInformationData,
    EmailStatus,
    EnrichedContacts,
    EnrichmentFields,
    EnrichmentRecords,
    EnrichmentStatus,
    ExclusionReason,
    Firmographics,
    FirmographicsData,
    MatchAlignment,
    NormalizedContacts,
    ProfileData,
    Profiles,
    ProspectEnrichItem,
    ProspectMatchAnswer,
    ProspectMatches,
    ProspectMatchItem,
    QualifiedLeads,
    QuarantinedRecords,
)
from sales_pipeline.store import CachedEnrichment, MatchStatus, SuppressionSource, normalize_email

Model = TypeVar("Model", bound=pa.DataFrameModel)

HUBSPOT_CONTACT_PROPERTIES = (
    "email",
    "firstname",
    "lastname",
    "company",
    "jobtitle",
    "phone",
    "country",
    "hs_email_optout",
    "lastmodifieddate",
)
"""The HubSpot contact properties :func:`normalize_contacts` reads (ask the API for these)."""

_TEXT_PROPERTIES = {
    "firstname": "first_name",
    "lastname": "last_name",
    "company": "company",
    "jobtitle": "job_title",
    "phone": "phone",
    "country": "country",
}
"""HubSpot free-text property -> column of :class:`NormalizedContacts`."""

FREE_MAIL_DOMAINS = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "yahoo.com",
        "hotmail.com",
        "outlook.com",
        "live.com",
        "msn.com",
        "icloud.com",
        "me.com",
        "aol.com",
        "proton.me",
        "protonmail.com",
        "gmx.de",
        "gmx.net",
        "web.de",
        "yandex.ru",
        "mail.ru",
        "qq.com",
        "163.com",
    }
)
"""Mailbox providers: an address there says nothing about the person's company."""

_MARKUP_BLOCK = re.compile(r"<(script|style)\b[^>]*>.*?(?:</\1\s*>|\Z)", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^<>]*>")
_CONTROL_OR_SPACE = re.compile(r"[\x00-\x1f\x7f-\x9f\s]+")
_URL_HOST = re.compile(r"^(?:[a-z][a-z0-9+.-]*:)?(?://)?(?:www\.)?([^/:?#\s@]+)")


# Masking --------------------------------------------------------------------------------------


def mask_text(value: str | None) -> str | None:
    """Keep the first character only: ``"José"`` -> ``"J***"``. None stays None."""
    if value is None or value == "":
        return value
    return f"{value[0]}***"


def mask_email(email: str | None) -> str | None:
    """Mask an email for logs and metadata: ``"john.doe@example.com"`` -> ``"j***@e***.com"``.

    The first letter of the local part and of the domain survive, and the top-level domain.
    Anything that is not an address is masked like text. None stays None.
    """
    if email is None:
        return None
    local, at, domain = email.strip().rpartition("@")
    if not at or not local or not domain:
        return mask_text(email.strip())
    host, dot, tld = domain.rpartition(".")
    masked_domain = f"{host[0]}***.{tld}" if dot and host else f"{domain[0]}***"
    return f"{local[0]}***@{masked_domain}"


def mask_phone(phone: str | None) -> str | None:
    """Keep the last two digits only: ``"+1 555 0100"`` -> ``"***00"``. None stays None."""
    if phone is None or phone == "":
        return phone
    return f"***{''.join(ch for ch in phone if ch.isdigit())[-2:]}"


_MASKS: Mapping[str, Callable[[str | None], str | None]] = {
    "email": mask_email,
    "professional_email": mask_email,
    "first_name": mask_text,
    "last_name": mask_text,
    "linkedin_url": mask_text,
    "phone": mask_phone,
}
"""How each personal column is masked."""

PII_COLUMNS = tuple(_MASKS)
"""Columns :func:`masked_sample` masks."""

_HUBSPOT_MASKS = {"email": mask_email} | {
    name: _MASKS[column] for name, column in _TEXT_PROPERTIES.items() if column in _MASKS
}
"""How each personal HubSpot property is masked in quarantined records."""


def masked_sample(df: pd.DataFrame, n: int = 5) -> pd.DataFrame:
    """The first ``n`` rows with every :data:`PII_COLUMNS` column masked, for asset metadata."""
    sample = df.head(n).copy()
    for column in PII_COLUMNS:
        if column in sample.columns:
            sample[column] = sample[column].map(_MASKS[column], na_action="ignore")
    return sample


def _masked_hubspot_record(record: Mapping[str, Any]) -> str:
    """A quarantined HubSpot record as JSON: PII masked, other text cut to 64 characters."""
    properties = record.get("properties") or {}
    masked: dict[str, Any] = {"id": record.get("id")}
    for name in HUBSPOT_CONTACT_PROPERTIES:
        value = properties.get(name)
        if value is not None:
            value = str(value)
            mask = _HUBSPOT_MASKS.get(name)
            if mask is not None:
                value = mask(value)
            elif len(value) > 64:
                value = f"{value[:64]}... ({len(value)} characters)"
        masked[name] = value
    return json.dumps(masked, ensure_ascii=False, sort_keys=True)


# Text ------------------------------------------------------------------------------------------


def clean_text(value: str) -> str | None:
    """Sanitize one free-text value (see the module docstring); None when nothing is left."""
    text = html.unescape(unicodedata.normalize("NFC", value))
    previous = None
    while previous != text:
        previous = text
        text = _TAG.sub("", _MARKUP_BLOCK.sub("", text))
    text = _CONTROL_OR_SPACE.sub(" ", text.replace("<", "").replace(">", "")).strip()
    return text or None


def _clean_column(values: pd.Series) -> pd.Series:
    """:func:`clean_text` over a column of strings and nulls; result has pandas' str dtype."""
    return values.map(clean_text, na_action="ignore").astype("str")


def _vendor_text(values: pd.Series, column: str) -> pd.Series:
    """Clean vendor text and cut it to the column's length limit (vendor data is not
    quarantined: a contact is not refused for what a vendor says about it)."""
    return _clean_column(values).str.slice(0, TEXT_MAX_LENGTHS[column])


def domain_from_url(values: pd.Series) -> pd.Series:
    """The host of each URL or bare domain, lower-cased, without ``www.``; null if not a domain."""
    hosts = values.astype("str").str.strip().str.lower().str.extract(_URL_HOST, expand=False)
    return hosts.where(hosts.str.fullmatch(DOMAIN_PATTERN).eq(True))


def _validated(model: type[Model], frame: pd.DataFrame) -> DataFrame[Model]:
    """``frame`` as ``model``: its columns in the model's order, text columns in pandas' str
    dtype (merges leave them as objects), then validated."""
    columns = model.to_schema().columns
    text = [
        name for name, column in columns.items() if isinstance(column.dtype.type, pd.StringDtype)
    ]
    return model.validate(frame[list(columns)].astype(dict.fromkeys(text, "str")))


# HubSpot contacts -------------------------------------------------------------------------------


def _contact_frame(raw_records: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """HubSpot contact objects as one row each: ``id`` and the properties we read, as text."""
    rows = []
    for record in raw_records:
        properties = record.get("properties") or {}
        row = {name: properties.get(name) for name in HUBSPOT_CONTACT_PROPERTIES}
        row["id"] = record.get("id") or properties.get("hs_object_id")
        row["lastmodifieddate"] = row["lastmodifieddate"] or record.get("updatedAt")
        rows.append({name: None if value is None else str(value) for name, value in row.items()})
    columns = ["id", *HUBSPOT_CONTACT_PROPERTIES]
    return pd.DataFrame.from_records(rows, columns=columns, index=range(len(rows))).astype("str")


@dataclass(frozen=True)
class _Problem:
    """A faulty field on some rows of the contact frame."""

    rows: pd.Series
    field: str
    reason: pd.Series | str


def _length_problems(column: pd.Series, field: str, limit: int) -> _Problem:
    """Values longer than ``limit`` characters."""
    lengths = column.str.len()
    return _Problem(
        rows=lengths > limit,
        field=field,
        reason="too_long: " + lengths.astype("Int64").astype("str") + f" characters, limit {limit}",
    )


def normalize_contacts(
    raw_records: Sequence[Mapping[str, Any]],
) -> tuple[DataFrame[NormalizedContacts], DataFrame[QuarantinedRecords]]:
    """Normalize, validate and de-duplicate HubSpot contacts (policy in the module docstring).

    ``raw_records`` are contact objects ``{"id", "properties": {...}}``. Returns the valid
    contacts and the quarantined records.
    """
    raw = _contact_frame(raw_records)
    email = raw["email"].map(normalize_email, na_action="ignore").replace("", None).astype("str")
    texts = {column: _clean_column(raw[name]) for name, column in _TEXT_PROPERTIES.items()}
    optout = raw["hs_email_optout"].str.strip().str.lower()
    modified = pd.to_datetime(raw["lastmodifieddate"], utc=True, errors="coerce", format="ISO8601")

    problems = [
        _Problem(raw["id"].isna(), "id", "missing"),
        _length_problems(raw["id"], "id", TEXT_MAX_LENGTHS["hubspot_id"]),
        _Problem(email.isna(), "email", "missing"),
        _length_problems(email, "email", EMAIL_MAX_LENGTH),
        _Problem(
            email.notna()
            & (email.str.len() <= EMAIL_MAX_LENGTH)
            & ~email.str.fullmatch(EMAIL_PATTERN).eq(True),
            "email",
            "invalid: not an email address",
        ),
        *(
            _length_problems(texts[column], name, TEXT_MAX_LENGTHS[column])
            for name, column in _TEXT_PROPERTIES.items()
        ),
        _Problem(
            optout.notna() & ~optout.isin(["true", "false", ""]),
            "hs_email_optout",
            "invalid: expected true or false",
        ),
        _Problem(raw["lastmodifieddate"].isna(), "lastmodifieddate", "missing"),
        _Problem(
            raw["lastmodifieddate"].notna() & modified.isna(),
            "lastmodifieddate",
            "invalid: not an ISO 8601 timestamp",
        ),
    ]
    quarantined = _quarantine_rows(raw_records, raw, problems)
    valid = pd.DataFrame(
        {
            "hubspot_id": raw["id"],
            "email": email,
            **texts,
            "opted_out": optout.eq("true"),
            "lastmodifieddate": modified,
        }
    ).drop(index=quarantined.index.unique())
    contacts = _merge_duplicates(valid)
    return (
        _validated(NormalizedContacts, contacts),
        _validated(QuarantinedRecords, quarantined.reset_index(drop=True)),
    )


def _quarantine_rows(
    raw_records: Sequence[Mapping[str, Any]], raw: pd.DataFrame, problems: Iterable[_Problem]
) -> pd.DataFrame:
    """One row per (record, faulty field), indexed by the record's position in the input."""
    parts = []
    for problem in problems:
        rows = problem.rows.fillna(False).astype(bool)
        reasons = problem.reason if isinstance(problem.reason, str) else problem.reason[rows]
        parts.append(
            pd.DataFrame({"field": problem.field, "reason": reasons}, index=raw.index[rows])
        )
    found = pd.concat(parts).sort_index(kind="stable")
    positions = found.index
    found["record_key"] = (
        raw["id"]
        .reindex(positions)
        .fillna(pd.Series(positions, index=positions).map("row:{}".format))
    )
    masked = {
        position: _masked_hubspot_record(raw_records[position]) for position in positions.unique()
    }
    found["masked_record_json"] = positions.map(masked)
    return found


def _merge_duplicates(contacts: pd.DataFrame) -> pd.DataFrame:
    """One row per email: the most recent contact, completed from its duplicates."""
    ordered = contacts.assign(_id_length=contacts["hubspot_id"].str.len()).sort_values(
        ["email", "lastmodifieddate", "_id_length", "hubspot_id"],
        ascending=[True, False, True, True],
        kind="stable",
    )
    groups = ordered.drop(columns="_id_length").groupby("email", sort=False)
    merged = groups.first()
    merged["opted_out"] = groups["opted_out"].any()
    others = groups["hubspot_id"].agg(lambda ids: ",".join(ids.iloc[1:]))
    merged["merged_ids"] = others.where(others != "")
    return merged.reset_index()


# Explorium answers ----------------------------------------------------------------------------


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


def _first_present(*candidates: pd.Series) -> pd.Series:
    """Element-wise, the first candidate that is not null (as objects: candidates may differ in
    dtype, an all-null column being float)."""
    result = candidates[0].astype(object)
    for candidate in candidates[1:]:
        result = result.where(result.notna(), candidate)
    return result


def _lower_text(values: pd.Series, column: str) -> pd.Series:
    """Cleaned, lower-cased vendor text (taxonomy values such as job levels)."""
    return _vendor_text(values, column).str.lower()


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
    return _validated(kind.output, frame)


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
    email = _first_present(data["professions_email"], professional_listed)
    phones = _first_of(data["phone_numbers"]).map(
        lambda entry: entry.get("phone_number"), na_action="ignore"
    )
    frame = pd.DataFrame(
        {
            "prospect_id": data["prospect_id"],
            "professional_email": email.map(normalize_email, na_action="ignore"),
            "professional_email_status": data["professional_email_status"],
            "phone": _vendor_text(_first_present(data["mobile_phone"], phones), "phone"),
        }
    )
    return _validated(ContactInformation, frame)


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
    level = _first_present(
        data["job_level_main"], _first_of(data["job_level_array"]), data["job_seniority_level"]
    )
    department = _first_present(
        data["job_department_main"], _first_of(data["job_department_array"])
    )
    frame = pd.DataFrame(
        {
            "prospect_id": data["prospect_id"],
            "job_title": _vendor_text(data["job_title"], "job_title"),
            "job_level": _lower_text(level, "job_level"),
            "job_department": _lower_text(department, "job_department"),
            "company_name": _vendor_text(data["company_name"], "company_name"),
            "company_domain": domain_from_url(data["company_website"]),
            "country": _vendor_text(data["country_name"], "country"),
            "linkedin_url": _vendor_text(data["linkedin"], "linkedin_url"),
        }
    )
    return _validated(Profiles, frame)


def parse_firmographics(answer: Mapping[str, Any]) -> DataFrame[Firmographics]:
    """``/v1/businesses/firmographics/bulk_enrich`` answer (``number_of_employees_range`` is
    the company size, ``linkedin_industry_category`` the industry)."""
    items = _answer_items(answer, BulkEnrichAnswer, "data", BusinessEnrichItem)
    data = _item_data(items, "business_id", FirmographicsData)
    frame = pd.DataFrame(
        {
            "business_id": data["business_id"],
            "company_name": _vendor_text(data["name"], "company_name"),
            "company_domain": domain_from_url(data["website"]),
            "company_size": data["number_of_employees_range"],
            "yearly_revenue_range": _vendor_text(
                data["yearly_revenue_range"], "yearly_revenue_range"
            ),
            "industry": _vendor_text(data["linkedin_industry_category"], "industry"),
            "country": _vendor_text(data["country_name"], "country"),
        }
    )
    return _validated(Firmographics, frame)


# Enrichment -------------------------------------------------------------------------------------

ENRICHMENT_FIELDS = tuple(EnrichmentFields.to_schema().columns)
"""The enrichment columns kept in the cache payload."""


def business_match_domains(prospect_matches: pd.DataFrame, profiles: pd.DataFrame) -> pd.DataFrame:
    """Per email, the domain to find its company by: the profile's company website, else the
    email's own domain unless it is a mailbox provider (:data:`FREE_MAIL_DOMAINS`).

    Returns columns ``email`` and ``company_domain`` (null when there is none).
    """
    joined = prospect_matches[["email", "prospect_id"]].merge(
        profiles[["prospect_id", "company_domain"]], on="prospect_id", how="left"
    )
    own = joined["email"].str.rpartition("@")[2]
    own = own.where(~own.isin(FREE_MAIL_DOMAINS) & own.str.fullmatch(DOMAIN_PATTERN).eq(True))
    domains = _first_present(joined["company_domain"], own)
    return pd.DataFrame({"email": joined["email"], "company_domain": domains.astype("str")})


def combine_enrichment(
    prospect_matches: pd.DataFrame,
    contact_information: pd.DataFrame,
    profiles: pd.DataFrame,
    business_matches: pd.DataFrame,
    firmographics: pd.DataFrame,
    enriched_at: datetime,
) -> DataFrame[EnrichmentRecords]:
    """One :class:`EnrichmentRecords` row per email asked, matched or not.

    Company name and domain prefer firmographics, then the profile (then, for the domain, the
    email's own unless a mailbox provider's); the country is the person's (profile) before the
    company's. ``email_status`` is Explorium's ``professional_email_status`` when its
    professional email is the contact's email, else unknown.
    """
    person = (
        prospect_matches[["email", "prospect_id"]]
        .merge(contact_information, on="prospect_id", how="left")
        .merge(profiles, on="prospect_id", how="left")
        .merge(
            business_match_domains(prospect_matches, profiles),
            on="email",
            how="left",
            suffixes=("_profile", ""),
        )
        .merge(business_matches[["company_domain", "business_id"]], on="company_domain", how="left")
        .merge(firmographics, on="business_id", how="left", suffixes=("", "_firm"))
    )
    verified = person["professional_email"] == person["email"]
    frame = pd.DataFrame(
        {
            "email": person["email"],
            "match_status": np.where(
                person["prospect_id"].notna(),
                MatchStatus.MATCHED.value,
                MatchStatus.UNMATCHED.value,
            ),
            "prospect_id": person["prospect_id"],
            "business_id": person["business_id"],
            "job_title": person["job_title"],
            "job_level": person["job_level"],
            "job_department": person["job_department"],
            "company_name": _first_present(person["company_name_firm"], person["company_name"]),
            "company_domain": _first_present(
                person["company_domain_firm"], person["company_domain"]
            ),
            "company_size": person["company_size"],
            "yearly_revenue_range": person["yearly_revenue_range"],
            "industry": person["industry"],
            "country": _first_present(person["country"], person["country_firm"]),
            "linkedin_url": person["linkedin_url"],
            "phone": person["phone"],
            "email_status": person["professional_email_status"]
            .where(verified)
            .fillna(EmailStatus.UNKNOWN.value),
            "enriched_at": pd.Timestamp(enriched_at),
        }
    )
    return _validated(EnrichmentRecords, frame)


def enrichment_cache_entries(records: pd.DataFrame) -> list[CachedEnrichment]:
    """:class:`EnrichmentRecords` rows as cache entries (nulls become JSON null)."""
    rows = records.astype(object).where(records.notna(), None).to_dict("records")
    return [
        CachedEnrichment(
            email=row["email"],
            match_status=MatchStatus(row["match_status"]),
            prospect_id=row["prospect_id"],
            business_id=row["business_id"],
            payload={name: row[name] for name in ENRICHMENT_FIELDS},
            enriched_at=row["enriched_at"].to_pydatetime(),
        )
        for row in rows
    ]


def enrichment_from_cache(entries: Iterable[CachedEnrichment]) -> DataFrame[EnrichmentRecords]:
    """Cache entries as :class:`EnrichmentRecords` (fields an older entry lacks are null)."""
    entries = list(entries)
    rows = [
        {
            "email": entry.email,
            "match_status": MatchStatus(entry.match_status).value,
            "prospect_id": entry.prospect_id,
            "business_id": entry.business_id,
            **{name: entry.payload.get(name) for name in ENRICHMENT_FIELDS},
            "email_status": entry.payload.get("email_status") or EmailStatus.UNKNOWN.value,
        }
        for entry in entries
    ]
    columns = [c for c in EnrichmentRecords.to_schema().columns if c != "enriched_at"]
    frame = pd.DataFrame.from_records(rows, columns=columns)
    frame["enriched_at"] = pd.Series([pd.Timestamp(e.enriched_at) for e in entries], dtype=object)
    return _validated(EnrichmentRecords, frame)


def _tag_status(enrichment: pd.DataFrame, matched: EnrichmentStatus) -> pd.DataFrame:
    """Enrichment rows with their ``enrichment_status``: ``matched`` or unmatched."""
    return enrichment.drop(columns="match_status").assign(
        enrichment_status=np.where(
            enrichment["match_status"] == MatchStatus.MATCHED.value,
            matched.value,
            EnrichmentStatus.UNMATCHED.value,
        )
    )


def enrich_contacts(
    contacts: pd.DataFrame,
    now: datetime,
    fresh: pd.DataFrame | None = None,
    cached: pd.DataFrame | None = None,
) -> DataFrame[EnrichedContacts]:
    """Join enrichment onto contacts and score its :func:`confidence_score`.

    ``fresh`` (this run's :func:`combine_enrichment`) wins over ``cached``
    (:func:`enrichment_from_cache`); leave either out when there is none. Matched rows are
    ``enriched`` (fresh) or ``cached``; unmatched rows are ``unmatched`` wherever they come
    from; contacts in neither are ``deferred``.
    """
    fresh = enrichment_from_cache(()) if fresh is None else fresh
    cached = enrichment_from_cache(()) if cached is None else cached
    enrichment = pd.concat(
        [
            _tag_status(fresh, EnrichmentStatus.ENRICHED),
            _tag_status(cached[~cached["email"].isin(fresh["email"])], EnrichmentStatus.CACHED),
        ],
        ignore_index=True,
    )
    joined = contacts.merge(enrichment, on="email", how="left", suffixes=("_hubspot", ""))
    frame = joined.assign(
        enrichment_status=joined["enrichment_status"].fillna(EnrichmentStatus.DEFERRED.value),
        job_title=_first_present(joined["job_title"], joined["job_title_hubspot"]),
        country=_first_present(joined["country"], joined["country_hubspot"]),
        phone=_first_present(joined["phone_hubspot"], joined["phone"]),
        company_name=_first_present(joined["company_name"], joined["company"]),
        email_status=joined["email_status"].fillna(EmailStatus.UNKNOWN.value),
    )
    frame["confidence"] = confidence_score(frame, now)
    return _validated(EnrichedContacts, frame)


# Confidence -------------------------------------------------------------------------------------

EMAIL_STATUS_CONFIDENCE: Mapping[str, float] = {
    EmailStatus.VALID: 1.0,
    EmailStatus.CATCH_ALL: 0.5,
    EmailStatus.UNKNOWN: 0.2,
    EmailStatus.INVALID: 0.0,
}
"""How much each email verification status is worth."""

FIELD_IMPORTANCE: Mapping[str, float] = {
    "job_title": 3.0,
    "job_level": 3.0,
    "company_name": 2.0,
    "company_domain": 2.0,
    "job_department": 2.0,
    "company_size": 2.0,
    "country": 1.0,
    "linkedin_url": 1.0,
}
"""How much each field's presence is worth (the fields ICP scoring and outreach rely on most)."""

CONFIDENCE_WEIGHTS: Mapping[str, float] = {"email": 0.45, "completeness": 0.35, "freshness": 0.20}
"""Weights of the three parts of :func:`confidence_score` (they sum to 1)."""

FRESHNESS_HALF_LIFE_DAYS = 90.0
"""After this many days the freshness part is worth half."""


def confidence_score(enriched: pd.DataFrame, now: datetime) -> pd.Series:
    """How far each row's data can be trusted, from 0 to 1::

        confidence = 0.45 * E + 0.35 * C + 0.20 * F

    * E, email verification: :data:`EMAIL_STATUS_CONFIDENCE` of ``email_status``
      (valid 1, catch-all 0.5, unknown 0.2, invalid 0).
    * C, completeness: the share of :data:`FIELD_IMPORTANCE` weight whose fields are present.
    * F, freshness: ``0.5 ** (age_days / 90)``, the age of ``enriched_at``, or of
      ``lastmodifieddate`` for rows never enriched (a time in the future counts as now).
    """
    email = enriched["email_status"].map(EMAIL_STATUS_CONFIDENCE).fillna(0.0).astype(float)
    present = pd.DataFrame({f: enriched[f].notna() for f in FIELD_IMPORTANCE})
    weights = pd.Series(FIELD_IMPORTANCE)
    completeness = present.astype(float).mul(weights, axis=1).sum(axis=1) / weights.sum()
    observed = pd.to_datetime(enriched["enriched_at"], utc=True).fillna(
        pd.to_datetime(enriched["lastmodifieddate"], utc=True)
    )
    age_days = ((pd.Timestamp(now) - observed).dt.total_seconds() / 86_400).clip(lower=0)
    freshness: pd.Series = 0.5 ** (age_days / FRESHNESS_HALF_LIFE_DAYS)
    score = (
        CONFIDENCE_WEIGHTS["email"] * email
        + CONFIDENCE_WEIGHTS["completeness"] * completeness
        + CONFIDENCE_WEIGHTS["freshness"] * freshness
    )
    return score.clip(0.0, 1.0).astype(float).rename("confidence")


# Qualification ----------------------------------------------------------------------------------

Points = Annotated[float, Field(ge=0.0, le=1.0)]


def _lower_keys(values: Any) -> Any:
    """Lower-case and trim the names of a list or mapping of rule values."""
    if isinstance(values, Mapping):
        return {str(k).strip().lower(): v for k, v in values.items()}
    if isinstance(values, list | tuple | set | frozenset):
        return [str(v).strip().lower() for v in values]
    return values


class Criterion(BaseModel):
    """One ICP dimension: its weight in the score and the points (0..1) each value earns.

    ``values`` may be a list (each value earns 1) or a mapping of value -> points; values are
    compared case-insensitively, and a value not listed earns 0.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    weight: float = Field(default=0.0, ge=0.0)
    values: dict[str, Points] = Field(default_factory=dict)

    @field_validator("values", mode="before")
    @classmethod
    def _list_means_full_points(cls, values: Any) -> Any:
        """Lower-case the values; a plain list gives each of them full points."""
        values = _lower_keys(values)
        return dict.fromkeys(values, 1.0) if isinstance(values, list) else values


_CRITERION_COLUMNS = {
    "job_level": "job_level",
    "department": "job_department",
    "company_size": "company_size",
    "country": "country",
}
"""Criterion (and segment condition) -> the enriched column it looks at."""


class Segment(BaseModel):
    """A campaign route: leads with at least ``min_score`` whose values are among every
    non-empty condition's (case-insensitively) go to ``campaign_id``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    campaign_id: str = Field(min_length=1)
    job_level: frozenset[str] = frozenset()
    department: frozenset[str] = frozenset()
    company_size: frozenset[str] = frozenset()
    country: frozenset[str] = frozenset()
    min_score: float = Field(default=0.0, ge=0.0, le=1.0)

    @field_validator(*_CRITERION_COLUMNS, mode="before")
    @classmethod
    def _lower(cls, values: Any) -> Any:
        """Lower-case the condition's values."""
        return _lower_keys(values)


DEFAULT_SEGMENT = "default"
"""The segment of leads that match no configured segment and go to the default campaign."""


class QualificationRules(BaseModel):
    """ICP scoring and campaign routing, from config (YAML or a dict), for example::

        threshold: 0.5
        job_level: {weight: 3, values: {c-suite: 1, vice president: 0.9, director: 0.7}}
        department: {weight: 2, values: [sales, marketing]}
        company_size: {weight: 2, values: {"51-200": 1, "201-500": 1, "11-50": 0.5}}
        country: {weight: 1, values: [united states, germany]}
        allowed_email_statuses: [valid, catch-all]
        segments:
          - {name: enterprise, campaign_id: cam_ent, company_size: ["1001-5000"], min_score: 0.6}
        default_campaign_id: cam_general

    The ICP score is the weighted mean of the criteria's points (0..1). A lead goes to the first
    segment whose conditions it meets, else to ``default_campaign_id`` (segment ``default``).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    threshold: float = Field(ge=0.0, le=1.0)
    job_level: Criterion = Criterion()
    department: Criterion = Criterion()
    company_size: Criterion = Criterion()
    country: Criterion = Criterion()
    allowed_email_statuses: frozenset[EmailStatus] = frozenset(
        {EmailStatus.VALID, EmailStatus.CATCH_ALL}
    )
    segments: tuple[Segment, ...] = ()
    default_campaign_id: str | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _check_consistency(self) -> Self:
        """Some criterion carries weight; segment names are unique and not ``default``."""
        if sum(criterion.weight for criterion in self.criteria().values()) <= 0:
            raise ValueError("at least one criterion needs a positive weight")
        names = [segment.name for segment in self.segments]
        if len(set(names)) != len(names) or DEFAULT_SEGMENT in names:
            raise ValueError(f"segment names must be unique and not {DEFAULT_SEGMENT!r}: {names}")
        return self

    def criteria(self) -> dict[str, Criterion]:
        """The four criteria by name."""
        return {name: getattr(self, name) for name in _CRITERION_COLUMNS}

    @classmethod
    def from_yaml(cls, text: str) -> Self:
        """Rules from YAML text (the caller reads the file)."""
        return cls.model_validate(yaml.safe_load(text))


def _lowered(enriched: pd.DataFrame, column: str) -> pd.Series:
    """A text column trimmed and lower-cased, for comparing with rule values."""
    return enriched[column].astype("str").str.strip().str.lower()


def icp_score(enriched: pd.DataFrame, rules: QualificationRules) -> pd.Series:
    """The weighted mean of each criterion's points for each row (0..1)."""
    criteria = rules.criteria()
    total = sum(c.weight for c in criteria.values())
    score = pd.Series(0.0, index=enriched.index)
    for name, criterion in criteria.items():
        points = _lowered(enriched, _CRITERION_COLUMNS[name]).map(criterion.values)
        score += criterion.weight * points.fillna(0.0).astype(float)
    return (score / total).clip(0.0, 1.0).rename("icp_score")


def route(enriched: pd.DataFrame, score: pd.Series, rules: QualificationRules) -> pd.DataFrame:
    """The segment and campaign of each row: the first matching segment, else the default
    (segment and campaign null when there is no default campaign)."""
    segment: pd.Series = pd.Series(np.nan, index=enriched.index, dtype="str")
    campaign: pd.Series = pd.Series(np.nan, index=enriched.index, dtype="str")
    for rule in rules.segments:
        matches = segment.isna() & (score >= rule.min_score)
        for condition, column in _CRITERION_COLUMNS.items():
            allowed: frozenset[str] = getattr(rule, condition)
            if allowed:
                matches &= _lowered(enriched, column).isin(allowed)
        segment[matches] = rule.name
        campaign[matches] = rule.campaign_id
    if rules.default_campaign_id is not None:
        unrouted = segment.isna()
        segment[unrouted] = DEFAULT_SEGMENT
        campaign[unrouted] = rules.default_campaign_id
    return pd.DataFrame({"segment": segment, "campaign_id": campaign})


def qualify(
    enriched: pd.DataFrame,
    rules: QualificationRules,
    suppression_sources: pd.Series,
    pushed: Collection[str],
) -> DataFrame[QualifiedLeads]:
    """Score, route and decide who is pushed, keeping every contact with its reason.

    ``suppression_sources`` is :meth:`PipelineStore.suppression_sources` for ``enriched.email``
    (same index: a :class:`SuppressionSource` value, or null when not suppressed); ``pushed`` is
    the set of normalized emails already in a campaign. The first reason that applies, in
    :class:`ExclusionReason` order, is kept; excluded rows carry no segment or campaign.
    """
    if not suppression_sources.index.equals(enriched.index):
        raise ValueError("suppression_sources must have the same index as enriched")
    score = icp_score(enriched, rules)
    routed = route(enriched, score, rules)
    status = enriched["email_status"]
    allowed = [s.value for s in rules.allowed_email_statuses]
    conditions = {
        ExclusionReason.OPTED_OUT: enriched["opted_out"],
        ExclusionReason.BOUNCED: suppression_sources == SuppressionSource.LEMLIST_BOUNCE.value,
        ExclusionReason.UNSUBSCRIBED: suppression_sources.notna(),
        ExclusionReason.ALREADY_PUSHED: enriched["email"].isin(list(pushed)),
        ExclusionReason.ENRICHMENT_DEFERRED: enriched["enrichment_status"]
        == EnrichmentStatus.DEFERRED.value,
        ExclusionReason.INVALID_EMAIL: status == EmailStatus.INVALID.value,
        ExclusionReason.EMAIL_STATUS_NOT_ALLOWED: ~status.isin(allowed),
        ExclusionReason.BELOW_THRESHOLD: score < rules.threshold,
        ExclusionReason.NO_CAMPAIGN: routed["campaign_id"].isna(),
    }
    reason: pd.Series = pd.Series(np.nan, index=enriched.index, dtype="str")
    for exclusion in ExclusionReason:
        reason = reason.mask(reason.isna() & conditions[exclusion].fillna(False), exclusion.value)
    excluded = reason.notna()
    frame = enriched.assign(
        icp_score=score,
        segment=routed["segment"].where(~excluded),
        campaign_id=routed["campaign_id"].where(~excluded),
        excluded=excluded,
        exclusion_reason=reason,
    )
    return _validated(QualifiedLeads, frame)


def with_campaign_ids(
    rules: QualificationRules, campaigns: Mapping[str, str]
) -> QualificationRules:
    """``rules`` with every campaign named by Lemlist id, given ``campaigns`` (name -> id).

    A rule may name a campaign by id (``cam_...``, which must be among ``campaigns``' ids) or by
    name. Raises ValueError naming the campaign when it is neither.
    """
    ids = set(campaigns.values())

    def resolve(campaign: str) -> str:
        if campaign in ids:
            return campaign
        if campaign in campaigns:
            return campaigns[campaign]
        raise ValueError(f"no Lemlist campaign has the id or name {campaign!r}")

    segments = tuple(
        segment.model_copy(update={"campaign_id": resolve(segment.campaign_id)})
        for segment in rules.segments
    )
    default = None if rules.default_campaign_id is None else resolve(rules.default_campaign_id)
    return rules.model_copy(update={"segments": segments, "default_campaign_id": default})
