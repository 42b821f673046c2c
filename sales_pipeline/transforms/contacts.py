"""HubSpot contacts normalized into ``NormalizedContacts``, every refused record quarantined.

:func:`normalize_contacts` turns the HubSpot client's :class:`Contact` records into
:class:`NormalizedContacts` and
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
* A value the client could not read (an opt-out flag that is neither true nor false: we cannot
  tell whether the person opted out; a modification time that is not ISO 8601) quarantines the
  contact with the client's reason; so does a missing modification time.
* Contacts with the same email in different casing are merged into one row: the most
  recently modified wins, ties go to the lowest HubSpot id (numerically); its empty fields
  are filled from the others in the same order; ``opted_out`` is true if any of them opted
  out; ``merged_ids`` lists the other ids.

Every input record is in exactly one place: a valid row, a valid row's ``merged_ids``, or
the quarantine (one row per faulty field).
"""

import hashlib
import itertools
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
from pandera.typing.pandas import DataFrame

from sales_pipeline.domain.records import normalize_email
from sales_pipeline.domain.sources import Contact
from sales_pipeline.domain.text import (
    DOMAIN_PATTERN,
    clean_text,
    email_problem,
    overlong,
    printable,
)
from sales_pipeline.transforms.frames import map_distinct
from sales_pipeline.transforms.masking import _MASKS
from sales_pipeline.transforms.schemas import (
    TEXT_MAX_LENGTHS,
    NormalizedContacts,
    QuarantinedRecords,
    validated,
)

TEXT_FIELDS = ("first_name", "last_name", "company", "job_title", "phone", "country")
"""The free-text fields of a :class:`Contact`, named as their :class:`NormalizedContacts`
columns."""

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
_DOMAIN = re.compile(DOMAIN_PATTERN)


# Masking --------------------------------------------------------------------------------------


def clean_column(values: pd.Series, column: str) -> pd.Series:
    """The text policy's :func:`~sales_pipeline.domain.text.clean_text` for ``column`` over a
    column of strings and nulls; the result has pandas' str dtype. Vendor text goes through it
    too (a contact is not refused for what a vendor says about it)."""
    return map_distinct(values, lambda value: clean_text(value, column)).astype("str")


def url_domain(value: object) -> str | None:
    """The host of a URL or bare domain, lower-cased, without ``www.``; None if not a domain."""
    if not isinstance(value, str):
        return None
    found = _URL_HOST.match(value.strip().lower())
    host = found.group(1) if found is not None else None
    return host if host is not None and _DOMAIN.match(host) is not None else None


def _contact_frame(contacts: Sequence[Contact], first_position: int) -> pd.DataFrame:
    """One row per contact, indexed by its position in the stream (from ``first_position``):
    id, email, free text, opt-out, modification time and what the client could not read
    (``unreadable_<field>``).

    The text is HubSpot's as it came, so it stays in object columns: pandas' str dtype is
    Arrow-backed, and Arrow refuses what a Python string may hold (a lone surrogate raises
    ``UnicodeEncodeError``). Only text the policy has cleaned or checked becomes str."""
    rows = [
        {
            "id": c.id,
            "email": c.email,
            **{name: getattr(c, name) for name in TEXT_FIELDS},
            "opted_out": c.opted_out,
            "modified_at": c.modified_at,
            **{f"unreadable_{name}": reason for name, reason in c.unreadable},
        }
        for c in contacts
    ]
    columns = ["id", "email", *TEXT_FIELDS, "opted_out", "modified_at", *_UNREADABLE]
    positions = range(first_position, first_position + len(rows))
    frame = pd.DataFrame(rows, columns=columns, index=positions, dtype=object)
    return frame.astype({"opted_out": bool}).assign(
        modified_at=pd.to_datetime(frame["modified_at"], utc=True)
    )


_UNREADABLE = ("unreadable_opted_out", "unreadable_modified_at")
"""Columns of the values the client could not read."""


@dataclass(frozen=True)
class _Problem:
    """A faulty field on some rows of the contact frame."""

    rows: pd.Series
    field: str
    reason: pd.Series | str


