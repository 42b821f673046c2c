"""Reading HubSpot requests: JSON bodies, required fields, query flags, cursors, ``idProperty``.

Every function raises HubSpot's own 400 (``VALIDATION_ERROR``) for input HubSpot refuses.

Required fields follow the strictest reading of HubSpot's published CRM v3 contracts, as its
current official Python SDK (``hubspot-api-client`` 12) generates them from HubSpot's OpenAPI
documents: the SDK refuses to build these models without the fields, so HubSpot may too.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from sales_pipeline.sandbox.core.http import Request

from .errors import validation_error


def json_body(request: Request) -> dict[str, Any]:
    """The request body as a JSON object; HubSpot's 400 otherwise."""
    try:
        body = request.json()
    except json.JSONDecodeError as bad:
        raise validation_error(
            f"Invalid input JSON on line {bad.lineno}, column {bad.colno}: {bad.msg}"
        ) from None
    except UnicodeDecodeError:
        raise validation_error("Invalid input JSON: the body is not UTF-8") from None
    if not isinstance(body, dict):
        raise validation_error("Invalid input JSON: expected an object")
    return body


REQUIRED: dict[str, tuple[str, ...]] = {
    "BatchReadInputSimplePublicObjectId": ("properties", "propertiesWithHistory", "inputs"),
    "SimplePublicObjectId": ("id",),
    "BatchInputSimplePublicObjectBatchInputUpsert": ("inputs",),
    "SimplePublicObjectBatchInputUpsert": ("id", "properties"),
    "BatchInputSimplePublicObjectBatchInput": ("inputs",),
    "SimplePublicObjectBatchInput": ("id", "properties"),
    "BatchInputSimplePublicObjectBatchInputForCreate": ("inputs",),
    "SimplePublicObjectBatchInputForCreate": ("properties",),
    "SimplePublicObjectInputForCreate": ("properties",),
    "SimplePublicObjectInput": ("properties",),
    "FilterGroup": ("filters",),
    "Filter": ("propertyName", "operator"),
    "BatchInputPropertyCreate": ("inputs",),
    "PropertyCreate": ("name", "label", "type", "fieldType", "groupName"),
    "OptionInput": ("label", "value", "hidden"),
}
"""Per model of the published contract (HubSpot's schema names), the fields it requires."""


def require(body: dict[str, Any], model: str) -> None:
    """400 when ``body`` lacks (or nulls) a field that ``model`` requires, in HubSpot's words."""
    missing = [name for name in REQUIRED[model] if body.get(name) is None]
    if missing:
        raise validation_error(
            f"Invalid input JSON: Cannot build {model}, some of required attributes are not set "
            f"[{', '.join(missing)}]"
        )


def string_list(body: dict[str, Any], name: str) -> list[str]:
    """The array of strings ``body[name]``; 400 when it is anything else."""
    values = body.get(name)
    if not isinstance(values, list) or not all(isinstance(value, str) for value in values):
        raise validation_error(f"Invalid input JSON: {name} must be an array of strings")
    return values


def properties_of(body: dict[str, Any], model: str) -> dict[str, Any]:
    """The ``properties`` object of a write body of ``model``; 400 when missing or no object."""
    require(body, model)
    properties = body.get("properties")
    if not isinstance(properties, dict):
        raise validation_error("Invalid input JSON: properties must be an object")
    return properties


def requested_properties(request: Request) -> list[str] | None:
    """``properties`` query values, repeated and/or comma-separated; ``None`` when absent."""
    values = request.query.get("properties")
    if values is None:
        return None
    return [name.strip() for value in values for name in value.split(",") if name.strip()]


def flag(request: Request, name: str) -> bool:
    """A ``true``/``false`` query parameter (false when absent)."""
    return (request.arg(name) or "false").lower() == "true"


def encode_cursor(record_id: int) -> str:
    """The opaque list cursor for "continue from ``record_id``"."""
    return base64.urlsafe_b64encode(str(record_id).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The record id inside a list cursor; 400 for a cursor the sandbox did not issue."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        text = ""
    if not text.isdigit():
        raise validation_error(f"Invalid paging cursor: {cursor}")
    return int(text)


def id_property(raw: Any) -> str | None:
    """``None`` for the record id, ``email``; 400 for any other (non-unique) property."""
    if raw in (None, "", "hs_object_id"):
        return None
    if raw != "email":
        raise validation_error(f"{raw} is not a unique property of contacts")
    return "email"
