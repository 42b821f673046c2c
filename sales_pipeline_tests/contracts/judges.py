"""Two judges of a vendor message: the project's own schemas and the vendor's full document.

Contract tests take a judge and call ``check(vendor, operation, part, message)``; they run once
per judge (see the ``contract`` fixture in ``sales_pipeline_tests/sandbox/conftest.py``). The
vendor-document judge maps an operation's part to the document through the schema file's
``x-vendor-document`` and first applies the deviations ``../shared/api-facts`` settles against
the document (listed in :data:`DEVIATIONS`, each with its reason).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from .loader import document, validate
from .vendor_documents import vendor_document


class Judge(Protocol):
    """Raises ``jsonschema.ValidationError`` when a message breaks the contract it judges by."""

    def check(self, vendor: str, operation: str, part: str, message: Any) -> None:
        """Judge ``message``, the ``part`` (``request``, ``response``, ...) of ``operation``."""


class OwnSchemas:
    """Judges by the schemas under ``sales_pipeline_tests/contracts/schemas``."""

    def check(self, vendor: str, operation: str, part: str, message: Any) -> None:
        """Validate against ``schemas/<vendor>/<operation>.json#/$defs/<part>``."""
        validate(vendor, operation, part, message)


def _without_null(rows: str, key: str) -> Callable[[Any], Any]:
    """Drop ``key`` from the rows of ``rows`` where it is null."""

    def adapt(message: Any) -> Any:
        kept = [
            {k: v for k, v in row.items() if not (k == key and v is None)} for row in message[rows]
        ]
        return {**message, rows: kept}

    return adapt


def _campaigns_of(message: Any) -> Any:
    """The campaign array, whether bare or wrapped by version=v2."""
    return message["campaigns"] if isinstance(message, dict) else message


DEVIATIONS: dict[tuple[str, str, str], Callable[[Any], Any]] = {
    ("explorium", "match_prospects", "response"): _without_null("matched_prospects", "prospect_id"),
    ("explorium", "match_businesses", "response"): _without_null(
        "matched_businesses", "business_id"
    ),
    ("lemlist", "list_campaigns", "response"): _campaigns_of,
}
"""Where api-facts and a vendor document disagree, what the document is shown instead:
Explorium types prospect_id and business_id as hex strings yet describes unmatched rows as
None, and api-facts/explorium.md says null; Lemlist documents a bare array for version=v2 too,
and api-facts/lemlist.md says v2 answers wrap it as {campaigns, pagination}."""


class VendorDocuments:
    """Judges by the vendor's OpenAPI document (skips the test without ``../shared/specs``)."""

    def check(self, vendor: str, operation: str, part: str, message: Any) -> None:
        """Validate against the operation's request body or the answer of the part's status."""
        source = document(vendor, operation)["x-vendor-document"]
        spec = vendor_document(source["file"])
        if part == "request":
            spec.validate_request(source["path"], source["method"], message)
            return
        target = source["parts"][part]
        adapt = DEVIATIONS.get((vendor, operation, part), lambda unchanged: unchanged)
        spec.validate_response(
            target.get("path", source["path"]),
            target.get("method", source["method"]),
            target["status"],
            adapt(message),
        )


JUDGES: dict[str, Judge] = {"own-schemas": OwnSchemas(), "vendor-documents": VendorDocuments()}
