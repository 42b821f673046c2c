"""HubSpot contacts normalized into ``NormalizedContacts``, every refused record quarantined.

:func:`normalize_contacts` turns contact objects into :class:`NormalizedContacts` and
:class:`QuarantinedRecords`. Policy, so nothing is dropped silently:

* Text follows the one text policy (:mod:`sales_pipeline.domain.text`): markup, invisible and
  control characters removed, NFC, cut to the field's limit, spreadsheet formulas neutralized;
  a phone that is not one is dropped; empty is null. The vendor clients check values against
  the same policy before sending, so nothing that passes here is refused there.
* Emails are trimmed and lower-cased; a missing one, or one the policy refuses (control
  characters, too long, a local part starting with a formula character, not an address),
  quarantines the contact with the policy's reason.
* A free-text value longer than the policy's limit once cleaned quarantines the contact rather
  than being cut: a 10 KB job title is a broken record a person should look at, and a cut one
  would still end up in a personalized email.
* ``hs_email_optout`` must be ``true``, ``false`` or unset; anything else is quarantined
  (we cannot tell whether the person opted out). ``lastmodifieddate`` (falling back to the
  object's ``updatedAt``) must be an ISO 8601 timestamp.
* Contacts with the same email in different casing are merged into one row: the most
  recently modified wins, ties go to the lowest HubSpot id (numerically); its empty fields
  are filled from the others in the same order; ``opted_out`` is true if any of them opted
  out; ``merged_ids`` lists the other ids.

Every input record is in exactly one place: a valid row, a valid row's ``merged_ids``, or
the quarantine (one row per faulty field).
"""

import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
from pandera.typing.pandas import DataFrame

from sales_pipeline.domain.records import normalize_email
from sales_pipeline.domain.text import (
    DOMAIN_PATTERN,
    clean_text,
    email_problem,
    overlong,
    printable,
)
from sales_pipeline.transforms.masking import _MASKS, mask_email
from sales_pipeline.transforms.schemas import (
    TEXT_MAX_LENGTHS,
    NormalizedContacts,
    QuarantinedRecords,
    validated,
)

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

_URL_HOST = re.compile(r"^(?:[a-z][a-z0-9+.-]*:)?(?://)?(?:www\.)?([^/:?#\s@]+)")


# Masking --------------------------------------------------------------------------------------


def clean_column(values: pd.Series, column: str) -> pd.Series:
    """The text policy's :func:`~sales_pipeline.domain.text.clean_text` for ``column`` over a
    column of strings and nulls; the result has pandas' str dtype. Vendor text goes through it
    too (a contact is not refused for what a vendor says about it)."""
    return values.map(lambda value: clean_text(value, column), na_action="ignore").astype("str")


def domain_from_url(values: pd.Series) -> pd.Series:
    """The host of each URL or bare domain, lower-cased, without ``www.``; null if not a domain."""
    hosts = values.astype("str").str.strip().str.lower().str.extract(_URL_HOST, expand=False)
    return hosts.where(hosts.str.fullmatch(DOMAIN_PATTERN).eq(True))


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


def _length_problems(values: pd.Series, field: str, column: str) -> _Problem:
    """Values that would exceed ``column``'s limit once cleaned: the record is refused rather
    than cut (a 10 KB job title is a broken record a person should look at, and a truncated
    one would still end up in a personalized email)."""
    lengths = values.map(lambda value: overlong(value, column), na_action="ignore")
    limit = TEXT_MAX_LENGTHS[column]
    return _Problem(
        rows=lengths.notna(),
        field=field,
        reason=lengths.map(
            lambda n: f"too_long: {int(n)} characters, limit {limit}", na_action="ignore"
        ),
    )


def normalize_contacts(
    raw_records: Sequence[Mapping[str, Any]],
) -> tuple[DataFrame[NormalizedContacts], DataFrame[QuarantinedRecords]]:
    """Normalize, validate and de-duplicate HubSpot contacts (policy in the module docstring).

    ``raw_records`` are contact objects ``{"id", "properties": {...}}``. Returns the valid
    contacts and the quarantined records.
    """
    raw = _contact_frame(raw_records)
    email_problems = raw["email"].map(email_problem, na_action="ignore")
    email = raw["email"].map(normalize_email, na_action="ignore").replace("", None).astype("str")
    texts = {column: clean_column(raw[name], column) for name, column in _TEXT_PROPERTIES.items()}
    optout = raw["hs_email_optout"].str.strip().str.lower()
    modified = pd.to_datetime(raw["lastmodifieddate"], utc=True, errors="coerce", format="ISO8601")

    problems = [
        _Problem(raw["id"].isna(), "id", "missing"),
        _Problem(
            raw["id"].str.len() > TEXT_MAX_LENGTHS["hubspot_id"],
            "id",
            f"too_long: limit {TEXT_MAX_LENGTHS['hubspot_id']}",
        ),
        _Problem(email.isna(), "email", "missing"),
        _Problem(
            email.notna() & email_problems.notna(),
            "email",
            email_problems.fillna("").map("invalid: {}".format),
        ),
        *(
            _length_problems(raw[name], name, column)
            for name, column in _TEXT_PROPERTIES.items()
            if column != "phone"
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
        validated(NormalizedContacts, contacts),
        validated(QuarantinedRecords, quarantined.reset_index(drop=True)),
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


_HUBSPOT_MASKS = {"email": mask_email} | {
    name: _MASKS[column] for name, column in _TEXT_PROPERTIES.items() if column in _MASKS
}
"""How each personal HubSpot property is masked in quarantined records."""


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
        masked[name] = printable(value)
    return json.dumps(masked, ensure_ascii=False, sort_keys=True)


# Text ------------------------------------------------------------------------------------------


SOURCE_COLUMNS = (
    "email",
    "first_name",
    "last_name",
    "company",
    "job_title",
    "phone",
    "country",
    "opted_out",
)
"""The normalized columns that come from HubSpot and that the pipeline never writes: what a
contact's fingerprint covers."""


def source_fingerprints(contacts: pd.DataFrame) -> pd.Series:
    """Per row, a digest of its :data:`SOURCE_COLUMNS`: equal exactly when none changed."""
    if contacts.empty:
        return pd.Series([], index=contacts.index, dtype="object")
    text = contacts[list(SOURCE_COLUMNS)].astype("string").fillna("\x00")
    joined = text.agg("\x1f".join, axis=1)
    return joined.map(lambda row: hashlib.sha256(row.encode("utf-8", "surrogatepass")).hexdigest())


def contact_records(contacts: pd.DataFrame) -> list[dict[str, Any]]:
    """``NormalizedContacts`` rows as JSON-ready dicts (timestamps in ISO 8601), for keeping a
    contact in the store until a later run can finish its work."""
    frame = contacts[list(NormalizedContacts.to_schema().columns)].assign(
        lastmodifieddate=contacts["lastmodifieddate"].map(lambda moment: moment.isoformat())
    )
    return [
        {str(name): (None if pd.isna(value) else value) for name, value in row.items()}
        for row in frame.astype(object).to_dict("records")
    ]


def contacts_from_records(records: Sequence[Mapping[str, Any]]) -> DataFrame[NormalizedContacts]:
    """The inverse of :func:`contact_records`, validated."""
    columns = list(NormalizedContacts.to_schema().columns)
    frame = pd.DataFrame(list(records), columns=columns)
    frame["lastmodifieddate"] = pd.to_datetime(
        frame["lastmodifieddate"], utc=True, format="ISO8601"
    )
    frame["opted_out"] = frame["opted_out"].astype(bool)
    return validated(NormalizedContacts, frame)
