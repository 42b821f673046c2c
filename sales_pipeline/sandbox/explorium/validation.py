"""Request validation for the Explorium emulation, answering 422 the way the vendor does.

Explorium's partner service is a FastAPI application on pydantic v1 models: a body that does not
fit its model is refused as a whole with ``422 {"detail": [{"loc", "msg", "type"}]}``, every
problem listed, each ``loc`` starting with ``"body"`` (see the vendor's error-handling page: types
such as ``value_error.missing`` and ``value_error.number.not_le``). This module reproduces those
messages for the few models the sandbox serves.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any

from sales_pipeline.sandbox.core.http import Request

Loc = tuple[str | int, ...]

PROSPECT_ID = re.compile(r"[a-f0-9]{40}")
BUSINESS_ID = re.compile(r"[a-f0-9]{32}")
MAX_BATCH = 50
"""Every match and bulk-enrich list holds 1 to 50 items."""


def _error(loc: Loc, msg: str, kind: str) -> dict[str, Any]:
    """One ``detail`` item: ``{"loc", "msg", "type"}``."""
    return {"loc": list(loc), "msg": msg, "type": kind}


class ValidationFailedError(Exception):
    """The body does not fit the endpoint's model; ``errors`` are the 422 ``detail`` items."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(f"{len(errors)} validation error(s)")
        self.errors = errors


class Problems:
    """Collects pydantic-v1-style validation errors for one request."""

    def __init__(self) -> None:
        self.errors: list[dict[str, Any]] = []

    def add(self, loc: Loc, msg: str, kind: str) -> None:
        """Record one error at ``loc`` (``("body", field, index, ...)``)."""
        self.errors.append(_error(loc, msg, kind))

    def raise_if_any(self) -> None:
        """Raise :class:`ValidationFailedError` when anything was recorded."""
        if self.errors:
            raise ValidationFailedError(self.errors)


def read_body(
    request: Request, fields: Collection[str], required: Collection[str], problems: Problems
) -> dict[str, Any]:
    """The JSON object body; ``problems`` gets every key outside ``fields`` (``request_context``
    aside), every ``required`` one missing or null, and non-object ``request_context`` or
    ``parameters``. Raises :class:`ValidationFailedError` at once when the body is absent, is
    not JSON or is not an object.
    """
    if not request.body:
        raise ValidationFailedError([_error(("body",), "field required", "value_error.missing")])
    try:
        body = request.json()
    except ValueError as bad:
        position = getattr(bad, "pos", 0)
        message = getattr(bad, "msg", "Invalid JSON")
        raise ValidationFailedError(
            [_error(("body", position), message, "value_error.jsondecode")]
        ) from bad
    if not isinstance(body, dict):
        raise ValidationFailedError(
            [_error(("body",), "value is not a valid dict", "type_error.dict")]
        )
    allowed = {"request_context", *fields}
    for name in body:
        if name not in allowed:
            problems.add(("body", name), "extra fields not permitted", "value_error.extra")
    for name in required:
        if name not in body:
            problems.add(("body", name), "field required", "value_error.missing")
        elif body[name] is None:
            problems.add(
                ("body", name), "none is not an allowed value", "type_error.none.not_allowed"
            )
    for name in ("request_context", "parameters"):
        if name in allowed and body.get(name) is not None and not isinstance(body[name], dict):
            problems.add(("body", name), "value is not a valid dict", "type_error.dict")
    return body


def batch(body: dict[str, Any], field: str, problems: Problems) -> list[Any]:
    """``body[field]`` as a list of 1 to 50 items; problems recorded, ``[]`` when not a list.

    A missing or null field yields ``[]`` silently: :func:`read_body` reported it.
    """
    value = body.get(field)
    if value is None:
        return []
    if not isinstance(value, list):
        problems.add(("body", field), "value is not a valid list", "type_error.list")
        return []
    if not value:
        problems.add(
            ("body", field), "ensure this value has at least 1 items", "value_error.list.min_items"
        )
    elif len(value) > MAX_BATCH:
        problems.add(
            ("body", field),
            f"ensure this value has at most {MAX_BATCH} items",
            "value_error.list.max_items",
        )
    return value


def identifier(value: Any, loc: Loc, pattern: re.Pattern[str], problems: Problems) -> str:
    """``value`` when it is a string matching ``pattern`` (an Explorium id), else a problem.

    ``None`` yields ``""`` silently: :func:`read_body` reported the missing field.
    """
    if value is None:
        return ""
    if not isinstance(value, str):
        problems.add(loc, "str type expected", "type_error.str")
        return ""
    if not pattern.fullmatch(value):
        problems.add(
            loc, f'string does not match regex "^{pattern.pattern}$"', "value_error.str.regex"
        )
    return value


def identifiers(
    body: dict[str, Any], field: str, pattern: re.Pattern[str], problems: Problems
) -> list[str]:
    """``body[field]`` as a batch of ids matching ``pattern`` (duplicates kept)."""
    values = batch(body, field, problems)
    return [
        identifier(value, ("body", field, index), pattern, problems)
        for index, value in enumerate(values)
    ]


def string_fields(
    item: Any, loc: Loc, keys: Collection[str], forbid_extra: bool, problems: Problems
) -> dict[str, str]:
    """The non-null string values of the object ``item`` among ``keys``.

    Other keys are refused when ``forbid_extra`` and silently dropped otherwise (pydantic's
    ``extra = "forbid"`` versus its default ``"ignore"``).
    """
    if not isinstance(item, dict):
        problems.add(loc, "value is not a valid dict", "type_error.dict")
        return {}
    fields: dict[str, str] = {}
    for key, value in item.items():
        if key not in keys:
            if forbid_extra:
                problems.add((*loc, key), "extra fields not permitted", "value_error.extra")
            continue
        if value is None:
            continue
        if not isinstance(value, str):
            problems.add((*loc, key), "str type expected", "type_error.str")
            continue
        fields[key] = value
    return fields


def contact_types(body: dict[str, Any], problems: Problems) -> frozenset[str]:
    """``parameters.contact_types`` of a contacts enrichment; both kinds when not given.

    Parameters that are not an object yield both kinds silently: :func:`read_body` reported them.
    """
    parameters = body.get("parameters")
    wanted = parameters.get("contact_types") if isinstance(parameters, dict) else None
    if wanted is None:
        return frozenset({"email", "phone"})
    loc: Loc = ("body", "parameters", "contact_types")
    if not isinstance(wanted, list):
        problems.add(loc, "value is not a valid list", "type_error.list")
        return frozenset()
    for index, kind in enumerate(wanted):
        if kind not in ("email", "phone"):
            problems.add(
                (*loc, index),
                "value is not a valid enumeration member; permitted: 'email', 'phone'",
                "type_error.enum",
            )
    return frozenset(wanted) & {"email", "phone"}
