"""HubSpot's contact property registry: definitions, groups, and validation of written values.

Writing a property that does not exist, a read-only one, an enumeration value outside the
options or a malformed email fails as HubSpot fails it (:class:`PropertyValuesError`). The
pipeline creates its own properties through ``/crm/v3/properties/contacts`` before writing them.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .errors import PropertyValuesError, api_error, validation_error
from .parsing import require
from .records import ALWAYS_RETURNED, iso_from_seconds, ms_from_text

PORTAL_ID = 20_251_107
"""The HubSpot account (hub id) the sandbox pretends to be."""

DEFAULT_RETURNED = ("firstname", "lastname", "email")
"""Contact properties returned when a request names none."""

READ_ONLY = frozenset({"hs_object_id", "lastmodifieddate"})

FIELD_TYPES_BY_TYPE = {
    "string": {"text", "textarea", "phonenumber", "html", "file"},
    "number": {"number", "calculation_equation"},
    "date": {"date"},
    "datetime": {"date"},
    "enumeration": {"select", "radio", "checkbox", "booleancheckbox"},
    "bool": {"booleancheckbox"},
}

_NAME = re.compile(r"[a-z][a-z0-9_]*")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")

LIFECYCLE_STAGES = (
    ("Subscriber", "subscriber"),
    ("Lead", "lead"),
    ("Marketing Qualified Lead", "marketingqualifiedlead"),
    ("Sales Qualified Lead", "salesqualifiedlead"),
    ("Opportunity", "opportunity"),
    ("Customer", "customer"),
    ("Evangelist", "evangelist"),
    ("Other", "other"),
)
LEAD_STATUSES = (
    ("New", "NEW"),
    ("Open", "OPEN"),
    ("In Progress", "IN_PROGRESS"),
    ("Open Deal", "OPEN_DEAL"),
    ("Unqualified", "UNQUALIFIED"),
    ("Attempted to Contact", "ATTEMPTED_TO_CONTACT"),
    ("Connected", "CONNECTED"),
    ("Bad Timing", "BAD_TIMING"),
)
BOOLEAN_OPTIONS = (("Yes", "true"), ("No", "false"))

# (name, label, type, fieldType, groupName, options)
BUILT_IN: tuple[tuple[str, str, str, str, str, tuple[tuple[str, str], ...]], ...] = (
    ("email", "Email", "string", "text", "contactinformation", ()),
    ("firstname", "First Name", "string", "text", "contactinformation", ()),
    ("lastname", "Last Name", "string", "text", "contactinformation", ()),
    ("company", "Company Name", "string", "text", "contactinformation", ()),
    ("jobtitle", "Job Title", "string", "text", "contactinformation", ()),
    ("phone", "Phone Number", "string", "phonenumber", "contactinformation", ()),
    ("mobilephone", "Mobile Phone Number", "string", "phonenumber", "contactinformation", ()),
    ("website", "Website URL", "string", "text", "contactinformation", ()),
    ("address", "Street Address", "string", "text", "contactinformation", ()),
    ("city", "City", "string", "text", "contactinformation", ()),
    ("state", "State/Region", "string", "text", "contactinformation", ()),
    ("zip", "Postal Code", "string", "text", "contactinformation", ()),
    ("country", "Country/Region", "string", "text", "contactinformation", ()),
    ("industry", "Industry", "string", "text", "contactinformation", ()),
    ("lifecyclestage", "Lifecycle Stage", "enumeration", "radio", "contactinformation",
     LIFECYCLE_STAGES),
    ("hs_lead_status", "Lead Status", "enumeration", "radio", "sales_properties", LEAD_STATUSES),
    ("hs_email_optout", "Unsubscribed from all email", "bool", "booleancheckbox",
     "emailinformation", BOOLEAN_OPTIONS),
    ("createdate", "Create Date", "datetime", "date", "contactinformation", ()),
    ("lastmodifieddate", "Last Modified Date", "datetime", "date", "contactinformation", ()),
    ("hs_object_id", "Record ID", "number", "number", "contactinformation", ()),
)  # fmt: skip

BUILT_IN_GROUPS = (
    ("contactinformation", "Contact information"),
    ("emailinformation", "Email information"),
    ("sales_properties", "Sales properties"),
    ("conversioninformation", "Conversion information"),
    ("socialmediainformation", "Social media information"),
    ("analyticsinformation", "Web analytics history"),
)


class InvalidValueError(ValueError):
    """A value the property refuses: HubSpot's error code and message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class PropertyDefinition:
    """One contact property; ``options`` are (label, value) pairs for enumerations."""

    name: str
    label: str
    type: str
    field_type: str
    group_name: str
    created_at: str
    options: tuple[tuple[str, str], ...] = ()
    description: str = ""
    hubspot_defined: bool = False
    has_unique_value: bool = False

    @property
    def numeric(self) -> bool:
        """Whether search compares this property as a number (dates as epoch ms)."""
        return self.type in ("number", "date", "datetime")

    def to_number(self, text: str) -> float | None:
        """The stored value as a number for search; ``None`` when it does not parse."""
        try:
            return self.filter_number(text)
        except ValueError:
            return None

    def filter_number(self, text: str) -> float:
        """A search filter value as a number; raises ``ValueError`` when it does not parse."""
        if self.type == "number":
            value = float(text)
            if not math.isfinite(value):
                raise ValueError(text)
            return value
        return float(ms_from_text(text))

    def normalize(self, text: str) -> str:
        """The stored form of a written value; raises :class:`InvalidValueError`."""
        if self.type == "number":
            if self.to_number(text) is None:
                raise InvalidValueError("INVALID_NUMBER", f"{text} was not a valid number.")
            return text.strip()
        if self.type in ("date", "datetime"):
            return self._normalize_date(text)
        if self.type in ("enumeration", "bool"):
            return self._normalize_option(text)
        if self.name == "email" and not _EMAIL.fullmatch(text.strip()):
            raise InvalidValueError("INVALID_EMAIL", f"Email address {text} is invalid")
        return text

    def _normalize_date(self, text: str) -> str:
        try:
            millis = ms_from_text(text)
            stamp = iso_from_seconds(millis / 1000)
        except (ValueError, OverflowError, OSError):
            raise InvalidValueError("INVALID_DATE", f"{text} is not a valid date") from None
        if self.type == "datetime":
            return stamp
        if millis % 86_400_000:
            raise InvalidValueError(
                "INVALID_DATE", f"{text} is at a time other than midnight UTC, not a valid date"
            )
        return stamp[:10]

    def _normalize_option(self, text: str) -> str:
        allowed = [value for _, value in self.options]
        chosen = text.split(";") if self.field_type == "checkbox" else [text]
        if self.type == "bool":
            chosen = [value.lower() for value in chosen]
        for value in chosen:
            if value not in allowed:
                raise InvalidValueError(
                    "INVALID_OPTION",
                    f"{value} was not one of the allowed options: [{', '.join(allowed)}]",
                )
        return ";".join(chosen)

    def to_json(self) -> dict[str, Any]:
        """HubSpot's property shape."""
        answer: dict[str, Any] = {
            "name": self.name,
            "label": self.label,
            "type": self.type,
            "fieldType": self.field_type,
            "description": self.description,
            "groupName": self.group_name,
            "options": [
                {"label": label, "value": value, "displayOrder": order, "hidden": False}
                for order, (label, value) in enumerate(self.options)
            ],
            "displayOrder": -1,
            "calculated": False,
            "externalOptions": False,
            "hasUniqueValue": self.has_unique_value,
            "hidden": False,
            "modificationMetadata": {
                "archivable": not self.hubspot_defined,
                "readOnlyDefinition": self.hubspot_defined,
                "readOnlyValue": self.name in READ_ONLY,
            },
            "formField": self.name not in READ_ONLY,
            "dataSensitivity": "non_sensitive",
            "createdAt": self.created_at,
            "updatedAt": self.created_at,
            "archived": False,
        }
        if self.hubspot_defined:
            answer["hubspotDefined"] = True
        return answer


