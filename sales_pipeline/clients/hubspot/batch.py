"""HubSpot batch read and upsert: request bodies and answers mapped back to each input.

Batch endpoints take at most 100 inputs; a 207 answer carries per-input errors
whose ``context`` names the ids (or emails) they concern.
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
    """The batch read body for ``ids`` with properties ``names``."""
    return {"properties": names, "inputs": [{"id": value} for value in ids]}


def read_results(ids: list[str], data: Mapping[str, Any]) -> list[ContactReadResult]:
    """One result per id of a 200/207 batch read answer, in order of ``ids``."""
    found = {str(record.get("id")): record for record in data.get("results") or []}
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


def upsert_results(emails: list[str], data: Mapping[str, Any]) -> list[UpsertResult]:
    """Map a 200/207 batch upsert answer back to its inputs by email."""
    by_email: dict[str, UpsertResult] = {}
    for record in data.get("results") or []:
        email = str((record.get("properties") or {}).get("email") or "").lower()
        if email:
            by_email[email] = UpsertResult(
                email, ok=True, contact_id=str(record.get("id")), created=record.get("new")
            )
    for error in data.get("errors") or []:
        message = redact(str(error.get("message") or "rejected"))
        keys = {value.lower() for value in context_values(error)}
        keys |= {email for email in emails if email in message.lower()}
        for email in keys & set(emails):
            by_email.setdefault(
                email,
                UpsertResult(email, ok=False, error=message, category=error.get("category")),
            )
    return [
        by_email.get(email, UpsertResult(email, ok=False, error="no per-record result returned"))
        for email in emails
    ]


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
