"""Lead bodies validated and sanitised before anything is sent."""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Callable
from typing import Any

from sales_pipeline.clients.validation import Validator, as_text
from sales_pipeline.domain.text import TextField

CAMPAIGN_ID = re.compile(r"cam_[A-Za-z0-9]{1,64}")
_PHONE = re.compile(r"\+?[0-9 ().-]{6,25}")
_VARIABLE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")
ACTIVITY_TYPE = re.compile(r"[A-Za-z]{1,64}")

LEAD_FIELDS = (
    "email",
    "firstName",
    "lastName",
    "companyName",
    "jobTitle",
    "linkedinUrl",
    "picture",
    "phone",
    "companyDomain",
    "icebreaker",
    "timezone",
    "contactOwner",
)
"""Standard lead fields; custom variables go under the ``variables`` key."""


def lead_body(check: Validator, lead: Any) -> dict[str, str]:
    """Validated, sanitised JSON body for adding ``lead``; custom variables as strings."""
    record = check.mapping(lead, "lead")
    check.known_keys(record, (*LEAD_FIELDS, "variables"), "lead")
    if "email" not in record:
        check.fail("lead.email", "is required")
    body: dict[str, str] = {}
    for key, value in record.items():
        if key == "variables" or value is None:
            continue
        body[key] = _LEAD_CHECKS.get(key, _short_text)(check, value, f"lead.{key}")
    variables = check.mapping(record.get("variables") or {}, "lead.variables")
    for name, value in variables.items():
        field = f"lead.variables.{name}"
        check.pattern(name, field, _VARIABLE_NAME, "a variable name (letters, digits, _)")
        if name in LEAD_FIELDS:
            check.fail(field, "collides with a standard lead field")
        if not isinstance(value, str | int | float | bool):
            check.fail(field, "must be a string, number or boolean")
        body[name] = check.policy_text(as_text(value), field, TextField.LEMLIST_VARIABLE)
    return body


def _short_text(check: Validator, value: Any, field: str) -> str:
    return check.text(value, field, max_length=200)


def _icebreaker(check: Validator, value: Any, field: str) -> str:
    return check.text(value, field, max_length=2000, multiline=True)


def _phone(check: Validator, value: Any, field: str) -> str:
    return check.pattern(value, field, _PHONE, "a phone number")


def _timezone(check: Validator, value: Any, field: str) -> str:
    name = check.text(value, field, max_length=64)
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        check.fail(field, "is not an IANA time zone")
    return name


def _policy(policy_field: str) -> Callable[[Validator, Any, str], str]:
    """The check of a lead field the text policy governs."""
    return lambda check, value, field: check.policy_text(value, field, policy_field)


_LEAD_CHECKS: dict[str, Callable[[Validator, Any, str], str]] = {
    "firstName": _policy(TextField.FIRST_NAME),
    "lastName": _policy(TextField.LAST_NAME),
    "companyName": _policy(TextField.COMPANY_NAME),
    "jobTitle": _policy(TextField.JOB_TITLE),
    "email": lambda check, value, field: check.email(value, field),
    "linkedinUrl": lambda check, value, field: check.url(value, field, host_suffix="linkedin.com"),
    "picture": lambda check, value, field: check.url(value, field),
    "companyDomain": lambda check, value, field: check.domain(value, field),
    "phone": _phone,
    "timezone": _timezone,
    "icebreaker": _icebreaker,
}
"""Checks of standard lead fields other than short text (the default)."""
