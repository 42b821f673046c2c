"""HubSpot's error answers, raised by the parts of the emulation and rendered by :mod:`.api`.

Two body dialects exist. The CRM API answers
``{"status":"error","message":...,"correlationId":...,"category":...}`` (plus ``context`` or
``errors`` now and then); the OAuth token endpoint answers
``{"status":"BAD_REFRESH_TOKEN","message":...,"error":"invalid_grant","error_description":...}``.
A fresh ``correlationId`` is drawn each time a body is rendered.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any


def new_correlation_id() -> str:
    """A random id in HubSpot's format (a UUID)."""
    return str(uuid.uuid4())


class HubSpotError(Exception):
    """An error answer: an HTTP status and a body without its ``correlationId``."""

    def __init__(self, status: int, body: Mapping[str, Any]) -> None:
        super().__init__(str(body.get("message", "")))
        self.status = status
        self.body = dict(body)

    def payload(self, correlation_id: str) -> dict[str, Any]:
        """The JSON body, ``correlationId`` placed after ``message`` as HubSpot orders it."""
        rendered: dict[str, Any] = {}
        for key, value in self.body.items():
            rendered[key] = value
            if key == "message":
                rendered["correlationId"] = correlation_id
        return rendered


def api_error(status: int, category: str, message: str, **extra: Any) -> HubSpotError:
    """A CRM-API error: ``{"status":"error","message","correlationId","category",...extra}``."""
    return HubSpotError(
        status, {"status": "error", "message": message, "category": category, **extra}
    )


def validation_error(message: str, **extra: Any) -> HubSpotError:
    """400 ``VALIDATION_ERROR``."""
    return api_error(400, "VALIDATION_ERROR", message, **extra)


def not_found() -> HubSpotError:
    """404 ``OBJECT_NOT_FOUND``, HubSpot's answer for an unknown or archived record id."""
    return api_error(404, "OBJECT_NOT_FOUND", "resource not found")


def contact_conflict(existing_id: int) -> HubSpotError:
    """409 for a duplicate email; clients parse ``Existing ID:\\s*(\\d+)`` out of the message."""
    return api_error(409, "CONFLICT", f"Contact already exists. Existing ID: {existing_id}")


def missing_scopes(scope: str) -> HubSpotError:
    """403 ``MISSING_SCOPES`` naming the scope the token lacks (``context.missingScopes``)."""
    return api_error(
        403,
        "MISSING_SCOPES",
        "This app hasn't been granted all required scopes to make this call. Read more about "
        "required scopes here: https://developers.hubspot.com/scopes.",
        errors=[
            {
                "message": "One or more of the following scopes are required.",
                "context": {"requiredGranularScopes": [scope]},
            }
        ],
        context={"missingScopes": [scope]},
        links={"scopes": "https://developers.hubspot.com/scopes"},
    )


def oauth_error(status_name: str, message: str, error: str) -> HubSpotError:
    """400 from the OAuth token endpoint, in its own dialect."""
    return HubSpotError(
        400,
        {"status": status_name, "message": message, "error": error, "error_description": message},
    )


class PropertyValuesError(HubSpotError):
    """400 for property values HubSpot refuses (unknown property, bad option, bad email ...).

    ``issues`` are HubSpot's per-property validation results; the message embeds them as JSON,
    exactly as HubSpot does (``Property values were not valid: [{"isValid":false,...}]``).
    """

    def __init__(self, issues: list[dict[str, Any]]) -> None:
        self.issues = issues
        message = "Property values were not valid: " + json.dumps(issues, separators=(",", ":"))
        details = [
            {
                "message": issue["message"],
                "code": issue["error"],
                "context": {"propertyName": [issue["name"]]},
            }
            for issue in issues
        ]
        super().__init__(
            400,
            {
                "status": "error",
                "message": message,
                "category": "VALIDATION_ERROR",
                "errors": details,
            },
        )
