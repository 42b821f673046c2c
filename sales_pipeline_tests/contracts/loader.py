"""Load the project's contract schemas and validate messages against them.

Each file under ``schemas/<vendor>/`` is one operation (or the shapes several share). Its
``$defs`` hold the parts: ``request``, ``response`` and named error bodies. Files refer to each
other by relative ``$ref`` (``common.json#/$defs/contact``), resolved through one registry
built from every file's ``$id``. A file that mirrors an operation of a vendor document in
``../shared/specs`` names it in ``x-vendor-document`` (file, path, method, and the HTTP status of
each answer part).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SCHEMAS = Path(__file__).resolve().parent / "schemas"
SHARED = ("common", "errors")
"""File names that hold shapes shared by a vendor's operations, not an operation."""


@cache
def document(vendor: str, name: str) -> dict[str, Any]:
    """The parsed schema file ``schemas/<vendor>/<name>.json``."""
    parsed: dict[str, Any] = json.loads((SCHEMAS / vendor / f"{name}.json").read_text("utf-8"))
    return parsed


def operations() -> list[tuple[str, str]]:
    """Every ``(vendor, operation)`` that has a schema file, in a stable order."""
    return sorted(
        (path.parent.name, path.stem)
        for path in SCHEMAS.glob("*/*.json")
        if path.stem not in SHARED
    )


@cache
def _registry() -> Registry:
    resources = [
        Resource.from_contents(document(path.parent.name, path.stem), DRAFT202012)
        for path in sorted(SCHEMAS.glob("*/*.json"))
    ]
    return Registry().with_resources((str(r.contents["$id"]), r) for r in resources)


@cache
def validator(vendor: str, name: str, part: str) -> Draft202012Validator:
    """A validator for the ``part`` of ``name`` (``KeyError`` when the file has no such part)."""
    schema = document(vendor, name)
    if part not in schema["$defs"]:
        raise KeyError(f"{vendor}/{name}.json has no part {part!r}")
    return Draft202012Validator(
        {"$ref": f"{schema['$id']}#/$defs/{part}"},
        registry=_registry(),
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )


def validate(vendor: str, name: str, part: str, instance: Any) -> None:
    """Raise ``jsonschema.ValidationError`` unless ``instance`` fits the part."""
    validator(vendor, name, part).validate(instance)
