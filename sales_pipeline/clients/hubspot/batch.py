"""HubSpot batch read and upsert: request bodies and answers mapped back to each input.

Batch endpoints take at most 100 inputs; a 207 answer carries per-input errors
whose ``context`` names the ids (or emails) they concern.

Batch reads send ``propertiesWithHistory: []``: HubSpot's published CRM v3
contract and its current Python SDK mark the field required.

Upsert results are matched to inputs by the ``idProperty`` value (``email``)
when HubSpot echoes it in ``properties``. HubSpot answers with the properties
it set plus a few defaults, so an answer may omit it: the record ``id`` of such
a result is then read back (`unkeyed_ids`, `emails_by_id`) instead of
reporting a contact HubSpot wrote as failed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from sales_pipeline.clients.hubspot.endpoints import PROPERTY_VALUE_MAX
from sales_pipeline.clients.hubspot.models import ContactReadResult, ContactUpsert, UpsertResult
from sales_pipeline.clients.hubspot.search import PROPERTY_NAME
from sales_pipeline.clients.redaction import redact
from sales_pipeline.clients.validation import Validator, as_text

RECORD_ID = re.compile(r"[0-9]{1,20}")


def read_body(ids: list[str], names: list[str]) -> dict[str, Any]:
    """The batch read body for ``ids`` with properties ``names`` and no history."""
    return {
        "properties": names,
        "propertiesWithHistory": [],
        "inputs": [{"id": value} for value in ids],
    }


def read_results(ids: list[str], data: Mapping[str, Any]) -> list[ContactReadResult]:
    """One result per id of a 200/207 batch read answer, in order of ``ids``."""
    found = {
        str(record.get("id")): _properties(record.get("properties"))
        for record in data.get("results") or []
    }
    missing = {
        value: redact(str(error.get("message") or error.get("category")))
        for error in data.get("errors") or []
        for value in context_values(error)
    }
    return [
        ContactReadResult(
            value, found.get(value), None if value in found else missing.get(value, "not returned")
        )
        for value in ids
    ]


def _properties(value: Any) -> dict[str, str | None]:
    """A record's ``properties`` as text (``None`` when unset)."""
    items = value.items() if isinstance(value, Mapping) else ()
    return {str(name): None if v is None else str(v) for name, v in items}


def upsert_input(check: Validator, record: ContactUpsert, index: int) -> dict[str, Any]:
    """The upsert input for ``record`` (keyed by its email), validated."""
    field = f"records[{index}]"
    email = check.email(record.email, f"{field}.email")
    properties: dict[str, str] = {}
    for name, value in check.mapping(record.properties, f"{field}.properties").items():
        check.pattern(name, f"{field}.properties", PROPERTY_NAME, "property internal names")
        properties[name] = check.text(
            as_text(value),
            f"{field}.properties.{name}",
            max_length=PROPERTY_VALUE_MAX,
            multiline=True,
        )
    properties["email"] = email
    return {"id": email, "idProperty": "email", "properties": properties}


def unkeyed_ids(data: Mapping[str, Any]) -> list[str]:
    """Record ids of the upsert answer's results that do not echo their ``email``."""
    return [
        str(record.get("id"))
        for record in _records(data.get("results"))
        if not _echoed_email(record) and record.get("id") is not None
    ]


def emails_by_id(data: Mapping[str, Any]) -> dict[str, str]:
    """``{record id: email}`` from a batch read answer that asked for ``email``."""
    return {
        str(record.get("id")): email
        for record in _records(data.get("results"))
        if (email := _echoed_email(record))
    }


def upsert_results(
    emails: list[str], data: Mapping[str, Any], read_back: Mapping[str, str]
) -> list[UpsertResult]:
    """One result per input email of a 200/207 batch upsert answer, in input order.

    Args:
        emails: The inputs' (lower-case) emails.
        data: HubSpot's answer.
        read_back: Emails of the results that did not echo one, by record id.
    """
    by_email: dict[str, UpsertResult] = {}
    for record in _records(data.get("results")):
        record_id = str(record.get("id"))
        email = _echoed_email(record) or read_back.get(record_id, "")
        if email:
            by_email[email] = UpsertResult(
                email, ok=True, contact_id=record_id, created=record.get("new")
            )
    for error in _records(data.get("errors")):
        raw = str(error.get("message") or "rejected")
        keys = {value.lower() for value in context_values(error)}
        keys |= {email for email in emails if email in raw.lower()}
        for email in keys & set(emails):
            by_email.setdefault(
                email,
                UpsertResult(email, ok=False, error=redact(raw), category=error.get("category")),
            )
    return [
        by_email.get(email, UpsertResult(email, ok=False, error="no per-record result returned"))
        for email in emails
    ]


def _records(value: Any) -> list[Mapping[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _echoed_email(record: Mapping[str, Any]) -> str:
    properties = record.get("properties")
    email = properties.get("email") if isinstance(properties, dict) else None
    return email.lower() if isinstance(email, str) else ""


def context_values(error: Mapping[str, Any]) -> list[str]:
    """All string values listed in a batch error's ``context`` (ids or emails)."""
    context = error.get("context") or {}
    values: list[str] = []
    for listed in context.values() if isinstance(context, dict) else []:
        if isinstance(listed, list):
            values.extend(str(v) for v in listed)
        elif isinstance(listed, str):
            values.append(listed)
    return values
