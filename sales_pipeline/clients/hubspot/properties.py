"""HubSpot custom contact properties: validated create bodies and HubSpot's answers.

HubSpot refuses values of unknown properties, so the client creates the custom
properties it writes before anything writes them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from sales_pipeline.clients.hubspot.models import FIELD_TYPES, PropertyDefinition
from sales_pipeline.clients.validation import Validator

ALREADY_EXISTS = frozenset({"OBJECT_ALREADY_EXISTS", "CONFLICT"})
"""Error categories meaning the property exists by now."""
_NEW_PROPERTY_NAME = re.compile(r"[a-z][a-z0-9_]{0,99}")
_OPTION_VALUE = re.compile(r"[A-Za-z0-9_.-]{1,100}")
_LABEL_MAX = 100
_DESCRIPTION_MAX = 1000


def names_in(data: Mapping[str, Any]) -> set[str]:
    """The ``name`` of every property in an answer's ``results``."""
    return {str(item.get("name")) for item in data.get("results") or [] if isinstance(item, dict)}


def refused(data: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The answer's errors other than "already exists"."""
    return [
        error
        for error in data.get("errors") or []
        if isinstance(error, dict) and error.get("category") not in ALREADY_EXISTS
    ]


def property_input(check: Validator, definition: PropertyDefinition, index: int) -> dict[str, Any]:
    """HubSpot's create body for ``definition``, validated."""
    field = f"definitions[{index}]"
    name = check.pattern(
        definition.name,
        f"{field}.name",
        _NEW_PROPERTY_NAME,
        "lowercase letters, digits and _, starting with a letter",
    )
    if definition.type not in FIELD_TYPES:
        check.fail(f"{field}.type", f"must be one of {', '.join(FIELD_TYPES)}")
    if definition.field_type not in FIELD_TYPES[definition.type]:
        allowed = ", ".join(sorted(FIELD_TYPES[definition.type]))
        check.fail(f"{field}.field_type", f"must be one of {allowed} for {definition.type}")
    body: dict[str, Any] = {
        "name": name,
        "label": check.required_text(definition.label, f"{field}.label", max_length=_LABEL_MAX),
        "type": definition.type,
        "fieldType": definition.field_type,
        "groupName": check.pattern(
            definition.group_name, f"{field}.group_name", _NEW_PROPERTY_NAME, "a group name"
        ),
    }
    if definition.description:
        body["description"] = check.text(
            definition.description, f"{field}.description", max_length=_DESCRIPTION_MAX
        )
    if (definition.type == "enumeration") != bool(definition.options):
        check.fail(f"{field}.options", "are required for enumerations and only for them")
    if definition.options:
        body["options"] = [
            {
                "label": check.required_text(
                    label, f"{field}.options[{order}].label", max_length=_LABEL_MAX
                ),
                "value": check.pattern(
                    value, f"{field}.options[{order}].value", _OPTION_VALUE, "an option value"
                ),
                "displayOrder": order,
                "hidden": False,
            }
            for order, (label, value) in enumerate(definition.options)
        ]
    return body