def _unreadable(raw: pd.DataFrame, field: str) -> _Problem:
    """Values of ``field`` the client could not read, with its reason."""
    reasons = raw[f"unreadable_{field}"]
    return _Problem(rows=reasons.notna(), field=field, reason=reasons)


def _length_problems(values: pd.Series, column: str) -> _Problem:
    """Values that would exceed ``column``'s limit once cleaned: the record is refused rather
    than cut (a 10 KB job title is a broken record a person should look at, and a truncated
    one would still end up in a personalized email)."""
    lengths = map_distinct(values, lambda value: overlong(value, column))
    limit = TEXT_MAX_LENGTHS[column]
    return _Problem(
        rows=lengths.notna(),
        field=column,
        reason=lengths.map(
            lambda n: f"too_long: {int(n)} characters, limit {limit}", na_action="ignore"
        ),
    )


NORMALIZE_CHUNK = 20_000
"""Contacts read into one frame at a time: the records of a big day are never all held as
Python objects at once (a million :class:`Contact` records and their rows take gigabytes)."""


@dataclass(frozen=True)
class NormalizedDay:
    """What :func:`normalize_contact_stream` made of a stream of contacts.

    Attributes:
        contacts: The valid contacts, one row per person.
        quarantined: The refused records, one row per faulty field.
        fetched: How many records the stream held.
    """

    contacts: DataFrame[NormalizedContacts]
    quarantined: DataFrame[QuarantinedRecords]
    fetched: int


def normalize_contacts(
    contacts: Sequence[Contact],
) -> tuple[DataFrame[NormalizedContacts], DataFrame[QuarantinedRecords]]:
    """Normalize, validate and de-duplicate HubSpot contacts (policy in the module docstring).

    Returns the valid contacts and the quarantined records.
    """
    day = normalize_contact_stream(contacts)
    return day.contacts, day.quarantined


def normalize_contact_stream(
    contacts: Iterable[Contact], chunk_size: int = NORMALIZE_CHUNK
) -> NormalizedDay:
    """:func:`normalize_contacts` over a stream, ``chunk_size`` records at a time: each chunk
    is cleaned and checked on its own, and the duplicates are merged and the contract validated
    once over the whole day."""
    valid_parts: list[pd.DataFrame] = []
    quarantined_parts: list[pd.DataFrame] = []
    fetched = 0
    records = iter(contacts)
    while chunk := list(itertools.islice(records, chunk_size)):
        valid, quarantined = _normalize_chunk(chunk, fetched)
        valid_parts.append(valid)
        quarantined_parts.append(quarantined)
        fetched += len(chunk)
    if not valid_parts:
        valid, quarantined = _normalize_chunk([], 0)
        valid_parts, quarantined_parts = [valid], [quarantined]
    valid = pd.concat(valid_parts) if len(valid_parts) > 1 else valid_parts[0]
    del valid_parts
    return NormalizedDay(
        contacts=validated(NormalizedContacts, _merge_duplicates(valid)),
        quarantined=validated(
            QuarantinedRecords, pd.concat(quarantined_parts).reset_index(drop=True)
        ),
        fetched=fetched,
    )