def _text_of(raw: Any) -> str | None:
    """A written JSON value as HubSpot stores it: text, with ``null`` and ``""`` clearing it."""
    if raw is None or raw == "":
        return None
    if isinstance(raw, bool):
        return "true" if raw else "false"
    return str(raw)


class PropertyRegistry:
    """The contact properties and property groups of the account (thread-safe)."""

    def __init__(self, extra_names: Iterable[str], now: float) -> None:
        stamp = iso_from_seconds(now)
        self._lock = threading.Lock()
        self._definitions: dict[str, PropertyDefinition] = {}
        for name, label, kind, field_type, group, options in BUILT_IN:
            self._definitions[name] = PropertyDefinition(
                name, label, kind, field_type, group, stamp, options, hubspot_defined=True
            )
        for name in extra_names:
            if name not in self._definitions:
                self._definitions[name] = PropertyDefinition(
                    name, name, "string", "text", "contactinformation", stamp, hubspot_defined=True
                )
        self._groups: dict[str, dict[str, Any]] = {
            name: {"name": name, "label": label, "displayOrder": -1, "archived": False}
            for name, label in BUILT_IN_GROUPS
        }

    def get(self, name: str) -> PropertyDefinition | None:
        """The definition of ``name``, if the property exists."""
        return self._definitions.get(name)

    def names(self) -> list[str]:
        """Every property name."""
        return list(self._definitions)

    def definitions(self) -> list[PropertyDefinition]:
        """Every definition."""
        return list(self._definitions.values())

    def groups(self) -> list[dict[str, Any]]:
        """Every property group in HubSpot's shape."""
        return list(self._groups.values())

    def returned_names(self, requested: Iterable[str] | None) -> list[str]:
        """The properties an answer carries: the requested ones that exist (or the defaults),
        then ``createdate``, ``hs_object_id`` and ``lastmodifieddate``."""
        wanted = DEFAULT_RETURNED if requested is None else tuple(requested)
        names = [name for name in wanted if name in self._definitions]
        return list(dict.fromkeys([*names, *ALWAYS_RETURNED]))

    def normalize(self, values: Mapping[str, Any]) -> dict[str, str | None]:
        """Written values as stored (``None`` clears); raises :class:`PropertyValuesError`."""
        issues: list[dict[str, Any]] = []
        stored: dict[str, str | None] = {}
        for name, raw in values.items():
            definition = self._definitions.get(name)
            try:
                if definition is None:
                    raise InvalidValueError(
                        "PROPERTY_DOESNT_EXIST", f'Property "{name}" does not exist'
                    )
                if name in READ_ONLY:
                    raise InvalidValueError(
                        "READ_ONLY_VALUE",
                        f"{name} is a read only property; its value cannot be set.",
                    )
                text = _text_of(raw)
                stored[name] = None if text is None else definition.normalize(text)
            except InvalidValueError as invalid:
                issues.append(
                    {
                        "isValid": False,
                        "message": invalid.message,
                        "error": invalid.code,
                        "name": name,
                        "localizedErrorMessage": invalid.message,
                        "portalId": PORTAL_ID,
                    }
                )
        if issues:
            raise PropertyValuesError(issues)
        return stored

    def create(self, body: Any, now: float) -> PropertyDefinition:
        """Add a custom property from a create body; 409 if it exists, 400 if malformed."""
        if not isinstance(body, dict):
            raise validation_error("Invalid input JSON: expected an object")
        require(body, "PropertyCreate")
        name, kind, field_type = str(body["name"]), str(body["type"]), str(body["fieldType"])
        if not _NAME.fullmatch(name):
            raise validation_error(
                f"Property name {name} is invalid: use lowercase letters, digits and underscores, "
                "starting with a letter"
            )
        if kind not in FIELD_TYPES_BY_TYPE:
            raise validation_error(f"{kind} is not a valid property type")
        if field_type not in FIELD_TYPES_BY_TYPE[kind]:
            raise validation_error(
                f"fieldType {field_type} is not valid for a property of type {kind}"
            )
        options = self._options(body.get("options"), kind)
        with self._lock:
            if str(body["groupName"]) not in self._groups:
                raise validation_error(f"Property group {body['groupName']} does not exist")
            if name in self._definitions:
                raise api_error(
                    409,
                    "OBJECT_ALREADY_EXISTS",
                    f"A property named '{name}' already exists.",
                    context={"name": [name]},
                )
            definition = PropertyDefinition(
                name=name,
                label=str(body["label"]),
                type=kind,
                field_type=field_type,
                group_name=str(body["groupName"]),
                created_at=iso_from_seconds(now),
                options=options,
                description=str(body.get("description") or ""),
                has_unique_value=bool(body.get("hasUniqueValue", False)),
            )
            self._definitions[name] = definition
        return definition

    @staticmethod
    def _options(raw: Any, kind: str) -> tuple[tuple[str, str], ...]:
        if kind == "bool" and not raw:
            return BOOLEAN_OPTIONS
        if kind != "enumeration":
            return ()
        if not isinstance(raw, list) or not raw:
            raise validation_error("Enumeration properties need at least one option")
        options = []
        for option in raw:
            if not isinstance(option, dict):
                raise validation_error("Each option must be an object")
            require(option, "OptionInput")
            options.append((str(option["label"]), str(option["value"])))
        return tuple(options)

    def create_group(self, body: Any) -> dict[str, Any]:
        """Add a property group (``name``, ``label``, ``displayOrder``?); 409 if it exists."""
        if not isinstance(body, dict) or not body.get("name") or not body.get("label"):
            raise validation_error("Missing required fields: name, label")
        name, order = str(body["name"]), body.get("displayOrder", -1)
        if not _NAME.fullmatch(name):
            raise validation_error(f"Property group name {name} is invalid")
        if isinstance(order, bool) or not isinstance(order, int):
            raise validation_error(f"displayOrder must be an integer, got {order!r}")
        with self._lock:
            if name in self._groups:
                raise api_error(
                    409, "OBJECT_ALREADY_EXISTS", f"A property group named '{name}' already exists."
                )
            group = {
                "name": name,
                "label": str(body["label"]),
                "displayOrder": order,
                "archived": False,
            }
            self._groups[name] = group
        return group
