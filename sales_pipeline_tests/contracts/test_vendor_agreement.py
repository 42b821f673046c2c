"""The project's own schemas agree with the vendors' full documents where both exist.

Runs only when ``../shared/specs`` is there. For every operation whose schema names its vendor
document, each field the project's schema describes must exist in the document at the same
place with a compatible type, except the differences listed in :data:`KNOWN`, each settled by
``../shared/api-facts`` (where a fact and a document disagree, the fact wins).
"""

from __future__ import annotations

from typing import Any

import pytest

from sales_pipeline_tests.contracts.loader import document, operations
from sales_pipeline_tests.contracts.vendor_documents import MISSING, SPECS_DIR, vendor_document

if not SPECS_DIR.is_dir():
    pytest.skip(MISSING, allow_module_level=True)

KNOWN: dict[tuple[str, str, str], set[str]] = {
    ("explorium", "match_prospects", "response"): {
        "matched_prospects[].prospect_id: type null not in the document"
    },
    ("explorium", "match_businesses", "response"): {
        "matched_businesses[].business_id: type null not in the document"
    },
    ("lemlist", "list_campaigns", "response"): {"type object not in the document"},
    ("lemlist", "list_unsubscribes", "response"): {
        "[].createdAt: not in the document",
        "[].value: not in the document",
        "[].source: not in the document",
    },
    ("lemlist", "list_activities", "response"): {
        "[].leadEmail: not in the document",
        "[].campaignName: not in the document",
        "[].sequenceStep: not in the document",
    },
    ("lemlist", "hooks", "request"): {"campaignId: not in the document"},
}
"""Why each difference stands: Explorium's unmatched rows carry null ids (api-facts/explorium.md
'Matching'; the document's own descriptions say None); Lemlist's version=v2 campaign list is
wrapped in {campaigns, pagination} (api-facts/lemlist.md 'Campaigns'); its unsubscribes are
{_id, createdAt, value, source} and its activities carry leadEmail, campaignName and
sequenceStep (api-facts/lemlist.md 'Leads, unsubscribes, activities'); a hook may be limited
to one campaign with campaignId (api-facts/lemlist.md 'Webhooks')."""


def _types(schema: dict[str, Any]) -> set[str]:
    """The JSON types a schema node allows, as far as it says (empty: unconstrained)."""
    declared = schema.get("type")
    kinds = {declared} if isinstance(declared, str) else set(declared or ())
    if "const" in schema:
        kinds.add(_type_of(schema["const"]))
    kinds.update(_type_of(value) for value in schema.get("enum") or ())
    if schema.get("nullable"):
        kinds.add("null")
    if "integer" in kinds:
        kinds.add("number")
    return kinds


def _type_of(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    return "string" if isinstance(value, str) else "object"


def _pointer(root: Any, pointer: str) -> Any:
    node = root
    for step in filter(None, pointer.split("/")):
        node = node[step]
    return node


def _own(vendor: str, name: str, node: Any) -> Any:
    """``node`` of ``schemas/<vendor>/<name>.json`` with every ``$ref`` replaced by its target."""
    if isinstance(node, list):
        return [_own(vendor, name, item) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        target, _, pointer = node["$ref"].partition("#")
        where = target.removesuffix(".json") or name
        rest = {k: v for k, v in node.items() if k != "$ref"}
        resolved = _own(vendor, where, _pointer(document(vendor, where), pointer))
        return {"allOf": [resolved, _own(vendor, name, rest)]}
    return {key: _own(vendor, name, value) for key, value in node.items()}


def _theirs(root: dict[str, Any], node: Any, depth: int = 0) -> Any:
    """``node`` of an OpenAPI document with its component references replaced (10 deep)."""
    if isinstance(node, list):
        return [_theirs(root, item, depth) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        if depth > 10:
            return {}
        return {"allOf": [_theirs(root, _pointer(root, node["$ref"].lstrip("#")), depth + 1)]}
    return {key: _theirs(root, value, depth) for key, value in node.items()}


def _flat(node: dict[str, Any]) -> dict[str, Any]:
    """One object view of a node: its branches and ``allOf`` merged, its types collected."""
    kinds = _types(node)
    fields: dict[str, Any] = dict(node.get("properties") or {})
    items = node.get("items")
    extra = node.get("additionalProperties", True)
    for key in ("allOf", "anyOf", "oneOf"):
        for part in map(_flat, node.get(key) or []):
            kinds |= part["type"]
            fields = {**part["properties"], **fields}
            items = items if items is not None else part["items"]
            extra = extra if extra is not True else part["additionalProperties"]
    return {"type": kinds, "properties": fields, "items": items, "additionalProperties": extra}


def differences(own: dict[str, Any], theirs: dict[str, Any], at: str = "") -> set[str]:
    """Where ``own`` describes something ``theirs`` does not (field names and types)."""
    mine, other = _flat(own), _flat(theirs)
    prefix = f"{at}: " if at else ""
    missing_types = mine["type"] - other["type"] if other["type"] else set()
    found = {f"{prefix}type {kind} not in the document" for kind in missing_types}
    extra = other["additionalProperties"]
    for name, schema in mine["properties"].items():
        where = f"{at}.{name}" if at else name
        if name in other["properties"]:
            found |= differences(schema, other["properties"][name], where)
        elif isinstance(extra, dict):
            found |= differences(schema, extra, where)
        elif other["properties"] or extra is False:
            found.add(f"{where}: not in the document")
    if isinstance(mine["items"], dict) and isinstance(other["items"], dict):
        found |= differences(mine["items"], other["items"], f"{at}[]")
    return found


def _parts() -> list[tuple[str, str, str]]:
    """Every (vendor, operation, part) whose vendor document is named."""
    found = []
    for vendor, name in operations():
        source = document(vendor, name).get("x-vendor-document")
        if source is None:
            continue
        parts = ["request"] if "request" in document(vendor, name)["$defs"] else []
        found += [(vendor, name, part) for part in [*parts, *source["parts"]]]
    return found


def _their_schema(vendor: str, name: str, part: str) -> dict[str, Any]:
    source = document(vendor, name)["x-vendor-document"]
    spec = vendor_document(source["file"])
    if part == "request":
        body = spec.operation(source["path"], source["method"])["requestBody"]
    else:
        target = source["parts"][part]
        operation = spec.operation(
            target.get("path", source["path"]), target.get("method", source["method"])
        )
        body = operation["responses"][str(target["status"])]
    schema: dict[str, Any] = _theirs(spec.document, body["content"]["application/json"]["schema"])
    return schema


@pytest.mark.parametrize(("vendor", "name", "part"), _parts())
def test_the_projects_schema_describes_only_what_the_vendor_document_has(
    vendor: str, name: str, part: str
) -> None:
    own = _own(vendor, name, document(vendor, name)["$defs"][part])
    assert differences(own, _their_schema(vendor, name, part)) == KNOWN.get(
        (vendor, name, part), set()
    )


def test_a_field_or_type_the_document_lacks_is_reported() -> None:
    theirs = {"type": "object", "properties": {"id": {"type": "string"}}}
    own = {
        "type": "object",
        "properties": {"id": {"type": ["string", "null"]}, "extra": {"type": "string"}},
    }
    assert differences(own, theirs) == {
        "id: type null not in the document",
        "extra: not in the document",
    }