def _normalize_chunk(
    contacts: Sequence[Contact], first_position: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The valid rows (not yet merged) and the quarantined rows of ``contacts``, indexed by
    their position in the stream (from ``first_position``)."""
    raw = _contact_frame(contacts, first_position)
    email_problems = raw["email"].map(email_problem, na_action="ignore")
    email = map_distinct(raw["email"], normalize_email).replace("", None)
    texts = {column: clean_column(raw[column], column) for column in TEXT_FIELDS}

    problems = [
        _Problem(raw["id"].isna(), "id", "missing"),
        _Problem(
            raw["id"].map(lambda value: printable(value) != value, na_action="ignore"),
            "id",
            "invalid: control or unprintable characters",
        ),
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
        *(_length_problems(raw[column], column) for column in TEXT_FIELDS if column != "phone"),
        _unreadable(raw, "opted_out"),
        _Problem(
            raw["modified_at"].isna() & raw["unreadable_modified_at"].isna(),
            "modified_at",
            "missing",
        ),
        _unreadable(raw, "modified_at"),
    ]
    quarantined = _quarantine_rows(contacts, first_position, raw, problems)
    valid = pd.DataFrame(
        {
            "hubspot_id": raw["id"],
            "email": email,
            **texts,
            "opted_out": raw["opted_out"],
            "modified_at": raw["modified_at"],
        }
    ).drop(index=quarantined.index.unique())
    return valid.astype({"hubspot_id": "str", "email": "str"}), quarantined


def _quarantine_rows(
    contacts: Sequence[Contact],
    first_position: int,
    raw: pd.DataFrame,
    problems: Iterable[_Problem],
) -> pd.DataFrame:
    """One row per (record, faulty field), indexed by the record's position in the stream
    (``contacts[0]`` is at ``first_position``)."""
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
        .map(printable, na_action="ignore")
        .fillna(pd.Series(positions, index=positions).map("row:{}".format))
    )
    masked = {
        position: _masked_contact(contacts[position - first_position])
        for position in positions.unique()
    }
    found["masked_record_json"] = positions.map(masked)
    return found


def _merge_duplicates(contacts: pd.DataFrame) -> pd.DataFrame:
    """One row per email: the most recent contact, completed from its duplicates."""
    ordered = contacts.assign(_id_length=contacts["hubspot_id"].str.len()).sort_values(
        ["email", "modified_at", "_id_length", "hubspot_id"],
        ascending=[True, False, True, True],
        kind="stable",
    )
    groups = ordered.drop(columns="_id_length").groupby("email", sort=False)
    merged = groups.first()
    merged["opted_out"] = groups["opted_out"].any()
    others = groups["hubspot_id"].agg(lambda ids: ",".join(ids.iloc[1:]))
    merged["merged_ids"] = others.where(others != "")
    return merged.reset_index()


# Quarantine ------------------------------------------------------------------------------------


_CONTACT_MASKS = {name: _MASKS[name] for name in ("email", *TEXT_FIELDS) if name in _MASKS}
"""How each personal field is masked in quarantined records."""


def _masked_contact(contact: Contact) -> str:
    """A quarantined contact as JSON: PII masked, other text cut to 64 characters."""
    masked: dict[str, Any] = {
        "id": printable(contact.id),
        "opted_out": contact.opted_out,
        "modified_at": contact.modified_at.isoformat() if contact.modified_at else None,
        "unreadable": dict(contact.unreadable),
    }
    for name in ("email", *TEXT_FIELDS):
        value = getattr(contact, name)
        if value is not None:
            mask = _CONTACT_MASKS.get(name)
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
    text = contacts[list(SOURCE_COLUMNS)].astype("str").fillna("\x00")
    first, *others = SOURCE_COLUMNS
    joined = text[first].str.cat(text[others], sep="\x1f")
    return joined.map(lambda row: hashlib.sha256(row.encode("utf-8", "surrogatepass")).hexdigest())


def contact_records(contacts: pd.DataFrame) -> list[dict[str, Any]]:
    """``NormalizedContacts`` rows as JSON-ready dicts (timestamps in ISO 8601), for keeping a
    contact in the store until a later run can finish its work."""
    frame = contacts[list(NormalizedContacts.to_schema().columns)].assign(
        modified_at=contacts["modified_at"].map(lambda moment: moment.isoformat())
    )
    return [
        {str(name): (None if pd.isna(value) else value) for name, value in row.items()}
        for row in frame.astype(object).to_dict("records")
    ]


def contacts_from_records(records: Sequence[Mapping[str, Any]]) -> DataFrame[NormalizedContacts]:
    """The inverse of :func:`contact_records`, validated."""
    columns = list(NormalizedContacts.to_schema().columns)
    frame = pd.DataFrame(list(records), columns=columns)
    frame["modified_at"] = pd.to_datetime(frame["modified_at"], utc=True, format="ISO8601")
    frame["opted_out"] = frame["opted_out"].astype(bool)
    return validated(NormalizedContacts, frame)
