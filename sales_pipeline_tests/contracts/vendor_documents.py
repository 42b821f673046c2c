"""Checks against the vendors' full OpenAPI documents in ``../shared/specs``, beside the checkout.

Those documents are not part of the repository. Where the folder is missing (a fresh clone),
every check that needs one skips with :data:`MISSING`, one reason for all of them; the
project's own schemas (:mod:`.loader`) still judge the same answers.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from openapi_schema_validator import OAS30Validator, OAS31Validator

SPECS_DIR = Path(__file__).resolve().parents[3] / "shared" / "specs"
MISSING = "../shared/specs not present: full vendor-document checks skipped"


def specs_dir() -> Path:
    """The folder of vendor documents; skips the calling test when it is not there."""
    if not SPECS_DIR.is_dir():
        pytest.skip(MISSING)
    return SPECS_DIR


class OpenApiSpec:
    """One vendor document: find the schema of an operation's answer and validate against it."""

    def __init__(self, path: Path) -> None:
        text = path.read_text(encoding="utf-8")
        self.document: dict[str, Any] = (
            json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
        )
        version = str(self.document["openapi"])
        self._validator = OAS31Validator if version.startswith("3.1") else OAS30Validator

    def operation(self, path: str, method: str) -> dict[str, Any]:
        """The operation object for ``method path`` (path as written in the document)."""
        return dict(self.document["paths"][path][method.lower()])

    def response_schema(self, path: str, method: str, status: int) -> dict[str, Any]:
        """The JSON schema of the ``status`` answer, with the document's components attached."""
        responses = self.operation(path, method)["responses"]
        answer = responses.get(str(status)) or responses["default"]
        schema = answer["content"]["application/json"]["schema"]
        return self._rooted(schema)

    def request_schema(self, path: str, method: str) -> dict[str, Any]:
        """The JSON schema of the request body."""
        body = self.operation(path, method)["requestBody"]
        return self._rooted(body["content"]["application/json"]["schema"])

    def _rooted(self, schema: dict[str, Any]) -> dict[str, Any]:
        return {**schema, "components": self.document.get("components", {})}

    def validate_response(self, path: str, method: str, status: int, body: Any) -> None:
        """Raise ``jsonschema.ValidationError`` unless ``body`` fits the documented answer."""
        self._validator(self.response_schema(path, method, status)).validate(body)

    def validate_request(self, path: str, method: str, body: Any) -> None:
        """Raise ``jsonschema.ValidationError`` unless ``body`` fits the documented request."""
        self._validator(self.request_schema(path, method)).validate(body)


@cache
def _parsed(name: str) -> OpenApiSpec:
    return OpenApiSpec(SPECS_DIR / name)


def vendor_document(name: str) -> OpenApiSpec:
    """The document ``name`` (``lemlist-openapi.json``, ``explorium-openapi.yaml``); skips the
    calling test when ``../shared/specs`` is not there."""
    specs_dir()
    return _parsed(name)


def lemlist_spec() -> OpenApiSpec:
    """Lemlist's OpenAPI 3.0 document (skips without ``../shared/specs``)."""
    return vendor_document("lemlist-openapi.json")


def explorium_spec() -> OpenApiSpec:
    """Explorium's OpenAPI 3.1 document (skips without ``../shared/specs``)."""
    return vendor_document("explorium-openapi.yaml")
